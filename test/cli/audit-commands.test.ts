/**
 * `portcullis audit list` as an operator runs it (the built CLI in a child process) on a real
 * PostgreSQL store: the changes made with the other commands are listed newest first as the
 * operating-system user, in text and JSON; neither the outputs nor the audit table ever hold a
 * secret, the key-encryption key, or the database password of the store URL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import pg from 'pg';
import { runCliAsIs, type CliResult } from '../support/cli.js';
import { freshDatabase, testCluster } from '../support/postgres.js';

const PASSWORD = new URL(testCluster().url).password;

test('audit list on PostgreSQL: every change made at the CLI, newest first; no secret, KEK or database password anywhere', async (t) => {
  const { url } = await freshDatabase(t);
  const dir = mkdtempSync(join(tmpdir(), 'pcl-audit-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const kek = randomBytes(32).toString('base64');
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `store: { url: "${url}" }
oauth: { keyEncryptionKey: "\${TEST_KEK}" }
routes:
  - name: a
    match: { path: /a }
    upstream: "https://127.0.0.1:9"
`,
  );
  const env = { TEST_KEK: kek };
  const outputs: string[] = [];
  const auditOutputs: string[] = [];
  const cli = async (...args: string[]): Promise<CliResult> => {
    const result = await runCliAsIs([...args, '--config', configFile], env);
    (args[0] === 'audit' ? auditOutputs : outputs).push(result.stdout, result.stderr);
    return result;
  };
  const json = async <T>(...args: string[]): Promise<T> => {
    const result = await cli(...args, '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as T;
  };
  assert.equal((await cli('store', 'init')).code, 0);
  await json('accounts', 'create', 'billing', '--scope', 'read-write');
  const token = await json<{ id: string; token: string }>(
    'tokens',
    'create',
    '--label',
    'ci',
    '--scope',
    'read-only',
    '--account',
    'billing',
  );
  const rotated = await json<{ token: string }>('tokens', 'rotate', token.id, '--grace', '5m');
  const client = await json<{ client_id: string; client_secret: string }>('clients', 'create', '--name', 'crm', '--scope', 'read-only');
  const rotatedClient = await json<{ client_secret: string }>('clients', 'rotate-secret', client.client_id);
  const key = await json<{ kid: string; encryptedWith: string | null }>('keys', 'rotate');
  assert.ok(key.encryptedWith, 'sealed under the KEK');

  const entries = await json<{ actor: string; action: string; target: string; address: null; details: Record<string, unknown> }[]>(
    'audit',
    'list',
  );
  assert.deepEqual(
    entries.map((e) => [e.action, e.target]),
    [
      ['signing_key.rotate', key.kid],
      ['client.rotate_secret', client.client_id],
      ['client.create', client.client_id],
      ['token.rotate', token.id],
      ['token.create', token.id],
      ['account.create', 'billing'],
    ],
  );
  assert.ok(entries.every((e) => /^cli:\S+$/.test(e.actor) && e.address === null));
  const text = await cli('audit', 'list', '--action', 'token.rotate');
  assert.equal(text.code, 0, text.stderr);
  assert.match(
    text.stdout,
    new RegExp(
      `^\\S+Z  cli:\\S+  token\\.rotate  ${token.id}  -  \\{"label":"ci","account":"billing","graceMs":300000,"previousSecretValidUntil":"\\S+"\\}\\n$`,
    ),
  );
  assert.equal((await json<unknown[]>('audit', 'list', '--since', '1h', '--limit', '2')).length, 2);

  const help = await cli('audit', 'list', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: portcullis audit list \[--since DURATION\|INSTANT\] \[--limit N\]/);

  const client2 = new pg.Client({ connectionString: url });
  await client2.connect();
  const table = JSON.stringify((await client2.query({ text: 'SELECT audit_log::text FROM audit_log', rowMode: 'array' })).rows);
  await client2.end();
  assert.ok(table.includes(token.id));
  const secrets = [token.token, rotated.token, client.client_secret, rotatedClient.client_secret, kek, PASSWORD];
  assert.equal(auditOutputs.length, 8);
  for (const secret of secrets) {
    assert.equal(table.includes(secret), false, 'a secret in the audit table');
    for (const output of auditOutputs) assert.equal(output.includes(secret), false, 'a secret or the password in audit list');
  }
  // The create and rotate commands show their own secret once, by design; never the KEK or the password.
  for (const output of outputs) for (const secret of [kek, PASSWORD]) assert.equal(output.includes(secret), false);
});
