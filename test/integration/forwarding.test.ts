import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send } from '../support/client.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type ReceivedRequest } from '../support/upstream.js';

const ROUTES = `
  - name: public
    match: { path: /public }
    upstream: "\${UPSTREAM}/base"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
`;

async function setup(t: import('node:test').TestContext) {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  return { upstream, gw };
}

test('a GET on an auth: off route reaches the upstream under its base path and comes back unchanged', async (t) => {
  const { upstream, gw } = await setup(t);
  const answer = await send(gw.url, { path: '/public/items?b=2&a=1', headers: { 'x-custom': 'kept', 'X-Request-Id': 'trace-123' } });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['x-upstream'], 'recording');
  assert.deepEqual(answer.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(answer.headers['x-request-id'], 'trace-123', 'the answer carries the request id, the one the upstream received');
  const seen = answer.json<ReceivedRequest>();
  assert.equal(upstream.received.length, 1);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/base/public/items?b=2&a=1');
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(seen.headers['x-request-id'], 'trace-123');
  assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
});

test('a POST body is streamed to the upstream byte for byte', async (t) => {
  const { upstream, gw } = await setup(t);
  const body = Buffer.alloc(300_000, 'x');
  const answer = await send(gw.url, {
    method: 'POST',
    path: '/public/upload',
    body,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(answer.status, 200);
  assert.equal(upstream.received[0]?.bodyBytes, body.length);
});

test('an auth: required route without credentials answers 401 with challenges and nothing reaches the upstream', async (t) => {
  const { upstream, gw } = await setup(t);
  const answer = await send(gw.url, { path: '/private/x' });
  assert.equal(answer.status, 401);
  assert.equal(answer.headers['content-type'], 'application/problem+json');
  const body = answer.json();
  assert.equal(body.code, 'auth.missing_credentials');
  assert.equal(body.requestId, answer.headers['x-request-id']);
  assert.equal(answer.headers['www-authenticate'], 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"');
  assert.equal(upstream.received.length, 0);
});

test('no route answers 404 route.not_found', async (t) => {
  const { upstream, gw } = await setup(t);
  const answer = await send(gw.url, { path: '/publicity' });
  assert.equal(answer.status, 404);
  assert.equal(answer.json().code, 'route.not_found');
  assert.equal(upstream.received.length, 0);
});
