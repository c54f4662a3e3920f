/**
 * Rate limits per route, end to end: the client's 429 with Retry-After and the RateLimit fields
 * exact, and that the upstream received nothing for a refused request.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { planReload } from '../../src/config/reload-plan.js';
import { sharedCerts } from '../support/certs.js';
import { type Answer, send } from '../support/client.js';
import { gatewayYaml, loadTestConfig, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const routes = (origin: string, limit: string, openLimit = limit): string => `  - name: limited
    match: { path: /limited }
    upstream: "${origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-write
    rateLimit: ${limit}
  - name: open
    match: { path: /open }
    upstream: "${origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    auth: off
    rateLimit: ${openLimit}
  - name: unlimited
    match: { path: /unlimited }
    upstream: "${origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
`;

async function start(t: TestContext, limit: string, extra = ''): Promise<{ gw: TestGateway; upstream: RecordingUpstream }> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(routes(upstream.origin, limit), extra));
  return { gw, upstream };
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** A 429 rate.limited whose Retry-After, RateLimit and RateLimit-Policy agree with the route's policy. */
function assertLimited(answer: Answer, policy: string, route: string, secret?: string): void {
  assert.equal(answer.status, 429);
  assert.equal(answer.headers['content-type'], 'application/problem+json');
  assert.equal(answer.json().code, 'rate.limited');
  const wait = answer.headers['retry-after'] ?? '';
  assert.match(wait, /^[1-9][0-9]*$/);
  assert.equal(answer.headers['ratelimit-policy'], policy);
  assert.equal(answer.headers.ratelimit, `"${route}";r=0;t=${wait}`, 'the reset names the same instant as Retry-After');
  if (secret !== undefined)
    assert.ok(!answer.body.includes(secret) && !answer.body.includes(secret.slice(4, 20)), 'the body does not echo the credential');
}

test('past the burst a credential gets 429 rate.limited with Retry-After and the RateLimit fields; the upstream receives nothing', async (t) => {
  const { gw, upstream } = await start(t, '{ requests: 2, per: 1h }');
  const a = await gw.services.store.tokens.create({ label: 'a', scope: 'read-only' });
  const b = await gw.services.store.tokens.create({ label: 'b', scope: 'read-only' });
  for (let i = 0; i < 2; i++) assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(a.token) })).status, 200);
  assert.equal(upstream.arrived.length, 2);
  const refused = await send(gw.url, { path: '/limited/x', headers: bearer(a.token) });
  assertLimited(refused, '"limited";q=2;w=3600', 'limited', a.token);
  const wait = Number(refused.headers['retry-after']);
  assert.ok(wait > 1790 && wait <= 1800, `one request per 1800 s: Retry-After ${wait}`);
  assert.equal(upstream.arrived.length, 2, 'the refused request never reached the upstream');
  // Another credential has its own bucket; a route without a limit is not limited.
  assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(b.token) })).status, 200);
  for (let i = 0; i < 5; i++) assert.equal((await send(gw.url, { path: '/unlimited/x', headers: bearer(a.token) })).status, 200);
  assert.equal(upstream.arrived.length, 8);
  const metrics = (await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' })).body;
  assert.match(metrics, /^portcullis_rate_limited_total\{route="limited"\} 1$/m);
  assert.match(metrics, /^portcullis_rate_limited_total\{route="open"\} 0$/m);
  assert.ok(!metrics.includes(a.record.id), 'no credential id in a label');
});

test('auth: off routes are limited per client address; X-Forwarded-For from an untrusted peer changes nothing', async (t) => {
  const { gw, upstream } = await start(t, '{ requests: 2, per: 1m, burst: 2 }');
  for (let i = 0; i < 2; i++)
    assert.equal((await send(gw.url, { path: '/open/x', headers: { 'x-forwarded-for': `198.51.100.${i}` } })).status, 200);
  assertLimited(await send(gw.url, { path: '/open/x', headers: { 'x-forwarded-for': '198.51.100.9' } }), '"open";q=2;w=60', 'open');
  assert.equal(upstream.arrived.length, 2);
});

test('a per-credential override replaces the route limit; an OAuth client shares its bucket with the access tokens it was issued', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const first = await startTestGateway(t, gatewayYaml(routes(upstream.origin, '{ requests: 1, per: 1m }')));
  // Ids are random: create them, then start the gateway whose file names them.
  const vip = await first.services.store.tokens.create({ label: 'vip', scope: 'read-only' });
  const client = await first.services.store.clients.create({ name: 'partner', scope: 'read-only' });
  const next = loadTestConfig(
    gatewayYaml(
      routes(upstream.origin, '{ requests: 1, per: 1m }'),
      `rateLimits:
  credentials:
    ${vip.record.id}: { requests: 4, per: 1m }
    ${client.record.clientId}: { requests: 3, per: 1m }`,
    ),
    {},
    first.dir,
  );
  first.gateway.reload(next);
  first.services.reload?.(next);
  const gw = first;
  for (let i = 0; i < 4; i++) assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(vip.token) })).status, 200);
  assertLimited(await send(gw.url, { path: '/limited/x', headers: bearer(vip.token) }), '"limited";q=4;w=60', 'limited', vip.token);

  const basic = { authorization: `Basic ${Buffer.from(`${client.record.clientId}:${client.clientSecret}`).toString('base64')}` };
  assert.equal((await send(gw.url, { path: '/limited/x', headers: basic })).status, 200);
  const issued = await send(gw.url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  const access = issued.json<{ access_token: string }>().access_token;
  assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(access) })).status, 200);
  const second = await send(gw.url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { ...basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(
    (await send(gw.url, { path: '/limited/x', headers: bearer(second.json<{ access_token: string }>().access_token) })).status,
    200,
  );
  const arrived = upstream.arrived.length;
  assertLimited(await send(gw.url, { path: '/limited/x', headers: bearer(access) }), '"limited";q=3;w=60', 'limited');
  assert.equal(upstream.arrived.length, arrived, 'a fresh access token does not buy requests');
});

test('a reload changes the limits of running buckets', async (t) => {
  const { gw, upstream } = await start(t, '{ requests: 1, per: 1h }');
  const a = await gw.services.store.tokens.create({ label: 'a', scope: 'read-only' });
  assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(a.token) })).status, 200);
  assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(a.token) })).status, 429);
  const next = loadTestConfig(gatewayYaml(routes(upstream.origin, '{ requests: 3600, per: 1h, burst: 3 }')), {}, gw.dir);
  const plan = planReload(gw.config, next);
  assert.deepEqual(plan.applied, ['routes']);
  gw.gateway.reload(plan.effective);
  gw.services.reload?.(plan.effective);
  // One request owed at the new rate: two more of the burst of three.
  for (let i = 0; i < 2; i++)
    assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(a.token) })).status, 200, `request ${i + 1} after the reload`);
  assertLimited(await send(gw.url, { path: '/limited/x', headers: bearer(a.token) }), '"limited";q=3600;w=3600', 'limited');
  assert.equal(upstream.arrived.length, 3);
});

test('a limit applies to WebSocket upgrades too, and refuses them before anything is sent upstream', async (t) => {
  const { gw, upstream } = await start(t, '{ requests: 1, per: 1h }');
  const a = await gw.services.store.tokens.create({ label: 'a', scope: 'read-write' });
  assert.equal((await send(gw.url, { path: '/limited/x', headers: bearer(a.token) })).status, 200);
  const upgrade = await send(gw.url, {
    path: '/limited/ws',
    headers: {
      ...bearer(a.token),
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    },
  });
  assert.equal(upgrade.status, 429);
  assert.equal(upstream.upgrades.length, 0);
});
