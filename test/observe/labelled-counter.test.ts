import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { LabelledCounter } from '../../src/observe/labelled-counter.js';
import { renderOpenMetrics } from '../../src/observe/metrics-handler.js';

const NAME = 'portcullis_test_requests_total';
const HELP = 'Test requests, by route and status.';
const LABELS = ['route', 'status'] as const;
// Zero increments (a series present from the first scrape), repeats, fractional and large
// values, and label values that need escaping.
const INCREMENTS: readonly (readonly [string, string, number])[] = [
  ['beta', '200', 0],
  ['alpha', '200', 1],
  ['alpha', '404', 2.5],
  ['beta', '200', 1],
  ['gamma"\\\n', '503', 1],
  ['alpha', '200', 1e12],
  ...Array.from({ length: 300 }, (_, i) => [`r${i % 7}`, String(200 + (i % 3)), 1] as const),
];

function both(): { ours: Registry; reference: Registry; mine: LabelledCounter<'route' | 'status'> } {
  const reference = new Registry();
  const theirs = new Counter({ name: NAME, help: HELP, labelNames: LABELS, registers: [reference] });
  const ours = new Registry();
  const mine = new LabelledCounter(NAME, HELP, LABELS);
  ours.registerMetric(mine as never);
  const children = new Map<string, { inc(value?: number): void }>();
  mine.labels('never-incremented', '200');
  for (const [route, status, value] of INCREMENTS) {
    theirs.labels(route, status).inc(value);
    const key = `${route}\u0000${status}`;
    let child = children.get(key);
    if (child === undefined) {
      child = mine.labels(route, status);
      children.set(key, child);
    }
    child.inc(value);
  }
  return { ours, reference, mine };
}

test("the labelled counter renders exactly what prom-client's Counter renders for the same increments", async () => {
  const { ours, reference } = both();
  const text = await ours.metrics();
  assert.equal(text, await reference.metrics());
  assert.ok(text.includes(`${NAME}{route="beta",status="200"} 1\n`), 'an inc(0) series is there, in first-increment order');
  assert.ok(text.includes(`${NAME}{route="alpha",status="200"} 1000000000001\n`));
  assert.ok(!text.includes('never-incremented'), 'a series appears at its first increment only');
  assert.equal(await renderOpenMetrics(ours), await renderOpenMetrics(reference), 'OpenMetrics too (the _total suffix moves)');
  assert.equal(await ours.metrics(), text, 'an OpenMetrics rendering leaves the text one unchanged');
  assert.deepEqual(await ours.getMetricsAsJSON(), await reference.getMetricsAsJSON(), 'and the JSON view');
  assert.equal(
    JSON.stringify(await ours.getMetricsAsJSON()),
    JSON.stringify(await reference.getMetricsAsJSON()),
    'serialised too (key order)',
  );
});

test('children bound before a reset count into fresh series after it', async () => {
  const { ours, mine } = both();
  const child = mine.labels('alpha', '200');
  ours.resetMetrics();
  assert.ok(!(await ours.metrics()).includes('route='));
  child.inc();
  mine.labels('alpha', '200').inc(2);
  assert.ok((await ours.metrics()).includes(`${NAME}{route="alpha",status="200"} 3\n`));
});

test('a counter only goes up, by finite amounts, with one value per label name', () => {
  const child = new LabelledCounter(NAME, HELP, LABELS).labels('a', '200');
  assert.throws(() => child.inc(-1), /cannot add -1/);
  assert.throws(() => child.inc(Number.NaN), /cannot add NaN/);
  assert.throws(() => child.inc(Number.POSITIVE_INFINITY), /cannot add Infinity/);
  assert.throws(() => new LabelledCounter(NAME, HELP, LABELS).labels('a'), /1 label values for 2 label names/);
});
