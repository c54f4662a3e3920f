/**
 * Upstream failures fail closed with the codes of docs/errors.md, the client
 * going away frees the upstream request, and none of it takes the gateway down: after each
 * failure the same gateway serves an ordinary request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createTestCa, sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { assertProblem, fromAnswer, fromRaw } from '../support/problem.js';
import { exchange, RawConnection } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { eventually } from '../support/eventually.js';
import { REFUSING_PORT } from '../support/ports.js';

async function healthy(t: TestContext): Promise<RecordingUpstream> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  return upstream;
}

const healthyRoute = `
  - name: healthy
    match: { path: /healthy }
    upstream: "\${HEALTHY}"
    upstreamCa: "\${CA}"
    auth: "off"`;

/** The gateway still answers an ordinary request through a healthy route. */
async function stillServes(gw: TestGateway, upstream: RecordingUpstream): Promise<void> {
  const answer = await send(gw.url, { path: '/healthy/ping' });
  assert.equal(answer.status, 200, 'the gateway still serves');
  assert.equal(upstream.received.at(-1)?.url, '/healthy/ping');
}

test('connection refused (closed port): 502 upstream.unavailable', async (t) => {
  const ok = await healthy(t);
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: down
    match: { path: /down }
    upstream: "https://127.0.0.1:${REFUSING_PORT}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write${healthyRoute}`),
    { HEALTHY: ok.origin },
  );
  for (const method of ['GET', 'POST']) {
    const answer = await send(gw.url, { method, path: '/down/x', ...(method === 'POST' ? { body: 'data' } : {}) });
    const body = assertProblem(fromAnswer(answer), 'upstream.unavailable', method);
    assert.match(body.detail ?? '', /"down"/);
  }
  await stillServes(gw, ok);
});

test('an upstream reset before answering: 502 upstream.unavailable', async (t) => {
  const ok = await healthy(t);
  const rude = await startRecordingUpstream();
  t.after(() => rude.close());
  rude.handle((req) => req.socket.destroy());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: rude
    match: { path: /rude }
    upstream: "\${RUDE}"
    upstreamCa: "\${CA}"
    auth: "off"${healthyRoute}`),
    { RUDE: rude.origin, HEALTHY: ok.origin },
  );
  const answer = await send(gw.url, { path: '/rude/x' });
  assertProblem(fromAnswer(answer), 'upstream.unavailable');
  await stillServes(gw, ok);
});

test('certificate from a CA the route does not trust: 502 upstream.tls_error, no request reaches the upstream', async (t) => {
  const ok = await healthy(t);
  const stranger = createTestCa();
  t.after(() => stranger.cleanup());
  const strangerLeaf = stranger.issue('stranger', ['localhost', '127.0.0.1']);
  const otherCa = await startRecordingUpstream({ cert: strangerLeaf.cert, key: strangerLeaf.key });
  t.after(() => otherCa.close());
  const sharedCa = await startRecordingUpstream();
  t.after(() => sharedCa.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: no-extra-ca
    match: { path: /no-extra-ca }
    upstream: "\${SHARED}"
    auth: "off"
  - name: second-ca
    match: { path: /second-ca }
    upstream: "\${OTHER}"
    upstreamCa: "\${CA}"
    auth: "off"${healthyRoute}`),
    { SHARED: sharedCa.origin, OTHER: otherCa.origin, HEALTHY: ok.origin },
  );
  for (const path of ['/no-extra-ca/x', '/second-ca/x']) {
    const answer = await send(gw.url, { path });
    assertProblem(fromAnswer(answer), 'upstream.tls_error', path);
  }
  assert.equal(sharedCa.arrived.length, 0);
  assert.equal(otherCa.arrived.length, 0);
  await stillServes(gw, ok);
});

test('certificate for another name (other.example, reached as 127.0.0.1): 502 upstream.tls_error, whatever Host the client sends', async (t) => {
  const ok = await healthy(t);
  const wrongName = sharedCerts().ca.issue('other-example', ['other.example']);
  const upstream = await startRecordingUpstream({ cert: wrongName.cert, key: wrongName.key });
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: wrong-name
    match: { path: /wrong-name }
    upstream: "\${WRONG}"
    upstreamCa: "\${CA}"
    auth: "off"${healthyRoute}`),
    { WRONG: upstream.origin, HEALTHY: ok.origin },
  );
  for (const host of ['gw.test', 'other.example', `other.example:${upstream.port}`]) {
    const answer = await send(gw.url, { path: '/wrong-name/x', headers: { host } });
    assertProblem(fromAnswer(answer), 'upstream.tls_error', host);
  }
  assert.equal(upstream.arrived.length, 0);
  await stillServes(gw, ok);
});

test('an upstream that speaks plain HTTP on an https URL: 502 upstream.tls_error, no request reaches it', async (t) => {
  const ok = await healthy(t);
  let requests = 0;
  const plain = http.createServer((_req, res) => {
    requests++;
    res.end('plain');
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => plain.close(() => resolve())));
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: plain
    match: { path: /plain }
    upstream: "https://127.0.0.1:${(plain.address() as AddressInfo).port}"
    auth: "off"${healthyRoute}`),
    { HEALTHY: ok.origin },
  );
  const answer = await send(gw.url, { path: '/plain/x' });
  assertProblem(fromAnswer(answer), 'upstream.tls_error');
  assert.equal(requests, 0);
  await stillServes(gw, ok);
});

test('an upstream that never answers, with timeout: 500ms: 504 upstream.timeout, and the upstream request is closed', async (t) => {
  const ok = await healthy(t);
  const silent = await startRecordingUpstream();
  t.after(() => silent.close());
  let upstreamClosed = 0;
  silent.handle((req) => {
    req.resume();
    req.once('close', () => upstreamClosed++);
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: silent
    match: { path: /silent }
    upstream: "\${SILENT}"
    upstreamCa: "\${CA}"
    auth: "off"
    timeout: 500ms${healthyRoute}`),
    { SILENT: silent.origin, HEALTHY: ok.origin },
  );
  const started = Date.now();
  const answer = await send(gw.url, { path: '/silent/x' });
  const elapsed = Date.now() - started;
  const body = assertProblem(fromAnswer(answer), 'upstream.timeout');
  assert.match(body.detail ?? '', /500 ms/);
  assert.ok(elapsed >= 450, `waited the timeout (${elapsed} ms)`);
  assert.equal(silent.arrived.length, 1);
  await eventually(() => upstreamClosed === 1, 5_000, 'the upstream saw its request closed');
  await stillServes(gw, ok);
});

test('an upstream that resets mid-response: the client connection is cut, the gateway serves the next request', async (t) => {
  const ok = await healthy(t);
  const flaky = await startRecordingUpstream();
  t.after(() => flaky.close());
  flaky.handle((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '100000', 'content-type': 'application/octet-stream' });
    res.write(Buffer.alloc(1_000, 'x'), () => setTimeout(() => req.socket.destroy(), 20));
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: flaky
    match: { path: /flaky }
    upstream: "\${FLAKY}"
    upstreamCa: "\${CA}"
    auth: "off"${healthyRoute}`),
    { FLAKY: flaky.origin, HEALTHY: ok.origin },
  );
  const connection = await RawConnection.open(gw.port);
  t.after(() => connection.destroy());
  await connection.write(rawBytes('GET /flaky/x HTTP/1.1\r\nHost: gw.test\r\n\r\n'));
  const response = await connection.next({ timeoutMs: 5_000 });
  assert.equal(response, undefined, 'no complete response');
  assert.ok(connection.isClosed, 'the connection was cut');
  assert.match(connection.received, /^HTTP\/1\.1 200 /, 'the head had been passed on');
  assert.ok(connection.received.length < 100_000, 'the body is short of its length');
  await stillServes(gw, ok);
  await eventually(() => gw.gateway.inFlight() === 0, 2_000, 'nothing left in flight');
});

test('a client disconnecting mid-upload frees the upstream request', async (t) => {
  const ok = await healthy(t);
  const slow = await startRecordingUpstream();
  t.after(() => slow.close());
  let received = 0;
  let aborted = false;
  slow.handle((req) => {
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    req.once('close', () => {
      aborted = !req.complete;
    });
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: slow
    match: { path: /slow }
    upstream: "\${SLOW}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write${healthyRoute}`),
    { SLOW: slow.origin, HEALTHY: ok.origin },
  );
  const connection = await RawConnection.open(gw.port);
  await connection.write(rawBytes(`POST /slow/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10000000\r\n\r\n`));
  await connection.write(Buffer.alloc(64 * 1024, 'u'));
  await eventually(() => received > 0, 5_000, 'the upload had started upstream');
  connection.destroy();
  await eventually(() => aborted, 3_000, 'the upstream saw its request aborted');
  await eventually(() => gw.gateway.inFlight() === 0, 2_000, 'nothing left in flight');
  await stillServes(gw, ok);
});

test('a client disconnecting while waiting for the answer frees the upstream request', async (t) => {
  const ok = await healthy(t);
  const slow = await startRecordingUpstream();
  t.after(() => slow.close());
  let closed = false;
  slow.handle((req) => {
    req.resume();
    req.once('close', () => {
      closed = true;
    });
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: slow
    match: { path: /slow }
    upstream: "\${SLOW}"
    upstreamCa: "\${CA}"
    auth: "off"${healthyRoute}`),
    { SLOW: slow.origin, HEALTHY: ok.origin },
  );
  const connection = await RawConnection.open(gw.port);
  await connection.write(rawBytes('GET /slow/wait HTTP/1.1\r\nHost: gw.test\r\n\r\n'));
  await eventually(() => slow.arrived.length === 1, 5_000, 'the request reached the upstream');
  connection.destroy();
  await eventually(() => closed, 3_000, 'the upstream saw its request closed');
  await eventually(() => gw.gateway.inFlight() === 0, 2_000, 'nothing left in flight');
  await stillServes(gw, ok);
});

test('a refused upload with Expect: 100-continue never reaches a dead upstream, and a live one answers after 100', async (t) => {
  const ok = await healthy(t);
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: down
    match: { path: /down }
    upstream: "https://127.0.0.1:${REFUSING_PORT}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: up
    match: { path: /up }
    upstream: "\${HEALTHY}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write${healthyRoute}`),
    { HEALTHY: ok.origin },
  );
  // The gateway sends 100 Continue once the request is admitted; the upstream connection then
  // fails and the client gets 502 without a hang.
  const result = await exchange(
    gw.port,
    rawBytes('PUT /down/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\ndata'),
  );
  const response = result.responses[0];
  assert.ok(response);
  assertProblem(fromRaw(response), 'upstream.unavailable');
  await stillServes(gw, ok);
  // A real client (node:http) waits for 100 Continue, then uploads.
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/up/x', headers: { expect: '100-continue', 'content-length': 4 } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('continue', () => req.end('data'));
    req.on('error', reject);
  });
  assert.equal(status, 200);
  assert.equal(ok.received.at(-1)?.body, 'data');
});

test('the route timeout does not cut a download that a slow client holds back (backpressure is not upstream silence)', async (t) => {
  const ok = await healthy(t);
  const big = await startRecordingUpstream();
  t.after(() => big.close());
  const size = 16 * 1024 * 1024;
  big.handle((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': size });
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        sent += 64 * 1024;
        if (!res.write(Buffer.alloc(64 * 1024, 7))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: big
    match: { path: /big }
    upstream: "\${BIG}"
    upstreamCa: "\${CA}"
    auth: "off"
    timeout: 300ms${healthyRoute}`),
    { BIG: big.origin, HEALTHY: ok.origin },
  );
  const received = await new Promise<number>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/big/file', agent: false }, (res) => {
      let bytes = 0;
      let paused = false;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (!paused && bytes > 1024 * 1024) {
          paused = true;
          res.pause();
          setTimeout(() => res.resume(), 1_200);
        }
      });
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(received, size);
  await stillServes(gw, ok);
});
