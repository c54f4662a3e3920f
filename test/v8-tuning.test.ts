/**
 * The V8 settings take effect in a real process: with pretenuring off, V8 no longer processes
 * allocation-site feedback at scavenges, so `--trace-pretenuring-statistics` prints nothing after
 * the settings are applied; a process started with the flag keeps it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import { gcThreadFlags, tuneV8ForRequests } from '../src/v8-tuning.js';

const tuning = fileURLToPath(new URL('../src/v8-tuning.js', import.meta.url));

/** Runs a child that applies the settings, prints a marker, then makes scavenges happen. */
function pretenuringLinesAfterTuning(nodeFlags: string[]): { applied: boolean; lines: number } {
  const script = `
    const { tuneV8ForRequests } = await import(${JSON.stringify(tuning)});
    const applied = tuneV8ForRequests();
    console.log('MARK ' + applied);
    // Literals kept a little while, so the scavenges find allocation mementos to count.
    const make = (i) => ({ id: i, next: null, tag: 'x' });
    let keep = [];
    for (let i = 0; i < 1200000; i++) { keep.push(make(i)); if (keep.length > 20000) keep = []; }
    console.log('DONE ' + keep.length);`;
  const run = spawnSync(process.execPath, ['--trace-pretenuring-statistics', ...nodeFlags, '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout.split('\n');
  const mark = out.findIndex((line) => line.startsWith('MARK '));
  assert.ok(mark >= 0 && out.some((line) => line.startsWith('DONE ')), run.stdout.slice(0, 500));
  return { applied: out[mark] === 'MARK true', lines: out.slice(mark + 1).filter((line) => line.includes('pretenuring:')).length };
}

test("pretenuring is off once the gateway's settings are applied", () => {
  const tuned = pretenuringLinesAfterTuning([]);
  assert.equal(tuned.applied, true);
  assert.equal(tuned.lines, 0, 'no pretenuring feedback is processed');
});

test('a process started with either form of the flag keeps it', () => {
  const kept = pretenuringLinesAfterTuning(['--allocation-site-pretenuring']);
  assert.equal(kept.applied, false);
  assert.ok(kept.lines > 0, 'pretenuring feedback is still processed (and the check above can fail)');
  assert.equal(tuneV8ForRequests(['--no-allocation-site-pretenuring']), false);
  assert.equal(tuneV8ForRequests(['--allocation_site_pretenuring']), false);
});

test('GC runs on the main thread only where the processes have no CPU to spare', () => {
  assert.deepEqual(gcThreadFlags(1, 1, []), ['--single-threaded-gc']);
  assert.deepEqual(gcThreadFlags(1, 2, []), []);
  assert.deepEqual(gcThreadFlags(2, 2, []), ['--single-threaded-gc']);
  assert.deepEqual(gcThreadFlags(4, 2, []), ['--single-threaded-gc']);
  assert.deepEqual(gcThreadFlags(2, 4, []), []);
  // Other flags do not count as a choice.
  assert.deepEqual(gcThreadFlags(1, 1, ['--max-semi-space-size=16', '--single-threaded-gc-extra']), ['--single-threaded-gc']);
});

test("an operator's choice of GC threads is kept, in any spelling V8 reads", () => {
  for (const chosen of [
    '--single-threaded-gc',
    '--no-single-threaded-gc',
    '--nosingle-threaded-gc',
    '--single_threaded_gc',
    '--no-single_threaded_gc',
    '--no_single_threaded_gc',
    '-single-threaded-gc',
    '-no-single-threaded-gc',
    '--single-threaded',
    '--no-single-threaded',
    '--no_single_threaded',
    '--v8-pool-size=2',
    '--v8_pool_size=0',
  ]) {
    assert.deepEqual(gcThreadFlags(1, 1, [chosen], undefined), [], chosen);
  }
  // Node takes --v8-pool-size from NODE_OPTIONS too (the GC flags it refuses there).
  assert.deepEqual(gcThreadFlags(1, 1, [], '--max-old-space-size=512 --v8-pool-size=4'), []);
  assert.deepEqual(gcThreadFlags(1, 1, [], '--max-old-space-size=512'), ['--single-threaded-gc']);
});
