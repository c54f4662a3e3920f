/**
 * One regression test per published problem that could reach Portcullis, named
 * after the advisory. Each sends the triggering bytes and checks both views: what the client got
 * and what the upstreams received. Routes: `public` (auth off, read-write) and `private` (auth
 * required) forward to two different recording upstreams, so a smuggled request to the private
 * route would show at its upstream.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange, type Exchanged } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const ROUTES = `
  - name: public
    match: { path: /public }
    upstream: "\${PUBLIC}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${PRIVATE}"
    upstreamCa: "\${CA}"
    access: read-write
`;

interface Setup {
  readonly publicUp: RecordingUpstream;
  readonly privateUp: RecordingUpstream;
  readonly port: number;
  send(bytes: string, responses?: number): Promise<Exchanged>;
}

async function setup(t: TestContext): Promise<Setup> {
  const publicUp = await startRecordingUpstream();
  t.after(() => publicUp.close());
  const privateUp = await startRecordingUpstream();
  t.after(() => privateUp.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES),
    { PUBLIC: publicUp.origin, PRIVATE: privateUp.origin },
    {
      authenticate: createStubAuthenticator({
        'crlf-subject': {
          kind: 'external_jwt',
          scheme: 'bearer',
          subject: 'eve\r\nX-Portcullis-Scope: admin',
          scope: 'read-write',
          credentialId: 'jti-x',
        },
      }),
    },
  );
  return {
    publicUp,
    privateUp,
    port: gw.port,
    send: (bytes, responses = 1) => exchange(gw.port, rawBytes(bytes), { responses, settleMs: 100 }),
  };
}

const SMUGGLED = 'GET /private/admin HTTP/1.1\r\nHost: gw.test\r\n\r\n';

/** Exactly one refusal with `code`, a closed connection, and nothing at either upstream. */
function refusedAlone(s: Setup, result: Exchanged, code: ErrorCode): void {
  assert.equal(result.responses.length, 1, `one response: ${JSON.stringify(result.raw.slice(0, 300))}`);
  const response = result.responses[0];
  assert.ok(response);
  assertProblem(fromRaw(response), code);
  assert.equal(result.extraBytes, 0, 'no second response for smuggled bytes');
  assert.ok(result.closed, 'the connection is closed');
  assert.equal(s.publicUp.arrived.length, 0, 'nothing reached the public upstream');
  assert.equal(s.privateUp.arrived.length, 0, 'nothing reached the private upstream');
}

test('http-proxy deleteLength CL.TE desync (node-http-proxy #1720/#1721, CVE-2026-29057): chunked DELETE and OPTIONS are refused', async (t) => {
  const s = await setup(t);
  for (const method of ['DELETE', 'OPTIONS']) {
    const body = `${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`;
    const result = await s.send(`${method} /public/item HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n${body}`);
    refusedAlone(s, result, 'request.malformed');
  }
});

test('http-proxy deleteLength (node-http-proxy #1720): a DELETE with a Content-Length body reaches the upstream framed by its length', async (t) => {
  const s = await setup(t);
  const result = await s.send(
    `DELETE /public/item HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}GET /public/next HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`,
    2,
  );
  assert.deepEqual(
    result.responses.map((r) => r.status),
    [200, 200],
  );
  assert.deepEqual(
    s.publicUp.arrived.map((r) => `${r.method} ${r.url}`),
    ['DELETE /public/item', 'GET /public/next'],
  );
  assert.equal(s.publicUp.received[0]?.body, SMUGGLED);
  assert.equal(s.publicUp.received[0]?.headers['content-length'], String(SMUGGLED.length));
  assert.equal(s.privateUp.arrived.length, 0);
});

test('Node CVE-2022-32215 (llhttp multi-line Transfer-Encoding): a folded Transfer-Encoding is refused', async (t) => {
  const s = await setup(t);
  const result = await s.send(
    `POST /public/a HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: identity\r\n chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  );
  refusedAlone(s, result, 'request.malformed');
});

test('Node CVE-2022-32214 (llhttp accepts a bare LF as line delimiter): refused', async (t) => {
  const s = await setup(t);
  const result = await s.send(
    `POST /public/a HTTP/1.1\r\nHost: gw.test\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  );
  refusedAlone(s, result, 'request.malformed');
});

test('Node CVE-2022-32213 (llhttp Transfer-Encoding validation): every Transfer-Encoding but a lone chunked is refused', async (t) => {
  const s = await setup(t);
  for (const te of ['chunked, identity', 'identity, chunked', 'chunkedx', 'xchunked', 'chunked;q=1', 'chunked, chunked']) {
    const result = await s.send(
      `POST /public/a HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: ${te}\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    );
    refusedAlone(s, result, 'request.malformed');
  }
});

test('Node CVE-2022-35256 (llhttp header fields not terminated by CRLF): refused', async (t) => {
  const s = await setup(t);
  const result = await s.send(
    `GET /public/a HTTP/1.1\r\nHost: gw.test\r\nX-Pad: 1\rTransfer-Encoding: chunked\r\n\r\n${SMUGGLED.length.toString(16)}\r\n${SMUGGLED}\r\n0\r\n\r\n`,
  );
  refusedAlone(s, result, 'request.malformed');
});

test('Node CVE-2023-30589 (llhttp accepts a bare CR in headers): refused', async (t) => {
  const s = await setup(t);
  for (const head of [`GET /public/a HTTP/1.1\rHost: gw.test\r\n\r\n`, `GET /public/a HTTP/1.1\r\nHost: gw.test\r\nX-A: b\rc\r\n\r\n`]) {
    const result = await s.send(head);
    refusedAlone(s, result, 'request.malformed');
  }
});

test('Node CVE-2024-27982 (Content-Length obfuscated by a space before the header name): refused', async (t) => {
  const s = await setup(t);
  const result = await s.send(`POST /public/a HTTP/1.1\r\nHost: gw.test\r\n Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
  refusedAlone(s, result, 'request.malformed');
});

test('Node CVE-2025-23167 (llhttp accepts headers terminated by \\r\\n\\rX): refused', async (t) => {
  const s = await setup(t);
  const result = await s.send(`GET /public/a HTTP/1.1\r\nHost: gw.test\r\n\rX${SMUGGLED}`);
  refusedAlone(s, result, 'request.malformed');
});

test('Node CVE-2024-22019 (unbounded chunk extensions): refused, and no complete request reaches the upstream', async (t) => {
  const s = await setup(t);
  const extension = `;x=${'a'.repeat(20_000)}`;
  const result = await s.send(
    `POST /public/a HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n5${extension}\r\nhello\r\n0\r\n\r\n`,
  );
  const response = result.responses[0];
  assert.ok(response);
  assert.equal(response.status >= 400 && response.status < 500, true, response.statusLine);
  assert.equal(response.headers['content-type'], 'application/problem+json');
  assert.ok(result.closed);
  // The head was admitted before the parser reached the extension: the upstream may have seen
  // it start, never complete.
  assert.equal(s.publicUp.received.length, 0);
  assert.equal(s.privateUp.arrived.length, 0);
});

test('Node CVE-2018-12116 (request splitting through non-ASCII path characters): the path reaches the upstream as ASCII escapes only', async (t) => {
  const s = await setup(t);
  // U+010A U+010D would be truncated to LF CR by a latin1 writer.
  const raw = Buffer.concat([
    rawBytes('GET /public/'),
    Buffer.from('\u010a\u010d', 'utf8'),
    rawBytes(' HTTP/1.1\r\nHost: gw.test\r\n\r\n'),
  ]);
  const refused = await exchange(s.port, raw);
  const response = refused.responses[0];
  assert.ok(response);
  assertProblem(fromRaw(response), 'request.malformed');
  const encoded = await s.send('GET /public/%C4%8A%C4%8D HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n');
  assert.equal(encoded.responses[0]?.status, 200);
  assert.deepEqual(
    s.publicUp.arrived.map((r) => r.url),
    ['/public/%C4%8A%C4%8D'],
  );
});

test('undici CVE-2022-31150 / CVE-2023-23936 (CRLF injection into upstream headers): no client or identity value with CR/LF is ever sent upstream', async (t) => {
  const s = await setup(t);
  // A client header value with CR/LF cannot be framed at all.
  refusedAlone(
    s,
    await s.send(
      `GET /public/a HTTP/1.1\r\nHost: gw.test\r\nX-A: 1\r\nX-Portcullis-Scope: admin\r\n\r\n`.replace('X-A: 1\r\n', 'X-A: 1\r\r\n'),
    ),
    'request.malformed',
  );
  // A Host with anything but a host name is refused; the upstream's Host is never the client's.
  refusedAlone(s, await s.send(`GET /public/a HTTP/1.1\r\nHost: gw.test\u0000evil\r\n\r\n`), 'request.malformed');
  refusedAlone(s, await s.send(`GET /public/a HTTP/1.1\r\nHost: gw.test%0d%0aX-Evil:1\r\n\r\n`), 'request.malformed');
  // An identity with CR/LF (e.g. a JWT subject) is refused before anything is sent.
  const identity = await s.send(
    'GET /private/a HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer crlf-subject\r\nConnection: close\r\n\r\n',
  );
  const response = identity.responses[0];
  assert.ok(response);
  assertProblem(fromRaw(response), 'internal.error');
  assert.equal(s.privateUp.arrived.length, 0);
  assert.equal(s.publicUp.arrived.length, 0);
});

test('undici CVE-2023-45143 / CVE-2024-24758 (credentials kept across redirects): upstream redirects are passed back, never followed', async (t) => {
  const s = await setup(t);
  s.publicUp.handle((req, res) => {
    req.resume();
    res.writeHead(302, { location: `https://127.0.0.1:${s.privateUp.port}/private/steal`, 'set-cookie': 'x=1' });
    res.end();
  });
  const result = await s.send(
    'GET /public/a HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer backend-token\r\nCookie: session=1\r\nConnection: close\r\n\r\n',
  );
  const response = result.responses[0];
  assert.ok(response);
  assert.equal(response.status, 302);
  assert.equal(response.headers.location, `https://127.0.0.1:${s.privateUp.port}/private/steal`);
  assert.equal(s.publicUp.arrived.length, 1);
  assert.equal(s.privateUp.arrived.length, 0, 'the redirect target was never contacted');
});

test('path traversal via encoded dots (Apache CVE-2021-41773 / CVE-2021-42013): refused before routing', async (t) => {
  const s = await setup(t);
  for (const target of [
    '/public/.%2e/private/admin',
    '/public/%2e%2e/private/admin',
    '/public/.%2E/%2E%2E/private',
    '/public/%%32%65%%32%65/private',
    '/public/..%2fprivate',
    '/public/%2e%2e%5cprivate',
  ]) {
    const result = await s.send(`GET ${target} HTTP/1.1\r\nHost: gw.test\r\n\r\n`);
    const response = result.responses[0];
    assert.ok(response, target);
    assertProblem(fromRaw(response), 'request.invalid_path', target);
  }
  // Double encoding is not decoded twice: %252e%252e reaches the upstream as it came.
  const kept = await s.send('GET /public/%252e%252e/private HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n');
  assert.equal(kept.responses[0]?.status, 200);
  assert.deepEqual(
    s.publicUp.arrived.map((r) => r.url),
    ['/public/%252e%252e/private'],
  );
  assert.equal(s.privateUp.arrived.length, 0);
});

test('h2c upgrade smuggling (Bishop Fox, 2020): an upgrade to anything but WebSocket is refused, never tunnelled', async (t) => {
  const s = await setup(t);
  for (const upgrade of ['h2c', 'HTTP/2.0', 'websocket, h2c', 'TLS/1.2']) {
    const result = await s.send(
      `GET /public/a HTTP/1.1\r\nHost: gw.test\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n${SMUGGLED}`,
    );
    refusedAlone(s, result, 'request.malformed');
    assert.equal(s.publicUp.upgrades.length, 0);
  }
});

test('WebSocket smuggling (0ang3el/websocket-smuggle): when the upstream refuses the upgrade, bytes sent after it never reach the upstream', async (t) => {
  const s = await setup(t);
  s.publicUp.handleUpgrade((_req, socket) => {
    socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  const upgrade =
    'GET /public/ws HTTP/1.1\r\nHost: gw.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 1337\r\n\r\n';
  const result = await s.send(`${upgrade}GET /public/smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n${SMUGGLED}`);
  assert.equal(result.responses.length, 1, JSON.stringify(result.raw.slice(0, 300)));
  assert.equal(result.responses[0]?.status, 426);
  assert.ok(result.closed, 'the connection is closed after the refused upgrade');
  assert.equal(s.publicUp.upgrades.length, 1);
  assert.deepEqual(s.publicUp.arrived, [], 'no request behind the upgrade reached the upstream');
  assert.equal(s.privateUp.arrived.length, 0);
});
