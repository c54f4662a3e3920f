import assert from 'node:assert/strict';
import { test } from 'node:test';
import { millisecondsText } from '../../src/observe/access-log.js';

test('millisecondsText writes what JSON writes for us / 1000, for every value up to 200 s and samples beyond', () => {
  for (let us = 0; us <= 200_000; us++) {
    const expected = JSON.stringify(us / 1000);
    if (millisecondsText(us) !== expected) assert.fail(`${us} µs: ${millisecondsText(us)} instead of ${expected}`);
  }
  for (const us of [999_999_999, 86_400_000_000, 3_600_000_001, 1e15 - 1, 1e15, Number.MAX_SAFE_INTEGER]) {
    assert.equal(millisecondsText(us), JSON.stringify(us / 1000));
  }
});

test('millisecondsText falls back to JSON for what is not a whole, safe, non-negative count', () => {
  assert.equal(millisecondsText(1.5), '0.0015');
  assert.equal(millisecondsText(-2000), '-2');
  assert.equal(millisecondsText(Number.NaN), 'null');
});
