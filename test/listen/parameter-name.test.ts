/** PHP's parameter-name folding (php_register_variable_ex), as the policy checks compare names. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldParameterName, queryParameters } from '../../src/listen/parameter-name.js';

test('foldParameterName: leading spaces dropped, cut at NUL, . and space to _, a[...] is a, unclosed [ is _, lower case', () => {
  const cases: readonly (readonly [string, string])[] = [
    ['_method', '_method'],
    [' _method', '_method'],
    ['   _Method', '_method'],
    ['_method\0junk', '_method'],
    ['.method', '_method'],
    [' method', 'method'],
    ['_method.', '_method_'],
    ['a b', 'a_b'],
    ['_method[]', '_method'],
    ['_method[x]', '_method'],
    ['_method[', '_method_'],
    ['a[b.c', 'a_b.c'],
    ['serviceProvider', 'serviceprovider'],
    ['', ''],
  ];
  for (const [name, folded] of cases) assert.equal(foldParameterName(name), folded, JSON.stringify(name));
});

test('queryParameters splits at ; as well as &, and decodes + and %20 as a space', () => {
  assert.deepEqual(
    [...queryParameters('?a=1;b=2&c=3')],
    [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ],
  );
  assert.deepEqual(
    [...queryParameters('?+_method=DELETE&%20x=1')],
    [
      [' _method', 'DELETE'],
      [' x', '1'],
    ],
  );
});
