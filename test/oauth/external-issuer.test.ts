/**
 * Tokens of an external identity provider (`jwt.issuers`) against a real OAuth server —
 * oidc-provider on HTTPS, client credentials, JWT access tokens — including a key rotation at
 * the provider and a provider that stops answering.
 */
import assert from 'node:assert/strict';
import test, { type TestContext } from 'node:test';
import { generateKeyPair, SignJWT, type JWK } from 'jose';
import { createAuthenticator } from '../../src/authenticate/index.js';
import { createOAuth } from '../../src/oauth/index.js';
import { createExternalIssuers } from '../../src/oauth/external-issuers.js';
import type { Authenticate } from '../../src/types.js';
import { sharedCerts } from '../support/certs.js';
import { eventually } from '../support/eventually.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type ReceivedRequest, type RecordingUpstream } from '../support/upstream.js';
import { callApi, OAUTH_ROUTES, OAUTH_SETTINGS, sleep } from './helpers.js';
import { EXTERNAL_AUDIENCE, EXTERNAL_CLIENT, rsaKey, startIdentityProvider, type IdentityProvider } from './identity-provider.js';

const ISSUERS = `
jwt:
  issuers:
    - issuer: "\${IDP}"
      jwksUrl: "\${IDP_JWKS}"
      audience: "${EXTERNAL_AUDIENCE}"
      scopeClaim: scope
      readWriteValues: ["api:write"]
      readOnlyValues: ["api:read"]
      jwksCa: "\${CA}"
`;

async function setup(
  t: TestContext,
  options: { extra?: string; authenticate?: Authenticate; keys?: readonly JWK[] } = {},
): Promise<{ idp: IdentityProvider; gw: TestGateway; upstream: RecordingUpstream }> {
  const { extra = '', authenticate } = options;
  const idp = await startIdentityProvider(options.keys ?? [await rsaKey('k1')]);
  t.after(() => idp.close());
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(OAUTH_ROUTES, `${OAUTH_SETTINGS}\n${ISSUERS}\n${extra}`),
    { UPSTREAM: upstream.origin, IDP: idp.issuer, IDP_JWKS: idp.jwksUrl },
    authenticate === undefined ? {} : { authenticate },
  );
  return { idp, gw, upstream };
}

test('a client-credentials token of a real OIDC provider opens routes with its mapped scope', async (t) => {
  const { idp, gw, upstream } = await setup(t);
  const writer = await idp.token('api:write');
  const answer = await callApi(gw.url, writer, { method: 'POST' });
  assert.equal(answer.status, 200, answer.body);
  const seen = answer.json<ReceivedRequest>();
  assert.equal(seen.headers['x-portcullis-subject'], EXTERNAL_CLIENT.id);
  assert.equal(seen.headers['x-portcullis-scope'], 'read-write');
  const jti = JSON.parse(Buffer.from(writer.split('.')[1] ?? '', 'base64url').toString()) as { jti: string };
  assert.equal(seen.headers['x-portcullis-credential'], jti.jti);
  assert.equal(seen.headers['x-portcullis-credential-kind'], 'external_jwt');
  assert.equal(seen.headers['x-portcullis-issuer'], idp.issuer);
  assert.equal(seen.headers['x-portcullis-principal'], `external_jwt:${encodeURIComponent(idp.issuer)}:${EXTERNAL_CLIENT.id}`);
  assert.equal(seen.headers.authorization, undefined);
  const principal = await gw.services.oauth.jwt.verify(writer);
  assert.equal(principal.kind, 'external_jwt');

  const reader = await idp.token('api:read');
  assert.equal((await callApi(gw.url, reader)).status, 200);
  const before = upstream.arrived.length;
  const write = await callApi(gw.url, reader, { method: 'DELETE' });
  assert.equal(write.status, 403);
  assert.equal(write.json().code, 'auth.insufficient_scope');

  // A valid token that maps to no Portcullis scope is refused, with the scope challenge.
  const unmapped = await idp.token('other');
  const refused = await callApi(gw.url, unmapped);
  assert.equal(refused.status, 403);
  assert.equal(refused.json().code, 'auth.insufficient_scope');
  assert.match(String(refused.headers['www-authenticate']), /error="insufficient_scope", scope="read-only"/);

  // The provider's token with its payload altered, or a token of the same issuer signed elsewhere.
  const [head, body] = writer.split('.');
  const forged = `${head}.${body}.${Buffer.from('x'.repeat(256)).toString('base64url')}`;
  const stranger = await generateKeyPair('RS256');
  const selfSigned = await new SignJWT({ scope: 'api:write', sub: 'mallory' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(idp.issuer)
    .setAudience(EXTERNAL_AUDIENCE)
    .setExpirationTime('5m')
    .setIssuedAt()
    .sign(stranger.privateKey);
  const otherAudience = await new SignJWT({ scope: 'api:write', sub: 'mallory' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(idp.issuer)
    .setAudience('someone-else')
    .setExpirationTime('5m')
    .sign(stranger.privateKey);
  for (const token of [forged, selfSigned, otherAudience]) {
    const answer = await callApi(gw.url, token);
    assert.equal(answer.status, 401);
    assert.equal(answer.json().code, 'auth.invalid_token');
  }
  assert.equal(upstream.arrived.length, before, 'nothing refused reached the upstream');
});

test('key rotation at the provider: a new kid is fetched and accepted; a removed key stops after the caches', async (t) => {
  // The gateway's authenticate stage is this test's OAuth layer, with short JWKS periods.
  // eslint-disable-next-line prefer-const -- declared before the closures that read it, which may run before it is set
  let authenticate: Authenticate | undefined;
  const late: Authenticate = (route, req) => {
    if (authenticate === undefined) throw new Error('not ready');
    return authenticate(route, req);
  };
  const k1 = await rsaKey('k1');
  const k2 = await rsaKey('k2');
  const { idp, gw } = await setup(t, { extra: 'cache: { ttl: 1s }', authenticate: late, keys: [k1] });
  const refreshes: string[] = [];
  const oauth = await createOAuth({
    config: gw.config,
    store: gw.services.store,
    credentials: gw.services.verifier,
    jwks: { cooldownMs: 0, refreshIntervalMs: 300, timeoutMs: 500 },
    hooks: { onJwksRefresh: (index, result) => refreshes.push(`${index}:${result}`) },
  });
  t.after(() => oauth.close());
  authenticate = createAuthenticator(oauth.verifier);

  const oldToken = await idp.token('api:write');
  assert.equal((await callApi(gw.url, oldToken)).status, 200);

  // The provider rotates: k2 signs from now on, k1 stays published. The swap follows a finished
  // background refresh: a refresh answered with the old set and still in flight would be joined
  // by the refetch for the unknown kid, which would then not find k2.
  const landed = refreshes.length;
  await eventually(() => refreshes.length > landed, 5_000, 'a background JWKS refresh');
  const fetchesBefore = idp.jwksRequests();
  idp.setKeys([k2, k1]);
  const newToken = await idp.token('api:write');
  assert.match(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString(), /"kid":"k2"/);
  assert.equal((await callApi(gw.url, newToken)).status, 200, 'unknown kid → JWKS refetched → accepted');
  assert.ok(idp.jwksRequests() > fetchesBefore);
  assert.equal((await callApi(gw.url, oldToken)).status, 200, 'the old key is still published');

  // The provider removes k1: after a background refresh (300 ms) and the result cache (1 s), k1's tokens fail.
  idp.setKeys([k2]);
  await sleep(2_600);
  const refused = await callApi(gw.url, oldToken);
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'auth.invalid_token');
  assert.equal((await callApi(gw.url, newToken)).status, 200);
  assert.ok(refreshes.includes('0:ok'));
});

test('a provider that stops answering stalls nothing whose key is cached; an unknown kid fails in bounded time', async (t) => {
  const k1 = await rsaKey('k1');
  const idp = await startIdentityProvider([k1]);
  t.after(() => idp.close());
  const results: string[] = [];
  const issuers = createExternalIssuers({
    issuers: [
      {
        issuer: idp.issuer,
        jwksUrl: idp.jwksUrl,
        audience: EXTERNAL_AUDIENCE,
        scopeClaim: 'scope',
        readWriteValues: ['api:write'],
        readOnlyValues: ['api:read'],
        jwksCa: sharedCerts().ca.caCert,
      },
    ],
    leewayMs: 30_000,
    tuning: { cooldownMs: 0, timeoutMs: 500, refreshIntervalMs: 200 },
    onJwksRefresh: (index, result) => results.push(`${index}:${result}`),
  });
  t.after(() => issuers.close());
  await issuers.refreshAll();
  assert.deepEqual(results, ['0:ok']);
  const fresh = await idp.token('api:read'); // never verified yet: not in any result cache

  idp.setDown(true);
  await sleep(600); // a background refresh has hung and failed meanwhile
  let started = performance.now();
  const verified = await issuers.verify(0, fresh);
  const cachedKeyMs = performance.now() - started;
  assert.equal(verified.principal.scope, 'read-only');
  assert.ok(cachedKeyMs < 450, `verified with the cached key in ${cachedKeyMs.toFixed(1)} ms while the provider hangs`);

  const stranger = await generateKeyPair('RS256');
  const unknownKid = await new SignJWT({ scope: 'api:write', sub: 'x' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k9' })
    .setIssuer(idp.issuer)
    .setAudience(EXTERNAL_AUDIENCE)
    .setExpirationTime('5m')
    .sign(stranger.privateKey);
  started = performance.now();
  await assert.rejects(issuers.verify(0, unknownKid), (error: unknown) => (error as { code?: string }).code === 'auth.invalid_token');
  const unknownMs = performance.now() - started;
  // Under the 2 s default JWKS fetch timeout: the configured 500 ms is what bounds the wait.
  assert.ok(unknownMs < 1_900, `an unknown kid is refused after ${unknownMs.toFixed(0)} ms (fetch timeout 500 ms)`);
  assert.ok(results.includes('0:error'), 'failed refreshes are reported');
  t.diagnostic(`provider hanging: cached-key verification ${cachedKeyMs.toFixed(1)} ms, unknown kid refused in ${unknownMs.toFixed(0)} ms`);
});

test('a JWKS whose certificate is not trusted is never used: tokens are refused (fail closed)', async (t) => {
  const idp = await startIdentityProvider([await rsaKey('k1')]);
  t.after(() => idp.close());
  const results: string[] = [];
  const issuers = createExternalIssuers({
    issuers: [
      {
        issuer: idp.issuer,
        jwksUrl: idp.jwksUrl,
        audience: EXTERNAL_AUDIENCE,
        scopeClaim: 'scope',
        readWriteValues: ['api:write'],
        readOnlyValues: [],
        jwksCa: undefined,
      },
    ],
    leewayMs: 0,
    tuning: { timeoutMs: 1_000 },
    onJwksRefresh: (index, result) => results.push(`${index}:${result}`),
  });
  t.after(() => issuers.close());
  const token = await idp.token('api:write');
  await assert.rejects(issuers.verify(0, token), (error: unknown) => (error as { code?: string }).code === 'auth.invalid_token');
  assert.deepEqual(results, ['0:error']);
});
