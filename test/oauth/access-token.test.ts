/**
 * Portcullis access tokens on proxied routes: what the upstream sees, scope, and every way a
 * forged or stale token is refused (401 and nothing reaches the upstream).
 */
import assert from 'node:assert/strict';
import { createHmac, createPublicKey } from 'node:crypto';
import test from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import type { ReceivedRequest } from '../support/upstream.js';
import { callApi, claimsFor, createClient, decode, getToken, signWithGatewayKey, startOAuthGateway } from './helpers.js';

const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

test('a token from /oauth2/token opens a route: the upstream sees the client and the jti, never the token', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const token = await getToken(gw.url, client);
  const answer = await callApi(gw.url, token, { method: 'POST' });
  assert.equal(answer.status, 200, answer.body);
  const seen = answer.json<ReceivedRequest>();
  assert.equal(seen.headers['x-portcullis-subject'], client.clientId);
  assert.equal(seen.headers['x-portcullis-credential'], decode(token).payload.jti);
  assert.equal(seen.headers['x-portcullis-scope'], 'read-write');
  assert.equal(seen.headers['x-portcullis-credential-kind'], 'access_token');
  assert.equal(seen.headers['x-portcullis-principal'], `oauth_client:${client.clientId}`);
  assert.equal(seen.headers['x-portcullis-issuer'], undefined);
  assert.equal(seen.headers.authorization, undefined);
  assert.ok(!JSON.stringify(seen.rawHeaders).includes(token.split('.')[2] ?? '-'));
});

test('the second use of a token is answered from the cache, synchronously', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-only');
  const token = await getToken(gw.url, client);
  const jwt = gw.services.oauth.jwt;
  const first = jwt.verify(token);
  assert.ok(first instanceof Promise);
  const principal = await first;
  assert.deepEqual(principal, {
    kind: 'access_token',
    scheme: 'bearer',
    subject: client.clientId,
    scope: 'read-only',
    credentialId: decode(token).payload.jti,
  });
  const second = jwt.verify(token);
  assert.ok(!(second instanceof Promise), 'a cache hit is synchronous');
  assert.deepEqual(second, principal);
});

test('a read-only token reads but cannot write (403 auth.insufficient_scope, nothing upstream)', async (t) => {
  const { gw, store, upstream } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const token = await getToken(gw.url, client, 'read-only');
  assert.equal((await callApi(gw.url, token)).status, 200);
  const before = upstream.arrived.length;
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const answer = await callApi(gw.url, token, { method });
    assert.equal(answer.status, 403, method);
    assert.equal(answer.json().code, 'auth.insufficient_scope');
    assert.match(String(answer.headers['www-authenticate']), /error="insufficient_scope"/);
  }
  assert.equal(upstream.arrived.length, before);
});

test('forged, confused and stale tokens: 401, nothing reaches the upstream', async (t) => {
  const { gw, store, upstream } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const good = await getToken(gw.url, client);
  const { header: goodHeader, payload: goodPayload } = decode(good);
  const [active] = await store.signingKeys.list();
  assert.ok(active);
  const now = Math.floor(Date.now() / 1000);

  // RS256→HS256 confusion: an HMAC keyed with the public key, in every form an attacker could find it.
  const publicJwk = JSON.stringify(active.publicJwk);
  const publicPem = createPublicKey({ key: active.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const hs256 = (secret: string): string => {
    const head = `${b64url({ alg: 'HS256', kid: active.kid, typ: 'at+jwt' })}.${b64url(goodPayload)}`;
    return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
  };
  const foreign = await generateKeyPair('ES256');
  const foreignSigned = await new SignJWT(claimsFor(client))
    .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'at+jwt' })
    .sign(foreign.privateKey);
  const otherIssuer = await new SignJWT(claimsFor(client, { iss: 'https://evil.example' }))
    .setProtectedHeader({ alg: 'ES256', kid: 'evil', typ: 'at+jwt' })
    .sign(foreign.privateKey);
  const [, , goodSignature] = good.split('.');

  const cases: Array<[string, string | Promise<string>, string]> = [
    ['HS256 keyed with the public JWK', hs256(publicJwk), 'auth.invalid_token'],
    ['HS256 keyed with the public PEM', hs256(publicPem), 'auth.invalid_token'],
    ['alg none, empty signature', `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(goodPayload)}.`, 'auth.invalid_token'],
    [
      'alg none, any signature',
      `${b64url({ alg: 'none', kid: active.kid, typ: 'at+jwt' })}.${b64url(goodPayload)}.${goodSignature}`,
      'auth.invalid_token',
    ],
    ['header swapped to EdDSA', `${b64url({ ...goodHeader, alg: 'EdDSA' })}.${b64url(goodPayload)}.${goodSignature}`, 'auth.invalid_token'],
    [
      'claims changed after signing',
      `${good.split('.')[0]}.${b64url({ ...goodPayload, scope: 'admin' })}.${goodSignature}`,
      'auth.invalid_token',
    ],
    ['signed by another key with our kid', foreignSigned, 'auth.invalid_token'],
    ['another issuer', otherIssuer, 'auth.invalid_token'],
    ['our key, another issuer', signWithGatewayKey(store, claimsFor(client, { iss: 'https://evil.example' })), 'auth.invalid_token'],
    ['our key, another audience', signWithGatewayKey(store, claimsFor(client, { aud: 'someone-else' })), 'auth.invalid_token'],
    ['our key, no audience', signWithGatewayKey(store, claimsFor(client, { aud: undefined })), 'auth.invalid_token'],
    [
      'our key, expired beyond the leeway',
      signWithGatewayKey(store, claimsFor(client, { iat: now - 600, exp: now - 31 })),
      'auth.token_expired',
    ],
    ['our key, nbf beyond the leeway', signWithGatewayKey(store, claimsFor(client, { nbf: now + 120 })), 'auth.invalid_token'],
    ['our key, typ JWT', signWithGatewayKey(store, claimsFor(client), { typ: 'JWT' }), 'auth.invalid_token'],
    ['our key, no typ', signWithGatewayKey(store, claimsFor(client), { typ: undefined }), 'auth.invalid_token'],
    ['our key, unknown kid', signWithGatewayKey(store, claimsFor(client), { kid: 'not-a-key' }), 'auth.invalid_token'],
    ['our key, no jti', signWithGatewayKey(store, claimsFor(client, { jti: undefined })), 'auth.invalid_token'],
    [
      'our key, sub is not the client',
      signWithGatewayKey(store, claimsFor(client, { sub: 'cli_0000000000000000000000' })),
      'auth.invalid_token',
    ],
    [
      'our key, unknown client',
      signWithGatewayKey(store, { ...claimsFor(client), sub: 'cli_0000000000000000000000', client_id: 'cli_0000000000000000000000' }),
      'auth.invalid_token',
    ],
    ['our key, unknown scope', signWithGatewayKey(store, claimsFor(client, { scope: 'root' })), 'auth.invalid_token'],
    ['over 8 KiB', signWithGatewayKey(store, claimsFor(client, { pad: 'x'.repeat(6 * 1024 + 600) })), 'auth.invalid_token'],
    ['not base64url', `${good.slice(0, -3)}*!*`, 'auth.malformed_credentials'],
  ];
  for (const [name, pending, code] of cases) {
    await t.test(name, async () => {
      const token = await pending;
      if (name === 'over 8 KiB') assert.ok(token.length > 8 * 1024 && token.length < 12 * 1024, 'between the JWT and the header limits');
      const answer = await callApi(gw.url, token, { method: 'POST' });
      assert.equal(answer.json().code, code, name);
      assert.equal(answer.status, code === 'auth.malformed_credentials' ? 400 : 401, name);
      if (answer.status === 401)
        assert.match(String(answer.headers['www-authenticate']), /Bearer realm="portcullis", error="invalid_token"/);
    });
  }
  assert.equal(upstream.arrived.length, 0, 'nothing reached the upstream');

  // Within the leeway the same construction is accepted: the cases above fail for their reason.
  const withinLeeway = await signWithGatewayKey(store, claimsFor(client, { iat: now - 600, exp: now - 5, nbf: now + 5 }));
  assert.equal((await callApi(gw.url, withinLeeway)).status, 200);
});

test('a cached token stops at its exp (plus leeway): the cache never outlives the token', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const now = Math.floor(Date.now() / 1000);
  // exp 25 s ago: valid for four to five more seconds under the 30 s leeway.
  const exp = now - 25;
  const token = await signWithGatewayKey(store, claimsFor(client, { iat: now - 100, exp }));
  assert.equal((await callApi(gw.url, token)).status, 200);
  const jwt = gw.services.oauth.jwt;
  assert.ok(!(jwt.verify(token) instanceof Promise), 'cached');
  await new Promise((resolve) => setTimeout(resolve, (exp + 30) * 1000 + 100 - Date.now()));
  const answer = await callApi(gw.url, token);
  assert.equal(answer.status, 401);
  assert.equal(answer.json().code, 'auth.token_expired');
});
