import assert from 'node:assert/strict';
import test from 'node:test';
import { createCrashBudget, CRASH_LOOP } from '../../src/cluster/crash-budget.js';

test('restarts back off 100, 200, 400, 800 ms; the fifth crash within 30 s is a loop', () => {
  let now = 1_000_000;
  const budget = createCrashBudget(() => now);
  const verdicts = Array.from({ length: CRASH_LOOP.crashes }, () => {
    now += 1_000;
    return budget.crashed();
  });
  assert.deepEqual(verdicts.map((v) => v.delayMs).slice(0, 4), [100, 200, 400, 800]);
  assert.deepEqual(
    verdicts.map((v) => v.loop),
    [false, false, false, false, true],
  );
});

test('crashes spread wider than the window never make a loop, and the backoff starts over', () => {
  let now = 0;
  const budget = createCrashBudget(() => now);
  for (let i = 0; i < 20; i++) {
    now += 8_000; // at most 4 crashes in any 30 s
    const verdict = budget.crashed();
    assert.equal(verdict.loop, false, `crash ${i}`);
    assert.ok(verdict.recent <= 4);
  }
  now += 60_000;
  assert.deepEqual(budget.crashed(), { recent: 1, loop: false, delayMs: 100 });
});

test('the backoff is capped at 5 s', () => {
  const now = 0;
  const budget = createCrashBudget(() => now, { crashes: 100, windowMs: 30_000 });
  let last = 0;
  for (let i = 0; i < 12; i++) last = budget.crashed().delayMs;
  assert.equal(last, 5_000);
});
