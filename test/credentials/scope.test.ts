import assert from 'node:assert/strict';
import test from 'node:test';
import { SCOPES, sharedScope, type Scope } from '../../src/credentials/scope.js';

test('sharedScope keeps every scope and turns anything else into the narrowest', () => {
  for (const scope of SCOPES) assert.equal(sharedScope(scope.slice(0) as Scope), scope);
  for (const junk of ['', 'READ-ONLY', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    assert.equal(sharedScope(junk as Scope), 'read-only', junk);
  }
});
