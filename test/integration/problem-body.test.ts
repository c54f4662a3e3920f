/**
 * The shape of every answer Portcullis produces itself (docs/errors.md): for every code of ERROR_CODES,
 * thrown by a stage synchronously or asynchronously, the response is problem+json with type,
 * status, code, title and requestId, the documented status, and `X-Request-Id` equal to
 * `requestId`. Nothing reaches the upstream. (The codes the proxy layer raises on its own are
 * triggered for real in the other integration tests, all checked with the same assertProblem.)
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { ERROR_CODES, GatewayError, type ErrorCode } from '../../src/errors.js';
import type { Authenticate } from '../../src/types.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream } from '../support/upstream.js';

/** `Bearer sync:<code>` throws the code, `Bearer async:<code>` rejects with it. */
const throwing: Authenticate = (_route, req: IncomingMessage) => {
  const [mode, code] = (req.headers.authorization ?? '').replace(/^Bearer /, '').split(':') as [string, ErrorCode];
  const error = new GatewayError(code, `thrown for ${code}`);
  if (mode === 'async') return new Promise((_resolve, reject) => setTimeout(() => reject(error), 5));
  throw error;
};

const ROUTES = `
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
`;

test('every code of ERROR_CODES, thrown synchronously or asynchronously, is answered as a well-formed problem', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin }, { authenticate: throwing });
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    for (const mode of ['sync', 'async']) {
      for (const requestId of [undefined, 'client-id-1']) {
        const label = `${code} ${mode} ${requestId ?? 'generated id'}`;
        const idLine = requestId !== undefined ? `X-Request-Id: ${requestId}\r\n` : '';
        const result = await exchange(
          gw.port,
          rawBytes(
            `GET /private/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${mode}:${code}\r\n${idLine}Connection: close\r\n\r\n`,
          ),
        );
        const response = result.responses[0];
        assert.ok(response, label);
        const body = assertProblem(fromRaw(response), code, label);
        assert.equal(body.detail, `thrown for ${code}`, label);
        assert.deepEqual(Object.keys(body).sort(), ['code', 'detail', 'requestId', 'status', 'title', 'type'], label);
        if (requestId !== undefined) assert.equal(body.requestId, requestId, label);
        assert.equal(response.headers['content-length'], String(response.body.length), label);
      }
    }
  }
  assert.equal(upstream.arrived.length, 0);
});

test('a stage failing with a foreign error answers 500 internal.error without its message', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const failing: Authenticate = (_route, req) => {
    if (req.headers.authorization === 'Bearer async') return Promise.reject(new Error('secret database password in message'));
    throw new TypeError('secret database password in message');
  };
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin }, { authenticate: failing });
  for (const token of ['sync', 'async']) {
    const result = await exchange(
      gw.port,
      rawBytes(`GET /private/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`),
    );
    const response = result.responses[0];
    assert.ok(response);
    const body = assertProblem(fromRaw(response), 'internal.error', token);
    assert.doesNotMatch(response.text(), /secret/);
    assert.equal(body.detail, undefined);
  }
  assert.equal(upstream.arrived.length, 0);
});

test('a problem answer to HEAD has the headers and no body', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin }, { authenticate: throwing });
  const result = await exchange(
    gw.port,
    rawBytes('HEAD /private/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer sync:auth.token_expired\r\nConnection: close\r\n\r\n'),
    { method: 'HEAD' },
  );
  const response = result.responses[0];
  assert.ok(response);
  assert.equal(response.status, 401);
  assert.equal(response.headers['content-type'], 'application/problem+json');
  assert.ok(response.headers['x-request-id']);
  assert.equal(response.body.length, 0);
  assert.equal(result.extraBytes, 0, 'no body bytes follow the head');
  assert.equal(upstream.arrived.length, 0);
});
