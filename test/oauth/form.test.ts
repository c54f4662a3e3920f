/**
 * The strict readers of OAuth requests: media type, form body, form decoding, scope.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { FormError, formDecode, isFormUrlencoded, parseForm } from '../../src/oauth/form.js';
import { OAuthError } from '../../src/oauth/responses.js';
import { grantedScope } from '../../src/oauth/scope.js';

test('Content-Type: the form type with parameters and optional whitespace, nothing else', () => {
  for (const value of [
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded;charset=UTF-8',
    'application/x-www-form-urlencoded ; charset=UTF-8',
    'Application/X-WWW-Form-Urlencoded;\tCharset="utf-8"',
    'application/x-www-form-urlencoded; charset=utf-8; foo=bar',
    'application/x-www-form-urlencoded;',
  ])
    assert.equal(isFormUrlencoded(value), true, value);
  for (const value of ['application/json', 'text/plain; charset=utf-8', 'multipart/form-data; boundary=x']) {
    assert.equal(isFormUrlencoded(value), false, value);
  }
  for (const value of [
    '',
    'application',
    'application/x-www-form-urlencoded; charset=ISO-8859-1',
    'application/x-www-form-urlencoded; charset',
    'application/x-www-form-urlencoded; charset=utf-8; charset=utf-8',
    'application/x-www-form-urlencoded; a="b',
    'a b/c',
  ])
    assert.throws(() => isFormUrlencoded(value), FormError, value);
});

test('form: strict percent-encoding and UTF-8, repeated names refused, empty values omitted', () => {
  assert.deepEqual(
    [...parseForm(Buffer.from('grant_type=client_credentials&scope=read-only+read-write'))],
    [
      ['grant_type', 'client_credentials'],
      ['scope', 'read-only read-write'],
    ],
  );
  assert.deepEqual([...parseForm(Buffer.from('a=%C3%A9&b=&c'))], [['a', 'é']]);
  assert.deepEqual([...parseForm(Buffer.from(''))], []);
  for (const body of ['a=1&a=2', 'a=&a=1', 'a=%zz', 'a=%C3', '=x', 'a=1&'.repeat(40)]) {
    assert.throws(() => parseForm(Buffer.from(body)), FormError, body);
  }
  assert.throws(() => parseForm(Buffer.from([0x61, 0x3d, 0xc3, 0x28])), FormError);
  assert.equal(formDecode('cli_abc%3A%2B'), 'cli_abc:+');
  assert.equal(formDecode('a+b'), 'a b');
  assert.throws(() => formDecode('%'), FormError);
});

test("scope: omitted → the client's; only narrowing; the widest value asked is granted", () => {
  assert.equal(grantedScope(undefined, 'read-write'), 'read-write');
  assert.equal(grantedScope('read-only', 'read-write'), 'read-only');
  assert.equal(grantedScope('read-only read-write', 'admin'), 'read-write');
  assert.equal(grantedScope('admin', 'admin'), 'admin');
  for (const [scope, client] of [
    ['admin', 'read-write'],
    ['read-write', 'read-only'],
    ['write', 'admin'],
    ['read-only ', 'admin'],
    ['', 'admin'],
    ['read-only\tadmin', 'admin'],
  ] as const) {
    assert.throws(
      () => grantedScope(scope, client),
      (e: unknown) => e instanceof OAuthError && e.error === 'invalid_scope',
      `${scope} / ${client}`,
    );
  }
});
