import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES } from '../../src/errors.js';
import { classifyUpstreamError, upstreamGatewayError } from '../../src/forward/upstream-errors.js';

const withCode = (code: string, cause?: unknown) => Object.assign(new Error('x'), { code, ...(cause !== undefined ? { cause } : {}) });

test("foreign errors are classified by their code, or their cause's under undici's UND_ERR_SOCKET", () => {
  const cases = [
    [withCode('ECONNREFUSED'), 'unavailable'],
    [withCode('ENOTFOUND'), 'unavailable'],
    [withCode('EHOSTUNREACH'), 'unavailable'],
    [withCode('ECONNRESET'), 'reset'],
    [withCode('EPIPE'), 'reset'],
    [withCode('UND_ERR_SOCKET', withCode('ECONNRESET')), 'reset'],
    [withCode('UND_ERR_SOCKET'), 'reset'],
    [withCode('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [withCode('UND_ERR_BODY_TIMEOUT'), 'timeout'],
    [withCode('UND_ERR_CONNECT_TIMEOUT'), 'timeout'],
    [withCode('ETIMEDOUT'), 'timeout'],
    [withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'tls'],
    [withCode('DEPTH_ZERO_SELF_SIGNED_CERT'), 'tls'],
    [withCode('SELF_SIGNED_CERT_IN_CHAIN'), 'tls'],
    [withCode('CERT_HAS_EXPIRED'), 'tls'],
    [withCode('ERR_TLS_CERT_ALTNAME_INVALID'), 'tls'],
    [withCode('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls'],
    [withCode('ERR_SSL_SOMETHING_NEW'), 'tls'],
    [withCode('UND_ERR_SOCKET', withCode('ERR_TLS_CERT_ALTNAME_INVALID')), 'tls'],
    [new Error('no code'), 'unavailable'],
    ['a string', 'unavailable'],
    [null, 'unavailable'],
  ] as const;
  for (const [error, kind] of cases) assert.equal(classifyUpstreamError(error), kind, JSON.stringify(error));
});

test('each kind maps to its documented code, naming the route and never the foreign message', () => {
  const expected = {
    tls: 'upstream.tls_error',
    timeout: 'upstream.timeout',
    reset: 'upstream.unavailable',
    unavailable: 'upstream.unavailable',
  } as const;
  for (const [kind, code] of Object.entries(expected) as [keyof typeof expected, string][]) {
    const error = upstreamGatewayError(kind, 'profiles', 1500);
    assert.equal(error.code, code);
    assert.equal(error.status, ERROR_CODES[error.code].status);
    assert.match(error.detail ?? '', /"profiles"/);
  }
  assert.match(upstreamGatewayError('timeout', 'r', 1500).detail ?? '', /1500 ms/);
});

test('upstreamFailureReason: a known Node code as is (also on an undici cause), anything else "other"', async () => {
  const { upstreamFailureReason, UPSTREAM_FAILURE_REASONS } = await import('../../src/forward/upstream-errors.js');
  assert.equal(upstreamFailureReason(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' })), 'CERT_HAS_EXPIRED');
  assert.equal(
    upstreamFailureReason(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET', cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' } })),
    'ERR_TLS_CERT_ALTNAME_INVALID',
  );
  for (const odd of ['ERR_SOMETHING_NEW', '', 'cert_has_expired', '__proto__', 'constructor']) {
    assert.equal(upstreamFailureReason(Object.assign(new Error('x'), { code: odd })), 'other', odd);
  }
  assert.equal(upstreamFailureReason('not an error'), 'other');
  assert.equal(upstreamFailureReason(null), 'other');
  assert.ok(UPSTREAM_FAILURE_REASONS.length < 50, 'a bounded list');
});
