/**
 * bench/tail.mjs charges each request at or above its run's p99 to what overlapped it in the
 * process that served it (bench/lib/tail-attribution.mjs). Synthetic runs: one slow request
 * among 99 fast ones, against hand-made events.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/repo.js';

type Event = { t: string; s: number; d: number; [k: string]: unknown };
interface Attribution {
  p99: number;
  slow: number;
  counts: Record<string, number>;
  totals: Record<string, { n: number; ms: number; maxMs: number }>;
}
interface AttributionModule {
  attribute(requests: [number, number][], events: Event[]): Attribution;
  CAUSES: string[];
}

async function load(): Promise<AttributionModule> {
  return (await import(pathToFileURL(join(repoRoot(), 'bench/lib/tail-attribution.mjs')).href)) as AttributionModule;
}

/** 99 requests of ~0.3 ms every 0.5 ms from t=1000, and one of 5 ms due at t=1050: the p99. */
function run(): [number, number][] {
  const requests: [number, number][] = [];
  for (let i = 0; i < 99; i++) requests.push([1000 + i * 0.5, 0.3 + i * 0.001]);
  requests.push([1050, 5]);
  return requests;
}

const slowCause = async (events: Event[]): Promise<string> => {
  const { attribute } = await load();
  const a = attribute(run(), events);
  const named = Object.entries(a.counts).filter(([, n]) => n > 0);
  assert.equal(a.p99, 5, 'the p99 of the run is the slow request');
  assert.equal(named.length, 1, `one cause: ${JSON.stringify(a.counts)}`);
  return (named[0] as [string, number])[0];
};

test('a scavenge during the slow request is its cause; a mark-compact is told apart', async () => {
  assert.equal(await slowCause([{ t: 'gc', s: 1051, d: 2, k: 1 }]), 'gc-minor');
  assert.equal(await slowCause([{ t: 'gc', s: 1051, d: 2, k: 4 }]), 'gc-major');
});

test('an event before or after the request, or overlapping it by less than 0.2 ms, is not its cause', async () => {
  assert.equal(
    await slowCause([
      { t: 'gc', s: 1040, d: 2, k: 1 },
      { t: 'gc', s: 1056, d: 2, k: 1 },
    ]),
    'none',
  );
  assert.equal(await slowCause([{ t: 'gc', s: 1054.9, d: 2, k: 1 }]), 'none');
});

test('of several overlapping events the longest overlap wins', async () => {
  const events = [
    { t: 'sqlite', s: 1050.5, d: 0.5, n: 2, q: 'SELECT seq' },
    { t: 'stall', s: 1051, d: 3, ran: 0.2, waited: 2.8 },
  ];
  assert.equal(await slowCause(events), 'stall-waited', 'the thread waited for a CPU for most of the stall');
  assert.equal(await slowCause([{ t: 'write', s: 1051, d: 0.6, b: 32768 }]), 'log-write');
});

test('GC inside a stall the thread spent running is named instead of the stall when it covers half of it', async () => {
  const stall = { t: 'stall', s: 1051, d: 3, ran: 3, waited: 0 };
  assert.equal(await slowCause([stall, { t: 'gc', s: 1051.5, d: 2, k: 1 }]), 'gc-minor');
  assert.equal(await slowCause([stall, { t: 'gc', s: 1051.5, d: 0.5, k: 1 }]), 'stall-ran', 'a short GC does not explain a 3 ms stall');
  assert.equal(await slowCause([{ t: 'stall', s: 1051, d: 3, ran: 0.1, waited: 0.1 }]), 'stall-other', 'neither ran nor waited: blocked');
});

test('only requests at or above the p99 are counted, and the totals cover the run', async () => {
  const { attribute, CAUSES } = await load();
  const a = attribute(run(), [
    { t: 'gc', s: 1001, d: 1, k: 1 },
    { t: 'gc', s: 1051, d: 2, k: 1 },
    { t: 'gc', s: 5000, d: 9, k: 1 },
  ]);
  assert.equal(a.slow, 1, 'the slow request only');
  assert.equal(a.counts['gc-minor'], 1);
  assert.deepEqual(Object.keys(a.counts), CAUSES);
  assert.deepEqual(a.totals['gc-minor'], { n: 2, ms: 3, maxMs: 2 }, 'the event after the run is left out');
});
