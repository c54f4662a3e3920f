import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { expectsContinue, guardFraming, MAX_HEADER_LINES, METHOD_OVERRIDE_HEADERS } from '../../src/listen/framing-guard.js';
import { fakeRequest } from '../support/fake-request.js';

type Headers = readonly (readonly [string, string])[];

function outcome(method: string, headers: Headers, version: '1.0' | '1.1' | '2.0' = '1.1'): string {
  try {
    return guardFraming(fakeRequest({ method, headers, version }));
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return `!${error.code}`;
  }
}

test('the routing host is the Host header lower-cased, without port or trailing dot', () => {
  const cases = [
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['api.example.com:8443', 'api.example.com'],
    ['api.example.com.', 'api.example.com'],
    ['API.example.com.:8443', 'api.example.com'],
    ['127.0.0.1:8080', '127.0.0.1'],
    ['[::1]:8080', '[::1]'],
    ['[2001:DB8::1]', '[2001:db8::1]'],
    ['localhost', 'localhost'],
  ] as const;
  for (const [host, expected] of cases) assert.equal(outcome('GET', [['Host', host]]), expected, host);
});

test('Host: exactly one, and a host name', () => {
  for (const headers of [
    [],
    [
      ['Host', 'a.test'],
      ['host', 'a.test'],
    ],
    [['Host', '']],
    [['Host', 'a.test/x']],
    [['Host', 'user@a.test']],
    [['Host', 'a..test']],
    [['Host', '.a.test']],
    [['Host', 'a.test..']],
    [['Host', '-a.test']],
    [['Host', 'a.test:99999x']],
    [['Host', 'a_b.test']],
    [['Host', '[::1']],
  ] satisfies Headers[]) {
    assert.equal(outcome('GET', headers), '!request.malformed', JSON.stringify(headers));
  }
});

test('Transfer-Encoding: only a lone chunked, never with Content-Length, never on HTTP/1.0 or a bodiless method', () => {
  const host = ['Host', 'a.test'] as const;
  assert.equal(outcome('POST', [host, ['Transfer-Encoding', 'chunked']]), 'a.test');
  assert.equal(outcome('POST', [host, ['transfer-encoding', 'Chunked']]), 'a.test');
  for (const te of ['gzip, chunked', 'chunked, identity', 'identity', 'xchunked', ',chunked', '']) {
    assert.equal(outcome('POST', [host, ['Transfer-Encoding', te]]), '!request.malformed', te);
  }
  assert.equal(outcome('POST', [host, ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'chunked']]), '!request.malformed');
  assert.equal(outcome('POST', [host, ['Transfer-Encoding', 'chunked'], ['Content-Length', '0']]), '!request.malformed');
  assert.equal(outcome('POST', [host, ['Transfer-Encoding', 'chunked']], '1.0'), '!request.malformed');
  for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']) {
    assert.equal(outcome(method, [host, ['Transfer-Encoding', 'chunked']]), '!request.malformed', method);
  }
  for (const method of ['POST', 'PUT', 'PATCH', 'PROPFIND'])
    assert.equal(outcome(method, [host, ['Transfer-Encoding', 'chunked']]), 'a.test', method);
  assert.equal(outcome('POST', [host, ['Content-Length', '1'], ['Content-Length', '1']]), '!request.malformed');
});

test('method-override headers are refused on every read, in any case, and allowed on writes', () => {
  const host = ['Host', 'a.test'] as const;
  for (const name of METHOD_OVERRIDE_HEADERS) {
    for (const spelling of [
      name,
      name.toUpperCase(),
      name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase()),
    ]) {
      for (const method of ['GET', 'HEAD', 'OPTIONS'])
        assert.equal(outcome(method, [host, [spelling, 'DELETE']]), '!request.malformed', `${method} ${spelling}`);
      assert.equal(outcome('POST', [host, [spelling, 'DELETE']]), 'a.test', `POST ${spelling}`);
    }
  }
  // Names of the same lengths that are not override headers pass.
  for (const name of ['x-forwarded-prt', 'content-encoding', 'x-request-id-xyz', 'accept-ranges'])
    assert.equal(outcome('GET', [host, [name, 'v']]), 'a.test', name);
});

test('HTTP versions other than 1.0 and 1.1 are refused', () => {
  assert.equal(outcome('GET', [['Host', 'a.test']], '2.0'), '!request.malformed');
  assert.equal(outcome('GET', [['Host', 'a.test']], '1.0'), 'a.test');
});

test('a head with as many header lines as Node keeps is refused: a line past the limit would be invisible', () => {
  const lines: [string, string][] = [['Host', 'a.test']];
  while (lines.length < MAX_HEADER_LINES - 1) lines.push(['x-filler', '1']);
  assert.equal(outcome('GET', lines), 'a.test');
  lines.push(['x-filler', '1']);
  assert.equal(outcome('GET', lines), '!request.headers_too_large');
});

test('Expect: 100-continue is honoured on HTTP/1.1 only; other expectations get 417 on HTTP/1.1', () => {
  const host = ['Host', 'a.test'] as const;
  const req = (expect: string, version: '1.0' | '1.1') => fakeRequest({ method: 'POST', version, headers: [host, ['Expect', expect]] });
  assert.equal(expectsContinue(req('100-continue', '1.1')), true);
  assert.equal(expectsContinue(req('100-Continue', '1.1')), true);
  assert.equal(expectsContinue(req('100-continue', '1.0')), false);
  assert.equal(expectsContinue(fakeRequest({ method: 'POST', headers: [host] })), false);
  assert.equal(outcome('POST', [host, ['Expect', '100-continue']]), 'a.test');
  assert.equal(outcome('POST', [host, ['Expect', 'teapot']]), '!request.expectation_failed');
  assert.equal(outcome('POST', [host, ['Expect', 'teapot']], '1.0'), 'a.test');
});

test('a request whose method the runtime could not name is refused as malformed, never taken for a read', () => {
  // Node 20.19.2 parses `QUERY` but hands the request over with no method.
  for (const method of [undefined, '']) {
    const req = fakeRequest({ headers: [['Host', 'gw.test']] });
    Object.defineProperty(req, 'method', { value: method });
    try {
      guardFraming(req);
      assert.fail(`method ${String(method)} passed`);
    } catch (error) {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.code, 'request.malformed');
    }
  }
});
