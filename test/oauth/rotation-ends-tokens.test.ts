/**
 * Rotating a client secret because it leaked cuts what the leaked secret
 * minted. Without grace, the access tokens issued before the rotation are refused at once
 * (`auth.token_revoked`), cached verifications included; with a grace they work until the grace
 * ends, then are refused. Tokens issued after the rotation work.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callApi, createClient, getToken, sleep, startOAuthGateway } from './helpers.js';

/** `iat` has one-second precision: a token issued after the rotation is taken in a later second. */
async function nextSecond(): Promise<void> {
  await sleep(1_100 - (Date.now() % 1_000));
}

test('rotation without grace: a token issued before is refused at once (even cached), one issued after works', async (t) => {
  const { gw, upstream, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const before = await getToken(gw.url, client);
  assert.equal((await callApi(gw.url, before)).status, 200, 'works, and is now cached');
  const received = upstream.received.length;

  const rotated = await store.clients.rotateSecret(client.clientId, 0);
  const refused = await callApi(gw.url, before);
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'auth.token_revoked');
  assert.equal(upstream.received.length, received, 'nothing reached the upstream');

  await nextSecond();
  const after = await getToken(gw.url, { clientId: client.clientId, secret: rotated.clientSecret });
  assert.equal((await callApi(gw.url, after)).status, 200);
  assert.equal(upstream.received.length, received + 1);
  // The old secret mints nothing any more.
  await assert.rejects(getToken(gw.url, client), /401/);
});

test('rotation with a grace: a token issued before works until the grace ends, then is refused; one issued after keeps working', async (t) => {
  const { gw, upstream, store } = await startOAuthGateway(t);
  const client = await createClient(store, 'read-write');
  const before = await getToken(gw.url, client);
  assert.equal((await callApi(gw.url, before)).status, 200);

  const graceMs = 3_000;
  const rotated = await store.clients.rotateSecret(client.clientId, graceMs);
  const graceEnds = Date.parse(rotated.record.previousSecretValidUntil ?? '');
  assert.ok(graceEnds > Date.now());
  // During the grace: the old token works (and is cached again, never past the grace's end).
  assert.equal((await callApi(gw.url, before)).status, 200);
  await nextSecond();
  const after = await getToken(gw.url, { clientId: client.clientId, secret: rotated.clientSecret });
  assert.equal((await callApi(gw.url, after)).status, 200);

  await sleep(Math.max(0, graceEnds - Date.now()) + 200);
  const received = upstream.received.length;
  const refused = await callApi(gw.url, before);
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'auth.token_revoked');
  assert.equal(upstream.received.length, received, 'nothing reached the upstream');
  assert.equal((await callApi(gw.url, after)).status, 200, 'a token issued after the rotation outlives the grace');
});
