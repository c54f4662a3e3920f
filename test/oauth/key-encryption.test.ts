/**
 * Signing keys at rest (docs/oauth.md, docs/decisions/0011-signing-keys-at-rest.md): sealed with
 * the key-encryption key before they reach the store, opened when loaded; keys written in the clear
 * still load and `portcullis keys rekey` seals them; a KEK rotation through
 * oauth.previousKeyEncryptionKeys; a KEK that does not open the key stops the start with a message
 * naming key ids only; a PostgreSQL store without a KEK refuses to start unless
 * oauth.allowPlaintextSigningKeys says so. Two views: what the gateway and CLI answer, and the raw
 * rows in the database.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { generateSigningKey } from '../../src/oauth/signing-keys.js';
import {
  keyEncryptionKeyProblem,
  keyEncryptionKeys,
  openPrivateJwk,
  parseKeyEncryptionKey,
  sealedWith,
  sealPrivateJwk,
} from '../../src/oauth/key-encryption.js';
import { sharedCerts } from '../support/certs.js';
import { runCli, runCliJson } from '../support/cli.js';
import { send } from '../support/client.js';
import { startGatewayProcess } from '../support/gateway.js';
import { adminQuery, freshDatabase } from '../support/postgres.js';
import { startRecordingUpstream } from '../support/upstream.js';
import { basic } from './helpers.js';

const newKek = (): string => randomBytes(32).toString('base64');

/** The envelope with the first base64url character after its last `.` replaced by another. */
function alterFirstOfLastSegment(envelope: string): string {
  const at = envelope.lastIndexOf('.') + 1;
  return `${envelope.slice(0, at)}${envelope[at] === 'A' ? 'B' : 'A'}${envelope.slice(at + 1)}`;
}

test('envelope: opens with its KEK only, bound to its kid, tamper-evident; messages never carry key material', async () => {
  const key = await generateSigningKey();
  const kek = parseKeyEncryptionKey(newKek());
  const other = parseKeyEncryptionKey(newKek());
  const sealed = sealPrivateJwk(key.privateJwk, key.kid, kek);
  assert.equal(sealedWith(sealed), kek.id);
  assert.match(sealed.d ?? '', /^pclkek1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
  assert.ok(!JSON.stringify(sealed).includes(key.privateJwk.d ?? '?'), 'the private scalar is not in the envelope');
  assert.equal(sealed.x, key.privateJwk.x, 'the public part stays readable');
  assert.notEqual(sealPrivateJwk(key.privateJwk, key.kid, kek).d, sealed.d, 'a fresh IV each time');
  assert.throws(
    () => openPrivateJwk(sealed, key.kid, keyEncryptionKeys(undefined, [])),
    /is encrypted with key-encryption key/,
    'no KEK configured',
  );
  assert.deepEqual(openPrivateJwk(sealed, key.kid, { current: kek, openers: [kek] }), key.privateJwk);
  assert.deepEqual(
    openPrivateJwk(key.privateJwk, key.kid, { current: kek, openers: [kek] }),
    key.privateJwk,
    'a key in the clear loads as is',
  );

  const secrets = [kek.key.toString('base64'), other.key.toString('base64'), key.privateJwk.d ?? '?'];
  const refusals: [string, () => unknown, RegExp][] = [
    [
      'unknown KEK',
      () => openPrivateJwk(sealed, key.kid, { current: other, openers: [other] }),
      new RegExp(`encrypted with key-encryption key ${kek.id}, which is neither`),
    ],
    ['moved to another kid', () => openPrivateJwk(sealed, 'another-kid', { current: kek, openers: [kek] }), /does not decrypt/],
    [
      'ciphertext altered',
      // The first character of the ciphertext, changed for sure: replacing the last two with `AA`
      // left a ciphertext that already ended so unchanged (one run in 4,096), and the last one may
      // hold only padding bits.
      () => openPrivateJwk({ ...sealed, d: alterFirstOfLastSegment(sealed.d ?? '') }, key.kid, { current: kek, openers: [kek] }),
      /does not decrypt/,
    ],
    [
      'truncated',
      () => openPrivateJwk({ ...sealed, d: `pclkek1.${kek.id}.AAAA.` }, key.kid, { current: kek, openers: [kek] }),
      /does not decrypt/,
    ],
  ];
  for (const [name, attempt, message] of refusals) {
    assert.throws(attempt, (error: Error) => {
      assert.match(error.message, message, name);
      for (const secret of secrets) assert.ok(!error.message.includes(secret), `${name}: no key material in the message`);
      return true;
    });
  }
  for (const bad of [
    '',
    'short',
    `${newKek()}x`,
    randomBytes(31).toString('base64'),
    randomBytes(33).toString('base64'),
    `${newKek().slice(0, 43)}!`,
  ]) {
    const problem = keyEncryptionKeyProblem(bad);
    assert.ok(problem !== undefined, JSON.stringify(bad));
    if (bad.length > 0) assert.ok(!problem.includes(bad), 'the value is never quoted');
  }
  assert.equal(keyEncryptionKeyProblem(randomBytes(32).toString('base64url')), undefined, 'URL-safe base64 is accepted');
});

interface Site {
  readonly dir: string;
  readonly upstreamPort: number;
  readonly file: string;
  /** Writes the configuration (with `oauth` extra settings) and returns its path. */
  config(oauthExtra: string, store?: string): string;
}

async function site(t: TestContext): Promise<Site> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-kek-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const ca = sharedCerts().ca.caCertPath;
  let n = 0;
  return {
    dir,
    upstreamPort: upstream.port,
    file: join(dir, 'pcl.db'),
    config(oauthExtra, store = 'sqlite:./pcl.db') {
      const file = join(dir, `portcullis-${n++}.yaml`);
      writeFileSync(
        file,
        `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "${store}" }
oauth: { issuer: "https://kek.portcullis.test", audience: "api"${oauthExtra} }
log: { level: info }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${ca}"
`,
      );
      return file;
    },
  };
}

async function accessToken(url: string, clientId: string, secret: string): Promise<string> {
  const answer = await send(url, {
    method: 'POST',
    path: '/oauth2/token',
    body: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(clientId, secret) },
  });
  assert.equal(answer.status, 200, answer.body);
  return answer.json<{ access_token: string }>().access_token;
}

const call = async (url: string, token: string): Promise<number> =>
  (await send(url, { path: '/api/x', headers: { authorization: `Bearer ${token}` } })).status;

/** The raw private_jwk column of the active key. */
function rawActivePrivate(file: string): { d: string; raw: string } {
  const db = new Database(file, { readonly: true });
  try {
    const raw = db.prepare('SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL').pluck().get() as string;
    return { d: (JSON.parse(raw) as { d: string }).d, raw };
  } finally {
    db.close();
  }
}

test('SQLite: a key written in the clear still loads, `keys rekey` seals it, a KEK rotation reseals it, a wrong KEK stops the start', async (t) => {
  const s = await site(t);
  const kek1 = newKek();
  const kek2 = newKek();
  const kek3 = newKek();
  const id = (kek: string): string => parseKeyEncryptionKey(kek).id;

  // 1. Written without a KEK (SQLite allows it): the row holds the private scalar in the clear.
  const clearConfig = s.config('');
  const gw0 = await startGatewayProcess(t, clearConfig);
  const client = await runCliJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'svc',
    '--scope',
    'read-only',
    '--config',
    clearConfig,
  ]);
  const early = await accessToken(gw0.url, client.client_id, client.client_secret);
  const clearD = rawActivePrivate(s.file).d;
  assert.match(clearD, /^[A-Za-z0-9_-]{43}$/, 'stored in the clear');
  gw0.child.kill('SIGKILL');
  await gw0.exited;

  // 2. A KEK is configured: the clear key still loads (and the log says to rekey).
  const env1 = { PORTCULLIS_KEK: kek1 };
  const kek1Config = s.config(', keyEncryptionKey: "${PORTCULLIS_KEK}"');
  const gw1 = await startGatewayProcess(t, kek1Config, { env: env1 });
  assert.equal(await call(gw1.url, early), 200);
  assert.match(gw1.logs(), /"event":"oauth\.signing_key_in_clear".*keys rekey/);
  const listed = await runCliJson<Array<{ encryptedWith: string | null }>>(['keys', 'list', '--config', kek1Config], env1);
  assert.deepEqual(
    listed.map((k) => k.encryptedWith),
    [null],
  );

  const rekeyed = await runCliJson<{ kid: string; outcome: string; from: string | null; encryptedWith: string }>(
    ['keys', 'rekey', '--config', kek1Config],
    env1,
  );
  assert.deepEqual(
    { outcome: rekeyed.outcome, from: rekeyed.from, encryptedWith: rekeyed.encryptedWith },
    { outcome: 'sealed', from: null, encryptedWith: id(kek1) },
  );
  const sealed = rawActivePrivate(s.file);
  assert.ok(sealed.d.startsWith(`pclkek1.${id(kek1)}.`), 'sealed in the store');
  assert.ok(!sealed.raw.includes(clearD), 'the clear scalar is gone from the row');
  assert.equal(await call(gw1.url, early), 200, 'the running gateway is not affected');
  const again = await runCliJson<{ outcome: string }>(['keys', 'rekey', '--config', kek1Config], env1);
  assert.equal(again.outcome, 'unchanged');
  gw1.child.kill('SIGKILL');
  await gw1.exited;

  // 3. Restarted with the KEK: the key is opened from its envelope; old and new tokens verify.
  const gw2 = await startGatewayProcess(t, kek1Config, { env: env1 });
  assert.equal(await call(gw2.url, early), 200);
  const later = await accessToken(gw2.url, client.client_id, client.client_secret);
  assert.equal(await call(gw2.url, later), 200);
  assert.doesNotMatch(gw2.logs(), /signing_key_in_clear/);

  // 4. KEK rotation: the new KEK seals, the previous one still opens, rekey reseals.
  const env2 = { PORTCULLIS_KEK: kek2, PORTCULLIS_KEK_OLD: kek1 };
  const rotating = s.config(', keyEncryptionKey: "${PORTCULLIS_KEK}", previousKeyEncryptionKeys: ["${PORTCULLIS_KEK_OLD}"]');
  const resealed = await runCliJson<{ outcome: string; from: string; encryptedWith: string }>(
    ['keys', 'rekey', '--config', rotating],
    env2,
  );
  assert.deepEqual({ ...resealed }, { kid: rekeyed.kid, outcome: 'resealed', from: id(kek1), encryptedWith: id(kek2) });
  assert.ok(rawActivePrivate(s.file).d.startsWith(`pclkek1.${id(kek2)}.`));
  assert.equal(await call(gw2.url, later), 200, 'running gateways keep their key');
  gw2.child.kill('SIGKILL');
  await gw2.exited;
  const kek2Only = s.config(', keyEncryptionKey: "${PORTCULLIS_KEK}"');
  const gw3 = await startGatewayProcess(t, kek2Only, { env: { PORTCULLIS_KEK: kek2 } });
  assert.equal(await call(gw3.url, early), 200, 'the key is the same key: tokens from before every step verify');
  const rotated = await runCliJson<{ kid: string; encryptedWith: string }>(['keys', 'rotate', '--config', kek2Only], {
    PORTCULLIS_KEK: kek2,
  });
  assert.equal(rotated.encryptedWith, id(kek2), 'a rotated key is sealed from the start');
  assert.ok(rawActivePrivate(s.file).d.startsWith(`pclkek1.${id(kek2)}.`));
  gw3.child.kill('SIGKILL');
  await gw3.exited;

  // 5. A KEK that did not seal the key: the start stops, naming ids, never keys.
  const wrong = await runCli(['start', '--config', kek2Only], { PORTCULLIS_KEK: kek3 });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, new RegExp(`encrypted with key-encryption key ${id(kek2)}, which is neither oauth\\.keyEncryptionKey nor`));
  const rekeyWrong = await runCli(['keys', 'rekey', '--config', kek2Only], { PORTCULLIS_KEK: kek3 });
  assert.equal(rekeyWrong.code, 1);
  assert.match(rekeyWrong.stderr, /portcullis keys rekey: signing key \S+ is encrypted with key-encryption key/);

  // 6. A malformed KEK is a configuration error that never quotes it.
  const bad = await runCli(['check', '--config', kek2Only], { PORTCULLIS_KEK: 'c2hvcnQ-but-not-a-key' });
  assert.equal(bad.code, 2);
  assert.match(bad.stdout + bad.stderr, /oauth\.keyEncryptionKey.*expected 32 random bytes in base64/);
  assert.ok(!(bad.stdout + bad.stderr).includes('c2hvcnQ-but-not-a-key'));

  for (const output of [wrong.stderr, rekeyWrong.stderr, gw1.logs(), gw2.logs(), gw3.logs()]) {
    for (const kek of [kek1, kek2, kek3]) assert.ok(!output.includes(kek), 'no KEK in any output');
    assert.ok(!output.includes(clearD), 'no private key in any output');
  }
});

test('PostgreSQL: no KEK refuses to start unless allowPlaintextSigningKeys; with a KEK the row is sealed', async (t) => {
  const s = await site(t);
  const { url, database } = await freshDatabase(t);
  const none = s.config('', url);
  const refused = await runCli(['start', '--config', none]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    /oauth\.keyEncryptionKey is not set: on a PostgreSQL store the OAuth signing keys would be stored in the clear/,
  );
  assert.match(refused.stderr, /oauth\.allowPlaintextSigningKeys: true/);
  assert.ok(!refused.stderr.includes(new URL(url).password || '\u0000'), 'no database password');
  const rotate = await runCli(['keys', 'rotate', '--config', none]);
  assert.equal(rotate.code, 1, 'the CLI follows the same policy');
  assert.equal(
    (
      (await adminQuery('SELECT count(*)::int AS n FROM signing_keys', database).catch(() => ({ rows: [{ n: 0 }] }))).rows[0] as
        { n: number } | undefined
    )?.n,
    0,
    'nothing was written',
  );

  const kek = newKek();
  const sealedConfig = s.config(', keyEncryptionKey: "${PORTCULLIS_KEK}"', url);
  const gw = await startGatewayProcess(t, sealedConfig, { env: { PORTCULLIS_KEK: kek } });
  const client = await runCliJson<{ client_id: string; client_secret: string }>(
    ['clients', 'create', '--name', 'svc', '--scope', 'read-only', '--config', sealedConfig],
    { PORTCULLIS_KEK: kek },
  );
  assert.equal(await call(gw.url, await accessToken(gw.url, client.client_id, client.client_secret)), 200);
  const rows = (await adminQuery('SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL', database)).rows as Array<{
    private_jwk: string;
  }>;
  assert.equal(rows.length, 1);
  assert.ok(
    (JSON.parse(rows[0]?.private_jwk ?? '{}') as { d: string }).d.startsWith(`pclkek1.${parseKeyEncryptionKey(kek).id}.`),
    'sealed in PostgreSQL',
  );
  gw.child.kill('SIGKILL');
  await gw.exited;

  const { url: url2 } = await freshDatabase(t);
  const plain = s.config(', allowPlaintextSigningKeys: true', url2);
  const gwPlain = await startGatewayProcess(t, plain);
  assert.equal((await send(gwPlain.metricsUrl, { path: '/readyz' })).status, 200, 'explicitly allowed: starts');
  assert.match(gwPlain.logs(), /"event":"oauth\.signing_key_in_clear"/, 'and says the key is in the clear');
});
