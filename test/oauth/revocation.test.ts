/**
 * Introspection (RFC 7662), revocation (RFC 7009), and the cross-process promise of
 * docs/credentials.md: revoking a client — or one access token — makes its outstanding access
 * tokens fail on every instance within 1 second (measured).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import test from 'node:test';
import { createCredentialVerifier, openStore } from '../../src/credentials/index.js';
import { createOAuth } from '../../src/oauth/index.js';
import { sharedCerts } from '../support/certs.js';
import { CLI_PATH } from '../support/cli.js';
import { send, type Answer } from '../support/client.js';
import { basic, callApi, createClient, decode, getToken, postForm, sleep, startOAuthGateway, type TestClient } from './helpers.js';
import { withinOneSecond } from '../support/within-one-second.js';

function introspect(url: string, token: string, auth: Record<string, string>): Promise<Answer> {
  return postForm(url, `token=${encodeURIComponent(token)}`, auth, '/oauth2/introspect');
}

function revoke(url: string, token: string, client: TestClient, extra = ''): Promise<Answer> {
  return postForm(
    url,
    `token=${encodeURIComponent(token)}${extra}`,
    { authorization: basic(client.clientId, client.secret) },
    '/oauth2/revoke',
  );
}

/** `jwt` with a middle character of its signature replaced by one it is not: never the same token. */
function tampered(jwt: string): string {
  const i = Math.floor((jwt.lastIndexOf('.') + 1 + jwt.length) / 2);
  return jwt.slice(0, i) + (jwt[i] === 'A' ? 'B' : 'A') + jwt.slice(i + 1);
}

test('introspection: a client sees its own tokens, an admin sees all, anything else is inactive', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const alice = await createClient(store, 'read-write', 'ORG1');
  const bob = await createClient(store, 'read-only');
  const token = await getToken(gw.url, alice, 'read-only');
  const { payload } = decode(token);
  const asAlice = { authorization: basic(alice.clientId, alice.secret) };

  const own = await introspect(gw.url, token, asAlice);
  assert.equal(own.status, 200);
  assert.equal(own.headers['cache-control'], 'no-store');
  assert.deepEqual(own.json(), {
    active: true,
    scope: 'read-only',
    client_id: alice.clientId,
    sub: alice.clientId,
    exp: payload.exp,
    iat: payload.iat,
    iss: payload.iss,
    aud: payload.aud,
    jti: payload.jti,
    token_type: 'Bearer',
    org_id: 'ORG1',
    technical_account_id: 'tech@techacct.example',
  });
  const post = await postForm(gw.url, `token=${token}&client_id=${alice.clientId}&client_secret=${alice.secret}`, {}, '/oauth2/introspect');
  assert.equal(post.json().active, true, 'client_secret_post');

  assert.deepEqual(
    (await introspect(gw.url, token, { authorization: basic(bob.clientId, bob.secret) })).json(),
    { active: false },
    "another client's token",
  );
  const adminToken = (await store.tokens.create({ label: 'ops', scope: 'admin' })).token;
  assert.equal((await introspect(gw.url, token, { authorization: `Bearer ${adminToken}` })).json().active, true, 'admin bearer');
  const apiToken = (await store.tokens.create({ label: 'rw', scope: 'read-write' })).token;
  const notAdmin = await introspect(gw.url, token, { authorization: `Bearer ${apiToken}` });
  assert.equal(notAdmin.status, 403);
  assert.equal(notAdmin.json().error, 'insufficient_scope');
  assert.match(String(notAdmin.headers['www-authenticate']), /error="insufficient_scope", scope="admin"/);
  const badBearer = await introspect(gw.url, token, { authorization: 'Bearer pcl_nope' });
  assert.equal(badBearer.status, 401);
  assert.equal(badBearer.json().error, 'invalid_token');
  const noAuth = await introspect(gw.url, token, {});
  assert.equal(noAuth.status, 401);
  assert.equal(noAuth.json().error, 'invalid_client');

  for (const other of [apiToken, 'garbage', tampered(token), 'a.b.c']) {
    assert.deepEqual((await introspect(gw.url, other, { authorization: `Bearer ${adminToken}` })).json(), { active: false });
  }
  const missing = await postForm(gw.url, '', asAlice, '/oauth2/introspect');
  assert.equal(missing.status, 400);
  assert.equal(missing.json().error, 'invalid_request');
});

test('/oauth2/revoke: a client revokes its own token, at once on this instance; the rest per RFC 7009', async (t) => {
  const { gw, store, upstream } = await startOAuthGateway(t);
  const alice = await createClient(store, 'read-write');
  const bob = await createClient(store, 'read-write');
  const token = await getToken(gw.url, alice);
  const other = await getToken(gw.url, alice);
  assert.equal((await callApi(gw.url, token)).status, 200, 'cached as valid');

  const notYours = await revoke(gw.url, token, bob);
  assert.equal(notYours.status, 400);
  assert.equal(notYours.json().error, 'unauthorized_client');
  assert.equal((await callApi(gw.url, token)).status, 200, 'still valid');

  const done = await revoke(gw.url, token, alice, '&token_type_hint=access_token');
  assert.equal(done.status, 200);
  assert.equal(done.headers['cache-control'], 'no-store');
  const before = upstream.arrived.length;
  const refused = await callApi(gw.url, token);
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'auth.token_revoked');
  assert.equal(upstream.arrived.length, before, 'nothing reached the upstream');
  assert.equal((await introspect(gw.url, token, { authorization: basic(alice.clientId, alice.secret) })).json().active, false);
  assert.equal((await callApi(gw.url, other)).status, 200, "the client's other tokens keep working");
  assert.equal((await revoke(gw.url, token, alice)).status, 200, 'idempotent');

  const apiToken = (await store.tokens.create({ label: 'x', scope: 'read-only' })).token;
  const api = await revoke(gw.url, apiToken, alice);
  assert.equal(api.status, 400);
  assert.equal(api.json().error, 'unsupported_token_type');
  assert.equal((await send(gw.url, { path: '/ro/x', headers: { authorization: `Bearer ${apiToken}` } })).status, 200, 'not revoked');
  for (const unknown of ['garbage', 'a.b.c', tampered(other)]) assert.equal((await revoke(gw.url, unknown, alice)).status, 200, unknown);
  const anonymous = await postForm(gw.url, `token=${other}`, {}, '/oauth2/revoke');
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json().error, 'invalid_client');
  assert.equal((await callApi(gw.url, other)).status, 200);
  const missing = await postForm(gw.url, '', { authorization: basic(alice.clientId, alice.secret) }, '/oauth2/revoke');
  assert.equal(missing.json().error, 'invalid_request');
});

test('revoking a client with the CLI (another process) refuses its access tokens here within 1 s (measured)', async (t) => {
  const { gw, store, upstream, configFile, env } = await startOAuthGateway(t);
  const survivor = await createClient(store, 'read-write');
  const survivorToken = await getToken(gw.url, survivor);
  await withinOneSecond(t, 'from the client revocation committed by another process to its access token refused here', async () => {
    const client = await createClient(store, 'read-write');
    const tokens = [await getToken(gw.url, client), await getToken(gw.url, client, 'read-only')];
    for (const token of tokens) assert.equal((await callApi(gw.url, token)).status, 200);
    const seqBefore = await store.latestChangeSeq();

    const cli = new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [CLI_PATH, 'clients', 'revoke', client.clientId, '--config', configFile, '--json'],
        { env: { ...process.env, ...env, CA: sharedCerts().ca.caCertPath } },
        (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout)),
      );
    });
    let refusedAt: number | undefined;
    const deadline = Date.now() + 15_000;
    let cliDone = false;
    void cli.finally(() => {
      cliDone = true;
    });
    while (refusedAt === undefined && Date.now() < deadline) {
      const answer = await callApi(gw.url, tokens[0] ?? '');
      if (answer.status === 401) {
        assert.equal(answer.json().code, 'auth.token_revoked');
        refusedAt = Date.now();
      } else {
        assert.equal(answer.status, 200);
        if (cliDone) await sleep(1);
      }
    }
    const printed = JSON.parse(await cli) as { revokedAt: string };
    assert.ok(printed.revokedAt);
    const change = (await store.changesSince(seqBefore)).find((c) => c.kind === 'client.revoked');
    assert.ok(change && refusedAt !== undefined);
    const before = upstream.arrived.length;
    for (const token of tokens) assert.equal((await callApi(gw.url, token)).status, 401);
    assert.equal(upstream.arrived.length, before);
    return refusedAt - change.at;
  });
  assert.equal((await callApi(gw.url, survivorToken)).status, 200, 'other clients are untouched');
});

test('a token revoked through one instance is refused by another instance (own store connection) within 1 s', async (t) => {
  const { gw, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  // A second instance: its own connection to the same file, its own verifier and OAuth layer.
  const second = await openStore(gw.config.store.url, { create: true });
  const verifier = createCredentialVerifier({ store: second, cache: gw.config.cache });
  await verifier.start();
  const oauth = await createOAuth({ config: gw.config, store: second, credentials: verifier });
  t.after(async () => {
    await oauth.close();
    await verifier.close();
    await second.close();
  });
  const verify = async (token: string): Promise<string> => {
    try {
      await oauth.verifier.verify({ scheme: 'bearer', token });
      return 'ok';
    } catch (error) {
      return (error as { code: string }).code;
    }
  };
  await withinOneSecond(t, 'from the access token revoked on instance A to its refusal by instance B', async () => {
    const token = await getToken(gw.url, client);
    assert.equal(await verify(token), 'ok');
    assert.ok(!(oauth.verifier.verify({ scheme: 'bearer', token }) instanceof Promise), 'cached on the second instance');
    const revokedAt = Date.now();
    assert.equal((await revoke(gw.url, token, client)).status, 200);
    let outcome = 'ok';
    while (outcome === 'ok' && Date.now() - revokedAt < 5_000) {
      outcome = await verify(token);
      if (outcome === 'ok') await sleep(5);
    }
    assert.equal(outcome, 'auth.token_revoked');
    return Date.now() - revokedAt;
  });
});
