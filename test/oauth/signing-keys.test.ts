/**
 * Signing keys: generated on first start and shared through the store, rotated with
 * `portcullis keys rotate` while a gateway serves, published in the JWKS while they verify.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import Database from 'better-sqlite3';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { sqlitePathOf } from '../../src/credentials/index.js';
import { createKeyRing, generateSigningKey, KEY_PROPAGATION_MARGIN_MS, verifiesUntil } from '../../src/oauth/signing-keys.js';
import { sharedCerts } from '../support/certs.js';
import { runCli } from '../support/cli.js';
import { send } from '../support/client.js';
import { assertNotADocument } from '../support/problem.js';
import { tempStore } from '../credentials/helpers.js';
import { AUDIENCE, callApi, createClient, decode, getToken, ISSUER, sleep, startOAuthGateway } from './helpers.js';

const LIFETIME = { tokenTtlMs: 3_600_000, leewayMs: 30_000 };

test('store: one active key; concurrent first starts agree; rotation retires and erases the private part', async (t) => {
  const { store, file } = await tempStore(t);
  const [a, b] = await Promise.all([generateSigningKey(), generateSigningKey()]);
  assert.ok(a && b);
  const [first, second] = await Promise.all([store.signingKeys.ensureActive(a), store.signingKeys.ensureActive(b)]);
  assert.equal(first.kid, a.kid);
  assert.equal(second.kid, a.kid, 'the second instance adopts the key the first stored');
  assert.equal((await store.signingKeys.list()).length, 1);
  const next = await generateSigningKey();
  const { active, retired } = await store.signingKeys.rotate(next);
  assert.equal(active.kid, next.kid);
  assert.equal(active.retiredAt, null);
  assert.ok(active.privateJwk !== null);
  assert.equal(retired?.kid, a.kid);
  assert.equal(retired?.privateJwk, null, 'a retired key keeps no private part');
  assert.ok(retired?.retiredAt !== null);
  const raw = new Database(file, { readonly: true });
  t.after(() => raw.close());
  assert.equal(raw.prepare('SELECT count(*) FROM signing_keys WHERE private_jwk IS NOT NULL').pluck().get(), 1);
  assert.throws(
    () => new Database(file).prepare("UPDATE signing_keys SET private_jwk = 'x' WHERE retired_at IS NOT NULL").run(),
    /retired signing key/,
  );
  await assert.rejects(
    store.signingKeys.rotate(next),
    (e: unknown) => (e as { reason?: string }).reason === 'invalid_argument',
    'a kid is never reused',
  );
  assert.equal(verifiesUntil({ retiredAt: 1_000 }, LIFETIME), 1_000 + 3_600_000 + 30_000 + KEY_PROPAGATION_MARGIN_MS);
  assert.equal(verifiesUntil({ retiredAt: null }, LIFETIME), Infinity);
  assert.equal(sqlitePathOf(`sqlite:${file}`), file);
});

test('key ring: a retired key verifies and is published until its window ends, then neither', async (t) => {
  const { store } = await tempStore(t);
  let now = Date.UTC(2026, 0, 1);
  const ring = createKeyRing({ store, settings: () => LIFETIME, now: () => now });
  await ring.start();
  const old = ring.signer();
  assert.ok(old);
  await store.signingKeys.rotate(await generateSigningKey());
  await ring.reload();
  assert.notEqual(ring.signer()?.kid, old.kid);
  assert.ok(ring.verificationKey(old.kid), 'the old key still verifies');
  assert.equal(ring.publicKeys().length, 2);
  for (const jwk of ring.publicKeys()) assert.equal(jwk.d, undefined, 'never a private part');
  now = Date.now() + LIFETIME.tokenTtlMs + LIFETIME.leewayMs + KEY_PROPAGATION_MARGIN_MS + 1_000;
  assert.equal(ring.verificationKey(old.kid), undefined);
  assert.deepEqual(
    ring.publicKeys().map((k) => k.kid),
    [ring.signer()?.kid],
  );
});

test('portcullis keys rotate while a gateway serves: old tokens keep working, new ones carry the new kid, the JWKS lists both', async (t) => {
  const { gw, store, configFile, env } = await startOAuthGateway(t);
  const cliEnv = { ...env, CA: sharedCerts().ca.caCertPath };
  const client = await createClient(store, 'read-write');
  const oldToken = await getToken(gw.url, client);
  const oldKid = decode(oldToken).header.kid;

  const listed = await runCli(['keys', 'list', '--config', configFile, '--json'], cliEnv);
  assert.equal(listed.code, 0, listed.stderr);
  const before = JSON.parse(listed.stdout) as Array<{ kid: string; state: string }>;
  assert.deepEqual(
    before.map((k) => [k.kid, k.state]),
    [[oldKid, 'active']],
  );
  assert.ok(!listed.stdout.includes('"d"'), 'no private key printed');

  const rotated = await runCli(['keys', 'rotate', '--config', configFile, '--json'], cliEnv);
  assert.equal(rotated.code, 0, rotated.stderr);
  const result = JSON.parse(rotated.stdout) as {
    kid: string;
    state: string;
    previous: { kid: string; state: string; verifiesUntil: string };
  };
  assert.equal(result.state, 'active');
  assert.equal(result.previous.kid, oldKid);
  assert.equal(result.previous.state, 'verifying');
  assert.ok(Date.parse(result.previous.verifiesUntil) > Date.now() + 3_600_000);
  assert.ok(!rotated.stdout.includes('"d"'));

  // The gateway follows the change feed: within a poll it signs with the new key.
  let newToken = '';
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    newToken = await getToken(gw.url, client);
    if (decode(newToken).header.kid === result.kid) break;
    await sleep(20);
  }
  assert.equal(decode(newToken).header.kid, result.kid);
  assert.equal((await callApi(gw.url, oldToken)).status, 200, 'the old token keeps working');
  assert.equal((await callApi(gw.url, newToken)).status, 200);

  const jwks = await send(gw.url, { path: '/.well-known/jwks.json' });
  assert.equal(jwks.status, 200);
  assert.equal(jwks.headers['cache-control'], 'public, max-age=300');
  assert.equal(jwks.headers['content-type'], 'application/jwk-set+json');
  assertNotADocument(jwks.headers);
  const set = jwks.json<{ keys: Array<Record<string, unknown>> }>();
  assert.deepEqual(
    set.keys.map((k) => k.kid),
    [result.kid, oldKid],
  );
  for (const key of set.keys) {
    assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(key.use, 'sig');
  }
  // A third party verifies both tokens with the published set alone.
  const local = createLocalJWKSet({ keys: set.keys });
  for (const token of [oldToken, newToken]) {
    const { payload } = await jwtVerify(token, local, { issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', algorithms: ['ES256'] });
    assert.equal(payload.client_id, client.clientId);
  }
  const head = await send(gw.url, { method: 'HEAD', path: '/.well-known/jwks.json' });
  assert.equal(head.status, 200);
  const post = await send(gw.url, { method: 'POST', path: '/.well-known/jwks.json' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');

  const after = JSON.parse((await runCli(['keys', 'list', '--config', configFile, '--json'], cliEnv)).stdout) as Array<{
    kid: string;
    state: string;
  }>;
  assert.deepEqual(
    after.map((k) => [k.kid, k.state]),
    [
      [result.kid, 'active'],
      [oldKid, 'verifying'],
    ],
  );
  const usage = await runCli(['keys', 'spin', '--config', configFile], cliEnv);
  assert.equal(usage.code, 2);
});

test('a second instance sharing the store signs and verifies with the same key', async (t) => {
  const first = await startOAuthGateway(t);
  const client = await createClient(first.store, 'read-write');
  const token = await getToken(first.gw.url, client);
  const { startTestGateway } = await import('../support/gateway.js');
  // The same configuration and store file, another gateway: no new key is generated.
  const yaml = first.yaml.replace('sqlite:./portcullis.db', `sqlite:${sqlitePathOf(first.gw.config.store.url)}`);
  const second = await startTestGateway(t, yaml, first.env);
  assert.equal((await second.services.store.signingKeys.list()).length, 1);
  assert.equal((await callApi(second.url, token)).status, 200);
  const fromSecond = await getToken(second.url, client);
  assert.equal((await callApi(first.gw.url, fromSecond)).status, 200);
});
