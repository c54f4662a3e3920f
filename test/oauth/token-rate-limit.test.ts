/**
 * `oauth.rateLimit` (src/oauth/token-rate-limit.ts): access tokens per OAuth client, counted once
 * the client authenticated. Past it the token endpoint answers 429 rate.limited with Retry-After
 * and the RateLimit fields under `oauth:token`, and signs nothing; other clients keep their own
 * bucket; a wrong secret is still invalid_client; `rateLimits.credentials` does not lift it; a
 * reload applies a new limit.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { planReload } from '../../src/config/reload-plan.js';
import { type Answer, send } from '../support/client.js';
import { assertProblem, fromAnswer } from '../support/problem.js';
import { gatewayYaml, loadTestConfig, startTestGateway, type TestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';
import { AUDIENCE, basic, createClient, ISSUER, OAUTH_ROUTES, postForm, type TokenResponse } from './helpers.js';

function yaml(limit: string, extra = ''): string {
  return gatewayYaml(OAUTH_ROUTES, `oauth: { issuer: "${ISSUER}", audience: "${AUDIENCE}", rateLimit: ${limit} }\n${extra}`);
}

async function start(t: TestContext, limit: string, extra = ''): Promise<{ gw: TestGateway; env: Record<string, string> }> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const env = { UPSTREAM: upstream.origin };
  return { gw: await startTestGateway(t, yaml(limit, extra), env), env };
}

const GRANT = 'grant_type=client_credentials';

function tokenRequest(gw: TestGateway, clientId: string, secret: string): Promise<Answer> {
  return postForm(gw.url, GRANT, { authorization: basic(clientId, secret) });
}

async function tokensIssued(gw: TestGateway): Promise<number> {
  const metrics = (await send(gw.metricsUrl, { path: '/metrics' })).body;
  return Number(/^portcullis_oauth_tokens_issued_total (\d+)$/m.exec(metrics)?.[1] ?? Number.NaN);
}

function assertLimited(answer: Answer, policy: string): void {
  assertProblem(fromAnswer(answer), 'rate.limited');
  const wait = answer.headers['retry-after'] ?? '';
  assert.match(wait, /^[1-9][0-9]*$/);
  assert.equal(answer.headers['ratelimit-policy'], policy);
  assert.equal(answer.headers.ratelimit, `"oauth:token";r=0;t=${wait}`);
  assert.equal(answer.body.includes('access_token'), false, 'no token in a refusal');
}

test('past its limit a client gets 429 rate.limited and no token; others keep their bucket; a wrong secret is still invalid_client', async (t) => {
  const { gw } = await start(t, '{ requests: 2, per: 1h }');
  const a = await createClient(gw.services.store, 'read-only');
  const b = await createClient(gw.services.store, 'read-only');
  for (let i = 0; i < 2; i++) {
    const issued = await tokenRequest(gw, a.clientId, a.secret);
    assert.equal(issued.status, 200, issued.body);
    assert.equal(typeof issued.json<TokenResponse>().access_token, 'string');
  }
  const before = await tokensIssued(gw);
  const refused = await tokenRequest(gw, a.clientId, a.secret);
  assertLimited(refused, '"oauth:token";q=2;w=3600');
  const wait = Number(refused.headers['retry-after']);
  assert.ok(wait > 1790 && wait <= 1800, `one token per 1800 s: Retry-After ${wait}`);
  assert.ok(!refused.body.includes(a.secret), 'the secret is not echoed');
  assert.equal(await tokensIssued(gw), before, 'nothing was signed for the refused request');
  // Authentication comes first: a wrong secret is refused as such, and counts for the throttle, not here.
  const wrong = await tokenRequest(gw, a.clientId, `${a.secret}x`);
  assert.deepEqual([wrong.status, wrong.json<{ error: string }>().error], [401, 'invalid_client']);
  // Another client has its own bucket.
  assert.equal((await tokenRequest(gw, b.clientId, b.secret)).status, 200);
  const metrics = (await send(gw.metricsUrl, { path: '/metrics' })).body;
  assert.match(metrics, /^portcullis_rate_limited_total\{route="oauth:token"\} 1$/m);
  assert.ok(!metrics.includes(a.clientId), 'no client id in a label');
});

test('rateLimits.credentials does not lift the token limit; without oauth.rateLimit nothing is limited', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const probe = await startTestGateway(t, gatewayYaml(OAUTH_ROUTES, `oauth: { issuer: "${ISSUER}", audience: "${AUDIENCE}" }`), {
    UPSTREAM: upstream.origin,
  });
  const free = await createClient(probe.services.store, 'read-only');
  for (let i = 0; i < 5; i++) assert.equal((await tokenRequest(probe, free.clientId, free.secret)).status, 200, `unlimited ${i + 1}`);
  assert.doesNotMatch((await send(probe.metricsUrl, { path: '/metrics' })).body, /portcullis_rate_limited_total\{route="oauth:token"\}/);

  const { gw } = await start(t, '{ requests: 1, per: 1h }');
  const client = await createClient(gw.services.store, 'read-only');
  const next = loadTestConfig(
    yaml('{ requests: 1, per: 1h }', `rateLimits: { credentials: { "${client.clientId}": { requests: 1000, per: 1s } } }`),
    { UPSTREAM: 'https://127.0.0.1:1' },
    gw.dir,
  );
  gw.services.reload?.(planReload(gw.config, next).effective);
  assert.equal((await tokenRequest(gw, client.clientId, client.secret)).status, 200);
  assertLimited(await tokenRequest(gw, client.clientId, client.secret), '"oauth:token";q=1;w=3600');
});

test('a reload applies a new oauth.rateLimit to running buckets', async (t) => {
  const { gw, env } = await start(t, '{ requests: 1, per: 1h }');
  const client = await createClient(gw.services.store, 'read-only');
  assert.equal((await tokenRequest(gw, client.clientId, client.secret)).status, 200);
  assertLimited(await tokenRequest(gw, client.clientId, client.secret), '"oauth:token";q=1;w=3600');
  const plan = planReload(gw.config, loadTestConfig(yaml('{ requests: 3600, per: 1h, burst: 3 }'), env, gw.dir));
  assert.ok(plan.applied.includes('oauth'), `applied: ${plan.applied.join(', ')}`);
  gw.gateway.reload(plan.effective);
  gw.services.reload?.(plan.effective);
  // One request owed at the new rate: two more of the burst of three.
  for (let i = 0; i < 2; i++)
    assert.equal((await tokenRequest(gw, client.clientId, client.secret)).status, 200, `after the reload ${i + 1}`);
  assertLimited(await tokenRequest(gw, client.clientId, client.secret), '"oauth:token";q=3600;w=3600');
});
