import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId, requestIdOf } from '../../src/listen/request-id.js';
import { fakeRequest } from '../support/fake-request.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a single sane X-Request-Id is kept', () => {
  for (const id of ['a', 'trace-123', 'A.b_c:d@e/f+g=h-i', 'x'.repeat(128), '0af7651916cd43dd8448eb211c80319c']) {
    assert.equal(requestIdOf(fakeRequest({ headers: [['X-Request-Id', id]] })), id);
  }
});

test('a missing, empty, duplicated, too long or odd X-Request-Id is replaced by a UUID', () => {
  const cases: (readonly (readonly [string, string])[])[] = [
    [],
    [['X-Request-Id', '']],
    [
      ['X-Request-Id', 'a'],
      ['x-request-id', 'b'],
    ],
    [['X-Request-Id', 'x'.repeat(129)]],
    [['X-Request-Id', 'has space']],
    [['X-Request-Id', 'quote"']],
    [['X-Request-Id', 'semi;colon']],
    [['X-Request-Id', 'caf\u00e9']],
    [['X-Request-Id', '<script>']],
  ];
  for (const headers of cases) assert.match(requestIdOf(fakeRequest({ headers })), UUID, JSON.stringify(headers));
});

test('new ids are distinct UUIDs', () => {
  const ids = new Set(Array.from({ length: 1_000 }, () => newRequestId()));
  assert.equal(ids.size, 1_000);
  for (const id of ids) assert.match(id, UUID);
});
