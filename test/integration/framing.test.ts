/**
 * Framing (smuggling guard) end to end: every vector of test/vectors/framing.json is written as
 * raw bytes on one connection, and both views are checked: the responses the client got (in
 * order, with their codes) and every request the recording upstream received — counted at the
 * upstream, so a request the client did not frame as one can never hide.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { REFUSED_UPGRADE_LINGER_MS } from '../../src/forward/forward-upgrade.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { eventually } from '../support/eventually.js';
import { send } from '../support/client.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { loadVectors, rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

interface FramingVector {
  readonly name: string;
  readonly request: string;
  readonly method?: string;
  readonly responses: readonly { readonly status: number; readonly code?: ErrorCode }[];
  readonly upstream: readonly { readonly method: string; readonly url: string; readonly body: string }[];
  readonly closed?: boolean;
  readonly upstreamMayAbort?: boolean;
}

const VECTORS = loadVectors<{ vectors: readonly FramingVector[] }>('framing.json').vectors;

const ROUTES = `
  - name: public
    match: { path: /public }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
`;

async function setup(t: TestContext): Promise<{ upstream: RecordingUpstream; port: number; metricsUrl: string }> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  return { upstream, port: gw.port, metricsUrl: `http://127.0.0.1:${gw.gateway.metricsAddress.port}` };
}

test('every framing vector of test/vectors/framing.json: the client view and the upstream view', async (t) => {
  const { upstream, port } = await setup(t);
  for (const vector of VECTORS) {
    await t.test(vector.name, async () => {
      const arrivedBefore = upstream.arrived.length;
      const receivedBefore = upstream.received.length;
      const result = await exchange(port, rawBytes(vector.request), {
        responses: Math.max(1, vector.responses.length),
        settleMs: 100,
        ...(vector.method !== undefined ? { method: vector.method } : {}),
      });
      assert.equal(result.responses.length, vector.responses.length, `responses: ${JSON.stringify(result.raw.slice(0, 400))}`);
      vector.responses.forEach((expected, i) => {
        const response = result.responses[i];
        assert.ok(response);
        if (expected.code !== undefined) assertProblem(fromRaw(response), expected.code, `response ${i + 1}`);
        assert.equal(response.status, expected.status, `response ${i + 1} status`);
        if (expected.status >= 400) {
          assert.equal(response.headers['content-type'], 'application/problem+json');
          assert.ok(response.headers['x-request-id']);
        }
      });
      assert.equal(result.extraBytes, 0, 'no extra response');
      if (vector.closed) assert.ok(result.closed, 'the gateway closed the connection');
      const seen = vector.upstreamMayAbort ? upstream.received.slice(receivedBefore) : upstream.arrived.slice(arrivedBefore);
      const requests = seen.map((r) => ({ method: r.method, url: r.url }));
      assert.deepEqual(
        requests,
        vector.upstream.map((r) => ({ method: r.method, url: r.url })),
        'the requests the upstream saw',
      );
      const bodies = upstream.received.slice(receivedBefore).map((r) => r.body);
      assert.deepEqual(
        bodies,
        vector.upstream.map((r) => r.body),
        'the bodies the upstream saw',
      );
    });
  }
});

test('a request head larger than limits.maxHeaderBytes gets 431 request.headers_too_large and nothing goes upstream', async (t) => {
  const { upstream, port } = await setup(t);
  for (const [label, headers] of [
    ['one large header', `X-Big: ${'a'.repeat(20_000)}\r\n`],
    ['many small headers', Array.from({ length: 1_500 }, (_, i) => `X-${i}: ${'b'.repeat(10)}\r\n`).join('')],
    ['a large request line', ''],
  ] as const) {
    const path = label === 'a large request line' ? `/public/${'p'.repeat(20_000)}` : '/public/a';
    const result = await exchange(port, rawBytes(`GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${headers}\r\n`));
    const response = result.responses[0];
    assert.ok(response, label);
    assertProblem(fromRaw(response), 'request.headers_too_large', label);
    assert.ok(result.closed, label);
  }
  assert.equal(upstream.arrived.length, 0);
});

test('more header lines than the parser keeps are refused, so no header can hide past the count limit', async (t) => {
  const { upstream, port } = await setup(t);
  // 2,100 one-byte headers fit in 16 KiB, but Node keeps only the first 2,000 in rawHeaders:
  // a header after them (here a second Host and an identity header) would be invisible to the
  // guard and the header rules.
  const filler = Array.from({ length: 2_100 }, () => 'a:1\r\n').join('');
  const result = await exchange(
    port,
    rawBytes(`GET /public/a HTTP/1.1\r\nHost: gw.test\r\n${filler}Host: other.test\r\nX-Portcullis-Subject: admin\r\n\r\n`),
  );
  const response = result.responses[0];
  assert.ok(response);
  assertProblem(fromRaw(response), 'request.headers_too_large');
  assert.equal(upstream.arrived.length, 0);
});

test("a smuggled request can never be sent upstream on the gateway's own pooled connection", async (t) => {
  const { upstream, port } = await setup(t);
  // Several framings that carry a second request inside the first; each must reach the upstream
  // as exactly one request, and the following ordinary request as exactly one more.
  const smuggled = 'GET /public/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n';
  const carriers = [
    `POST /public/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    `POST /public/a HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
    `PUT /public/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    `DELETE /public/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    `OPTIONS /public/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
  ];
  for (const carrier of carriers) {
    const before = upstream.arrived.length;
    const result = await exchange(port, rawBytes(carrier));
    assert.equal(result.responses[0]?.status, 200);
    // The next request on the gateway's pooled upstream connection.
    const next = await exchange(port, rawBytes('GET /public/next HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
    assert.equal(next.responses[0]?.json<{ url: string }>().url, '/public/next', 'the answer belongs to the request');
    assert.deepEqual(
      upstream.arrived.slice(before).map((r) => r.url),
      ['/public/a', '/public/next'],
      carrier.split('\r\n')[0],
    );
    assert.equal(upstream.received.at(-2)?.body, smuggled, 'the smuggled bytes arrived as body');
  }
});

test('CONNECT or an upgrade pipelined behind a request still being answered drops the connection, and the gateway keeps serving', async (t) => {
  const { upstream, port } = await setup(t);
  // Node fires 'connect' and 'upgrade' as soon as the head is parsed, while the GET before it
  // is still waiting for its upstream: the socket still belongs to the GET's response.
  const behind = [
    'CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n',
    'GET /public/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    'GET /public/h2c HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
  ];
  for (const second of behind) {
    const before = upstream.arrived.length;
    const result = await exchange(port, rawBytes(`GET /public/first HTTP/1.1\r\nHost: gw.test\r\n\r\n${second}`), {
      responses: 2,
      settleMs: 200,
    });
    assert.ok(result.closed, `${second.split('\r\n')[0]}: the connection is dropped`);
    assert.ok(
      result.responses.every((r) => r.status !== 101),
      'nothing was upgraded',
    );
    const urls = upstream.arrived.slice(before).map((r) => r.url);
    assert.ok(
      urls.every((url) => url === '/public/first'),
      `only the first request may have gone upstream: ${JSON.stringify(urls)}`,
    );
    const next = await exchange(port, rawBytes('GET /public/next HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
    assert.equal(next.responses[0]?.status, 200, 'the gateway still serves');
  }
});

test('a refused CONNECT is closed by the gateway even when the client keeps the connection open, and is counted once', async (t) => {
  const { upstream, port, metricsUrl } = await setup(t);
  // allowHalfOpen: this client does not answer the gateway's FIN with its own, and keeps sending.
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.after(() => socket.destroy());
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write('CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n\u0016\u0003\u0001 tunnel bytes');
  await eventually(() => received.includes('"code":"request.malformed"'), 5_000, 'the problem body');
  assert.match(received, /^HTTP\/1\.1 400 /);
  assert.match(received, /\r\nconnection: close\r\n/i);
  const keepSending = setInterval(() => socket.write('more tunnel bytes'), 50);
  t.after(() => clearInterval(keepSending));
  // Counted and logged when the socket closes: only if the gateway closes it.
  await eventually(
    async () => {
      const text = (await send(metricsUrl, { path: '/metrics' })).body;
      return (
        text.includes('portcullis_requests_total{route="none",method="OTHER",status="400"} 1\n') &&
        text.includes('portcullis_requests_in_flight 0\n')
      );
    },
    REFUSED_UPGRADE_LINGER_MS + 3_000,
    'the gateway to close the connection and count the request',
  );
  await closed;
  clearInterval(keepSending);
  assert.equal(upstream.arrived.length, 0, 'nothing reached the upstream');
});

test('a body on GET, DELETE or OPTIONS reaches the upstream with its Content-Length, never chunked (raw bytes, both views)', async (t) => {
  const { upstream, port } = await setup(t);
  for (const method of ['GET', 'DELETE', 'OPTIONS']) {
    const before = upstream.received.length;
    const result = await exchange(
      port,
      rawBytes(`${method} /public/a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nConnection: keep-alive, close\r\n\r\nhello`),
    );
    assert.equal(result.responses[0]?.status, 200, method);
    assert.equal(upstream.received.length, before + 1, method);
    const seen = upstream.received.at(-1);
    assert.equal(seen?.method, method);
    assert.equal(seen?.headers['content-length'], '5', method);
    assert.equal(seen?.headers['transfer-encoding'], undefined, method);
    assert.equal(seen?.body, 'hello', method);
  }
});
