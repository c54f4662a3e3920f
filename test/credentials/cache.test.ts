/**
 * The credential and JWT caches' eviction by id, against lru-cache's own eviction: a
 * revocation must remove every entry of its credential, however the entries got there and
 * whatever the LRU already pushed out or replaced.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createCredentialCache, type PositiveEntry } from '../../src/credentials/cache.js';
import { createJwtCache, type VerifiedJwt } from '../../src/oauth/jwt-cache.js';
import type { Principal } from '../../src/types.js';

const settings = (maxEntries: number) => ({ maxEntries, negativeMaxEntries: 10, ttlMs: 60_000, negativeTtlMs: 5_000 });

function token(id: string, account: string | null = null): PositiveEntry {
  const principal: Principal = { kind: 'api_token', scheme: 'bearer', subject: account ?? id, scope: 'read-only', credentialId: id };
  return { principal, credentialId: id, account, expiresAt: Infinity, validUntil: Infinity };
}

const refusal = (id: string, account: string | null = null) => ({
  code: 'auth.token_revoked' as const,
  detail: 'revoked',
  credentialId: id,
  account,
});

test('a credential cached under several keys is evicted under all of them', () => {
  const cache = createCredentialCache(settings(10));
  for (const key of ['bearer', 'basic-alice', 'basic-bob']) cache.setPositive(key, token('tok_a'), 60_000);
  cache.setPositive('other', token('tok_b'), 60_000);
  assert.equal(cache.evictCredential('tok_a'), 3);
  for (const key of ['bearer', 'basic-alice', 'basic-bob']) assert.equal(cache.getPositive(key), undefined, key);
  assert.equal(cache.getPositive('other')?.credentialId, 'tok_b');
  assert.equal(cache.evictCredential('tok_a'), 0, 'nothing is left to evict');
});

test('after the LRU pushed some keys out, a revocation evicts the rest and counts only those', () => {
  const evicted: string[] = [];
  const cache = createCredentialCache(settings(3), { onEvict: (reason) => evicted.push(reason) });
  cache.setPositive('k1', token('tok_a'), 60_000);
  cache.setPositive('k2', token('tok_a'), 60_000);
  cache.setPositive('k3', token('tok_b'), 60_000);
  cache.setPositive('k4', token('tok_b'), 60_000); // pushes k1 out
  assert.equal(cache.getPositive('k1'), undefined);
  assert.deepEqual(evicted, ['capacity'], 'the bound is the entry count, reported as a capacity eviction');
  assert.equal(cache.positiveSize(), 3);
  assert.equal(cache.evictCredential('tok_a'), 1);
  assert.equal(cache.getPositive('k2'), undefined);
  assert.equal(cache.positiveSize(), 2);
  assert.equal(cache.evictCredential('tok_b'), 2);
  assert.equal(cache.positiveSize(), 0);
});

test('a key re-used by another credential belongs to that one only', () => {
  const cache = createCredentialCache(settings(10));
  cache.setPositive('k', token('tok_a'), 60_000);
  cache.setPositive('k', token('tok_b'), 60_000);
  assert.equal(cache.evictCredential('tok_a'), 0);
  assert.equal(cache.getPositive('k')?.credentialId, 'tok_b');
  assert.equal(cache.evictCredential('tok_b'), 1);
});

test("an account change evicts its tokens' positive and negative entries; a key turned negative is still indexed", () => {
  const cache = createCredentialCache(settings(10));
  cache.setPositive('t1', token('tok_1', 'ops'), 60_000);
  cache.setPositive('t2', token('tok_2', 'ops'), 60_000);
  cache.setNegative('t3', refusal('tok_3', 'ops'));
  cache.setPositive('x', token('tok_x', 'billing'), 60_000);
  cache.setPositive('t4', token('tok_4'), 60_000);
  cache.setNegative('t4', refusal('tok_4'));
  assert.equal(cache.evictAccount('ops'), 3);
  assert.deepEqual([cache.getPositive('t1'), cache.getPositive('t2'), cache.getNegative('t3')], [undefined, undefined, undefined]);
  assert.equal(cache.getPositive('x')?.account, 'billing');
  assert.equal(cache.evictCredential('tok_4'), 1, 'the refusal that replaced its positive entry');
  assert.equal(cache.negativeSize(), 0);
});

test('after clear() nothing is indexed, and new entries are', () => {
  const cache = createCredentialCache(settings(10));
  cache.setPositive('k1', token('tok_a', 'ops'), 60_000);
  cache.clear();
  assert.equal(cache.evictCredential('tok_a'), 0);
  assert.equal(cache.evictAccount('ops'), 0);
  cache.setPositive('k1', token('tok_a', 'ops'), 60_000);
  assert.equal(cache.evictAccount('ops'), 1);
});

function jwt(jti: string, clientId: string): VerifiedJwt {
  const principal: Principal = { kind: 'access_token', scheme: 'bearer', subject: clientId, scope: 'read-only', credentialId: jti };
  return { principal, validUntil: Date.now() + 60_000, expiresAt: Date.now() + 60_000, clientId, jti, claims: null };
}

test("JWT cache: a client's tokens are evicted by client and by jti, after LRU eviction too", () => {
  const cache = createJwtCache(settings(3));
  cache.follow();
  const put = (key: string, entry: VerifiedJwt): void => cache.setPositive(key, entry, cache.ticket(), Date.now());
  put('j1', jwt('jti-1', 'cli_a'));
  put('j2', jwt('jti-2', 'cli_a'));
  put('j3', jwt('jti-3', 'cli_a'));
  put('j4', jwt('jti-4', 'cli_b')); // pushes j1 out
  assert.equal(cache.getPositive('j1'), undefined);
  assert.equal(cache.evictJti('jti-1'), 0, 'already gone');
  assert.equal(cache.evictJti('jti-2'), 1);
  assert.equal(cache.evictClient('cli_a'), 1, 'only jti-3 was left');
  assert.equal(cache.getPositive('j4')?.clientId, 'cli_b');
  assert.equal(cache.evictClient('cli_b'), 1);
  assert.equal(cache.positiveSize(), 0);
});

test('the caches allocate as they fill: a large maxEntries costs nothing up front', () => {
  const large = { maxEntries: 1_000_000, negativeMaxEntries: 1_000_000, ttlMs: 60_000, negativeTtlMs: 5_000 };
  const before = process.memoryUsage().heapUsed;
  const caches = [createCredentialCache(large), createJwtCache(large)];
  const grown = process.memoryUsage().heapUsed - before;
  // lru-cache given `max` allocates 32 bytes of arrays per entry of each cache up front: 128 MB here.
  assert.ok(grown < 8 * 2 ** 20, `${(grown / 2 ** 20).toFixed(1)} MiB allocated by four empty caches`);
  assert.equal(caches.length, 2);
});

test('the bound holds under many inserts; the least recently used go first; re-setting a key evicts nothing', () => {
  const evicted: string[] = [];
  const cache = createCredentialCache(settings(3), { onEvict: (reason) => evicted.push(reason) });
  for (let i = 1; i <= 10; i++) {
    cache.setPositive(`k${i}`, token(`tok_${i}`), 60_000);
    assert.ok(cache.positiveSize() <= 3);
  }
  assert.equal(evicted.length, 7);
  assert.deepEqual(
    ['k8', 'k9', 'k10'].map((k) => cache.getPositive(k)?.credentialId),
    ['tok_8', 'tok_9', 'tok_10'],
  );
  cache.getPositive('k8'); // now the most recently used
  cache.setPositive('k9', token('tok_9'), 60_000);
  assert.equal(evicted.length, 7, 're-setting an existing key at capacity evicts nothing');
  cache.setPositive('k11', token('tok_11'), 60_000);
  assert.equal(cache.getPositive('k10'), undefined, 'k10 was the least recently used');
  assert.equal(cache.getPositive('k8')?.credentialId, 'tok_8');
});

test('the negative cache has its own bound', () => {
  const cache = createCredentialCache({ maxEntries: 10, negativeMaxEntries: 2, ttlMs: 60_000, negativeTtlMs: 5_000 });
  for (let i = 1; i <= 5; i++) cache.setNegative(`bad${i}`, refusal(`tok_${i}`));
  assert.equal(cache.negativeSize(), 2);
  assert.deepEqual(
    ['bad4', 'bad5'].map((k) => cache.getNegative(k)?.credentialId),
    ['tok_4', 'tok_5'],
  );
  assert.equal(cache.evictCredential('tok_1'), 0, 'evicted by capacity, unindexed with it');
});

test('a lookup arms no timer: the request path does not wake the event loop every millisecond', (t) => {
  const credentials = createCredentialCache(settings(10));
  const jwts = createJwtCache(settings(10));
  jwts.follow();
  credentials.setPositive('k', token('tok_a'), 60_000);
  credentials.setNegative('bad', refusal('tok_b'));
  jwts.setPositive('j', jwt('jti-1', 'cli_a'), jwts.ticket(), Date.now());
  // lru-cache's default caches its clock for 1 ms behind a fresh timer: ~440 timers a second at 2,000 req/s.
  const timers = t.mock.method(globalThis, 'setTimeout');
  for (let i = 0; i < 3; i++) {
    assert.equal(credentials.getPositive('k')?.credentialId, 'tok_a');
    assert.equal(credentials.getNegative('bad')?.credentialId, 'tok_b');
    assert.equal(jwts.getPositive('j')?.jti, 'jti-1');
  }
  assert.equal(timers.mock.callCount(), 0);
});
