import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '../../src/observe/metrics.js';
import { createRouteSeriesTable } from '../../src/observe/route-series.js';

/** `portcullis_requests_total` samples as `route method status value` lines, sorted. */
async function requestCounts(metrics: ReturnType<typeof createMetrics>): Promise<string[]> {
  const json = await metrics.registry.getMetricsAsJSON();
  const requests = json.find((m) => m.name === 'portcullis_requests_total');
  assert.ok(requests);
  return requests.values.map((v) => `${String(v.labels.route)} ${String(v.labels.method)} ${String(v.labels.status)} ${v.value}`).sort();
}

test('requests of one route count into the series of their own method and status, in any order', async () => {
  const metrics = createMetrics('test', { inFlight: () => 0, cacheSizes: () => undefined, feedAgeMs: () => undefined });
  const table = createRouteSeriesTable(metrics);
  table.addRoutes(['a', 'b']);
  // Runs of the same outcome, changes after one request, and two routes interleaved: a child
  // remembered from the previous request must never count a different outcome.
  const sequence: readonly [string, number, number][] = [
    ['a', 0, 200],
    ['a', 0, 200],
    ['a', 0, 404],
    ['a', 0, 200],
    ['a', 2, 200],
    ['b', 0, 200],
    ['a', 2, 201],
    ['a', 2, 201],
    ['b', 0, 503],
    ['a', 0, 200],
    ['b', 0, 200],
  ];
  for (const [route, method, status] of sequence) table.get(route).request(method, status).inc();
  assert.deepEqual(await requestCounts(metrics), [
    'a GET 200 4',
    'a GET 404 1',
    'a POST 200 1',
    'a POST 201 2',
    'b GET 200 2',
    'b GET 503 1',
  ]);
  // After a registry reset the same route children count into fresh series.
  metrics.registry.resetMetrics();
  table.get('a').request(0, 200).inc();
  table.get('a').request(0, 404).inc();
  table.get('a').request(0, 404).inc();
  assert.deepEqual(await requestCounts(metrics), ['a GET 200 1', 'a GET 404 2']);
});
