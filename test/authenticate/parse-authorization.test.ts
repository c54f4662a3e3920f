import assert from 'node:assert/strict';
import test from 'node:test';
import {
  MAX_AUTHORIZATION_BYTES,
  parseAuthorization,
  parseAuthorizationValue,
  type ParsedAuthorization,
} from '../../src/authenticate/parse-authorization.js';
import { GatewayError } from '../../src/errors.js';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const b64bytes = (bytes: number[]): string => Buffer.from(bytes).toString('base64');

const bearer = (token: string): ParsedAuthorization => ({ kind: 'credential', credential: { scheme: 'bearer', token } });
const basic = (username: string, password: string): ParsedAuthorization => ({
  kind: 'credential',
  credential: { scheme: 'basic', username, password },
});
const OTHER: ParsedAuthorization = { kind: 'other' };

const ACCEPTED: readonly (readonly [string, string, ParsedAuthorization])[] = [
  ['bearer', 'Bearer abc', bearer('abc')],
  ['lower-case scheme', 'bearer abc', bearer('abc')],
  ['upper-case scheme', 'BEARER abc', bearer('abc')],
  ['b64token charset', 'Bearer aZ09-._~+/==', bearer('aZ09-._~+/==')],
  ['a JWT', 'Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln', bearer('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')],
  ['basic', `Basic ${b64('user:pass')}`, basic('user', 'pass')],
  ['mixed-case basic', `bAsIc ${b64('user:pass')}`, basic('user', 'pass')],
  ['colon in password', `Basic ${b64('u:p:q')}`, basic('u', 'p:q')],
  ['empty user', `Basic ${b64(':pcl_x')}`, basic('', 'pcl_x')],
  ['empty password', `Basic ${b64('user:')}`, basic('user', '')],
  ['utf-8', `Basic ${b64('jürgen:pässwörd✓')}`, basic('jürgen', 'pässwörd✓')],
  ['one padding char', `Basic ${b64('ab:cd')}`, basic('ab', 'cd')],
  ['no padding needed', `Basic ${b64('abc:def')}`, basic('abc', 'def')],
  ['unknown scheme', 'Digest username="x", realm="y"', OTHER],
  ['scheme only', 'Negotiate', OTHER],
  ['scheme prefix is not bearer', 'Bearerx abc', OTHER],
  ['token68 scheme', 'Token abc==', OTHER],
];

const MALFORMED: readonly (readonly [string, string])[] = [
  ['empty', ''],
  ['bearer without token', 'Bearer'],
  ['bearer with empty token', 'Bearer '],
  ['basic without credentials', 'Basic'],
  ['basic with empty credentials', 'Basic '],
  ['double space', 'Bearer  abc'],
  ['tab separator', 'Bearer\tabc'],
  ['tab after space', 'Bearer \tabc'],
  ['trailing space', 'Bearer abc '],
  ['trailing tab', 'Bearer abc\t'],
  ['leading space', ' Bearer abc'],
  ['two credentials', 'Bearer abc def'],
  ['comma list', 'Bearer abc, Basic def'],
  ['comma right after the scheme', 'Bearer,abc'],
  ['= inside the token', 'Bearer ab=c'],
  ['quote in the token', 'Bearer "abc"'],
  ['NUL in the token', 'Bearer ab\u0000c'],
  ['CR LF in the token', 'Bearer ab\r\nc'],
  ['DEL in the token', 'Bearer ab\u007fc'],
  ['latin-1 in the token', 'Bearer abé'],
  ['no scheme', '=abc'],
  ['over-long bearer', `Bearer ${'a'.repeat(MAX_AUTHORIZATION_BYTES)}`],
  ['over-long other scheme', `Digest ${'a'.repeat(MAX_AUTHORIZATION_BYTES)}`],
  ['basic bad padding', 'Basic dXNlcjpwYXNz='],
  ['basic missing padding', 'Basic dXNlcjpwYXM'],
  ['basic missing double padding', 'Basic YTpi'.slice(0, -1)],
  ['basic padding in the middle', 'Basic YQ==YQ=='],
  ['basic triple padding', 'Basic YQ==='],
  ['basic only padding', 'Basic ===='],
  ['basic url-safe alphabet', 'Basic YTo_Pj8='],
  ['basic non-zero padding bits', 'Basic YTpiYR=='],
  ['basic two spaces', `Basic  ${b64('user:pass')}`],
  ['basic space inside', `Basic ${b64('user:pass').slice(0, 4)} ${b64('user:pass').slice(4)}`],
  ['basic without colon', `Basic ${b64('userpass')}`],
  ['basic NUL in user', `Basic ${b64('us\u0000er:pass')}`],
  ['basic tab in password', `Basic ${b64('user:pa\tss')}`],
  ['basic CR LF in password', `Basic ${b64('user:pass\r\n')}`],
  ['basic DEL in password', `Basic ${b64('user:pa\u007fss')}`],
  ['basic ESC in password', `Basic ${b64('user:\u001bpass')}`],
  ['basic invalid utf-8', `Basic ${b64bytes([0xff, 0x3a, 0x61])}`],
  ['basic overlong utf-8 slash', `Basic ${b64bytes([0x75, 0x3a, 0xc0, 0xaf])}`],
  ['basic lone surrogate (CESU)', `Basic ${b64bytes([0x75, 0x3a, 0xed, 0xa0, 0x80])}`],
  ['basic truncated utf-8', `Basic ${b64bytes([0x75, 0x3a, 0xe2, 0x9c])}`],
];

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GatewayError, `not a GatewayError: ${String(error)}`);
    return error;
  }
  return assert.fail('accepted');
}

for (const [name, value, expected] of ACCEPTED) {
  test(`accepted: ${name}`, () => {
    assert.deepEqual(parseAuthorizationValue(value), expected);
    assert.deepEqual(parseAuthorization(['Host', 'x', 'Authorization', value]), expected);
  });
}

for (const [name, value] of MALFORMED) {
  test(`malformed: ${name}`, () => {
    const error = refusal(() => parseAuthorization(['authorization', value]));
    assert.equal(error.code, 'auth.malformed_credentials');
    assert.equal(error.status, 400);
    // The detail never echoes what was sent.
    const secretPart = value.split(' ')[1];
    if (secretPart !== undefined && secretPart.length > 3) assert.ok(!(error.detail ?? '').includes(secretPart));
  });
}

test('no Authorization header: none', () => {
  assert.deepEqual(parseAuthorization([]), { kind: 'none' });
  assert.deepEqual(parseAuthorization(['Host', 'example.com', 'X-Authorization', 'Bearer x']), { kind: 'none' });
});

test('several Authorization headers are malformed, whatever their case or values', () => {
  for (const headers of [
    ['Authorization', 'Bearer a', 'Authorization', 'Bearer a'],
    ['Authorization', 'Bearer a', 'authorization', 'Basic YTpi'],
    ['AUTHORIZATION', 'Bearer a', 'Host', 'x', 'aUtHoRiZaTiOn', ''],
    ['Authorization', 'Digest x', 'Authorization', 'Bearer a'],
  ]) {
    assert.equal(refusal(() => parseAuthorization(headers)).code, 'auth.malformed_credentials');
  }
});

test('the length limit is on the whole value, in bytes', () => {
  const limit = `Bearer ${'a'.repeat(MAX_AUTHORIZATION_BYTES - 'Bearer '.length)}`;
  assert.equal(limit.length, MAX_AUTHORIZATION_BYTES);
  assert.equal(parseAuthorizationValue(limit).kind, 'credential');
  assert.equal(refusal(() => parseAuthorizationValue(`${limit}a`)).code, 'auth.malformed_credentials');
});

test('sweep 0x00-0xFF inside a bearer token: b64token characters accepted, every other byte refused', () => {
  const allowed = /[A-Za-z0-9\-._~+/]/;
  for (let byte = 0; byte <= 0xff; byte++) {
    const char = String.fromCharCode(byte);
    const value = `Bearer ab${char}cd`;
    if (allowed.test(char)) {
      assert.deepEqual(parseAuthorizationValue(value), bearer(`ab${char}cd`), `byte 0x${byte.toString(16)}`);
    } else {
      assert.equal(refusal(() => parseAuthorizationValue(value)).code, 'auth.malformed_credentials', `byte 0x${byte.toString(16)}`);
    }
  }
});

test('sweep 0x00-0xFF decoded inside Basic credentials: CTLs refused, the rest passed through as UTF-8', () => {
  for (let code = 0; code <= 0xff; code++) {
    const char = String.fromCharCode(code);
    const value = `Basic ${b64(`us${char}er:pass`)}`;
    if (code < 0x20 || code === 0x7f) {
      assert.equal(refusal(() => parseAuthorizationValue(value)).code, 'auth.malformed_credentials', `U+${code.toString(16)}`);
    } else if (char === ':') {
      assert.deepEqual(parseAuthorizationValue(value), basic('us', 'er:pass'));
    } else {
      assert.deepEqual(parseAuthorizationValue(value), basic(`us${char}er`, 'pass'), `U+${code.toString(16)}`);
    }
  }
});

test('random bytes never crash the parser', () => {
  for (let i = 0; i < 5000; i++) {
    const length = Math.floor(Math.random() * 40);
    const value = Array.from({ length }, () => String.fromCharCode(Math.floor(Math.random() * 256))).join('');
    for (const candidate of [value, `Bearer ${value}`, `Basic ${value}`, `Basic ${Buffer.from(value, 'latin1').toString('base64')}`]) {
      try {
        parseAuthorizationValue(candidate);
      } catch (error) {
        assert.ok(error instanceof GatewayError && error.code === 'auth.malformed_credentials');
      }
    }
  }
});
