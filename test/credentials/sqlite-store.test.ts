import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/credentials/open-store.js';
import { hashSecret } from '../../src/credentials/secrets.js';
import { MIGRATIONS } from '../../src/credentials/sqlite-migrations.js';
import { CredentialStoreError, isStoreError } from '../../src/credentials/store-error.js';
import { clientJson, tokenJson } from '../../src/credentials/records-json.js';
import { manualClock, tempDir, tempStore } from './helpers.js';

async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isStoreError(error) && error.reason === reason);
}

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
  const again = await openStore(`sqlite:${file}`);
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

test('store URLs: sqlite needs an absolute path, postgres is not implemented yet', async (t) => {
  await assert.rejects(openStore('sqlite:relative/path.db'), TypeError);
  await assert.rejects(openStore('postgres://user:pw@db/portcullis'), (error: unknown) =>
    error instanceof Error && /not implemented yet/.test(error.message) && !error.message.includes('pw'));
  await assert.rejects(openStore('mysql://x'), TypeError);
  const file = join(tempDir(t), 'triple.db');
  const store = await openStore(`sqlite://${file}`);
  await store.close();
  assert.ok(existsSync(file));
});

test('accounts: create, list, get, set-scope, disable', async (t) => {
  const { store } = await tempStore(t);
  const alice = await store.accounts.create('alice', 'read-write');
  assert.equal(alice.name, 'alice');
  assert.equal(alice.scope, 'read-write');
  assert.equal(alice.disabled, false);
  await rejectsWith(store.accounts.create('alice', 'read-only'), 'conflict');
  await rejectsWith(store.accounts.create('bad name', 'read-only'), 'invalid_argument');
  await rejectsWith(store.accounts.create('bob', 'superuser' as never), 'invalid_argument');
  await rejectsWith(store.accounts.setScope('nobody', 'read-only'), 'not_found');
  const before = await store.latestChangeSeq();
  assert.equal((await store.accounts.setScope('alice', 'read-only')).scope, 'read-only');
  assert.equal((await store.accounts.disable('alice')).disabled, true);
  assert.equal((await store.accounts.disable('alice')).disabled, true, 'idempotent');
  const changes = await store.changesSince(before);
  assert.deepEqual(changes.map((c) => [c.kind, 'account' in c ? c.account : c.credentialId]), [
    ['account.scope_changed', 'alice'],
    ['account.disabled', 'alice'],
  ]);
  assert.deepEqual((await store.accounts.list()).map((a) => a.name), ['alice']);
  assert.equal(await store.accounts.get('nobody'), undefined);
});

test('tokens: create shows the secret once, list and get never do', async (t) => {
  const clock = manualClock();
  const { store } = await tempStore(t, { now: clock.now });
  await store.accounts.create('svc', 'read-write');
  const expiresAt = new Date(clock.now() + 30 * 86_400_000);
  const issued = await store.tokens.create({ label: 'power-bi', scope: 'read-only', account: 'svc', expiresAt });
  assert.match(issued.token, /^pcl_/);
  assert.match(issued.record.id, /^tok_/);
  assert.deepEqual(
    { label: issued.record.label, scope: issued.record.scope, account: issued.record.account, expiresAt: issued.record.expiresAt },
    { label: 'power-bi', scope: 'read-only', account: 'svc', expiresAt: expiresAt.toISOString() },
  );
  assert.equal(issued.record.createdAt, new Date(clock.now()).toISOString());
  assert.equal(issued.record.revokedAt, null);
  const listed = await store.tokens.list();
  assert.equal(listed.length, 1);
  assert.ok(!JSON.stringify(listed).includes(issued.token));
  assert.ok(!JSON.stringify(await store.tokens.get(issued.record.id)).includes(issued.token));
  assert.deepEqual(await store.tokens.list({ account: 'nobody' }), []);
  // The JSON shape of SPEC §6, secret exactly once.
  const json = tokenJson(issued);
  assert.deepEqual(Object.keys(json).slice(0, 6), ['id', 'token', 'label', 'scope', 'account', 'expiresAt']);
  assert.equal(JSON.stringify(json).split(issued.token).length, 2);
  assert.equal('token' in tokenJson(issued.record), false);

  await rejectsWith(store.tokens.create({ label: '', scope: 'read-only' }), 'invalid_argument');
  await rejectsWith(store.tokens.create({ label: 'x\u0000', scope: 'read-only' }), 'invalid_argument');
  await rejectsWith(store.tokens.create({ label: 'x', scope: 'read-only', account: 'nobody' }), 'not_found');
  await rejectsWith(store.tokens.create({ label: 'x', scope: 'read-only', expiresAt: new Date(clock.now()) }), 'invalid_argument');
  await store.accounts.disable('svc');
  await rejectsWith(store.tokens.create({ label: 'x', scope: 'read-only', account: 'svc' }), 'disabled');
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

test('rotate: the same id, a new secret; the old hash kept only with a grace', async (t) => {
  const clock = manualClock();
  const { store } = await tempStore(t, { now: clock.now });
  const issued = await store.tokens.create({ label: 'job', scope: 'read-write' });
  const noGrace = await store.tokens.rotate(issued.record.id);
  assert.equal(noGrace.record.id, issued.record.id);
  assert.notEqual(noGrace.token, issued.token);
  assert.equal(await store.findTokenByHash(hashSecret(issued.token)), undefined, 'old secret gone at once');
  assert.equal(noGrace.record.previousSecretValidUntil, null);

  const graced = await store.tokens.rotate(issued.record.id, 600_000);
  const old = await store.findTokenByHash(hashSecret(noGrace.token));
  assert.equal(old?.id, issued.record.id);
  assert.equal(old?.previousValidUntil, clock.now() + 600_000);
  assert.equal(graced.record.previousSecretValidUntil, new Date(clock.now() + 600_000).toISOString());
  assert.equal((await store.findTokenByHash(hashSecret(graced.token)))?.id, issued.record.id);
  await rejectsWith(store.tokens.rotate(issued.record.id, -1), 'invalid_argument');
  await rejectsWith(store.tokens.rotate('tok_nope'), 'not_found');
});

test('revocation is permanent: no API restores it and SQL refuses to', async (t) => {
  const { store, file } = await tempStore(t);
  const issued = await store.tokens.create({ label: 'old', scope: 'read-only' });
  const revoked = await store.tokens.revoke(issued.record.id);
  assert.ok(revoked.revokedAt);
  assert.equal((await store.tokens.revoke(issued.record.id)).revokedAt, revoked.revokedAt, 'idempotent');
  await rejectsWith(store.tokens.rotate(issued.record.id), 'revoked');
  await rejectsWith(store.tokens.setExpiry(issued.record.id, null), 'revoked');
  for (const ops of [store.tokens, store.clients] as const) {
    for (const name of ['restore', 'unrevoke', 'delete', 'remove']) assert.equal(name in ops, false);
  }
  const client = await store.clients.create({ name: 'c', scope: 'read-only' });
  await store.clients.revoke(client.record.clientId);
  await rejectsWith(store.clients.rotateSecret(client.record.clientId), 'revoked');

  // Even a direct write to the file cannot undo it, nor free the id for reuse.
  const raw = new Database(file);
  t.after(() => raw.close());
  assert.throws(() => raw.prepare('UPDATE tokens SET revoked_at = NULL WHERE id = ?').run(issued.record.id), /revoked token cannot change/);
  assert.throws(() => raw.prepare('UPDATE tokens SET secret_hash = ? WHERE id = ?').run(Buffer.alloc(32), issued.record.id), /cannot change/);
  assert.throws(() => raw.prepare('DELETE FROM tokens WHERE id = ?').run(issued.record.id), /never deleted/);
  assert.throws(() => raw.prepare('UPDATE clients SET revoked_at = NULL WHERE id = ?').run(client.record.clientId), /revoked client cannot change/);
  assert.throws(() => raw.prepare('DELETE FROM clients').run(), /never deleted/);
  raw.prepare('UPDATE tokens SET last_used_at = 1 WHERE id = ?').run(issued.record.id); // allowed
  assert.ok((await store.tokens.get(issued.record.id))?.revokedAt);
});

test('clients: create shows the secret once, rotate-secret, revoke; JSON keeps the OAuth names', async (t) => {
  const { store } = await tempStore(t);
  const issued = await store.clients.create({ name: 'campaign', scope: 'read-write', orgId: 'ORG', technicalAccountId: 'TA@techacct' });
  assert.match(issued.record.clientId, /^cli_/);
  assert.match(issued.clientSecret, /^pcs_/);
  assert.equal(issued.record.orgId, 'ORG');
  assert.equal(issued.record.technicalAccountId, 'TA@techacct');
  const json = clientJson(issued);
  assert.deepEqual(Object.keys(json).slice(0, 6), ['client_id', 'client_secret', 'name', 'scope', 'orgId', 'technicalAccountId']);
  assert.ok(!JSON.stringify(await store.clients.list()).includes(issued.clientSecret));
  const found = await store.findClientById(issued.record.clientId);
  assert.deepEqual(found?.secretHash, hashSecret(issued.clientSecret));
  const rotated = await store.clients.rotateSecret(issued.record.clientId, 1000);
  assert.deepEqual((await store.findClientById(issued.record.clientId))?.previousSecretHash, hashSecret(issued.clientSecret));
  assert.notEqual(rotated.clientSecret, issued.clientSecret);
  const before = await store.latestChangeSeq();
  await store.clients.revoke(issued.record.clientId);
  const [change] = await store.changesSince(before);
  assert.deepEqual(change && { kind: change.kind, id: 'credentialId' in change ? change.credentialId : '' },
    { kind: 'client.revoked', id: issued.record.clientId });
});

test('every mutation that can invalidate a cache appends to the change feed', async (t) => {
  const { store } = await tempStore(t);
  await store.accounts.create('a', 'read-write');
  const token = await store.tokens.create({ label: 'l', scope: 'read-write', account: 'a' });
  const client = await store.clients.create({ name: 'c', scope: 'read-only' });
  const start = await store.latestChangeSeq();
  const seen: string[] = [];
  const unsubscribe = store.subscribe((changes) => seen.push(...changes.map((c) => c.kind)));
  await store.tokens.rotate(token.record.id);
  await store.tokens.setExpiry(token.record.id, new Date(Date.now() + 60_000));
  await store.accounts.setScope('a', 'read-only');
  await store.accounts.disable('a');
  await store.clients.rotateSecret(client.record.clientId);
  await store.clients.revoke(client.record.clientId);
  await store.tokens.revoke(token.record.id);
  unsubscribe();
  const expected = ['token.rotated', 'token.expiry_changed', 'account.scope_changed', 'account.disabled',
    'client.secret_rotated', 'client.revoked', 'token.revoked'];
  assert.deepEqual(seen, expected, 'subscribers of this instance see each change at commit');
  const rows = await store.changesSince(start);
  assert.deepEqual(rows.map((r) => r.kind), expected);
  assert.deepEqual(rows.map((r) => r.seq), expected.map((_, i) => start + i + 1));
  assert.equal(await store.latestChangeSeq(), start + expected.length);
  assert.deepEqual(await store.changesSince(start, 2).then((r) => r.length), 2);
});

test('last-used times are written in a batch and only move forward', async (t) => {
  const { store } = await tempStore(t);
  const token = await store.tokens.create({ label: 'l', scope: 'read-only' });
  const client = await store.clients.create({ name: 'c', scope: 'read-only' });
  const before = await store.latestChangeSeq();
  const t1 = Date.UTC(2026, 1, 1);
  await store.recordLastUsed(new Map([[token.record.id, t1], [client.record.clientId, t1], ['tok_unknown', t1], ['junk', t1]]));
  await store.recordLastUsed(new Map([[token.record.id, t1 - 1000]]));
  assert.equal((await store.tokens.get(token.record.id))?.lastUsedAt, new Date(t1).toISOString());
  assert.equal((await store.clients.get(client.record.clientId))?.lastUsedAt, new Date(t1).toISOString());
  assert.equal(await store.latestChangeSeq(), before, 'last use is not a change');
});

test('a closed store rejects every call with `unavailable`', async (t) => {
  const { store } = await tempStore(t);
  await store.close();
  await store.close();
  await rejectsWith(store.ping(), 'unavailable');
  await rejectsWith(store.findTokenByHash(hashSecret('x')), 'unavailable');
  await rejectsWith(store.tokens.list(), 'unavailable');
  const error = await store.latestChangeSeq().catch((e: unknown) => e);
  assert.ok(error instanceof CredentialStoreError);
});
