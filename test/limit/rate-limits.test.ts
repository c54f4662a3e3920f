/** GCRA per route and key, on a clock the test moves. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayConfig, RateLimitPolicy, RoutePolicy } from '../../src/config/types.js';
import { GatewayError } from '../../src/errors.js';
import { createRateLimits } from '../../src/limit/rate-limits.js';
import { compileTrustedProxies } from '../../src/config/trusted-proxies.js';
import type { Principal } from '../../src/types.js';
import { fakeRequest } from '../support/fake-request.js';
import { routePolicy } from '../support/route-policy.js';

const NO_TRUSTED_PROXIES = compileTrustedProxies([]);

function limited(policy: RateLimitPolicy, name = 'api'): RoutePolicy {
  return { ...routePolicy({ name }), rateLimit: policy };
}

const token = (id: string): Principal => ({ kind: 'api_token', scheme: 'bearer', subject: id, scope: 'read-only', credentialId: id });
const config = (credentials: Record<string, RateLimitPolicy> = {}, maxKeys = 100): GatewayConfig =>
  ({ rateLimits: { maxKeys, credentials } }) as unknown as GatewayConfig;

function refusal(fn: () => void): GatewayError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('a burst, then one request per interval; the refusal says when, in Retry-After and the RateLimit fields', () => {
  let now = 0;
  const limits = createRateLimits(config(), { now: () => now });
  const route = limited({ requests: 10, perMs: 10_000, burst: 3 });
  const req = fakeRequest({});
  for (let i = 0; i < 3; i++) limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES);
  const error = refusal(() => limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES));
  assert.equal(error.code, 'rate.limited');
  assert.equal(error.status, 429);
  assert.deepEqual(error.headers, { 'retry-after': '1', 'ratelimit-policy': '"api";q=10;w=10', ratelimit: '"api";r=0;t=1' });
  now += 999;
  refusal(() => limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES));
  now += 1;
  limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES);
  refusal(() => limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES));
  limits.admit(route, token('tok_b'), req, NO_TRUSTED_PROXIES); // another credential has its own bucket
  now += 60_000;
  for (let i = 0; i < 3; i++) limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES); // full again, never more than burst
  refusal(() => limits.admit(route, token('tok_a'), req, NO_TRUSTED_PROXIES));
});

test('Retry-After counts whole seconds up to the next admitted request', () => {
  const limits = createRateLimits(config(), { now: () => 0 });
  const route = limited({ requests: 2, perMs: 3_600_000, burst: 2 }, 'hourly');
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  const error = refusal(() => limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES));
  assert.deepEqual(error.headers, { 'retry-after': '1800', 'ratelimit-policy': '"hourly";q=2;w=3600', ratelimit: '"hourly";r=0;t=1800' });
  assert.doesNotMatch(error.detail ?? '', /\bt\b/, 'the detail names no credential');
});

test('auth: off routes key on the client address; an override replaces the route limit for its credential', () => {
  const limits = createRateLimits(config({ tok_vip: { requests: 5, perMs: 60_000, burst: 5 } }), { now: () => 0 });
  const route = limited({ requests: 1, perMs: 60_000, burst: 1 });
  limits.admit(route, undefined, fakeRequest({ remoteAddress: '192.0.2.1' }), NO_TRUSTED_PROXIES);
  refusal(() =>
    limits.admit(
      route,
      undefined,
      fakeRequest({ remoteAddress: '192.0.2.1', headers: [['X-Forwarded-For', '203.0.113.1']] }),
      NO_TRUSTED_PROXIES,
    ),
  );
  limits.admit(route, undefined, fakeRequest({ remoteAddress: '192.0.2.2' }), NO_TRUSTED_PROXIES);
  for (let i = 0; i < 5; i++) limits.admit(route, token('tok_vip'), fakeRequest({}), NO_TRUSTED_PROXIES);
  const error = refusal(() => limits.admit(route, token('tok_vip'), fakeRequest({}), NO_TRUSTED_PROXIES));
  assert.equal(error.headers?.['ratelimit-policy'], '"api";q=5;w=60');
});

test('an OAuth client and the access tokens it was issued share one bucket', () => {
  const limits = createRateLimits(config(), { now: () => 0 });
  const route = limited({ requests: 2, perMs: 60_000, burst: 2 });
  const basic: Principal = { kind: 'oauth_client', scheme: 'basic', subject: 'cli_x', scope: 'read-only', credentialId: 'cli_x' };
  limits.admit(route, basic, fakeRequest({}), NO_TRUSTED_PROXIES);
  limits.admit(route, { ...basic, kind: 'access_token', scheme: 'bearer', credentialId: 'jti-1' }, fakeRequest({}), NO_TRUSTED_PROXIES);
  refusal(() =>
    limits.admit(route, { ...basic, kind: 'access_token', scheme: 'bearer', credentialId: 'jti-2' }, fakeRequest({}), NO_TRUSTED_PROXIES),
  );
});

test('with N workers each admits its share: requests / N, a bucket of ceil(burst / N)', () => {
  let now = 0;
  const limits = createRateLimits(config(), { share: 4, now: () => now });
  const route = limited({ requests: 40, perMs: 10_000, burst: 10 });
  for (let i = 0; i < 3; i++) limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  refusal(() => limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES));
  now += 1_000; // 40 per 10 s over 4 workers: one per second each
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
});

test('buckets are bounded by rateLimits.maxKeys; routes without a limit hold none', () => {
  const limits = createRateLimits(config({}, 50), { now: () => 0 });
  const route = limited({ requests: 1, perMs: 60_000, burst: 1 });
  for (let i = 0; i < 1_000; i++) limits.admit(route, token(`tok_${i}`), fakeRequest({}), NO_TRUSTED_PROXIES);
  assert.equal(limits.size(), 50);
  const open = routePolicy({ name: 'open' });
  for (let i = 0; i < 10; i++) limits.admit(open, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  assert.equal(limits.size(), 50);
});

test('a reload changes overrides at once; route limits are read per request', () => {
  const limits = createRateLimits(config(), { now: () => 0 });
  const route = limited({ requests: 1, perMs: 60_000, burst: 1 });
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  refusal(() => limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES));
  limits.reload(config({ t: { requests: 3, perMs: 60_000, burst: 3 } }));
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES);
  refusal(() => limits.admit(route, token('t'), fakeRequest({}), NO_TRUSTED_PROXIES));
});
