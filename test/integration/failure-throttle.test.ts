/**
 * Failed-attempt throttling per client address, end to end: a real gateway in front of a
 * recording HTTPS upstream. Both views: the client's 429 with Retry-After, and that neither the
 * upstream nor the credential store saw the throttled attempt (store reads counted).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { generateApiToken, generateClientSecret } from '../../src/credentials/secrets.js';
import { planReload } from '../../src/config/reload-plan.js';
import { sharedCerts } from '../support/certs.js';
import { type Answer, send } from '../support/client.js';
import { gatewayYaml, loadTestConfig, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const routes = (origin: string): string => `  - name: api
    match: { path: /api }
    upstream: "${origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
`;

interface Harness {
  readonly gw: TestGateway;
  readonly upstream: RecordingUpstream;
  readonly storeReads: () => number;
  readonly metric: (name: string) => Promise<number>;
  get(token: string, headers?: Record<string, string>): Promise<Answer>;
}

async function harness(t: TestContext, extra: string, logLines?: string[]): Promise<Harness> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(routes(upstream.origin), extra), {}, logLines === undefined ? {} : { logLines });
  return {
    gw,
    upstream,
    storeReads: () => gw.services.verifier.stats().storeReads,
    async metric(name) {
      const text = (await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' })).body;
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      assert.ok(line, `${name} is exposed`);
      return Number(line.split(' ')[1]);
    },
    get: (token, headers = {}) => send(gw.url, { path: '/api/x', headers: { authorization: `Bearer ${token}`, ...headers } }),
  };
}

function assertThrottled(answer: Answer, secret: string): void {
  assert.equal(answer.status, 429);
  assert.equal(answer.headers['content-type'], 'application/problem+json');
  assert.equal(answer.json().code, 'auth.too_many_failures');
  const wait = Number(answer.headers['retry-after']);
  assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After ${answer.headers['retry-after']}`);
  assert.ok(!answer.body.includes(secret) && !answer.body.includes(secret.slice(4, 20)), 'the body does not echo the credential');
}

test('past throttle.failures, attempts are refused 429 before the store is read; a cached valid credential from the same address still works', async (t) => {
  const lines: string[] = [];
  const h = await harness(t, 'throttle: { failures: 3, window: 1m }', lines);
  const valid = await h.gw.services.store.tokens.create({ label: 'nat-neighbour', scope: 'read-only' });
  const uncached = await h.gw.services.store.tokens.create({ label: 'not-yet-used', scope: 'read-only' });
  assert.equal((await h.get(valid.token)).status, 200); // now in the positive cache
  const arrivedBefore = h.upstream.arrived.length;

  for (let i = 0; i < 3; i++) {
    const answer = await h.get(generateApiToken());
    assert.equal(answer.status, 401, `failure ${i + 1} is still answered by the verifier`);
  }
  const readsBefore = h.storeReads();
  const guess = generateApiToken();
  assertThrottled(await h.get(guess), guess);
  assertThrottled(
    await send(h.gw.url, { path: '/api/x', headers: { authorization: `Basic ${Buffer.from(`x:${guess}`).toString('base64')}` } }),
    guess,
  );
  // A valid credential that is not cached is not let through to the store either.
  assertThrottled(await h.get(uncached.token), uncached.token);
  assert.equal(h.storeReads(), readsBefore, 'no throttled attempt reached the store');
  assert.equal(h.upstream.arrived.length, arrivedBefore, 'nothing reached the upstream');

  // The NAT case: the neighbour's cached credential keeps working from the same address.
  const ok = await h.get(valid.token);
  assert.equal(ok.status, 200);
  assert.equal(h.upstream.arrived.length, arrivedBefore + 1);
  assert.equal(h.upstream.received.at(-1)?.headers['x-portcullis-credential'], valid.record.id);

  assert.equal(await h.metric('portcullis_auth_throttled_total'), 3);
  assert.equal(await h.metric('portcullis_auth_throttle_addresses'), 1);
  // One warning names the address, once per window; the access lines carry the decision.
  const started = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'auth.throttle_started');
  assert.equal(started.length, 1);
  assert.equal(started[0]?.client, '127.0.0.1');
  assert.ok(Number(started[0]?.seconds) >= 59 && Number(started[0]?.seconds) <= 60);
  assert.equal(lines.filter((line) => line.includes('"decision":"auth.too_many_failures"')).length, 3);
  assert.ok(!lines.join('\n').includes(guess.slice(4, 24)), 'no credential in the log');
});

test('a missing credential, a malformed header and a store outage are not failures', async (t) => {
  const h = await harness(t, 'throttle: { failures: 1, window: 1m }');
  for (let i = 0; i < 3; i++) {
    assert.equal((await send(h.gw.url, { path: '/api/x' })).json().code, 'auth.missing_credentials');
    assert.equal((await send(h.gw.url, { path: '/api/x', headers: { authorization: 'Bearer' } })).status, 400);
  }
  assert.equal((await h.get(generateApiToken())).status, 401, 'the first real failure is still answered');
  assert.equal((await h.get(generateApiToken())).status, 429);
});

test('X-Forwarded-For from an untrusted peer does not choose the key; behind a trusted proxy the forwarded address is throttled alone', async (t) => {
  const direct = await harness(t, 'throttle: { failures: 2, window: 1m }');
  for (let i = 0; i < 2; i++) assert.equal((await direct.get(generateApiToken(), { 'x-forwarded-for': `198.51.100.${i}` })).status, 401);
  assert.equal(
    (await direct.get(generateApiToken(), { 'x-forwarded-for': '198.51.100.77' })).status,
    429,
    'a new spoofed address does not escape',
  );

  const proxied = await harness(t, 'trustedProxies: ["127.0.0.1"]\nthrottle: { failures: 2, window: 1m }');
  for (let i = 0; i < 2; i++)
    assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` })).status, 401);
  // What the client prepends to the proxy's entry changes nothing.
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '192.0.2.200, 203.0.113.7' })).status, 429);
  assert.equal(
    (await proxied.get(generateApiToken(), { 'x-forwarded-for': '203.0.113.8' })).status,
    401,
    'another client behind the proxy is not throttled',
  );
  // IPv6 by /64: another address of the same network is the same client.
  for (let i = 0; i < 2; i++) await proxied.get(generateApiToken(), { 'x-forwarded-for': `2001:db8:5:6::${i + 1}` });
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '2001:db8:5:6:abcd::9' })).status, 429);
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '2001:db8:5:7::1' })).status, 401);
});

test('behind a trusted proxy one client is one key in any spelling of its address; a mapped or NAT64 spelling throttles no other client', async (t) => {
  const proxied = await harness(t, 'trustedProxies: ["127.0.0.1"]\nthrottle: { failures: 2, window: 1m }');
  // 198.51.100.9 is ::ffff:c633:6409 in the hex form of an IPv4-mapped address.
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '::FFFF:198.51.100.9' })).status, 401);
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '::ffff:c633:6409' })).status, 401);
  const guess = generateApiToken();
  assertThrottled(await proxied.get(guess, { 'x-forwarded-for': '198.51.100.9' }), guess);
  // Taken as written, every hex-mapped client shared the one /64 0:0:0:0::/64.
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '::ffff:c633:640a' })).status, 401, '198.51.100.10');
  // Behind a NAT64 translator (64:ff9b::/96) likewise: one IPv4 client, not every IPv4 client in 64:ff9b:0:0::/64.
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '64:ff9b::198.51.100.19' })).status, 401);
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '64:ff9b::c633:6413%eth0' })).status, 401);
  const third = generateApiToken();
  assertThrottled(await proxied.get(third, { 'x-forwarded-for': '64:FF9B::C633:6413' }), third);
  assert.equal((await proxied.get(generateApiToken(), { 'x-forwarded-for': '64:ff9b::c000:201' })).status, 401, '192.0.2.1');
  assert.equal(proxied.upstream.received.length, 0);
});

test('memory is bounded: many failing addresses hold at most throttle.maxAddresses entries', async (t) => {
  const h = await harness(t, 'trustedProxies: ["127.0.0.1"]\nthrottle: { failures: 5, window: 1m, maxAddresses: 20 }');
  for (let i = 0; i < 60; i++) await h.get(generateApiToken(), { 'x-forwarded-for': `198.51.100.${i}` });
  assert.equal(await h.metric('portcullis_auth_throttle_addresses'), 20);
});

test('client_secret guessing at the token endpoint counts, and is refused 429 without a store read', async (t) => {
  const h = await harness(t, 'throttle: { failures: 2, window: 1m }');
  const client = await h.gw.services.store.clients.create({ name: 'partner', scope: 'read-only' });
  // Well-formed wrong secrets (a checksum failure never reaches the verifier, and costs nothing).
  const wrong = generateClientSecret();
  const token = (secret: string): Promise<Answer> =>
    send(h.gw.url, {
      method: 'POST',
      path: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${client.record.clientId}&client_secret=${encodeURIComponent(secret)}`,
    });
  const first = await token(client.clientSecret);
  assert.equal(first.status, 200, 'the right secret, now cached');
  const earlyAccess = first.json<{ access_token: string }>().access_token;
  assert.equal((await h.get(earlyAccess)).status, 200, 'verified once: now in the JWT cache');
  for (let i = 0; i < 2; i++) assert.equal((await token(generateClientSecret())).json().error, 'invalid_client');
  const reads = h.storeReads();
  const throttled = await token(wrong);
  assertThrottled(throttled, wrong);
  assert.equal(h.storeReads(), reads);
  const issued = await token(client.clientSecret);
  assert.equal(issued.status, 200, 'the cached right secret still gets a token');
  // An access token not yet verified is not cached: throttled like any other credential.
  const fresh = issued.json<{ access_token: string }>().access_token;
  assertThrottled(await h.get(fresh), fresh);
  assert.equal((await h.get(earlyAccess)).status, 200, 'an access token verified before keeps working (JWT cache)');
  // The token endpoint's failures throttle the proxy routes too: one table per address.
  assert.equal((await h.get(generateApiToken())).status, 429);
});

test('admin listener: failed admin tokens count, and further attempts are refused 429', async (t) => {
  const h = await harness(t, 'throttle: { failures: 2, window: 1m }');
  const adminUrl = `http://127.0.0.1:${h.gw.gateway.adminAddress?.port ?? 0}`;
  const admin = await h.gw.services.store.tokens.create({ label: 'ops', scope: 'admin' });
  assert.equal((await send(adminUrl, { path: '/v1/accounts', headers: { authorization: `Bearer ${admin.token}` } })).status, 200);
  for (let i = 0; i < 2; i++)
    assert.equal((await send(adminUrl, { path: '/v1/accounts', headers: { authorization: `Bearer ${generateApiToken()}` } })).status, 401);
  const guess = generateApiToken();
  assertThrottled(await send(adminUrl, { path: '/v1/accounts', headers: { authorization: `Bearer ${guess}` } }), guess);
  assert.equal(
    (await send(adminUrl, { path: '/v1/accounts', headers: { authorization: `Bearer ${admin.token}` } })).status,
    200,
    'the cached admin token works',
  );
});

test('a reload turns the throttle on, changes its threshold, and turns it off', async (t) => {
  const h = await harness(t, '');
  for (let i = 0; i < 3; i++) assert.equal((await h.get(generateApiToken())).status, 401, 'off: no throttling');
  const reload = (extra: string): void => {
    const next = loadTestConfig(gatewayYaml(routes(h.upstream.origin), extra), {}, h.gw.dir);
    const plan = planReload(h.gw.config, next);
    assert.deepEqual(plan.restartRequired, []);
    h.gw.gateway.reload(plan.effective);
    h.gw.services.reload?.(plan.effective);
  };
  reload('throttle: { failures: 1, window: 1m }');
  assert.equal((await h.get(generateApiToken())).status, 401);
  assert.equal((await h.get(generateApiToken())).status, 429);
  reload('throttle: { failures: 3, window: 1m }');
  // One failure is counted (a throttled attempt is not): two more are answered.
  assert.equal((await h.get(generateApiToken())).status, 401, 'the count is under the new threshold');
  assert.equal((await h.get(generateApiToken())).status, 401);
  assert.equal((await h.get(generateApiToken())).status, 429);
  reload('');
  assert.equal((await h.get(generateApiToken())).status, 401);
});

test('a shadow route stays open to a throttled address: forwarded as on auth: off without identity, the store not read', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const shadow = `  - name: shadow
    match: { path: /shadow }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    mode: shadow
`;
  const gw = await startTestGateway(t, gatewayYaml(routes(upstream.origin) + shadow, 'throttle: { failures: 2, window: 1m }'));
  const valid = await gw.services.store.tokens.create({ label: 'uncached', scope: 'read-only' });
  // An attacker behind the same address as everyone else fails twice on the enforced route.
  for (let i = 0; i < 2; i++) {
    assert.equal((await send(gw.url, { path: '/api/x', headers: { authorization: `Bearer ${generateApiToken()}` } })).status, 401);
  }
  assert.equal((await send(gw.url, { path: '/api/x', headers: { authorization: `Bearer ${valid.token}` } })).status, 429);
  const reads = gw.services.verifier.stats().storeReads;
  const arrived = upstream.arrived.length;
  // Shadow mode never refuses on policy: a client without a credential, or with one the throttle
  // keeps from the store, is forwarded as on an `auth: off` route.
  const anonymous = await send(gw.url, { path: '/shadow/a' });
  assert.equal(anonymous.status, 200, anonymous.body);
  const guess = generateApiToken();
  const guessed = await send(gw.url, { path: '/shadow/b', headers: { authorization: `Bearer ${guess}`, 'x-portcullis-subject': 'root' } });
  assert.equal(guessed.status, 200, guessed.body);
  assert.equal(upstream.arrived.length, arrived + 2);
  const last = upstream.received.at(-1);
  assert.equal(last?.url, '/shadow/b');
  assert.equal(last?.headers['x-portcullis-subject'], undefined, 'no identity headers, spoofed or not');
  assert.equal(last?.headers['x-portcullis-credential'], undefined);
  assert.equal(gw.services.verifier.stats().storeReads, reads, 'the throttled credential never reached the store');
});

test('the introspection and revocation endpoints are behind the throttle too: a throttled address guesses nothing there', async (t) => {
  const h = await harness(t, 'throttle: { failures: 2, window: 1m }');
  const client = await h.gw.services.store.clients.create({ name: 'partner', scope: 'read-only' });
  for (let i = 0; i < 2; i++) assert.equal((await h.get(generateApiToken())).status, 401);
  const post = (path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> =>
    send(h.gw.url, { method: 'POST', path, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const reads = h.storeReads();
  const arrived = h.upstream.arrived.length;
  for (const path of ['/oauth2/introspect', '/oauth2/revoke']) {
    const secret = generateClientSecret();
    assertThrottled(await post(path, `token=x&client_id=${client.record.clientId}&client_secret=${encodeURIComponent(secret)}`), secret);
  }
  const guess = generateApiToken();
  assertThrottled(await post('/oauth2/introspect', 'token=x', { authorization: `Bearer ${guess}` }), guess);
  assert.equal(h.storeReads(), reads, 'no guess reached the store');
  assert.equal(h.upstream.arrived.length, arrived);
});

test('console sign-in is behind the throttle: a throttled address cannot guess admin tokens there', async (t) => {
  const h = await harness(t, 'throttle: { failures: 2, window: 1m }');
  const adminUrl = `http://127.0.0.1:${h.gw.gateway.adminAddress?.port ?? 0}`;
  const admin = await h.gw.services.store.tokens.create({ label: 'ops', scope: 'admin' });
  const signIn = (credential: string): Promise<Answer> =>
    send(adminUrl, {
      method: 'POST',
      path: '/console/session',
      headers: { 'content-type': 'application/json', origin: adminUrl, 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ credential }),
    });
  assert.equal((await signIn(generateApiToken())).status, 401, 'a wrong token is refused');
  assert.equal((await signIn(generateApiToken())).status, 401, 'and counts');
  const reads = h.storeReads();
  const guess = generateApiToken();
  assertThrottled(await signIn(guess), guess);
  assertThrottled(await signIn(admin.token), admin.token);
  assert.equal(h.storeReads(), reads, 'no throttled sign-in reached the store');
  assert.equal(h.upstream.arrived.length, 0);
});
