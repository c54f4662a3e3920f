/**
 * The protocol matrix: a core subset of the request path — a pass, a 401, a path
 * refusal, a 405 — over HTTP/1.0 and 1.1, keep-alive and close, the plain and the TLS listener,
 * with and without `Expect: 100-continue`. With Expect on a refused request the body is never
 * asked for: the refusal comes first, with no `100 Continue` before it.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { sharedCerts } from '../support/certs.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { RawConnection, type RawResponse } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const ROUTES = `
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: ro
    match: { path: /ro }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
`;

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly status: number;
  readonly code?: ErrorCode;
}

const CASES: readonly Case[] = [
  { name: 'pass with a body', method: 'POST', path: '/open/m?q=1', body: 'hello', status: 200 },
  { name: 'pass without a body', method: 'GET', path: '/open/m', status: 200 },
  { name: '401 with a body', method: 'POST', path: '/private/m', body: 'hello', status: 401, code: 'auth.missing_credentials' },
  { name: '401 without a body', method: 'GET', path: '/private/m', status: 401, code: 'auth.missing_credentials' },
  { name: 'path refusal', method: 'GET', path: '/open/../private/m', status: 400, code: 'request.invalid_path' },
  {
    name: 'path refusal with a body',
    method: 'POST',
    path: '/open/%2e%2e/private/m',
    body: 'hello',
    status: 400,
    code: 'request.invalid_path',
  },
  { name: '405 without a body', method: 'DELETE', path: '/ro/m', status: 405, code: 'route.read_only' },
  { name: '405 with a body', method: 'PUT', path: '/ro/m', body: 'hello', status: 405, code: 'route.read_only' },
];

interface Listener {
  readonly name: string;
  readonly port: number;
  readonly tlsCa?: string;
  readonly upstream: RecordingUpstream;
}

async function listeners(t: TestContext): Promise<Listener[]> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const { leaf, ca } = sharedCerts();
  const plain = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  const tls = await startTestGateway(t, gatewayYaml(ROUTES, 'tls: { cert: "${CERT}", key: "${KEY}" }'), {
    UPSTREAM: upstream.origin,
    CERT: leaf.certPath,
    KEY: leaf.keyPath,
  });
  return [
    { name: 'plain', port: plain.port, upstream },
    { name: 'TLS', port: tls.port, tlsCa: ca.caCert, upstream },
  ];
}

function connectionHeader(version: '1.0' | '1.1', keepAlive: boolean): string[] {
  if (version === '1.1') return keepAlive ? [] : ['Connection: close'];
  return keepAlive ? ['Connection: keep-alive'] : [];
}

function checkFinal(response: RawResponse | undefined, c: Case, label: string): RawResponse {
  assert.ok(response, `${label}: a final response`);
  assert.equal(response.status, c.status, `${label}: ${response.statusLine} ${response.text().slice(0, 200)}`);
  if (c.code !== undefined) assertProblem(fromRaw(response), c.code, label);
  return response;
}

test('the core subset over HTTP/1.0 and 1.1, keep-alive and close, plain and TLS, with and without Expect: 100-continue', async (t) => {
  for (const listener of await listeners(t)) {
    for (const version of ['1.0', '1.1'] as const) {
      for (const keepAlive of [true, false]) {
        for (const expect of [false, true]) {
          const combination = `${listener.name} HTTP/${version} ${keepAlive ? 'keep-alive' : 'close'}${expect ? ' Expect: 100-continue' : ''}`;
          await t.test(combination, async () => {
            for (const c of CASES) {
              if (expect && c.body === undefined) continue;
              const label = `${combination}: ${c.name}`;
              const { upstream } = listener;
              const arrivedBefore = upstream.arrived.length;
              const connection = await RawConnection.open(listener.port, listener.tlsCa !== undefined ? { tlsCa: listener.tlsCa } : {});
              try {
                const head = [`${c.method} ${c.path} HTTP/${version}`, 'Host: gw.test', ...connectionHeader(version, keepAlive)];
                if (c.body !== undefined) head.push(`Content-Length: ${c.body.length}`);
                if (expect) head.push('Expect: 100-continue');
                const headBytes = `${head.join('\r\n')}\r\n\r\n`;
                let final: RawResponse;
                if (expect && version === '1.1') {
                  // Only the head: the client waits for 100 Continue or the final answer.
                  await connection.write(rawBytes(headBytes));
                  const first = await connection.next({ method: c.method });
                  assert.ok(first, `${label}: an answer to the head`);
                  if (c.status === 200) {
                    assert.equal(first.status, 100, `${label}: 100 Continue before the body`);
                    await connection.write(rawBytes(c.body ?? ''));
                    final = checkFinal((await connection.nextFinal({ method: c.method })).response, c, label);
                  } else {
                    assert.notEqual(first.status, 100, `${label}: no 100 Continue before the refusal`);
                    final = checkFinal(first, c, label);
                    assert.equal(final.headers.connection, 'close', `${label}: the unsent body is never read`);
                  }
                } else {
                  await connection.write(rawBytes(headBytes + (c.body ?? '')));
                  const { interim, response } = await connection.nextFinal({ method: c.method });
                  assert.deepEqual(
                    interim.map((r) => r.status),
                    [],
                    `${label}: no interim response (never 100 to HTTP/1.0)`,
                  );
                  final = checkFinal(response, c, label);
                }
                // The upstream view.
                const arrived = upstream.arrived.slice(arrivedBefore);
                if (c.status === 200) {
                  assert.deepEqual(
                    arrived.map((r) => `${r.method} ${r.url}`),
                    [`${c.method} ${c.path}`],
                    label,
                  );
                  assert.equal(upstream.received.at(-1)?.body, c.body ?? '', label);
                  assert.equal(upstream.received.at(-1)?.headers.expect, undefined, `${label}: Expect is not forwarded`);
                } else {
                  assert.deepEqual(arrived, [], `${label}: nothing reached the upstream`);
                }
                // The connection afterwards.
                const mustClose = !keepAlive || (c.status !== 200 && c.body !== undefined);
                if (mustClose) {
                  assert.equal(final.headers.connection, 'close', `${label}: Connection: close`);
                  assert.ok(await connection.waitClosed(5_000), `${label}: the gateway closed the connection`);
                } else {
                  assert.notEqual(final.headers.connection, 'close', `${label}: the connection stays open`);
                  const follow = `GET /open/follow HTTP/${version}\r\nHost: gw.test\r\n${connectionHeader(version, true)
                    .map((h) => `${h}\r\n`)
                    .join('')}\r\n`;
                  await connection.write(rawBytes(follow));
                  const next = await connection.next();
                  assert.equal(next?.status, 200, `${label}: a follow-up request on the same connection`);
                  assert.equal(upstream.received.at(-1)?.url, '/open/follow', label);
                }
              } finally {
                connection.destroy();
              }
            }
          });
        }
      }
    }
  }
});

test('HTTP/1.0 keep-alive: a response of unknown length (chunked upstream) is delimited by closing the connection', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  upstream.handle((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('part one, ');
    setTimeout(() => res.end('part two'), 20);
  });
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  const connection = await RawConnection.open(gw.port);
  t.after(() => connection.destroy());
  await connection.write(rawBytes('GET /open/stream HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n'));
  const response = await connection.next();
  assert.ok(response);
  assert.equal(response.status, 200);
  assert.equal(response.headers['transfer-encoding'], undefined, 'no chunked coding to an HTTP/1.0 client');
  assert.equal(response.text(), 'part one, part two');
  assert.ok(connection.isClosed);
});
