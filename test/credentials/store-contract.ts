/**
 * The credential store's behaviour, as one contract suite every backend runs (SQLite in
 * sqlite-store.test.ts, PostgreSQL in postgres-store.test.ts): a third backend gets it by
 * providing `open` and `raw`. Each test runs against a real, fresh database.
 */
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import type { OpenStoreOptions } from '../../src/credentials/open-store.js';
import { hashSecret } from '../../src/credentials/secrets.js';
import type { CredentialStore, NewSigningKey } from '../../src/credentials/store.js';
import { CredentialStoreError, isStoreError } from '../../src/credentials/store-error.js';
import { clientJson, tokenJson } from '../../src/credentials/records-json.js';
import { manualClock } from './helpers.js';

/** What a backend gives the contract. */
export interface ContractBackend {
  readonly name: string;
  /** A store on a fresh database, closed after the test. */
  open(t: TestContext, options?: OpenStoreOptions): Promise<{ store: CredentialStore; url: string }>;
  /** Runs SQL directly on the database at `url`, bypassing the store (`?` placeholders). */
  raw(t: TestContext, url: string): Promise<(sql: string, params: unknown[]) => Promise<void>>;
}

export async function rejectsWith(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isStoreError(error) && error.reason === reason);
}

/** A syntactically valid signing key (the store does no crypto). */
export function fakeKey(kid: string): NewSigningKey {
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
    privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}` },
  };
}

export function storeContract(backend: ContractBackend): void {
  test(`${backend.name}: accounts: create, list, get, set-scope, disable`, async (t) => {
    const { store } = await backend.open(t);
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
    await rejectsWith(store.tokens.create({ label: 'x', scope: 'read-only', account: 'alice' }), 'disabled');
    const enabled = await store.accounts.enable('alice');
    assert.equal(enabled.disabled, false);
    assert.equal(enabled.disabledAt, null);
    assert.equal((await store.accounts.enable('alice')).disabled, false, 'idempotent');
    await rejectsWith(store.accounts.enable('nobody'), 'not_found');
    const changes = await store.changesSince(before);
    assert.deepEqual(
      changes.map((c) => [c.kind, 'account' in c ? c.account : c.credentialId]),
      [
        ['account.scope_changed', 'alice'],
        ['account.disabled', 'alice'],
        ['account.enabled', 'alice'],
      ],
    );
    const issued = await store.tokens.create({ label: 'x', scope: 'read-only', account: 'alice' });
    const found = await store.findTokenByHash(hashSecret(issued.token));
    assert.equal(found?.account?.disabled, false, 'an enabled account verifies again');
    assert.deepEqual(
      (await store.accounts.list()).map((a) => a.name),
      ['alice'],
    );
    assert.equal(await store.accounts.get('nobody'), undefined);
  });

  test(`${backend.name}: tokens: create shows the secret once, list and get never do`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
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
    // The JSON shape of docs/cli.md, secret exactly once.
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

  test(`${backend.name}: rotate: the same id, a new secret; the old hash kept only with a grace`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
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

  test(`${backend.name}: a credential is found by the hash of its current or previous secret (revoke --secret); unknown ids are not echoed`, async (t) => {
    const { store } = await backend.open(t);
    const token = await store.tokens.create({ label: 'leaky', scope: 'read-only' });
    const other = await store.tokens.create({ label: 'other', scope: 'read-only' });
    const rotated = await store.tokens.rotate(token.record.id, 600_000);
    assert.equal(await store.tokens.idBySecretHash(hashSecret(token.token)), token.record.id, 'previous secret');
    assert.equal(await store.tokens.idBySecretHash(hashSecret(rotated.token)), token.record.id, 'current secret');
    assert.equal(await store.tokens.idBySecretHash(hashSecret(other.token)), other.record.id);
    await store.tokens.revoke(token.record.id);
    assert.equal(await store.tokens.idBySecretHash(hashSecret(rotated.token)), token.record.id, 'revoked ones too');
    assert.equal(await store.tokens.idBySecretHash(hashSecret('pcl_unknown')), undefined);

    const client = await store.clients.create({ name: 'svc', scope: 'read-only' });
    const next = await store.clients.rotateSecret(client.record.clientId, 600_000);
    assert.equal(await store.clients.idBySecretHash(hashSecret(client.clientSecret)), client.record.clientId, 'previous secret');
    assert.equal(await store.clients.idBySecretHash(hashSecret(next.clientSecret)), client.record.clientId, 'current secret');
    assert.equal(await store.clients.idBySecretHash(hashSecret(token.token)), undefined, 'a token secret is no client secret');

    for (const attempt of [
      () => store.tokens.revoke(rotated.token),
      () => store.clients.revoke(next.clientSecret),
      () => store.tokens.rotate(rotated.token),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isStoreError(error) && error.reason === 'not_found');
      assert.ok(!(error as Error).message.includes('pc'), 'a secret given as an id is not echoed');
    }
    await rejectsWith(store.tokens.revoke('tok_nope'), 'not_found');
  });

  test(`${backend.name}: revocation is permanent: no API restores it and SQL refuses to`, async (t) => {
    const { store, url } = await backend.open(t);
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

    // Even a direct write to the database cannot undo it, nor free the id for reuse.
    const raw = await backend.raw(t, url);
    await assert.rejects(raw('UPDATE tokens SET revoked_at = NULL WHERE id = ?', [issued.record.id]), /revoked token cannot change/);
    await assert.rejects(raw('UPDATE tokens SET secret_hash = ? WHERE id = ?', [Buffer.alloc(32), issued.record.id]), /cannot change/);
    await assert.rejects(raw('DELETE FROM tokens WHERE id = ?', [issued.record.id]), /never deleted/);
    await assert.rejects(
      raw('UPDATE clients SET revoked_at = NULL WHERE id = ?', [client.record.clientId]),
      /revoked client cannot change/,
    );
    await assert.rejects(raw('DELETE FROM clients', []), /never deleted/);
    await raw('UPDATE tokens SET last_used_at = 1 WHERE id = ?', [issued.record.id]); // allowed
    assert.ok((await store.tokens.get(issued.record.id))?.revokedAt);
  });

  test(`${backend.name}: clients: create shows the secret once, rotate-secret, revoke; JSON keeps the OAuth names`, async (t) => {
    const { store } = await backend.open(t);
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
    assert.deepEqual(change && { kind: change.kind, id: 'credentialId' in change ? change.credentialId : '' }, {
      kind: 'client.revoked',
      id: issued.record.clientId,
    });
  });

  test(`${backend.name}: every mutation that can invalidate a cache appends to the change feed`, async (t) => {
    const { store } = await backend.open(t);
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
    await store.accounts.enable('a');
    await store.clients.rotateSecret(client.record.clientId);
    await store.clients.revoke(client.record.clientId);
    await store.tokens.revoke(token.record.id);
    unsubscribe();
    const expected = [
      'token.rotated',
      'token.expiry_changed',
      'account.scope_changed',
      'account.disabled',
      'account.enabled',
      'client.secret_rotated',
      'client.revoked',
      'token.revoked',
    ];
    assert.deepEqual(seen, expected, 'subscribers of this instance see each change at commit');
    const rows = await store.changesSince(start);
    assert.deepEqual(
      rows.map((r) => r.kind),
      expected,
    );
    assert.deepEqual(
      rows.map((r) => r.seq),
      expected.map((_, i) => start + i + 1),
    );
    assert.equal(await store.latestChangeSeq(), start + expected.length);
    assert.deepEqual(await store.changesSince(start, 2).then((r) => r.length), 2);
  });

  test(`${backend.name}: last-used times are written in a batch and only move forward`, async (t) => {
    const { store } = await backend.open(t);
    const token = await store.tokens.create({ label: 'l', scope: 'read-only' });
    const client = await store.clients.create({ name: 'c', scope: 'read-only' });
    const before = await store.latestChangeSeq();
    const t1 = Date.UTC(2026, 1, 1);
    await store.recordLastUsed(
      new Map([
        [token.record.id, t1],
        [client.record.clientId, t1],
        ['tok_unknown', t1],
        ['junk', t1],
      ]),
    );
    await store.recordLastUsed(new Map([[token.record.id, t1 - 1000]]));
    assert.equal((await store.tokens.get(token.record.id))?.lastUsedAt, new Date(t1).toISOString());
    assert.equal((await store.clients.get(client.record.clientId))?.lastUsedAt, new Date(t1).toISOString());
    assert.equal(await store.latestChangeSeq(), before, 'last use is not a change');
  });

  test(`${backend.name}: during a rotation grace, last use is kept per secret generation; a rotation resets the previous one's`, async (t) => {
    const { store } = await backend.open(t);
    const token = await store.tokens.create({ label: 'l', scope: 'read-only' });
    const client = await store.clients.create({ name: 'c', scope: 'read-only' });
    const t1 = Date.UTC(2026, 1, 1);
    const previous = (id: string) => `${id}:previous`;
    await store.recordLastUsed(
      new Map([
        [previous(token.record.id), t1],
        [previous(client.record.clientId), t1],
      ]),
    );
    assert.equal((await store.tokens.get(token.record.id))?.previousSecretLastUsedAt, null, 'no previous secret: nothing to record');
    await store.tokens.rotate(token.record.id, 600_000);
    await store.clients.rotateSecret(client.record.clientId, 600_000);
    await store.recordLastUsed(
      new Map([
        [previous(token.record.id), t1],
        [previous(client.record.clientId), t1 + 5],
      ]),
    );
    await store.recordLastUsed(
      new Map([
        [token.record.id, t1 + 1000],
        [previous(token.record.id), t1 - 1000],
      ]),
    );
    const tok = await store.tokens.get(token.record.id);
    assert.equal(tok?.previousSecretLastUsedAt, new Date(t1).toISOString(), 'only moves forward');
    assert.equal(tok?.lastUsedAt, new Date(t1 + 1000).toISOString(), 'lastUsedAt is the last use of either');
    const cli = await store.clients.get(client.record.clientId);
    assert.equal(cli?.previousSecretLastUsedAt, new Date(t1 + 5).toISOString());
    assert.equal(cli?.lastUsedAt, new Date(t1 + 5).toISOString());
    assert.equal(tokenJson(tok).previousSecretLastUsedAt, new Date(t1).toISOString(), 'in the JSON shape');
    assert.equal(clientJson(cli).previousSecretLastUsedAt, new Date(t1 + 5).toISOString());
    await store.tokens.rotate(token.record.id, 600_000);
    assert.equal((await store.tokens.get(token.record.id))?.previousSecretLastUsedAt, null, 'a new generation starts unused');
  });

  test(`${backend.name}: countActive counts the credentials that work now, by kind`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
    assert.deepEqual(await store.countActive(), { api_token: 0, oauth_client: 0 });
    await store.accounts.create('team', 'read-write');
    await store.tokens.create({ label: 'a', scope: 'read-only' });
    await store.tokens.create({ label: 'b', scope: 'read-only', account: 'team' });
    const revoked = await store.tokens.create({ label: 'c', scope: 'read-only' });
    await store.tokens.revoke(revoked.record.id);
    await store.tokens.create({ label: 'd', scope: 'read-only', expiresAt: new Date(clock.now() + 1_000) });
    await store.clients.create({ name: 'x', scope: 'read-only' });
    const gone = await store.clients.create({ name: 'y', scope: 'read-only' });
    await store.clients.revoke(gone.record.clientId);
    assert.deepEqual(await store.countActive(), { api_token: 3, oauth_client: 1 });
    clock.advance(1_000);
    assert.deepEqual(await store.countActive(), { api_token: 2, oauth_client: 1 }, 'an expired token no longer counts');
    await store.accounts.disable('team');
    assert.deepEqual(await store.countActive(), { api_token: 1, oauth_client: 1 }, "nor a disabled account's");
  });

  test(`${backend.name}: a closed store rejects every call with \`unavailable\``, async (t) => {
    const { store } = await backend.open(t);
    await store.close();
    await store.close();
    await rejectsWith(store.ping(), 'unavailable');
    await rejectsWith(store.findTokenByHash(hashSecret('x')), 'unavailable');
    await rejectsWith(store.tokens.list(), 'unavailable');
    const error = await store.latestChangeSeq().catch((e: unknown) => e);
    assert.ok(error instanceof CredentialStoreError);
  });

  test(`${backend.name}: only 32-byte hashes fit the secret columns`, async (t) => {
    const { store, url } = await backend.open(t);
    const issued = await store.tokens.create({ label: 'h', scope: 'read-only' });
    const raw = await backend.raw(t, url);
    await assert.rejects(raw('UPDATE tokens SET secret_hash = ? WHERE id = ?', [Buffer.from(issued.token), issued.record.id]));
    await assert.rejects(
      raw("INSERT INTO clients (id, name, scope, secret_hash, created_at) VALUES ('cli_x', 'x', 'read-only', ?, 1)", [
        Buffer.from('pcs_not_a_hash_but_a_secret_of_some_length_x'),
      ]),
    );
  });

  test(`${backend.name}: signing keys: one active key, rotation retires and erases the private part`, async (t) => {
    const { store } = await backend.open(t);
    assert.deepEqual(await store.signingKeys.list(), []);
    const [first, second] = await Promise.all([
      store.signingKeys.ensureActive(fakeKey('k1')),
      store.signingKeys.ensureActive(fakeKey('k2')),
    ]);
    assert.equal(first.kid, second.kid, 'concurrent first starts agree on one key');
    assert.equal(first.privateJwk?.d, `d-${first.kid}`);
    const before = await store.latestChangeSeq();
    const { active, retired } = await store.signingKeys.rotate(fakeKey('k3'));
    assert.equal(active.kid, 'k3');
    assert.equal(retired?.kid, first.kid);
    assert.equal(retired?.privateJwk, null);
    assert.notEqual(retired?.retiredAt, null);
    const keys = await store.signingKeys.list();
    assert.deepEqual(
      keys.map((k) => [k.kid, k.privateJwk === null]),
      [
        ['k3', false],
        [first.kid, true],
      ],
    );
    assert.deepEqual(
      (await store.changesSince(before)).map((c) => c.kind),
      ['signing_key.added'],
    );
    await rejectsWith(store.signingKeys.rotate(fakeKey('k3')), 'invalid_argument');
    await rejectsWith(store.signingKeys.rotate({ ...fakeKey('k4'), publicJwk: { kty: 'EC', d: 'secret' } }), 'invalid_argument');
  });

  test(`${backend.name}: access-token revocation is recorded once and announced`, async (t) => {
    const { store } = await backend.open(t);
    const before = await store.latestChangeSeq();
    assert.equal(await store.accessTokens.isRevoked('jti-1'), false);
    await store.accessTokens.revoke('jti-1', 'cli_x', Date.now() + 60_000);
    await store.accessTokens.revoke('jti-1', 'cli_x', Date.now() + 60_000);
    assert.equal(await store.accessTokens.isRevoked('jti-1'), true);
    assert.deepEqual(
      (await store.changesSince(before)).map((c) => c.kind),
      ['access_token.revoked'],
    );
    await rejectsWith(store.accessTokens.revoke('', 'cli_x', 1), 'invalid_argument');
  });

  test(`${backend.name}: the verification records carry what the verifier needs`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
    await store.accounts.create('acct', 'read-write');
    const token = await store.tokens.create({ label: 'v', scope: 'admin', account: 'acct', expiresAt: new Date(clock.now() + 1000) });
    const found = await store.findTokenByHash(hashSecret(token.token));
    assert.deepEqual(found && { ...found, secretHash: Buffer.from(found.secretHash).toString('hex') }, {
      id: token.record.id,
      scope: 'admin',
      secretHash: Buffer.from(hashSecret(token.token)).toString('hex'),
      previousSecretHash: null,
      previousValidUntil: null,
      expiresAt: clock.now() + 1000,
      revokedAt: null,
      account: { name: 'acct', scope: 'read-write', disabled: false },
      owner: false,
      deprecation: null,
    });
    assert.equal(await store.findTokenByHash(hashSecret('pcl_unknown')), undefined);
    const client = await store.clients.create({ name: 'c', scope: 'read-only' });
    assert.equal((await store.findClientById(client.record.clientId))?.rotatedAt, null);
    clock.advance(5);
    await store.clients.rotateSecret(client.record.clientId);
    assert.equal((await store.findClientById(client.record.clientId))?.rotatedAt, clock.now());
    assert.equal(await store.findClientById('cli_nope'), undefined);
  });

  test(`${backend.name}: deprecation with a sunset: stored, listed, announced in the feed, removable, checked`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
    const token = await store.tokens.create({ label: 'old', scope: 'read-only' });
    const client = await store.clients.create({ name: 'old-client', scope: 'read-only' });
    const before = await store.latestChangeSeq();
    const sunset = new Date(clock.now() + 86_400_000);
    const tok = await store.tokens.setDeprecation(token.record.id, { sunset, link: 'https://docs.example.com/migrate' });
    assert.deepEqual(tok.deprecation, {
      since: new Date(clock.now()).toISOString(),
      sunset: sunset.toISOString(),
      link: 'https://docs.example.com/migrate',
    });
    assert.deepEqual(tokenJson(tok).deprecation, tok.deprecation, 'in the JSON shape');
    const since = new Date(clock.now() - 1000);
    const cli = await store.clients.setDeprecation(client.record.clientId, { sunset, since });
    assert.deepEqual(cli.deprecation, { since: since.toISOString(), sunset: sunset.toISOString(), link: null });
    assert.deepEqual(clientJson(cli).deprecation, cli.deprecation);
    assert.deepEqual((await store.findTokenByHash(hashSecret(token.token)))?.deprecation, {
      since: clock.now(),
      sunset: sunset.getTime(),
      link: 'https://docs.example.com/migrate',
    });
    assert.deepEqual((await store.findClientById(client.record.clientId))?.deprecation, {
      since: since.getTime(),
      sunset: sunset.getTime(),
      link: null,
    });
    assert.deepEqual(
      (await store.changesSince(before)).map((c) => [c.kind, 'credentialId' in c ? c.credentialId : '']),
      [
        ['token.deprecated', token.record.id],
        ['client.deprecated', client.record.clientId],
      ],
      'every instance evicts its cache entry',
    );
    assert.equal((await store.tokens.setDeprecation(token.record.id, null)).deprecation, null, 'removable');
    assert.equal((await store.findTokenByHash(hashSecret(token.token)))?.deprecation, null);
    const past = await store.tokens.setDeprecation(token.record.id, { sunset: new Date(clock.now() - 5000) });
    assert.ok(
      past.deprecation !== null && Date.parse(past.deprecation.since) < Date.parse(past.deprecation.sunset),
      'a past sunset is accepted, since before it',
    );
    await rejectsWith(store.tokens.setDeprecation(token.record.id, { sunset, since: new Date(sunset.getTime() + 1) }), 'invalid_argument');
    await rejectsWith(store.tokens.setDeprecation(token.record.id, { sunset: new Date('nope') }), 'invalid_argument');
    await rejectsWith(store.tokens.setDeprecation(token.record.id, { sunset, link: 'javascript:alert(1)' }), 'invalid_argument');
    await rejectsWith(store.tokens.setDeprecation(token.record.id, { sunset, link: 'https://x.test/>; rel="next"' }), 'invalid_argument');
    await rejectsWith(store.tokens.setDeprecation('tok_nope', { sunset }), 'not_found');
    await store.clients.revoke(client.record.clientId);
    await rejectsWith(store.clients.setDeprecation(client.record.clientId, { sunset }), 'revoked');
  });

  test(`${backend.name}: concurrent writers through one store: no lost write, every change in the feed once`, async (t) => {
    const { store } = await backend.open(t);
    const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => store.tokens.create({ label: `c${i}`, scope: 'read-only' })));
    const before = await store.latestChangeSeq();
    await Promise.all(tokens.map((tk) => store.tokens.revoke(tk.record.id)));
    const rows = await store.changesSince(before);
    assert.equal(rows.length, 20);
    assert.deepEqual(new Set(rows.map((r) => ('credentialId' in r ? r.credentialId : ''))), new Set(tokens.map((tk) => tk.record.id)));
    assert.ok((await store.tokens.list()).every((tk) => tk.revokedAt !== null));
  });

  test(`${backend.name}: console sessions: open, use within the idle time, end; only the id hash is kept`, async (t) => {
    const clock = manualClock();
    const { store } = await backend.open(t, { now: clock.now });
    const admin = await store.tokens.create({ label: 'admin', scope: 'admin' });
    const idleMs = 60_000;
    const a = hashSecret('session a');
    const b = hashSecret('session b');
    await store.sessions.open(a, admin.record.id, clock.now() - idleMs);
    const used = await store.sessions.use(a, clock.now() - idleMs);
    assert.equal(used?.credentialId, admin.record.id);
    clock.advance(50_000);
    assert.ok(await store.sessions.use(a, clock.now() - idleMs), 'used again within the idle time: the clock restarts');
    clock.advance(50_000);
    assert.ok(await store.sessions.use(a, clock.now() - idleMs), '100 s after opening but 50 s after its last use');
    clock.advance(idleMs + 1);
    assert.equal(await store.sessions.use(a, clock.now() - idleMs), undefined, 'idle for longer: over');
    await store.sessions.open(b, admin.record.id, clock.now() - idleMs);
    assert.ok(await store.sessions.use(b, clock.now() - idleMs));
    await store.sessions.end(b);
    await store.sessions.end(b);
    assert.equal(await store.sessions.use(b, clock.now() - idleMs), undefined, 'ended: gone for every instance');
    await rejectsWith(store.sessions.open(new Uint8Array(5), admin.record.id, 0), 'invalid_argument');
  });

  test(`${backend.name}: owner tokens: need an account, never admin, and the flag never changes`, async (t) => {
    const { store, url } = await backend.open(t);
    await store.accounts.create('alpha', 'read-write');
    const owner = await store.tokens.create({ label: 'owner', scope: 'read-write', account: 'alpha', owner: true });
    assert.equal(owner.record.owner, true);
    assert.equal(tokenJson(owner).owner, true);
    assert.equal((await store.findTokenByHash(hashSecret(owner.token)))?.owner, true);
    const plain = await store.tokens.create({ label: 'plain', scope: 'read-only', account: 'alpha' });
    assert.equal(plain.record.owner, false);
    assert.equal((await store.findTokenByHash(hashSecret(plain.token)))?.owner, false);
    await rejectsWith(store.tokens.create({ label: 'loose', scope: 'read-only', owner: true }), 'invalid_argument');
    await rejectsWith(store.tokens.create({ label: 'admin owner', scope: 'admin', account: 'alpha', owner: true }), 'invalid_argument');
    const raw = await backend.raw(t, url);
    await assert.rejects(
      raw('UPDATE tokens SET owner = ? WHERE id = ?', [backend.name.toLowerCase().includes('postgres') ? true : 1, plain.record.id]),
      /owner token/,
    );
    const rotated = await store.tokens.rotate(owner.record.id);
    assert.equal(rotated.record.owner, true, 'rotation keeps the flag');
  });
}
