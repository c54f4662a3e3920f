import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCoalescingRunner } from '../src/coalescing-runner.js';

/** A task whose runs the test finishes by hand, recording what each run saw. */
function manualTask() {
  const runs: { finish: () => void; fail: (error: Error) => void; superseded: () => boolean }[] = [];
  const task = (superseded: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      runs.push({ finish: resolve, fail: reject, superseded });
    });
  return { runs, task };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('runs never overlap, and requests during a run coalesce into one more run that starts after them', async () => {
  const { runs, task } = manualTask();
  const runner = createCoalescingRunner(task);
  runner.request();
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.superseded(), false);
  runner.request();
  runner.request();
  runner.request();
  assert.equal(runs.length, 1, 'no second run while the first is running');
  assert.equal(runs[0]?.superseded(), true, 'the first run can tell it was superseded');
  runs[0]?.finish();
  await settle();
  assert.equal(runs.length, 2, 'exactly one more run for the three requests');
  assert.equal(runs[1]?.superseded(), false);
  runs[1]?.finish();
  await settle();
  assert.equal(runs.length, 2, 'nothing was requested during the second run');
  runner.request();
  assert.equal(runs.length, 3, 'idle again: a request runs at once');
});

test('a run that throws does not stop the runner', async () => {
  const { runs, task } = manualTask();
  const runner = createCoalescingRunner(task);
  runner.request();
  runner.request();
  runs[0]?.fail(new Error('boom'));
  await settle();
  assert.equal(runs.length, 2, 'the queued run still runs');
  runs[1]?.fail(new Error('boom again'));
  await settle();
  runner.request();
  assert.equal(runs.length, 3, 'and later requests too');
});

test('runAgain false drops the queued run (the process is stopping)', async () => {
  const { runs, task } = manualTask();
  let stopping = false;
  const runner = createCoalescingRunner(task, () => !stopping);
  runner.request();
  runner.request();
  stopping = true;
  runs[0]?.finish();
  await settle();
  assert.equal(runs.length, 1);
});
