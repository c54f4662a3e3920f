/**
 * `portcullis store backup FILE` copies the SQLite store while a gateway is
 * running (SQLite's online backup), and the copy restores: after the store is lost, the backup
 * put in its place serves the same tokens through a real gateway process.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCli, runCliJson } from '../support/cli.js';
import { send } from '../support/client.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

test('a backup taken while the gateway runs restores the store: the token still works', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-backup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./data/pcl.db" }
limits: { shutdownDelay: 0s }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
`,
  );
  const store = join(dir, 'data', 'pcl.db');
  const created = await runCliJson<{ id: string; token: string }>([
    'tokens',
    'create',
    '--label',
    'app',
    '--scope',
    'read-only',
    '--config',
    configFile,
  ]);
  const first = await startGatewayProcess(t, configFile);
  const bearer = { authorization: `Bearer ${created.token}` };
  assert.equal((await send(`http://127.0.0.1:${first.port}`, { path: '/api/x', headers: bearer })).status, 200);

  // Online: the gateway keeps the store open (WAL mode) while the copy is taken.
  const backupFile = join(dir, 'backup.db');
  const backup = await runCliJson<{ file: string; bytes: number; pages: number; source: string }>([
    'store',
    'backup',
    backupFile,
    '--config',
    configFile,
  ]);
  assert.equal(backup.file, backupFile);
  assert.equal(backup.source, store);
  assert.ok(backup.bytes > 0 && backup.pages > 0);
  assert.equal(existsSync(`${backupFile}.partial`), false);
  // A token made after the backup is not in it.
  const later = await runCliJson<{ token: string }>([
    'tokens',
    'create',
    '--label',
    'later',
    '--scope',
    'read-only',
    '--config',
    configFile,
  ]);

  const again = await runCli(['store', 'backup', backupFile, '--config', configFile]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);

  // The store is lost; the backup is put in its place while no gateway runs.
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${store}${suffix}`, { force: true });
  copyFileSync(backupFile, store);

  const second = await startGatewayProcess(t, configFile);
  const url = `http://127.0.0.1:${second.port}`;
  assert.equal((await send(url, { path: '/api/x', headers: bearer })).status, 200, 'the backed-up token works');
  assert.equal(
    (await send(url, { path: '/api/x', headers: { authorization: `Bearer ${later.token}` } })).status,
    401,
    'the later one was not in the backup',
  );
  assert.equal(upstream.received.length, 2);
});

test("store backup of a PostgreSQL store points to pg_dump, never echoing the URL's password", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-backup-pg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    'store: { url: "postgres://portcullis:S3cretPw@db.internal:5432/portcullis?sslmode=require" }\nroutes:\n  - name: api\n    match: { path: /api }\n    upstream: "https://127.0.0.1:1"\n',
  );
  for (const json of [false, true]) {
    const result = await runCli(['store', 'backup', join(dir, 'b.db'), '--config', configFile, ...(json ? ['--json'] : [])]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /pg_dump/);
    assert.doesNotMatch(result.stderr + result.stdout, /S3cretPw/);
  }
  assert.equal(existsSync(join(dir, 'b.db')), false);
});
