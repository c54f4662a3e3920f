/**
 * A real OAuth client library (openid-client v6) against Portcullis over HTTPS (HTTPS on
 * every endpoint that carries secrets): client_secret_basic and client_secret_post, then the access
 * token on a proxied route, as a partner integration would do it.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { sharedCerts } from '../support/certs.js';
import type { ReceivedRequest } from '../support/upstream.js';
import { createClient, decode, ISSUER, startOAuthGateway } from './helpers.js';

/** A fetch that trusts the test CA, returning WHATWG Responses as openid-client expects. */
function trustingFetch(agent: Agent): oidc.CustomFetch {
  return async (url, options) => {
    const response = await undiciFetch(url, {
      method: options.method,
      headers: options.headers,
      body: options.body as string,
      redirect: options.redirect,
      dispatcher: agent,
    });
    const headers = new Headers();
    response.headers.forEach((value, name) => headers.append(name, value));
    return new Response(await response.arrayBuffer(), { status: response.status, headers });
  };
}

test('openid-client gets tokens with client_secret_basic and client_secret_post, and the token opens a route', async (t) => {
  const { leaf, ca } = sharedCerts();
  const { gw, store, upstream } = await startOAuthGateway(t, 'tls: { cert: "${CERT}", key: "${KEY}" }', {
    CERT: leaf.certPath,
    KEY: leaf.keyPath,
  });
  assert.match(gw.url, /^https:/);
  const agent = new Agent({ connect: { ca: ca.caCert } });
  t.after(() => agent.close());
  const client = await createClient(store, 'read-write', 'ORG@AdobeOrg');
  const server: oidc.ServerMetadata = { issuer: ISSUER, token_endpoint: `${gw.url}/oauth2/token` };

  for (const [method, auth] of [
    ['client_secret_basic', oidc.ClientSecretBasic(client.secret)],
    ['client_secret_post', oidc.ClientSecretPost(client.secret)],
  ] as const) {
    const config = new oidc.Configuration(server, client.clientId, undefined, auth);
    config[oidc.customFetch] = trustingFetch(agent);
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'read-only' });
    assert.equal(tokens.token_type, 'bearer', method); // openid-client lower-cases the type
    assert.equal(tokens.scope, 'read-only');
    assert.ok(typeof tokens.expires_in === 'number' && tokens.expires_in <= 3600);
    const jti = decode(tokens.access_token).payload.jti;

    const answer = await undiciFetch(`${gw.url}/api/report`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
      dispatcher: agent,
    });
    assert.equal(answer.status, 200, method);
    const seen = (await answer.json()) as ReceivedRequest;
    assert.equal(seen.headers['x-portcullis-subject'], client.clientId);
    assert.equal(seen.headers['x-portcullis-credential'], jti);
    assert.equal(seen.headers['x-portcullis-scope'], 'read-only');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  }

  // A wrong secret: 401 with the Basic challenge RFC 6749 §5.2 requires, which the library
  // surfaces as a challenge error; the body is the RFC error.
  const wrong = new oidc.Configuration(server, client.clientId, undefined, oidc.ClientSecretBasic('pcs_wrong'));
  wrong[oidc.customFetch] = trustingFetch(agent);
  const failure = await oidc.clientCredentialsGrant(wrong).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(failure instanceof oidc.WWWAuthenticateChallengeError);
  assert.equal(failure.status, 401);
  assert.equal(failure.cause[0]?.scheme, 'basic');
  assert.equal(((await failure.response.json()) as { error: string }).error, 'invalid_client');
  assert.equal(upstream.received.length, 2);
});
