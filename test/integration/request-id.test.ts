/**
 * Every response carries `X-Request-Id` — proxied ones included — and it is
 * the id of the request's access-log line and the one the upstream received, so a user who
 * reports a failed call can quote it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { send } from '../support/client.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function accessLineOf(lines: readonly string[], requestId: string): Record<string, unknown> | undefined {
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((l) => l.event === 'http.access' && l.requestId === requestId);
}

test("proxied answers carry the gateway's request id: the one the upstream received and the access line logged", async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const lines: string[] = [];
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
  - name: down
    match: { path: /down }
    upstream: "https://127.0.0.1:1"
    auth: "off"
`),
    { UPSTREAM: upstream.origin },
    { logLines: lines },
  );
  // The upstream sets its own X-Request-Id (twice): the client sees the gateway's only.
  upstream.handle((req, res) => {
    res.writeHead(
      200,
      [
        ['X-Request-Id', 'upstream-own'],
        ['x-request-id', 'again'],
        ['content-type', 'text/plain'],
      ].flat(),
    );
    res.end(String(req.headers['x-request-id']));
  });

  const generated = await send(gw.url, { path: '/open/a' });
  assert.equal(generated.status, 200);
  const id = generated.headers['x-request-id'];
  assert.match(String(id), UUID);
  assert.equal(generated.body, id, 'the upstream received the same id');

  const quoted = await send(gw.url, { path: '/open/b', headers: { 'x-request-id': 'trace-42' } });
  assert.equal(quoted.headers['x-request-id'], 'trace-42');
  assert.equal(quoted.body, 'trace-42');
  assert.equal(upstream.arrived.length, 2);

  // An upstream failure: the problem body and the header carry the same id; nothing was received.
  const arrivedBefore = upstream.arrived.length;
  const failed = await send(gw.url, { path: '/down/x' });
  assert.equal(failed.status, 502);
  assert.equal(failed.headers['x-request-id'], failed.json().requestId);
  assert.equal(upstream.arrived.length, arrivedBefore);

  await gw.gateway.close(1_000);
  for (const answer of [generated, quoted, failed]) {
    const line = accessLineOf(lines, String(answer.headers['x-request-id']));
    assert.ok(line !== undefined, `an access line with id ${String(answer.headers['x-request-id'])}`);
    assert.equal(line.status, answer.status);
  }
});

test("Portcullis' own endpoints, the metrics listener and the admin API answer with a request id", async (t) => {
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: open
    match: { path: /open }
    upstream: "https://127.0.0.1:1"
    auth: "off"
`),
  );
  const metricsUrl = `http://127.0.0.1:${gw.gateway.metricsAddress.port}`;
  const adminUrl = `http://127.0.0.1:${gw.gateway.adminAddress?.port ?? 0}`;
  const answers = {
    token: await send(gw.url, {
      method: 'POST',
      path: '/oauth2/token',
      body: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }),
    jwks: await send(gw.url, { path: '/.well-known/jwks.json' }),
    metadata: await send(gw.url, { path: '/.well-known/oauth-authorization-server' }),
    noRoute: await send(gw.url, { path: '/nowhere' }),
    healthz: await send(metricsUrl, { path: '/healthz' }),
    readyz: await send(metricsUrl, { path: '/readyz' }),
    metrics: await send(metricsUrl, { path: '/metrics' }),
    metrics404: await send(metricsUrl, { path: '/other' }),
    adminOpenApi: await send(adminUrl, { path: '/openapi.json' }),
    adminRefused: await send(adminUrl, { path: '/v1/accounts' }),
  };
  assert.equal(answers.token.status, 401);
  assert.equal(answers.jwks.status, 200);
  assert.equal(answers.healthz.status, 200);
  assert.equal(answers.metrics.status, 200);
  assert.equal(answers.adminOpenApi.status, 200);
  for (const [name, answer] of Object.entries(answers)) {
    assert.match(String(answer.headers['x-request-id']), UUID, `${name} (${answer.status}) carries X-Request-Id`);
  }
  // A client's sane id is kept on the metrics listener too.
  assert.equal((await send(metricsUrl, { path: '/healthz', headers: { 'x-request-id': 'probe-1' } })).headers['x-request-id'], 'probe-1');
});
