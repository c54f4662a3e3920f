import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requireAccountName } from '../../src/credentials/validate-input.js';
import { CredentialStoreError } from '../../src/credentials/store-error.js';

test('an account name never has the shape of a token id: a token without an account is known upstream by its id', () => {
  assert.throws(
    () => requireAccountName('tok_0123456789abcdefABCDEF'),
    (error: unknown) => error instanceof CredentialStoreError && /shape of a token id/.test(error.message),
  );
  for (const fine of ['billing', 'tok_short', 'tok_0123456789abcdefABCDEFG', 'Tok_0123456789abcdefABCDEF'])
    assert.equal(requireAccountName(fine), fine);
});
