/**
 * POST /oauth2/token (RFC 6749 §4.4) through a real gateway: the success answer and token, the
 * documented partner request byte for byte, scope narrowing, and every RFC 6749 §5.2 error.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Answer } from '../support/client.js';
import { sendRaw, send } from '../support/client.js';
import { assertNotADocument, assertProblem } from '../support/problem.js';
import { AUDIENCE, basic, createClient, decode, FORM, ISSUER, postForm, startOAuthGateway, type TokenResponse } from './helpers.js';

/** Asserts an RFC 6749 §5.2 error answer, and that nothing secret came back. */
function assertOAuthError(answer: Answer, status: number, error: string, secrets: readonly string[] = []): void {
  assert.equal(answer.status, status, answer.body);
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.equal(answer.headers.pragma, 'no-cache');
  assertNotADocument(answer.headers);
  const body = answer.json<{ error: string; error_description: string }>();
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, error);
  // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
  assert.match(body.error_description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  for (const secret of secrets) assert.ok(!answer.body.includes(secret), 'a secret was echoed');
  if (status === 401) assert.equal(answer.headers['www-authenticate'], 'Basic realm="portcullis", charset="UTF-8"');
}

test('client_secret_basic: 200 with a Bearer at+jwt access token, no-store, and the claims of docs/oauth.md', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write', 'ORG123@AdobeOrg');
  const answer = await postForm(gw.url, 'grant_type=client_credentials', { authorization: basic(client.clientId, client.secret) });
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.equal(answer.headers.pragma, 'no-cache');
  assert.match(String(answer.headers['content-type']), /^application\/json/);
  assertNotADocument(answer.headers);
  const body = answer.json<TokenResponse>();
  assert.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'scope']);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 3600);
  assert.equal(body.scope, 'read-write');
  const { header, payload } = decode(body.access_token);
  const [active] = await store.signingKeys.list();
  assert.deepEqual(header, { alg: 'ES256', kid: active?.kid, typ: 'at+jwt' });
  assert.equal(payload.iss, ISSUER);
  assert.equal(payload.aud, AUDIENCE);
  assert.equal(payload.sub, client.clientId);
  assert.equal(payload.client_id, client.clientId);
  assert.equal(payload.scope, 'read-write');
  assert.equal(payload.org_id, 'ORG123@AdobeOrg');
  assert.equal(payload.technical_account_id, 'tech@techacct.example');
  assert.equal(Number(payload.exp) - Number(payload.iat), 3600);
  assert.match(String(payload.jti), /^[A-Za-z0-9_-]{22}$/);
  assert.ok(!answer.body.includes(client.secret));
});

test('client_secret_post works too, and a client_id repeated in the body next to Basic is accepted', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-only');
  const post = await postForm(gw.url, `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.secret}`);
  assert.equal(post.status, 200, post.body);
  assert.equal(post.json<TokenResponse>().scope, 'read-only');
  const both = await postForm(gw.url, `grant_type=client_credentials&client_id=${client.clientId}`, {
    authorization: basic(client.clientId, client.secret),
  });
  assert.equal(both.status, 200, both.body);
});

test('the documented partner request (docs/oauth.md), byte for byte, with and without spaces around ";"', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const credentials = Buffer.from(`${client.clientId}:${client.secret}`).toString('base64');
  for (const contentType of ['application/x-www-form-urlencoded ; charset=UTF-8', 'application/x-www-form-urlencoded;charset=UTF-8']) {
    const request = [
      'POST /oauth2/token HTTP/1.1',
      'Host: api.partner.com',
      'User-Agent: Adobe Audience Manager Iris',
      `Authorization: Basic ${credentials}`,
      `Content-Type: ${contentType}`,
      'Content-Length: 29',
      'Accept-Encoding: gzip',
      '',
      'grant_type=client_credentials',
    ].join('\r\n');
    const answer = await sendRaw(gw.port, request);
    assert.equal(answer.status, 200, answer.raw);
    assert.match(answer.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const body = JSON.parse(answer.body) as TokenResponse;
    assert.equal(body.token_type, 'Bearer');
    assert.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    // Then the token goes as Bearer on every call.
    const call = await send(gw.url, { path: '/api/segments/aam', headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(call.status, 200);
  }
});

test("scope: omitted → the client's; a narrower one is granted; a wider or unknown one is invalid_scope", async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const rw = await createClient(store, 'read-write');
  const admin = await createClient(store, 'admin');
  const ask = async (client: typeof rw, scope: string): Promise<Answer> =>
    postForm(gw.url, `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`, {
      authorization: basic(client.clientId, client.secret),
    });
  assert.equal((await ask(rw, 'read-only')).json<TokenResponse>().scope, 'read-only');
  assert.equal((await ask(rw, 'read-only read-write')).json<TokenResponse>().scope, 'read-write');
  assert.equal((await ask(admin, 'read-write')).json<TokenResponse>().scope, 'read-write');
  const adminDefault = await postForm(gw.url, 'grant_type=client_credentials', { authorization: basic(admin.clientId, admin.secret) });
  assert.equal(adminDefault.json<TokenResponse>().scope, 'admin');
  assert.equal((await ask(admin, 'admin')).json<TokenResponse>().scope, 'admin');
  for (const scope of ['admin', 'write', 'read-only  read-write', 'read-write read-only admin', 'openid']) {
    assertOAuthError(await ask(rw, scope), 400, 'invalid_scope');
  }
});

test('every RFC 6749 §5.2 error, with its status and challenge, never echoing a secret', async (t) => {
  const { gw, store, upstream } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const revoked = await createClient(store, 'read-write');
  await store.clients.revoke(revoked.clientId);
  const apiToken = (await store.tokens.create({ label: 'api', scope: 'admin' })).token;
  const auth = { authorization: basic(client.clientId, client.secret) };
  const grant = 'grant_type=client_credentials';
  const secrets = [client.secret, revoked.secret, apiToken];
  const cases: Array<[string, () => Promise<Answer>, number, string]> = [
    ['no grant_type', () => postForm(gw.url, 'scope=read-only', auth), 400, 'invalid_request'],
    ['empty grant_type counts as omitted', () => postForm(gw.url, 'grant_type=', auth), 400, 'invalid_request'],
    ['grant_type twice', () => postForm(gw.url, `${grant}&${grant}`, auth), 400, 'invalid_request'],
    ['scope twice', () => postForm(gw.url, `${grant}&scope=read-only&scope=read-only`, auth), 400, 'invalid_request'],
    [
      'JSON body',
      () =>
        send(gw.url, {
          method: 'POST',
          path: '/oauth2/token',
          body: '{"grant_type":"client_credentials"}',
          headers: { ...auth, 'content-type': 'application/json' },
        }),
      400,
      'invalid_request',
    ],
    ['no content type', () => send(gw.url, { method: 'POST', path: '/oauth2/token', body: grant, headers: auth }), 400, 'invalid_request'],
    [
      'two content types',
      () => send(gw.url, { method: 'POST', path: '/oauth2/token', body: grant, headers: { ...auth, 'content-type': [FORM, FORM] } }),
      400,
      'invalid_request',
    ],
    ['latin-1 charset', () => postForm(gw.url, grant, { ...auth, 'content-type': `${FORM}; charset=ISO-8859-1` }), 400, 'invalid_request'],
    ['body over 16 KiB', () => postForm(gw.url, `${grant}&pad=${'a'.repeat(17 * 1024)}`, auth), 400, 'invalid_request'],
    ['invalid percent-encoding', () => postForm(gw.url, `${grant}&scope=%zz`, auth), 400, 'invalid_request'],
    [
      'not UTF-8',
      () =>
        send(gw.url, {
          method: 'POST',
          path: '/oauth2/token',
          body: Buffer.from([0x67, 0x3d, 0xff]),
          headers: { ...auth, 'content-type': FORM },
        }),
      400,
      'invalid_request',
    ],
    [
      'parameters in the query',
      () =>
        send(gw.url, {
          method: 'POST',
          path: `/oauth2/token?client_secret=${client.secret}`,
          body: grant,
          headers: { ...auth, 'content-type': FORM },
        }),
      400,
      'invalid_request',
    ],
    [
      'Basic and client_secret at once',
      () => postForm(gw.url, `${grant}&client_id=${client.clientId}&client_secret=${client.secret}`, auth),
      400,
      'invalid_request',
    ],
    ['Basic and another client_id', () => postForm(gw.url, `${grant}&client_id=cli_0000000000000000000000`, auth), 400, 'invalid_request'],
    [
      'two Authorization headers',
      () => postForm(gw.url, grant, { authorization: [auth.authorization, auth.authorization] }),
      400,
      'invalid_request',
    ],
    ['client_secret without client_id', () => postForm(gw.url, `${grant}&client_secret=${client.secret}`), 400, 'invalid_request'],
    ['no client authentication', () => postForm(gw.url, grant), 401, 'invalid_client'],
    ['client_id alone (public client)', () => postForm(gw.url, `${grant}&client_id=${client.clientId}`), 401, 'invalid_client'],
    [
      'wrong secret (Basic)',
      () => postForm(gw.url, grant, { authorization: basic(client.clientId, revoked.secret) }),
      401,
      'invalid_client',
    ],
    [
      'wrong secret (post)',
      () => postForm(gw.url, `${grant}&client_id=${client.clientId}&client_secret=${revoked.secret}`),
      401,
      'invalid_client',
    ],
    [
      'unknown client',
      () => postForm(gw.url, grant, { authorization: basic('cli_0000000000000000000000', client.secret) }),
      401,
      'invalid_client',
    ],
    ['revoked client', () => postForm(gw.url, grant, { authorization: basic(revoked.clientId, revoked.secret) }), 401, 'invalid_client'],
    [
      "the partner documentation's example credentials",
      () =>
        postForm(gw.url, grant, { authorization: 'Basic zq2LOO1CcYGrODS5nXiNHpEz97eCpVHAoMF8pAgCntXAzxp5uRV7DTAE2qtPLjhMQwrEX3O6MHV4S' }),
      401,
      'invalid_client',
    ],
    [
      'Bearer instead of client authentication',
      () => postForm(gw.url, grant, { authorization: `Bearer ${apiToken}` }),
      401,
      'invalid_client',
    ],
    [
      'an API token as the Basic password',
      () => postForm(gw.url, grant, { authorization: basic('anyone', apiToken) }),
      400,
      'unauthorized_client',
    ],
    ['password grant', () => postForm(gw.url, 'grant_type=password&username=a&password=b', auth), 400, 'unsupported_grant_type'],
    ['authorization_code grant', () => postForm(gw.url, 'grant_type=authorization_code&code=x', auth), 400, 'unsupported_grant_type'],
    ["scope wider than the client's", () => postForm(gw.url, `${grant}&scope=admin`, auth), 400, 'invalid_scope'],
  ];
  for (const [name, run, status, error] of cases) {
    await t.test(name, async () => assertOAuthError(await run(), status, error, secrets));
  }
  assert.equal(upstream.arrived.length, 0, 'nothing reached the upstream');
});

test('other methods: 405 method.not_allowed with Allow: POST; the smuggling guard applies', async (t) => {
  const { gw } = await startOAuthGateway(t);
  for (const method of ['GET', 'PUT', 'DELETE', 'HEAD']) {
    const answer = await send(gw.url, { method, path: '/oauth2/token' });
    assert.equal(answer.status, 405, method);
    assert.equal(answer.headers.allow, 'POST');
    if (method !== 'HEAD') assertProblem({ status: answer.status, headers: answer.headers, bodyText: answer.body }, 'method.not_allowed');
  }
  const smuggled = await sendRaw(
    gw.port,
    'POST /oauth2/token HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  );
  assert.equal(smuggled.status, 400);
});

test('an Expect: 100-continue client is told to go on, and a refused one never uploads', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const head = (contentType: string): string =>
    [
      'POST /oauth2/token HTTP/1.1',
      'Host: gw',
      `Authorization: ${basic(client.clientId, client.secret)}`,
      `Content-Type: ${contentType}`,
      'Content-Length: 29',
      'Expect: 100-continue',
      '',
      '',
    ].join('\r\n');
  const refused = await sendRaw(gw.port, head('text/plain'));
  assert.equal(refused.status, 400, 'refused before any 100 Continue');
  assert.ok(!refused.raw.includes('100 Continue'));
  const accepted = await new Promise<string>((resolve, reject) => {
    import('node:net').then(({ connect }) => {
      const socket = connect(gw.port, '127.0.0.1', () => socket.write(head(FORM)));
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.startsWith('HTTP/1.1 100') && !seen.includes('grant_type_sent')) {
          seen += 'grant_type_sent';
          socket.write('grant_type=client_credentials');
        }
        if (seen.includes('"access_token"')) {
          socket.destroy();
          resolve(seen);
        }
      });
      socket.on('error', reject);
    }, reject);
  });
  assert.match(accepted, /^HTTP\/1\.1 100 Continue/);
  assert.match(accepted, /HTTP\/1\.1 200 OK/);
});

test('RFC 8414 metadata names the endpoints under oauth.issuer', async (t) => {
  const { gw } = await startOAuthGateway(t);
  const answer = await send(gw.url, { path: '/.well-known/oauth-authorization-server' });
  assert.equal(answer.status, 200);
  assertNotADocument(answer.headers);
  const metadata = answer.json();
  assert.equal(metadata.issuer, ISSUER);
  assert.equal(metadata.token_endpoint, `${ISSUER}/oauth2/token`);
  assert.equal(metadata.jwks_uri, `${ISSUER}/.well-known/jwks.json`);
  assert.deepEqual(metadata.grant_types_supported, ['client_credentials']);
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post']);
});
