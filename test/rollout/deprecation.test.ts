/**
 * The deprecation stage and its headers (src/rollout/deprecation.ts, deprecation-headers.ts):
 * which deprecation speaks for a request (token, client, scheme on the route, external issuer;
 * the earliest sunset wins), the refusal from the sunset on, and how the headers meet an
 * upstream's own.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { test } from 'node:test';
import type { GatewayConfig } from '../../src/config/types.js';
import { GatewayError } from '../../src/errors.js';
import { createContext } from '../../src/context.js';
import { checkDeprecation, deprecationOf } from '../../src/rollout/deprecation.js';
import { deprecationHeaderValue, sunsetHeaderValue, withDeprecationHeaders } from '../../src/rollout/deprecation-headers.js';
import type { Principal } from '../../src/types.js';
import { fakeRequest } from '../support/fake-request.js';
import { routePolicy } from '../support/route-policy.js';

const D = (since: string, sunset: string, link?: string) => ({ sinceMs: Date.parse(since), sunsetMs: Date.parse(sunset), link });
const config = (issuers: GatewayConfig['jwt']['issuers']): GatewayConfig => ({ jwt: { issuers } }) as unknown as GatewayConfig;
const ISSUER = {
  issuer: 'https://idp.example.com',
  jwksUrl: 'https://idp.example.com/jwks',
  audience: 'a',
  scopeClaim: 'scope',
  readWriteValues: [],
  readOnlyValues: [],
  jwksCa: undefined,
};

test("which deprecation applies: the credential's, the route scheme's, the issuer's; the earliest sunset wins", () => {
  const route = routePolicy({ deprecated: { basic: D('2026-01-01T00:00:00Z', '2027-06-01T00:00:00Z', 'https://r') } });
  const token: Principal = {
    kind: 'api_token',
    scheme: 'basic',
    subject: 's',
    scope: 'read-only',
    credentialId: 'tok_1',
    deprecation: D('2026-02-01T00:00:00Z', '2027-03-01T00:00:00Z'),
  };
  assert.deepEqual(deprecationOf(route, token, config([])), { ...D('2026-02-01T00:00:00Z', '2027-03-01T00:00:00Z'), kind: 'token' });
  assert.deepEqual(deprecationOf(route, { ...token, deprecation: undefined }, config([])), {
    ...D('2026-01-01T00:00:00Z', '2027-06-01T00:00:00Z', 'https://r'),
    kind: 'scheme',
  });
  assert.equal(
    deprecationOf(route, { ...token, scheme: 'bearer', deprecation: undefined }, config([])),
    undefined,
    'Bearer is not deprecated on this route',
  );
  const client: Principal = {
    kind: 'access_token',
    scheme: 'bearer',
    subject: 'cli_1',
    scope: 'read-only',
    credentialId: 'jti',
    deprecation: D('2026-01-01T00:00:00Z', '2028-01-01T00:00:00Z'),
  };
  assert.equal(deprecationOf(routePolicy(), client, config([]))?.kind, 'client', "an access token carries its client's");
  const jwt: Principal = {
    kind: 'external_jwt',
    scheme: 'bearer',
    subject: 'u',
    scope: 'read-only',
    credentialId: 'j',
    issuer: ISSUER.issuer,
  };
  const issuers = config([{ ...ISSUER, deprecated: D('2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z', 'https://idp-move') }]);
  assert.deepEqual(deprecationOf(routePolicy(), jwt, issuers), {
    ...D('2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z', 'https://idp-move'),
    kind: 'issuer',
  });
  assert.equal(deprecationOf(routePolicy(), { ...jwt, issuer: 'https://other' }, issuers), undefined);
  assert.equal(
    deprecationOf(routePolicy(), { ...jwt, kind: 'api_token' }, issuers),
    undefined,
    'only an external JWT has an issuer to deprecate',
  );
});

test('checkDeprecation: records the notice before the sunset; at and after it throws auth.credential_sunset with Sunset, Link and the challenge', () => {
  const route = routePolicy({ credentials: ['bearer'] });
  const principal: Principal = {
    kind: 'api_token',
    scheme: 'bearer',
    subject: 's',
    scope: 'read-only',
    credentialId: 'tok_9',
    deprecation: D('2026-01-01T00:00:00Z', '2027-03-01T00:00:00Z', 'https://docs/m'),
  };
  const sunset = Date.parse('2027-03-01T00:00:00Z');
  const req = fakeRequest({});
  const res = {} as ServerResponse;
  const before = createContext('id', req, res);
  checkDeprecation(before, route, principal, config([]), () => sunset - 1);
  assert.equal(before.deprecation?.kind, 'token');
  for (const at of [sunset, sunset + 1, sunset + 86_400_000]) {
    const ctx = createContext('id', req, res);
    let caught: unknown;
    try {
      checkDeprecation(ctx, route, principal, config([]), () => at);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof GatewayError, `refused at ${at - sunset} ms`);
    assert.equal(caught.code, 'auth.credential_sunset');
    assert.equal(caught.status, 401);
    assert.equal(caught.credentialId, 'tok_9');
    assert.deepEqual(caught.headers, {
      'www-authenticate': 'Bearer realm="portcullis", error="invalid_token"',
      sunset: 'Mon, 01 Mar 2027 00:00:00 GMT',
      link: '<https://docs/m>; rel="deprecation"',
    });
    assert.equal(ctx.deprecation?.kind, 'token', 'counted as a sunset refusal');
  }
  let read = false;
  checkDeprecation(createContext('id', req, res), route, { ...principal, deprecation: undefined }, config([]), () => {
    read = true;
    return 0;
  });
  assert.equal(read, false, 'the clock is not read when nothing is deprecated');
});

test('header values: Deprecation is a Structured Field Date (@ and whole seconds), Sunset an IMF-fixdate', () => {
  assert.equal(deprecationHeaderValue(Date.UTC(2023, 5, 30, 23, 59, 59)), '@1688169599');
  assert.equal(deprecationHeaderValue(Date.UTC(2023, 5, 30, 23, 59, 59) + 999), '@1688169599', 'fractions are cut');
  assert.equal(sunsetHeaderValue(Date.UTC(2024, 5, 30, 23, 59, 59, 500)), 'Sun, 30 Jun 2024 23:59:59 GMT');
  assert.equal(sunsetHeaderValue(Date.UTC(2027, 0, 5, 3, 4, 5)), 'Tue, 05 Jan 2027 03:04:05 GMT', 'two-digit day and time');
});

test("merging with the upstream's own fields: the earlier date of each; unparseable or repeated values replaced; links appended", () => {
  const ours = D('2026-06-01T00:00:00Z', '2027-01-01T00:00:00Z', 'https://gw/m');
  const merge = (upstream: string[]): string[] => withDeprecationHeaders(['x-request-id', 'r', ...upstream], ours);
  assert.deepEqual(merge([]), [
    'x-request-id',
    'r',
    'deprecation',
    '@1780272000',
    'sunset',
    'Fri, 01 Jan 2027 00:00:00 GMT',
    'link',
    '<https://gw/m>; rel="deprecation"',
  ]);
  assert.deepEqual(
    merge(['Deprecation', '@1000', 'Sunset', 'Thu, 01 Jan 2026 00:00:00 GMT']),
    ['x-request-id', 'r', 'Deprecation', '@1000', 'Sunset', 'Thu, 01 Jan 2026 00:00:00 GMT', 'link', '<https://gw/m>; rel="deprecation"'],
    'earlier upstream values kept as sent',
  );
  assert.deepEqual(
    merge(['Deprecation', '@9999999999', 'Sunset', 'Fri, 01 Jan 2100 00:00:00 GMT']),
    [
      'x-request-id',
      'r',
      'deprecation',
      '@1780272000',
      'sunset',
      'Fri, 01 Jan 2027 00:00:00 GMT',
      'link',
      '<https://gw/m>; rel="deprecation"',
    ],
    'later ones replaced',
  );
  assert.deepEqual(
    merge(['deprecation', 'true', 'sunset', 'soon']).filter((_, i, a) => i % 2 === 0 && /^(deprecation|sunset)$/.test(a[i] ?? '')).length,
    2,
    'one of each',
  );
  assert.deepEqual(merge(['deprecation', 'true']).slice(2, 4), ['deprecation', '@1780272000'], "the draft's boolean form is replaced");
  assert.deepEqual(
    merge(['Deprecation', '@1000', 'Deprecation', '@2000']).filter((v) => v.startsWith('@')),
    ['@1780272000'],
    'two values: replaced by one',
  );
  assert.deepEqual(
    merge(['Link', '<https://up/next>; rel="next"']).filter((_, i, a) => (a[i - 1] ?? '').toLowerCase() === 'link'),
    ['<https://up/next>; rel="next"', '<https://gw/m>; rel="deprecation"'],
  );
  assert.deepEqual(withDeprecationHeaders([], { ...ours, link: undefined }).includes('link'), false, 'no Link without a link');
});
