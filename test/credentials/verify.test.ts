import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { openStore } from '../../src/credentials/open-store.js';
import { generateApiToken, generateClientSecret } from '../../src/credentials/secrets.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import {
  createCredentialVerifier,
  type CredentialVerifier,
  type CredentialVerifierOptions,
  type VerifierEvent,
} from '../../src/credentials/verify.js';
import type { Principal, PresentedCredential } from '../../src/types.js';
import { cacheSettings, codeOf, outcomeOf, countingStore, isPromise, manualClock, sleep, tempStore } from './helpers.js';

const bearer = (token: string): PresentedCredential => ({ scheme: 'bearer', token });
const basic = (username: string, password: string): PresentedCredential => ({ scheme: 'basic', username, password });

async function verifierOn(
  t: TestContext,
  store: CredentialStore,
  options: Partial<CredentialVerifierOptions> = {},
): Promise<CredentialVerifier> {
  const verifier = createCredentialVerifier({ store, cache: cacheSettings(), ...options });
  t.after(() => verifier.close());
  await verifier.start();
  return verifier;
}

/** Verifies and asserts the answer came from the cache (synchronously). */
function cached(verifier: CredentialVerifier, presented: PresentedCredential): Principal {
  const result = verifier.verify(presented);
  assert.ok(!isPromise(result), 'expected a synchronous cache hit');
  return result;
}

/** Polls `condition` every 2 ms; returns the elapsed ms, or fails after `timeoutMs`. */
async function within(timeoutMs: number, condition: () => Promise<boolean> | boolean): Promise<number> {
  const start = performance.now();
  while (!(await condition())) {
    if (performance.now() - start > timeoutMs) assert.fail(`condition not met within ${timeoutMs} ms`);
    await sleep(2);
  }
  return performance.now() - start;
}

test('a one-character typo is refused with zero store reads (bearer and basic)', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, reads } = countingStore(real);
  const verifier = await verifierOn(t, store);
  const { token } = await real.tokens.create({ label: 'l', scope: 'read-only' });
  const client = await real.clients.create({ name: 'c', scope: 'read-only' });
  for (let i = 4; i < token.length; i++) {
    const typo = token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
    assert.equal(await codeOf(() => verifier.verify(bearer(typo))), 'auth.invalid_token');
    assert.equal(await codeOf(() => verifier.verify(basic('x', typo))), 'auth.invalid_credentials');
    const secretTypo = client.clientSecret.slice(0, i) + (client.clientSecret[i] === 'a' ? 'b' : 'a') + client.clientSecret.slice(i + 1);
    assert.equal(await codeOf(() => verifier.verify(basic(client.record.clientId, secretTypo))), 'auth.invalid_credentials');
  }
  for (const junk of ['', 'x', 'eyJhbGciOiJIUzI1NiJ9.e30.sig', `${token}x`, token.toUpperCase()]) {
    assert.equal(await codeOf(() => verifier.verify(bearer(junk))), 'auth.invalid_token');
  }
  assert.equal(reads(), 0);
  // A typo is refused synchronously: no promise, no store. (The last char is changed to one it
  // is not: a fixed '0' would reproduce the token itself once in 62 runs.)
  const lastTypo = token.slice(0, -1) + (token.endsWith('0') ? '1' : '0');
  assert.throws(() => verifier.verify(bearer(lastTypo)));
});

test('bearer and basic API tokens, OAuth clients: the Principal, then synchronous cache hits', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, counts } = countingStore(real);
  const verifier = await verifierOn(t, store);
  await real.accounts.create('alice', 'read-write');
  const owned = await real.tokens.create({ label: 'owned', scope: 'read-write', account: 'alice' });
  const alone = await real.tokens.create({ label: 'alone', scope: 'admin' });
  const client = await real.clients.create({ name: 'crm', scope: 'read-write' });

  const first = verifier.verify(bearer(owned.token));
  assert.ok(isPromise(first), 'a miss is asynchronous');
  assert.deepEqual(await first, {
    kind: 'api_token',
    scheme: 'bearer',
    subject: 'alice',
    scope: 'read-write',
    credentialId: owned.record.id,
    account: 'alice',
  });
  assert.deepEqual(cached(verifier, bearer(owned.token)), await first);

  assert.deepEqual(await verifier.verify(bearer(alone.token)), {
    kind: 'api_token',
    scheme: 'bearer',
    subject: alone.record.id,
    scope: 'admin',
    credentialId: alone.record.id,
  });
  assert.deepEqual(await verifier.verify(basic('anything', owned.token)), {
    kind: 'api_token',
    scheme: 'basic',
    subject: 'alice',
    scope: 'read-write',
    credentialId: owned.record.id,
    account: 'alice',
  });
  assert.equal(cached(verifier, basic('anything', owned.token)).scheme, 'basic');
  const clientPrincipal = {
    kind: 'oauth_client',
    scheme: 'basic',
    subject: client.record.clientId,
    scope: 'read-write',
    credentialId: client.record.clientId,
  };
  assert.deepEqual(await verifier.verify(basic(client.record.clientId, client.clientSecret)), clientPrincipal);
  assert.deepEqual(cached(verifier, basic(client.record.clientId, client.clientSecret)), clientPrincipal);
  assert.deepEqual({ token: counts.token, client: counts.client }, { token: 3, client: 1 });
  const stats = verifier.stats();
  assert.equal(stats.hits, 3);
  assert.equal(stats.misses, 4);
});

test('unknown token and wrong secret: same code, same detail, same work', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, counts } = countingStore(real);
  const verifier = await verifierOn(t, store);
  const client = await real.clients.create({ name: 'crm', scope: 'read-write' });
  const refusal = async (presented: PresentedCredential): Promise<{ code: string; detail: string | undefined; status: number }> => {
    try {
      await verifier.verify(presented);
    } catch (error) {
      const e = error as { code: string; detail: string | undefined; status: number };
      return { code: e.code, detail: e.detail, status: e.status };
    }
    return assert.fail('accepted');
  };
  const wrongSecret = await refusal(basic(client.record.clientId, generateClientSecret()));
  const unknownClient = await refusal(basic('cli_0000000000000000000000', generateClientSecret()));
  assert.deepEqual(wrongSecret, unknownClient);
  assert.equal(wrongSecret.code, 'auth.invalid_credentials');
  assert.equal(counts.client, 2, 'each did one lookup');
  const unknownToken = await refusal(bearer(generateApiToken()));
  assert.deepEqual(unknownToken.code, 'auth.invalid_token');
  assert.equal((await refusal(basic('u', generateApiToken()))).code, 'auth.invalid_credentials');
  for (const r of [wrongSecret, unknownToken]) assert.ok(!/pc[ls]_/.test(r.detail ?? ''), 'no secret in the detail');
});

test('account narrowing: a read-write token of a read-only account is read-only; set-scope and disable follow at once', async (t) => {
  const { store } = await tempStore(t);
  const verifier = await verifierOn(t, store);
  await store.accounts.create('reader', 'read-only');
  const token = await store.tokens.create({ label: 'rw', scope: 'read-write', account: 'reader' });
  assert.equal((await verifier.verify(bearer(token.token))).scope, 'read-only');
  await store.accounts.setScope('reader', 'read-write');
  // Same process: the cached entry is evicted before setScope's promise resolves.
  const widened = verifier.verify(bearer(token.token));
  assert.ok(isPromise(widened));
  assert.equal((await widened).scope, 'read-write');
  await store.accounts.setScope('reader', 'read-only');
  assert.equal((await verifier.verify(bearer(token.token))).scope, 'read-only');
  assert.equal(cached(verifier, bearer(token.token)).scope, 'read-only');
  await store.accounts.disable('reader');
  assert.equal(await codeOf(() => verifier.verify(bearer(token.token))), 'auth.token_revoked');
  assert.equal(await codeOf(() => verifier.verify(bearer(token.token))), 'auth.token_revoked');
});

test('set-scope and disable through another connection reach cached tokens within 1 s', async (t) => {
  const { store, url } = await tempStore(t);
  const other = await openStore(url, { create: true });
  t.after(() => other.close());
  const events: VerifierEvent[] = [];
  // A 50 ms poll (default 250) leaves the 1 s bound a wide margin for a stalled machine.
  const verifier = await verifierOn(t, store, { pollIntervalMs: 50, onEvent: (e) => events.push(e) });
  await other.accounts.create('team', 'admin');
  const tokens = await Promise.all([1, 2, 3].map((i) => other.tokens.create({ label: `t${i}`, scope: 'read-write', account: 'team' })));
  for (const { token } of tokens) await verifier.verify(bearer(token));
  for (const { token } of tokens) assert.equal(cached(verifier, bearer(token)).scope, 'read-write');

  await other.accounts.setScope('team', 'read-only');
  const narrowedMs = await within(1000, async () => (await verifier.verify(bearer(tokens[0]!.token))).scope === 'read-only');
  for (const { token } of tokens) assert.equal((await verifier.verify(bearer(token))).scope, 'read-only');
  const applied = events.find((e) => e.type === 'change_applied');
  assert.ok(applied && applied.type === 'change_applied' && applied.evicted === 3, 'every token of the account evicted');
  assert.ok(applied.delayMs < 1000);

  await other.accounts.disable('team');
  const stoppedMs = await within(
    1000,
    async () => (await outcomeOf(() => verifier.verify(bearer(tokens[1]!.token)))) === 'auth.token_revoked',
  );
  t.diagnostic(`cross-connection set-scope applied after ${narrowedMs.toFixed(0)} ms, disable after ${stoppedMs.toFixed(0)} ms`);
});

test('expiry is enforced to the second, also on cached entries (injected clock)', async (t) => {
  const clock = manualClock();
  const { store: real } = await tempStore(t, { now: clock.now });
  const { store, reads } = countingStore(real);
  const verifier = await verifierOn(t, store, { now: clock.now, cache: cacheSettings({ ttlMs: 3_600_000 }) });
  const expiresAt = clock.now() + 10_000;
  const token = await real.tokens.create({ label: 'short', scope: 'read-only', expiresAt: new Date(expiresAt) });
  await verifier.verify(bearer(token.token));
  clock.set(expiresAt - 1);
  cached(verifier, bearer(token.token));
  assert.equal(reads(), 1);
  clock.set(expiresAt);
  const error = (() => {
    try {
      void verifier.verify(bearer(token.token));
    } catch (e) {
      return e as { code: string; detail: string };
    }
    return assert.fail('expired token accepted');
  })();
  assert.equal(error.code, 'auth.token_expired', 'refused synchronously from the cache');
  assert.equal(error.detail, `The token expired at ${new Date(expiresAt).toISOString()}.`);
  assert.equal(reads(), 1, 'no store read needed to refuse');

  // A fresh verifier (another instance) agrees from the store.
  const fresh = await verifierOn(t, real, { now: clock.now });
  assert.equal(await codeOf(() => fresh.verify(bearer(token.token))), 'auth.token_expired');
  clock.set(expiresAt - 1000);
  const other = await verifierOn(t, real, { now: clock.now });
  assert.equal((await other.verify(bearer(token.token))).credentialId, token.record.id);

  // Extending the expiry evicts the cached refusal.
  clock.set(expiresAt + 5);
  assert.equal(await codeOf(() => verifier.verify(bearer(token.token))), 'auth.token_expired');
  await real.tokens.setExpiry(token.record.id, new Date(expiresAt + 60_000));
  assert.equal((await verifier.verify(bearer(token.token))).credentialId, token.record.id);
});

test('rotate with a grace: the old secret works until the grace ends, then fails; without grace at once', async (t) => {
  const clock = manualClock();
  const { store } = await tempStore(t, { now: clock.now });
  const verifier = await verifierOn(t, store, { now: clock.now });
  const issued = await store.tokens.create({ label: 'rotating', scope: 'read-write' });
  await verifier.verify(bearer(issued.token));
  cached(verifier, bearer(issued.token));

  const rotated = await store.tokens.rotate(issued.record.id, 60_000);
  const graceEnd = clock.now() + 60_000;
  assert.equal((await verifier.verify(bearer(issued.token))).credentialId, issued.record.id, 'old secret in grace');
  assert.equal((await verifier.verify(bearer(rotated.token))).credentialId, issued.record.id, 'new secret');
  clock.set(graceEnd - 1);
  cached(verifier, bearer(issued.token));
  clock.set(graceEnd);
  assert.equal(await codeOf(() => verifier.verify(bearer(issued.token))), 'auth.invalid_token', 'old secret after grace');
  assert.equal(cached(verifier, bearer(rotated.token)).credentialId, issued.record.id);

  const again = await store.tokens.rotate(issued.record.id);
  assert.equal(
    await codeOf(() => verifier.verify(bearer(rotated.token))),
    'auth.invalid_token',
    'no grace: fails at once, even though cached',
  );
  assert.equal((await verifier.verify(bearer(again.token))).credentialId, issued.record.id);
});

test('client secret rotation and client revocation', async (t) => {
  const clock = manualClock();
  const { store } = await tempStore(t, { now: clock.now });
  const verifier = await verifierOn(t, store, { now: clock.now });
  const client = await store.clients.create({ name: 'svc', scope: 'read-only', orgId: 'o', technicalAccountId: 'ta' });
  const id = client.record.clientId;
  await verifier.verify(basic(id, client.clientSecret));
  const rotated = await store.clients.rotateSecret(id, 1000);
  assert.equal((await verifier.verify(basic(id, client.clientSecret))).subject, id);
  clock.advance(1000);
  assert.equal(await codeOf(() => verifier.verify(basic(id, client.clientSecret))), 'auth.invalid_credentials');
  assert.equal((await verifier.verify(basic(id, rotated.clientSecret))).subject, id);
  await store.clients.revoke(id);
  assert.equal(await codeOf(() => verifier.verify(basic(id, rotated.clientSecret))), 'auth.token_revoked');
});

test('revocation in the same process is immediate, even for a cached token', async (t) => {
  const { store } = await tempStore(t);
  const verifier = await verifierOn(t, store);
  const issued = await store.tokens.create({ label: 'doomed', scope: 'read-write' });
  await verifier.verify(bearer(issued.token));
  cached(verifier, bearer(issued.token));
  await store.tokens.revoke(issued.record.id);
  assert.equal(await codeOf(() => verifier.verify(bearer(issued.token))), 'auth.token_revoked');
});

test('a flood of 10,000 random well-formed tokens: reads bounded, good entries still cached', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, reads } = countingStore(real);
  // TTLs of an hour: on a slow machine the real clock must not expire entries mid-test. The loop
  // below never yields to timers (SQLite answers synchronously), so the feed is not re-checked
  // meanwhile: a minute's staleness bound keeps the verifier trusting it.
  const verifier = await verifierOn(t, store, {
    cache: cacheSettings({ maxEntries: 2, negativeMaxEntries: 20_000, ttlMs: 3_600_000, negativeTtlMs: 3_600_000, maxStalenessMs: 60_000 }),
  });
  const good = await real.tokens.create({ label: 'good', scope: 'read-only' });
  await verifier.verify(bearer(good.token));
  const flood = Array.from({ length: 10_000 }, () => generateApiToken());
  for (const token of flood) assert.equal(await codeOf(() => verifier.verify(bearer(token))), 'auth.invalid_token');
  assert.equal(reads(), 1 + 10_000, 'one read per distinct token, no more');
  for (const token of flood) assert.throws(() => verifier.verify(bearer(token)), { code: 'auth.invalid_token' });
  assert.equal(reads(), 1 + 10_000, 'the replay is answered by the negative cache');
  assert.equal(cached(verifier, bearer(good.token)).credentialId, good.record.id, 'the good entry survived');
  const stats = verifier.stats();
  assert.equal(stats.positiveEntries, 1);
  assert.equal(stats.negativeEntries, 10_000);
  assert.equal(stats.negativeHits, 10_000);
});

test('a small negative cache bounds memory, never the positive entries', async (t) => {
  const { store } = await tempStore(t);
  const verifier = await verifierOn(t, store, { cache: cacheSettings({ maxEntries: 1, negativeMaxEntries: 100 }) });
  const good = await store.tokens.create({ label: 'good', scope: 'read-only' });
  await verifier.verify(bearer(good.token));
  for (let i = 0; i < 2000; i++) await codeOf(() => verifier.verify(bearer(generateApiToken())));
  assert.equal(verifier.stats().negativeEntries, 100);
  cached(verifier, bearer(good.token));
});

test('100 concurrent verifications of one uncached token make one store read', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, reads } = countingStore(real);
  const verifier = await verifierOn(t, store);
  const issued = await real.tokens.create({ label: 'popular', scope: 'read-only' });
  const unknown = generateApiToken();
  const results = await Promise.all(Array.from({ length: 100 }, () => Promise.resolve(verifier.verify(bearer(issued.token)))));
  assert.equal(reads(), 1);
  assert.ok(results.every((p) => p.credentialId === issued.record.id));
  const refusals = await Promise.allSettled(Array.from({ length: 100 }, () => Promise.resolve(verifier.verify(bearer(unknown)))));
  assert.equal(reads(), 2);
  assert.ok(refusals.every((r) => r.status === 'rejected'));
  assert.equal(verifier.stats().inFlight, 0);
});

test('store down: uncached credentials get auth.store_unavailable, cached ones keep working', async (t) => {
  const { store } = await tempStore(t);
  const events: VerifierEvent[] = [];
  const verifier = await verifierOn(t, store, { pollIntervalMs: 20, onEvent: (e) => events.push(e) });
  const known = await store.tokens.create({ label: 'known', scope: 'read-write' });
  const uncached = await store.tokens.create({ label: 'later', scope: 'read-write' });
  const client = await store.clients.create({ name: 'c', scope: 'read-only' });
  await verifier.verify(bearer(known.token));
  await store.close();
  assert.equal(await codeOf(() => verifier.verify(bearer(uncached.token))), 'auth.store_unavailable');
  assert.equal(await codeOf(() => verifier.verify(basic(client.record.clientId, client.clientSecret))), 'auth.store_unavailable');
  // Not cached as a refusal: still 503 (never a 401 for a credential we could not check).
  assert.equal(await codeOf(() => verifier.verify(bearer(uncached.token))), 'auth.store_unavailable');
  assert.equal(cached(verifier, bearer(known.token)).credentialId, known.record.id);
  await sleep(60);
  assert.ok(
    events.some((e) => e.type === 'store_error' && e.op === 'changes'),
    'the poller reports, does not crash',
  );
  cached(verifier, bearer(known.token));
});

test('last use is recorded off the request path, flushed by the timer and on close', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, counts } = countingStore(real);
  const verifier = createCredentialVerifier({ store, cache: cacheSettings(), lastUsedFlushMs: 50 });
  await verifier.start();
  const issued = await real.tokens.create({ label: 'used', scope: 'read-only' });
  for (let i = 0; i < 50; i++) await verifier.verify(bearer(issued.token));
  assert.equal(counts.lastUsed, 0, 'no write on the request path');
  assert.equal(verifier.stats().pendingLastUsed, 1);
  await within(1000, async () => (await real.tokens.get(issued.record.id))?.lastUsedAt !== null);
  assert.equal(counts.lastUsed, 1, 'one batched write');
  await verifier.verify(bearer(issued.token));
  await verifier.close();
  assert.equal(counts.lastUsed, 2, 'flushed on close');
  assert.equal(verifier.stats().pendingLastUsed, 0);
});

test('nothing is accepted before start() has confirmed the feed; unsafe settings are refused', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, reads } = countingStore(real);
  const verifier = createCredentialVerifier({ store, cache: cacheSettings() });
  t.after(() => verifier.close());
  const issued = await real.tokens.create({ label: 'early', scope: 'read-only' });
  // The feed's position is unknown: a change made now could never be applied to the answer.
  assert.throws(() => verifier.verify(bearer(issued.token)), { code: 'auth.store_unavailable' });
  assert.equal(reads(), 0, 'refused before any store read');
  await verifier.start();
  await verifier.verify(bearer(issued.token));
  cached(verifier, bearer(issued.token));

  assert.throws(() => createCredentialVerifier({ store, cache: cacheSettings({ maxEntries: 0 }) }), TypeError);
  assert.throws(() => createCredentialVerifier({ store, cache: cacheSettings({ ttlMs: -1 }) }), TypeError);
  assert.throws(() => createCredentialVerifier({ store, cache: cacheSettings({ negativeMaxEntries: Infinity }) }), TypeError);
  assert.throws(() => createCredentialVerifier({ store, cache: cacheSettings(), pollIntervalMs: 5000 }), TypeError);
  assert.throws(() => createCredentialVerifier({ store, cache: cacheSettings({ maxStalenessMs: 100 }) }), TypeError);
});

test('events for metrics: hit, miss, negative hit, store read, change eviction; never a secret', async (t) => {
  const { store } = await tempStore(t);
  const events: VerifierEvent[] = [];
  const verifier = await verifierOn(t, store, { onEvent: (e) => events.push(e) });
  const issued = await store.tokens.create({ label: 'm', scope: 'read-only' });
  const unknown = generateApiToken();
  await verifier.verify(bearer(issued.token));
  void verifier.verify(bearer(issued.token));
  await codeOf(() => verifier.verify(bearer(unknown)));
  await codeOf(() => verifier.verify(bearer(unknown)));
  await store.tokens.revoke(issued.record.id);
  const types = events.map((e) => (e.type === 'eviction' ? `eviction:${e.reason}:${e.count}` : e.type));
  assert.deepEqual(types, [
    'cache_miss',
    'store_read',
    'cache_hit',
    'cache_miss',
    'store_read',
    'negative_hit',
    'eviction:change:1',
    'change_applied',
  ]);
  const text = JSON.stringify(events);
  assert.ok(!text.includes(issued.token) && !text.includes(unknown));
  assert.equal(verifier.positiveSize(), 0);
  assert.equal(verifier.negativeSize(), 1);
  // A listener that throws changes nothing.
  const throwing = await verifierOn(t, store, {
    onEvent: () => {
      throw new Error('metrics bug');
    },
  });
  const other = await store.tokens.create({ label: 'n', scope: 'read-only' });
  assert.equal((await throwing.verify(bearer(other.token))).credentialId, other.record.id);
});
