/**
 * The audit trail's contract (src/credentials/audit.ts, docs/audit.md), run by every backend
 * (sqlite-store.test.ts, postgres-store.test.ts) against a real database: each mutation given an
 * actor writes exactly one entry with who, what, when and where; a refused change writes none and
 * a change whose entry cannot be written is rolled back; the database itself refuses UPDATE,
 * DELETE (and TRUNCATE on PostgreSQL) of an entry; no secret reaches the table.
 */
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { type AuditActor, cliActor, credentialActor } from '../../src/credentials/audit.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import { manualClock } from './helpers.js';
import { type ContractBackend, fakeKey, rejectsWith } from './store-contract.js';

/** What the audit contract needs beyond the store contract. */
export interface AuditContractBackend extends ContractBackend {
  /** Everything the database holds for the audit table, as raw as the engine allows (file bytes, table text). */
  auditBytes(t: TestContext, url: string): Promise<string>;
}

const ADMIN = credentialActor('tok_AAAAAAAAAAAAAAAAAAAAAA', '203.0.113.9');
const ALICE = cliActor('alice');

/** One mutating call per action: name, what it does, the target it must record. */
type Step = readonly [action: string, run: (store: CredentialStore, actor: AuditActor) => Promise<string>];

function sweep(ids: { token?: string; client?: string }): Step[] {
  return [
    ['account.create', async (s, a) => (await s.accounts.create('acme', 'read-write', a)).name],
    ['account.set_scope', async (s, a) => (await s.accounts.setScope('acme', 'read-only', a)).name],
    ['account.disable', async (s, a) => (await s.accounts.disable('acme', a)).name],
    ['account.enable', async (s, a) => (await s.accounts.enable('acme', a)).name],
    [
      'token.create',
      async (s, a) => {
        ids.token = (
          await s.tokens.create({ label: 'ci', scope: 'read-only', account: 'acme', expiresAt: new Date(Date.UTC(2027, 0, 1)) }, a)
        ).record.id;
        return ids.token;
      },
    ],
    ['token.set_expiry', async (s, a) => (await s.tokens.setExpiry(ids.token ?? '', null, a)).id],
    ['token.rotate', async (s, a) => (await s.tokens.rotate(ids.token ?? '', 60_000, a)).record.id],
    ['token.revoke', async (s, a) => (await s.tokens.revoke(ids.token ?? '', a)).id],
    [
      'client.create',
      async (s, a) => {
        ids.client = (await s.clients.create({ name: 'crm', scope: 'read-only', orgId: 'ORG' }, a)).record.clientId;
        return ids.client;
      },
    ],
    ['client.rotate_secret', async (s, a) => (await s.clients.rotateSecret(ids.client ?? '', 0, a)).record.clientId],
    ['client.revoke', async (s, a) => (await s.clients.revoke(ids.client ?? '', a)).clientId],
    ['signing_key.rotate', async (s, a) => (await s.signingKeys.rotate(fakeKey('kid-two'), a)).active.kid],
    [
      'signing_key.rekey',
      async (s, a) => (await s.signingKeys.replacePrivate('kid-two', { ...fakeKey('kid-two').privateJwk, kid: 'kid-two' }, a)).kid,
    ],
  ];
}

export function auditContract(backend: AuditContractBackend): void {
  test(`${backend.name}: audit: every mutation with an actor writes exactly one entry (who, what, target, when, where)`, async (t) => {
    const clock = manualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const { store } = await backend.open(t, { now: clock.now });
    await store.signingKeys.ensureActive(fakeKey('kid-one'));
    assert.deepEqual(await store.listAudit(), [], "the gateway's own writes (first signing key) have no actor and no entry");
    const steps = sweep({});
    for (const [i, [action, run]] of steps.entries()) {
      clock.advance(1000);
      const actor = i % 2 === 0 ? ADMIN : ALICE;
      const before = (await store.listAudit({ limit: 1000 })).length;
      const target = await run(store, actor);
      const entries = await store.listAudit({ limit: 1000 });
      assert.equal(entries.length, before + 1, `${action}: exactly one entry`);
      const entry = entries[0];
      assert.ok(entry);
      assert.equal(entry.action, action);
      assert.equal(entry.target, target);
      assert.equal(entry.actor, actor.actor);
      assert.equal(entry.actorKind, actor.kind);
      assert.equal(entry.address, actor.address);
      assert.equal(entry.at, clock.now(), `${action}: the time of the change`);
    }
    const all = await store.listAudit({ limit: 1000 });
    assert.deepEqual(
      all.map((e) => e.action),
      steps.map(([action]) => action).reverse(),
      'newest first, one per step',
    );
    assert.ok(
      all.every((e, i) => i === 0 || (all[i - 1]?.id ?? 0) > e.id),
      'ids increase with time',
    );
    const created = all.find((e) => e.action === 'token.create');
    assert.deepEqual(created?.details, { label: 'ci', scope: 'read-only', account: 'acme', expiresAt: '2027-01-01T00:00:00.000Z' });
    assert.deepEqual(all.find((e) => e.action === 'account.set_scope')?.details, { scope: 'read-only', previousScope: 'read-write' });
    const rotation = all.find((e) => e.action === 'token.rotate');
    assert.deepEqual(rotation?.details, {
      label: 'ci',
      account: 'acme',
      graceMs: 60_000,
      previousSecretValidUntil: new Date((rotation?.at ?? 0) + 60_000).toISOString(),
    });
    assert.deepEqual(all.find((e) => e.action === 'signing_key.rotate')?.details, { alg: 'ES256', retiredKid: 'kid-one' });

    // Calls that change nothing are still recorded, marked unchanged; refused calls are not.
    await store.tokens.revoke(created?.target ?? '', ALICE);
    assert.deepEqual((await store.listAudit({ limit: 1 }))[0]?.details, { label: 'ci', account: 'acme', unchanged: true });
    const count = (await store.listAudit({ limit: 1000 })).length;
    await rejectsWith(store.tokens.rotate(created?.target ?? '', 0, ALICE), 'revoked');
    await rejectsWith(store.accounts.create('acme', 'read-only', ALICE), 'conflict');
    await rejectsWith(store.accounts.disable('nobody', ALICE), 'not_found');
    await store.tokens.create({ label: 'no actor', scope: 'read-only' });
    assert.equal((await store.listAudit({ limit: 1000 })).length, count, 'no entry for refused calls nor for calls without an actor');
  });

  test(`${backend.name}: audit: listing filters by since, actor, action and limit; bad filters are refused`, async (t) => {
    const clock = manualClock(Date.UTC(2026, 5, 1, 12, 0, 0));
    const { store } = await backend.open(t, { now: clock.now });
    await store.accounts.create('a1', 'read-only', ALICE);
    clock.advance(3_600_000);
    await store.accounts.create('a2', 'read-only', ADMIN);
    clock.advance(60_000);
    await store.accounts.disable('a1', ALICE);
    const since = await store.listAudit({ sinceMs: clock.now() - 120_000 });
    assert.deepEqual(
      since.map((e) => e.target),
      ['a1', 'a2'],
      'since is inclusive, newest first',
    );
    assert.deepEqual(
      (await store.listAudit({ actor: 'cli:alice' })).map((e) => e.action),
      ['account.disable', 'account.create'],
    );
    assert.deepEqual(
      (await store.listAudit({ action: 'account.create' })).map((e) => e.target),
      ['a2', 'a1'],
    );
    assert.deepEqual(
      (await store.listAudit({ limit: 1 })).map((e) => e.target),
      ['a1'],
    );
    assert.deepEqual(await store.listAudit({ sinceMs: clock.now() + 1 }), []);
    for (const limit of [0, -1, 1001, 1.5, Number.NaN]) await rejectsWith(store.listAudit({ limit }), 'invalid_argument');
    await rejectsWith(store.listAudit({ sinceMs: Number.NaN }), 'invalid_argument');
    await rejectsWith(store.listAudit({ actor: '' }), 'invalid_argument');
  });

  test(`${backend.name}: audit: the database refuses to update or delete an entry`, async (t) => {
    const { store, url } = await backend.open(t);
    await store.accounts.create('acme', 'read-write', ALICE);
    const [entry] = await store.listAudit();
    assert.ok(entry);
    const raw = await backend.raw(t, url);
    await assert.rejects(raw("UPDATE audit_log SET actor = 'cli:mallory' WHERE id = ?", [entry.id]), /append-only/);
    await assert.rejects(raw('UPDATE audit_log SET at = 0', []), /append-only/);
    await assert.rejects(raw('DELETE FROM audit_log WHERE id = ?', [entry.id]), /append-only/);
    await assert.rejects(raw('DELETE FROM audit_log', []), /append-only/);
    if (backend.name === 'postgres') await assert.rejects(raw('TRUNCATE audit_log', []), /append-only/);
    // Appending stays possible, as the store does it.
    await raw(
      "INSERT INTO audit_log (at, actor, actor_kind, action, target, address, details) VALUES (1, 'cli:root', 'cli', 'account.create', 'x', NULL, '{}')",
      [],
    );
    const after = await store.listAudit({ limit: 10 });
    assert.equal(after.length, 2);
    assert.deepEqual(
      after.find((e) => e.id === entry.id),
      entry,
      'the first entry is unchanged',
    );
    // The table's own checks: a kind it does not know, details that are not an object.
    await assert.rejects(raw("INSERT INTO audit_log (at, actor, actor_kind, action, details) VALUES (1, 'x:y', 'robot', 'a', '{}')", []));
    await assert.rejects(raw("INSERT INTO audit_log (at, actor, actor_kind, action, details) VALUES (1, 'cli:y', 'cli', 'a', '[1]')", []));
  });

  test(`${backend.name}: audit: a change whose entry cannot be written is not made; no secret reaches the table`, async (t) => {
    const { store, url } = await backend.open(t);
    // A malformed actor fails the entry after the row was written in the same transaction: both go.
    const bogus = { kind: 'cli', actor: 'credential:tok_x', address: null } as const;
    await rejectsWith(store.tokens.create({ label: 'x', scope: 'read-only' }, bogus), 'invalid_argument');
    await rejectsWith(store.accounts.create('acme', 'read-only', { ...ALICE, address: 'x'.repeat(65) }), 'invalid_argument');
    assert.deepEqual(await store.tokens.list(), [], 'the token was rolled back with its entry');
    assert.equal(await store.accounts.get('acme'), undefined);

    const token = await store.tokens.create({ label: 'deploy', scope: 'read-write' }, ADMIN);
    const rotated = await store.tokens.rotate(token.record.id, 60_000, ALICE);
    const client = await store.clients.create({ name: 'crm', scope: 'read-only' }, ADMIN);
    const rotatedClient = await store.clients.rotateSecret(client.record.clientId, 0, ALICE);
    await store.signingKeys.rotate(fakeKey('kid-secret'), ALICE);
    // A secret pasted where a label belongs would stay for ever in an append-only table: refused, and the token is not made.
    await rejectsWith(store.tokens.create({ label: `oops ${token.token}`, scope: 'read-only' }, ALICE), 'invalid_argument');
    await rejectsWith(
      store.appendAudit({ actor: ALICE, action: 'store.copy', target: null, details: { note: rotated.token } }),
      'invalid_argument',
    );
    assert.equal((await store.tokens.list()).length, 1);

    const secrets = [token.token, rotated.token, client.clientSecret, rotatedClient.clientSecret, 'd-kid-secret'];
    const bytes = await backend.auditBytes(t, url);
    assert.ok(bytes.includes(token.record.id), 'the scan reads the audit rows');
    for (const secret of secrets) assert.equal(bytes.includes(secret), false, 'a secret in the audit table');
    const listed = JSON.stringify(await store.listAudit({ limit: 1000 }));
    for (const secret of secrets) assert.equal(listed.includes(secret), false);
  });
}
