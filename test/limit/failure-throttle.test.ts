/** The failure table: counts per key within a window, bounded, shared out across workers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFailureThrottle } from '../../src/limit/failure-throttle.js';

const settings = { failures: 3, windowMs: 60_000, maxAddresses: 100 };

test('throttled from the failure past the limit until the window that began with the first one ends', () => {
  let now = 1_000_000;
  const throttle = createFailureThrottle(settings, { now: () => now });
  for (let i = 0; i < 2; i++) throttle.failed('a');
  assert.equal(throttle.retryAfter('a'), 0);
  now += 10_000;
  throttle.failed('a');
  assert.equal(throttle.retryAfter('a'), 50, 'the window began with the first failure, 50 s ago... left');
  assert.equal(throttle.retryAfter('b'), 0, 'another address is not concerned');
  now += 49_500;
  assert.equal(throttle.retryAfter('a'), 1, 'rounded up, never 0 while throttled');
  now += 500;
  assert.equal(throttle.retryAfter('a'), 0, 'the window ended');
  throttle.failed('a');
  assert.equal(throttle.retryAfter('a'), 0, 'a new window starts at 1');
});

test('memory is bounded by maxAddresses, however many addresses fail', () => {
  const throttle = createFailureThrottle(settings);
  for (let i = 0; i < 10_000; i++) throttle.failed(`198.51.${i >> 8}.${i & 255}`);
  assert.equal(throttle.size(), 100);
});

test('with N workers each throttles after ceil(failures / N)', () => {
  const throttle = createFailureThrottle({ ...settings, failures: 5 }, { share: 2 });
  for (let i = 0; i < 2; i++) throttle.failed('a');
  assert.equal(throttle.retryAfter('a'), 0);
  throttle.failed('a');
  assert.ok(throttle.retryAfter('a') > 0);
});

test('a reload changes the threshold and keeps the counts', () => {
  const throttle = createFailureThrottle(settings);
  throttle.failed('a');
  throttle.failed('a');
  throttle.configure({ ...settings, failures: 2 });
  assert.ok(throttle.retryAfter('a') > 0);
  throttle.configure({ ...settings, failures: 2, maxAddresses: 50 });
  assert.equal(throttle.size(), 0, 'a new bound starts a new table');
});
