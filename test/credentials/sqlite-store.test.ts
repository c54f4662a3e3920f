import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/credentials/open-store.js';
import { hashSecret } from '../../src/credentials/secrets.js';
import { MIGRATIONS } from '../../src/credentials/sqlite-migrations.js';
import { auditContract } from './audit-contract.js';
import { rejectsWith, storeContract } from './store-contract.js';
import { tempDir, tempStore } from './helpers.js';

const sqliteBackend = {
  name: 'sqlite',
  open: tempStore,
  raw: (t: test.TestContext, url: string) => {
    const raw = new Database(url.slice('sqlite:'.length));
    t.after(() => raw.close());
    // A refused statement rejects the returned promise, as the PostgreSQL driver's does.
    return Promise.resolve(
      (sql: string, params: unknown[]) =>
        new Promise<void>((resolve) => {
          raw.prepare(sql).run(...params);
          resolve();
        }),
    );
  },
  // eslint-disable-next-line @typescript-eslint/require-await -- the contract's reader is async (PostgreSQL's is)
  auditBytes: async (t: test.TestContext, url: string) => {
    const raw = new Database(url.slice('sqlite:'.length), { readonly: true });
    t.after(() => raw.close());
    return JSON.stringify(raw.prepare('SELECT * FROM audit_log').raw().all());
  },
};
storeContract(sqliteBackend);
auditContract(sqliteBackend);

test('opening creates the parent directories, WAL mode and the migrated schema', async (t) => {
  const { store, file } = await tempStore(t);
  assert.ok(existsSync(file));
  await store.ping();
  const raw = new Database(file, { readonly: true });
  t.after(() => raw.close());
  assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  const versions = raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
  const all = MIGRATIONS.map((m) => m.version);
  assert.deepEqual(versions, all);
  // Reopening applies nothing twice.
  await store.close();
  const again = await openStore(`sqlite:${file}`, { create: true });
  await again.close();
  assert.deepEqual(raw.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), all);
});

test('a store written by a newer Portcullis is refused, not modified', async (t) => {
  const { store, file } = await tempStore(t);
  await store.close();
  const raw = new Database(file);
  raw.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)").run();
  raw.close();
  await rejectsWith(openStore(`sqlite:${file}`), 'incompatible_schema');
});

test('store URLs: sqlite needs an absolute path; a bad postgres URL is refused without echoing it', async (t) => {
  await assert.rejects(openStore('sqlite:relative/path.db', { create: true }), TypeError);
  await assert.rejects(
    openStore('postgres://user:s3cr3t-pw@db.internal/portcullis', { create: true }),
    (error: unknown) => error instanceof TypeError && /sslmode/.test(error.message) && !error.message.includes('s3cr3t-pw'),
  );
  await assert.rejects(openStore('mysql://x', { create: true }), TypeError);
  const file = join(tempDir(t), 'triple.db');
  const store = await openStore(`sqlite://${file}`, { create: true });
  await store.close();
  assert.ok(existsSync(file));
});

test('only hashes are stored: the secrets appear nowhere in the database files', async (t) => {
  const { store, file } = await tempStore(t);
  const token = await store.tokens.create({ label: 'scan me', scope: 'read-write' });
  const rotated = await store.tokens.rotate(token.record.id, 60_000);
  const client = await store.clients.create({ name: 'crm', scope: 'read-only', orgId: 'ORG@AdobeOrg' });
  const rotatedClient = await store.clients.rotateSecret(client.record.clientId, 60_000);
  const secrets = [token.token, rotated.token, client.clientSecret, rotatedClient.clientSecret];
  const scan = (): Buffer => Buffer.concat(['', '-wal', '-shm'].filter((s) => existsSync(file + s)).map((s) => readFileSync(file + s)));
  const check = (bytes: Buffer): void => {
    for (const secret of secrets) {
      assert.equal(bytes.indexOf(secret), -1, 'secret found in the database');
      assert.equal(bytes.indexOf(secret.slice(4, 40)), -1, 'secret body found in the database');
      assert.equal(bytes.indexOf(secret.slice(4, 40), 0, 'utf16le'), -1);
    }
  };
  check(scan()); // live: database + WAL
  await store.close();
  const bytes = scan(); // checkpointed
  check(bytes);
  // The scan does see the data: the digests are there.
  assert.notEqual(bytes.indexOf(hashSecret(rotated.token)), -1);
  assert.notEqual(bytes.indexOf(hashSecret(token.token)), -1, 'previous secret hash kept for the grace period');
  assert.notEqual(bytes.indexOf(token.record.id), -1);
});

test('store.migrate false: a store that is behind is refused with the command to run; then it opens', async (t) => {
  const file = join(tempDir(t), 'behind.db');
  const raw = new Database(file);
  raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  raw.exec(MIGRATIONS[0]!.sql);
  raw.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(MIGRATIONS[0]!.name);
  raw.close();
  await assert.rejects(
    openStore(`sqlite:${file}`, { migrate: false }),
    (error: unknown) => error instanceof Error && /portcullis store migrate/.test(error.message) && /version 1/.test(error.message),
  );
  const store = await openStore(`sqlite:${file}`);
  await store.close();
  const again = await openStore(`sqlite:${file}`, { migrate: false });
  await again.close();
});
