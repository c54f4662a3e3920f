import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.js';
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardingFacts } from '../../src/forward/header-rules.js';
import type { Principal } from '../../src/types.js';
import { fakeRequest } from '../support/fake-request.js';

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

test("passed-through headers keep their spelling and order; the gateway's own come last", () => {
  const req = fakeRequest({
    headers: [
      ['Host', 'gw.test'],
      ['Accept', 'application/json'],
      ['X-Custom', 'a'],
      ['x-custom', 'b'],
      ['User-Agent', 'ua'],
      ['Authorization', 'Bearer t'],
    ],
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
    ['x-portcullis-credential-kind', 'api_token'],
    ['x-portcullis-principal', 'api_token:alice'],
  ]);
});

test('a client X-Request-Id is replaced in place by the request id, once', () => {
  const req = fakeRequest({
    headers: [
      ['Host', 'gw.test'],
      ['X-Request-ID', 'mine'],
      ['A', '1'],
      ['x-request-id', 'again'],
    ],
  });
  const out = pairs(upstreamRequestHeaders(req, FACTS));
  assert.deepEqual(out.slice(0, 2), [
    ['X-Request-ID', 'rid-1'],
    ['A', '1'],
  ]);
  assert.equal(out.filter(([n]) => n.toLowerCase() === 'x-request-id').length, 1);
});

test('paired trust: X-Forwarded-* are replaced for an untrusted peer, appended to and kept for a trusted one', () => {
  const headers = [
    ['Host', 'gw.test'],
    ['X-Forwarded-For', '1.1.1.1'],
    ['x-forwarded-for', '2.2.2.2'],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Host', 'orig.test'],
    ['X-Real-IP', '1.1.1.1'],
    ['Forwarded', 'for=1.1.1.1'],
  ] as const;
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
      ['Host', 'gw.test'],
      ['Connection', 'keep-alive, X-Hop'],
      ['X-Hop', '1'],
      ['Keep-Alive', 'timeout=1'],
      ['TE', 'trailers'],
      ['Trailer', 'X'],
      ['Upgrade', 'websocket'],
      ['Proxy-Authorization', 'Basic x'],
      ['Proxy-Connection', 'keep-alive'],
      ['Transfer-Encoding', 'chunked'],
      ['Expect', '100-continue'],
      ['X-Portcullis-Subject', 'root'],
      ['X-PORTCULLIS-X', 'y'],
      ['Authorization', 'Bearer t'],
      ['Kept', 'yes'],
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
    Buffer.from('Set-Cookie'),
    Buffer.from('a=1'),
    Buffer.from('Connection'),
    Buffer.from('close, X-Secret'),
    Buffer.from('X-Secret'),
    Buffer.from('s'),
    Buffer.from('Set-Cookie'),
    Buffer.from('b=2'),
    Buffer.from('Transfer-Encoding'),
    Buffer.from('chunked'),
    Buffer.from('Keep-Alive'),
    Buffer.from('timeout=5'),
    Buffer.from('Proxy-Authenticate'),
    Buffer.from('Basic'),
    Buffer.from('Content-Length'),
    Buffer.from('3'),
  ];
  assert.deepEqual(pairs(clientResponseHeaders(raw, 'req-1')), [
    ['x-request-id', 'req-1'],
    ['Set-Cookie', 'a=1'],
    ['Set-Cookie', 'b=2'],
    ['Content-Length', '3'],
  ]);
});

test('identity headers say the kind of credential and, for an external JWT, its issuer: subjects of different sources never look alike', () => {
  const req = fakeRequest({ headers: [['Host', 'gw.test']] });
  const identity = (principal: Principal): Record<string, string> =>
    Object.fromEntries(pairs(upstreamRequestHeaders(req, { ...FACTS, principal })).filter(([n]) => n.startsWith('x-portcullis-')));
  const token = identity({ kind: 'api_token', scheme: 'bearer', subject: 'billing', scope: 'read-write', credentialId: 'tok_1' });
  const jwt = identity({
    kind: 'external_jwt',
    scheme: 'bearer',
    subject: 'billing',
    scope: 'read-write',
    credentialId: 'tok_1',
    issuer: 'https://idp.example/',
  });
  const other = identity({
    kind: 'external_jwt',
    scheme: 'bearer',
    subject: 'billing',
    scope: 'read-write',
    credentialId: 'tok_1',
    issuer: 'https://other.example',
  });
  const client = identity({ kind: 'oauth_client', scheme: 'basic', subject: 'billing', scope: 'read-write', credentialId: 'billing' });
  const access = identity({ kind: 'access_token', scheme: 'bearer', subject: 'billing', scope: 'read-write', credentialId: 'jti-1' });
  assert.deepEqual(token, {
    'x-portcullis-subject': 'billing',
    'x-portcullis-scope': 'read-write',
    'x-portcullis-credential': 'tok_1',
    'x-portcullis-credential-kind': 'api_token',
    'x-portcullis-principal': 'api_token:billing',
  });
  assert.deepEqual(jwt, {
    'x-portcullis-subject': 'billing',
    'x-portcullis-scope': 'read-write',
    'x-portcullis-credential': 'tok_1',
    'x-portcullis-credential-kind': 'external_jwt',
    'x-portcullis-issuer': 'https://idp.example/',
    'x-portcullis-principal': 'external_jwt:https%3A%2F%2Fidp.example%2F:billing',
  });
  assert.equal(client['x-portcullis-principal'], 'oauth_client:billing');
  assert.equal(access['x-portcullis-principal'], 'oauth_client:billing', 'a client and the access tokens it was issued are one principal');
  assert.equal(access['x-portcullis-credential-kind'], 'access_token');
  const principals = new Set([token, jwt, other, client].map((h) => h['x-portcullis-principal']));
  assert.equal(principals.size, 4, 'four sources, four principals');
  assert.equal(new Set([token, jwt, client, access].map((h) => h['x-portcullis-credential-kind'])).size, 4);
  assert.throws(
    () =>
      identity({
        kind: 'external_jwt',
        scheme: 'bearer',
        subject: 's',
        scope: 'read-only',
        credentialId: 'c',
        issuer: 'https://x\r\nX-Portcullis-Subject: admin',
      }),
    /identity cannot be sent/,
  );
});
