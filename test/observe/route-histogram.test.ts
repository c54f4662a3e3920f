import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { renderOpenMetrics } from '../../src/observe/metrics-handler.js';
import { LATENCY_BUCKETS } from '../../src/observe/metrics.js';
import { RouteHistogram } from '../../src/observe/route-histogram.js';

const NAME = 'portcullis_test_duration_seconds';
const HELP = 'Test durations, by route.';
// Bounds themselves (le is inclusive), between bounds, above the largest, zero, and a long tail.
const OBSERVED: readonly (readonly [string, number])[] = [
  ['alpha', 0.001],
  ['alpha', 0.0011],
  ['alpha', 0],
  ['beta', 60],
  ['beta', 61],
  ['alpha', 0.3],
  ['gamma"\\\n', 0.02],
  ...Array.from({ length: 500 }, (_, i) => ['beta', (i % 97) / 1000] as const),
];

function both(): { ours: Registry; reference: Registry; unobserved: string } {
  const reference = new Registry();
  const theirs = new Histogram({
    name: NAME,
    help: HELP,
    labelNames: ['route'] as const,
    buckets: [...LATENCY_BUCKETS],
    registers: [reference],
  });
  const ours = new Registry();
  const mine = new RouteHistogram(NAME, HELP, LATENCY_BUCKETS);
  ours.registerMetric(mine as never);
  const children = new Map<string, { observe(v: number): void }>();
  mine.labels('never-observed');
  for (const [route, value] of OBSERVED) {
    theirs.labels(route).observe(value);
    let child = children.get(route);
    if (child === undefined) {
      child = mine.labels(route);
      children.set(route, child);
    }
    child.observe(value);
  }
  return { ours, reference, unobserved: 'never-observed' };
}

test("the route histogram renders exactly what prom-client's Histogram renders for the same observations", async () => {
  const { ours, reference, unobserved } = both();
  const text = await ours.metrics();
  assert.equal(text, await reference.metrics());
  assert.ok(text.includes(`${NAME}_bucket{le="0.001",route="alpha"} 2`), 'le is inclusive, cumulative');
  assert.ok(text.includes(`${NAME}_bucket{le="+Inf",route="beta"} 502`));
  assert.ok(!text.includes(unobserved), 'a route appears at its first observation only');
  assert.equal(await renderOpenMetrics(ours), await renderOpenMetrics(reference), 'OpenMetrics too');
  assert.deepEqual(await ours.getMetricsAsJSON(), await reference.getMetricsAsJSON(), 'and the JSON view');
});

test('reset forgets every series, and children bound before it count into fresh ones; buckets must be distinct finite numbers', async () => {
  const { ours } = both();
  const histogram = ours.getSingleMetric(NAME) as unknown as RouteHistogram;
  const child = histogram.labels('alpha');
  ours.resetMetrics();
  assert.ok(!(await ours.metrics()).includes('_bucket'));
  child.observe(0.002);
  assert.ok((await ours.metrics()).includes(`${NAME}_count{route="alpha"} 1\n`));
  assert.throws(() => new RouteHistogram(NAME, HELP, [0.1, 0.1]), /distinct finite/);
  assert.throws(() => new RouteHistogram(NAME, HELP, []), /distinct finite/);
});
