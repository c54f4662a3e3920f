/**
 * readForReload: the reading half of a SIGHUP reload, shared by the single process and the
 * workers' primary. What it returns, and what it refuses and logs, per outcome of the read.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigIssue } from '../../src/config/issues.js';
import { readForReload, type ReloadRefusal } from '../../src/config/reload-read.js';

type Result = { readonly ok: true; readonly n: number } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

function harness(state: { stopping?: boolean; superseded?: boolean } = {}) {
  const events: string[] = [];
  const refusals: ReloadRefusal[] = [];
  const step = {
    logger: { info: (fields: object) => events.push((fields as { event: string }).event) },
    stopping: () => state.stopping === true,
    superseded: () => state.superseded === true,
    refuse: (why: ReloadRefusal) => refusals.push(why),
  };
  return { step, events, refusals };
}

const issue: ConfigIssue = { file: 'gw.yaml', line: 3, column: 5, path: 'routes[0].upstream', message: 'must be https' };

test('an accepted file is returned, nothing refused', async () => {
  const { step, events, refusals } = harness();
  const next = await readForReload<Result & { ok: true }>(() => Promise.resolve({ ok: true, n: 7 }), step);
  assert.deepEqual(next, { ok: true, n: 7 });
  assert.deepEqual(events, ['config.reload_started']);
  assert.deepEqual(refusals, []);
});

test('a file with problems is refused with them, and nothing is returned', async () => {
  const { step, refusals } = harness();
  const read = (): Promise<Result> => Promise.resolve({ ok: false, issues: [issue] });
  assert.equal(await readForReload(read, step), undefined);
  assert.equal(refusals.length, 1);
  const [refusal] = refusals as [{ problems: string[] }];
  assert.equal(refusal.problems.length, 1);
  assert.match(refusal.problems[0] as string, /gw\.yaml:3:5/);
  assert.match(refusal.problems[0] as string, /must be https/);
});

test('a read that fails is refused with its message, unless the process is stopping', async () => {
  const failing = (): Promise<Result> => Promise.reject(new Error('EACCES: permission denied'));
  const running = harness();
  assert.equal(await readForReload(failing, running.step), undefined);
  assert.deepEqual(running.refusals, [{ problem: 'EACCES: permission denied' }]);

  const stopping = harness({ stopping: true });
  assert.equal(await readForReload(failing, stopping.step), undefined);
  assert.deepEqual(stopping.refusals, []);
});

test('a file read while stopping, or superseded by a newer SIGHUP, is dropped without a refusal', async () => {
  const bad = (): Promise<Result> => Promise.resolve({ ok: false, issues: [issue] });
  const stopping = harness({ stopping: true });
  assert.equal(await readForReload(bad, stopping.step), undefined);
  assert.deepEqual(stopping.refusals, []);

  const superseded = harness({ superseded: true });
  assert.equal(await readForReload(bad, superseded.step), undefined);
  assert.deepEqual(superseded.refusals, []);
  assert.deepEqual(superseded.events, ['config.reload_started', 'config.reload_superseded']);
});
