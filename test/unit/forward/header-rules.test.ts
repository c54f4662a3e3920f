import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardingFacts } from '../../../src/forward/header-rules.js';
import type { Principal } from '../../../src/types.js';
import { fakeRequest } from '../../support/fake-request.js';

const FACTS: ForwardingFacts = {
  peerAddress: '10.0.0.5',
  peerTrusted: false,
  proto: 'https',
  stripAuthorization: true,
  principal: undefined,
  upstreamHost: 'backend.internal:8443',
  requestId: 'rid-1',
};

const ALICE: Principal = { kind: 'api_token', scheme: 'bearer', subject: 'alice', scope: 'read-write', credentialId: 'tok_1' };

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return out;
}

test('passed-through headers keep their spelling and order; the gateway\'s own come last', () => {
  const req = fakeRequest({
    headers: [['Host', 'gw.test'], ['Accept', 'application/json'], ['X-Custom', 'a'], ['x-custom', 'b'], ['User-Agent', 'ua'], ['Authorization', 'Bearer t']],
  });
  assert.deepEqual(pairs(upstreamRequestHeaders(req, { ...FACTS, principal: ALICE })), [
    ['Accept', 'application/json'],
    ['X-Custom', 'a'],
    ['x-custom', 'b'],
    ['User-Agent', 'ua'],
    ['x-request-id', 'rid-1'],
    ['host', 'backend.internal:8443'],
    ['x-forwarded-for', '10.0.0.5'],
    ['x-forwarded-proto', 'https'],
    ['x-forwarded-host', 'gw.test'],
    ['x-portcullis-subject', 'alice'],
    ['x-portcullis-scope', 'read-write'],
    ['x-portcullis-credential', 'tok_1'],
  ]);
});

test('a client X-Request-Id is replaced in place by the request id, once', () => {
  const req = fakeRequest({ headers: [['Host', 'gw.test'], ['X-Request-ID', 'mine'], ['A', '1'], ['x-request-id', 'again']] });
  const out = pairs(upstreamRequestHeaders(req, FACTS));
  assert.deepEqual(out.slice(0, 2), [['X-Request-ID', 'rid-1'], ['A', '1']]);
  assert.equal(out.filter(([n]) => n.toLowerCase() === 'x-request-id').length, 1);
});

test('paired trust: X-Forwarded-* are replaced for an untrusted peer, appended to and kept for a trusted one', () => {
  const headers = [['Host', 'gw.test'], ['X-Forwarded-For', '1.1.1.1'], ['x-forwarded-for', '2.2.2.2'], ['X-Forwarded-Proto', 'http'], ['X-Forwarded-Host', 'orig.test'], ['X-Real-IP', '1.1.1.1'], ['Forwarded', 'for=1.1.1.1']] as const;
  const untrusted = new Map(pairs(upstreamRequestHeaders(fakeRequest({ headers }), FACTS)));
  assert.equal(untrusted.get('x-forwarded-for'), '10.0.0.5');
  assert.equal(untrusted.get('x-forwarded-proto'), 'https');
  assert.equal(untrusted.get('x-forwarded-host'), 'gw.test');
  assert.equal(untrusted.has('X-Real-IP'), false);
  assert.equal(untrusted.has('Forwarded'), false);
  const trusted = new Map(pairs(upstreamRequestHeaders(fakeRequest({ headers }), { ...FACTS, peerTrusted: true })));
  assert.equal(trusted.get('x-forwarded-for'), '1.1.1.1, 2.2.2.2, 10.0.0.5');
  assert.equal(trusted.get('x-forwarded-proto'), 'http');
  assert.equal(trusted.get('x-forwarded-host'), 'orig.test');
  assert.equal(trusted.get('X-Real-IP'), '1.1.1.1');
  assert.equal(trusted.get('Forwarded'), 'for=1.1.1.1');
});

test('hop-by-hop, Connection-named, Expect, identity and (on auth routes) Authorization headers are dropped', () => {
  const req = fakeRequest({
    headers: [
      ['Host', 'gw.test'], ['Connection', 'keep-alive, X-Hop'], ['X-Hop', '1'], ['Keep-Alive', 'timeout=1'], ['TE', 'trailers'], ['Trailer', 'X'],
      ['Upgrade', 'websocket'], ['Proxy-Authorization', 'Basic x'], ['Proxy-Connection', 'keep-alive'], ['Transfer-Encoding', 'chunked'],
      ['Expect', '100-continue'], ['X-Portcullis-Subject', 'root'], ['X-PORTCULLIS-X', 'y'], ['Authorization', 'Bearer t'], ['Kept', 'yes'],
    ],
  });
  const names = pairs(upstreamRequestHeaders(req, FACTS)).map(([n]) => n);
  assert.deepEqual(names, ['Kept', 'x-request-id', 'host', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  const open = pairs(upstreamRequestHeaders(req, { ...FACTS, stripAuthorization: false })).map(([n]) => n);
  assert.ok(open.includes('Authorization'));
});

test('an identity value that cannot be a header (CR, LF, NUL, beyond latin1) is refused', () => {
  const req = fakeRequest({ headers: [['Host', 'gw.test']] });
  for (const subject of ['a\r\nb', 'a\nb', 'a\u0000', 'a\tb', '\u20ac']) {
    assert.throws(
      () => upstreamRequestHeaders(req, { ...FACTS, principal: { ...ALICE, subject } }),
      (error: unknown) => error instanceof GatewayError && error.code === 'internal.error',
      JSON.stringify(subject),
    );
  }
  assert.doesNotThrow(() => upstreamRequestHeaders(req, { ...FACTS, principal: { ...ALICE, subject: 'caf\u00e9 user@example.com' } }));
});

test('response headers: hop-by-hop and Connection-named dropped, the rest kept in order (Buffers or strings)', () => {
  const raw = [
    Buffer.from('Set-Cookie'), Buffer.from('a=1'), Buffer.from('Connection'), Buffer.from('close, X-Secret'), Buffer.from('X-Secret'), Buffer.from('s'),
    Buffer.from('Set-Cookie'), Buffer.from('b=2'), Buffer.from('Transfer-Encoding'), Buffer.from('chunked'), Buffer.from('Keep-Alive'), Buffer.from('timeout=5'),
    Buffer.from('Proxy-Authenticate'), Buffer.from('Basic'), Buffer.from('Content-Length'), Buffer.from('3'),
  ];
  assert.deepEqual(pairs(clientResponseHeaders(raw, 'req-1')), [['x-request-id', 'req-1'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Content-Length', '3']]);
});
