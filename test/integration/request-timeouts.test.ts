/**
 * Time limits: a body Portcullis reads itself (token endpoint, admin
 * API) must arrive within `limits.bodyReadTimeout`, and a proxied request (head and body) within
 * `limits.requestTimeout`; a head within `limits.headersTimeout`, on every listener. Past the
 * limit: 408 `request.timeout`, the connection closed, and nothing (or only an aborted request)
 * upstream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { problemOf, trickle } from '../support/trickle.js';
import { startRecordingUpstream } from '../support/upstream.js';

/** Far above the limits below: the point is that the answer comes, not how fast. */
const GENEROUS_MS = 15_000;

const ROUTES = `
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`;

const LIMITS = 'limits: { headersTimeout: 1s, requestTimeout: 2s, bodyReadTimeout: 1s }';

async function setup(t: import('node:test').TestContext) {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES, LIMITS), { UPSTREAM: upstream.origin });
  return { upstream, gw };
}

test('a form trickled to the token endpoint is answered 408 request.timeout and the connection closed; no token is issued', async (t) => {
  const { gw } = await setup(t);
  const form = 'grant_type=client_credentials&scope=read-write'.padEnd(200, '&');
  const slow = trickle(
    gw.port,
    `POST /oauth2/token HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic Y2xpZW50OnNlY3JldA==\r\nContent-Length: ${form.length}\r\n\r\n`,
    form,
    100,
  );
  t.after(() => slow.stop());
  const answer = await Promise.race([
    slow.answered,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), GENEROUS_MS)),
  ]);
  assert.equal(answer.status, 408);
  assert.equal(problemOf(answer.raw).code, 'request.timeout');
  assert.match(answer.raw, /\r\nconnection: close\r\n/i);
  assert.match(answer.raw, /\r\nx-request-id: /i);
  assert.ok(answer.bodyBytesSent < form.length, 'answered before the body was complete');
  assert.doesNotMatch(answer.raw, /access_token/);
});

test('the same for introspection and revocation', async (t) => {
  const { gw } = await setup(t);
  for (const path of ['/oauth2/introspect', '/oauth2/revoke']) {
    const slow = trickle(
      gw.port,
      `POST ${path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n`,
      'token='.padEnd(100, 'x'),
      100,
    );
    t.after(() => slow.stop());
    const answer = await slow.answered;
    assert.equal(answer.status, 408, path);
    assert.equal(problemOf(answer.raw).code, 'request.timeout');
  }
});

test('a JSON body trickled to the admin API by an admin is answered 408 request.timeout; nothing is created', async (t) => {
  const { gw } = await setup(t);
  const admin = (await gw.services.store.tokens.create({ label: 'ops', scope: 'admin' })).token;
  const before = (await gw.services.store.accounts.list()).length;
  const json = JSON.stringify({ name: 'slow-account', scope: 'read-only' });
  const slow = trickle(
    gw.gateway.adminAddress?.port ?? 0,
    `POST /v1/accounts HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${admin}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`,
    json,
    100,
  );
  t.after(() => slow.stop());
  const answer = await slow.answered;
  assert.equal(answer.status, 408);
  assert.equal(problemOf(answer.raw).code, 'request.timeout');
  assert.ok(answer.bodyBytesSent < json.length);
  assert.equal((await gw.services.store.accounts.list()).length, before, 'no account was created');
});

test('a proxied body trickled past limits.requestTimeout: 408 request.timeout, and the upstream never gets a complete request', async (t) => {
  const { gw, upstream } = await setup(t);
  const body = 'x'.repeat(1000);
  const slow = trickle(gw.port, `POST /open/upload HTTP/1.1\r\nHost: gw\r\nContent-Length: ${body.length}\r\n\r\n`, body, 100);
  t.after(() => slow.stop());
  const answer = await slow.answered;
  assert.equal(answer.status, 408);
  assert.equal(problemOf(answer.raw).code, 'request.timeout');
  assert.ok(answer.bodyBytesSent < body.length);
  // The head reached the upstream (bodies are streamed); the request was aborted there.
  assert.equal(upstream.arrived.length, 1);
  assert.equal(upstream.received.length, 0);
});

test('a head trickled past limits.headersTimeout is answered 408 on the proxy, admin and metrics listeners', async (t) => {
  const { gw, upstream } = await setup(t);
  const ports = { proxy: gw.port, admin: gw.gateway.adminAddress?.port ?? 0, metrics: gw.gateway.metricsAddress.port };
  for (const [name, port] of Object.entries(ports)) {
    const slow = trickle(port, 'GET /open/x HTTP/1.1\r\n', 'X-Slow: '.padEnd(500, 'a'), 100);
    t.after(() => slow.stop());
    const answer = await slow.answered;
    assert.equal(answer.status, 408, name);
    assert.equal(problemOf(answer.raw).code, 'request.timeout', name);
  }
  assert.equal(upstream.arrived.length, 0);
});
