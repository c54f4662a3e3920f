import assert from 'node:assert/strict';
import test from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createHostMetrics, mergeSnapshots, registryOf } from '../../src/cluster/host-metrics.js';
import type { MetricSnapshot } from '../../src/cluster/messages.js';

/** One worker's registry with a counter, a histogram and gauges, filled with `n` requests. */
async function worker(n: number, inFlight: number, version = '0.1.0'): Promise<MetricSnapshot> {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({ name: 'portcullis_requests_total', help: 'r', labelNames: ['route', 'status'], registers });
  const duration = new Histogram({
    name: 'portcullis_request_duration_seconds',
    help: 'd',
    labelNames: ['route'],
    buckets: [0.01, 0.1],
    registers,
  });
  new Gauge({ name: 'portcullis_requests_in_flight', help: 'f', registers }).set(inFlight);
  new Gauge({ name: 'portcullis_build_info', help: 'b', labelNames: ['version'], registers }).labels(version).set(1);
  new Gauge({ name: 'process_start_time_seconds', help: 's', aggregator: 'omit', registers }).set(123);
  new Gauge({ name: 'nodejs_eventloop_lag_max_seconds', help: 'l', aggregator: 'max', registers }).set(inFlight / 10);
  new Counter({ name: 'portcullis_config_reloads_total', help: 'c', labelNames: ['result'], registers }).labels('success').inc(7);
  for (let i = 0; i < n; i++) {
    requests.labels('a', '200').inc();
    duration.labels('a').observe(i % 2 === 0 ? 0.005 : 0.05);
  }
  requests.labels('b', '404').inc(n);
  return registry.getMetricsAsJSON();
}

function render(snapshot: MetricSnapshot): Promise<string> {
  return registryOf(snapshot).metrics();
}

test('counters and histogram buckets are summed series by series; gauges follow their aggregator', async () => {
  const text = await render(mergeSnapshots([await worker(4, 1), await worker(6, 2)]));
  assert.match(text, /^portcullis_requests_total\{route="a",status="200"\} 10$/m);
  assert.match(text, /^portcullis_requests_total\{route="b",status="404"\} 10$/m);
  assert.match(text, /^portcullis_request_duration_seconds_bucket\{le="0.01",route="a"\} 5$/m);
  assert.match(text, /^portcullis_request_duration_seconds_bucket\{le="0.1",route="a"\} 10$/m);
  assert.match(text, /^portcullis_request_duration_seconds_bucket\{le="\+Inf",route="a"\} 10$/m);
  assert.match(text, /^portcullis_request_duration_seconds_count\{route="a"\} 10$/m);
  assert.match(text, /^portcullis_request_duration_seconds_sum\{route="a"\} 0\.275$/m);
  assert.match(text, /^portcullis_requests_in_flight 3$/m, 'summed');
  assert.match(text, /^portcullis_build_info\{version="0.1.0"\} 1$/m, 'one build, not one per worker');
  assert.match(text, /^nodejs_eventloop_lag_max_seconds 0.2$/m, 'max of the workers');
  assert.doesNotMatch(text, /process_start_time_seconds/, 'one per process: omitted');
  assert.equal(text.split('\n').filter((l) => l.startsWith('# TYPE portcullis_requests_total counter')).length, 1);
});

test('the host view: reloads from the primary only; a worker that exits keeps its counters in the totals, not its gauges', async () => {
  let live = 2;
  const host = createHostMetrics(() => live);
  const one = await worker(4, 1);
  const two = await worker(6, 2);
  host.recordReload('failure');
  let text = await render(await host.merge([one, two]));
  assert.match(text, /^portcullis_config_reloads_total\{result="success"\} 0$/m, "the workers' own reload counts are not used");
  assert.match(text, /^portcullis_config_reloads_total\{result="failure"\} 1$/m);
  assert.match(text, /^portcullis_workers 2$/m);

  // Worker two dies; its last snapshot is retired, a fresh worker starts from zero.
  host.retire(two);
  host.workerRestarted();
  live = 2;
  text = await render(await host.merge([one, await worker(1, 0)]));
  assert.match(text, /^portcullis_requests_total\{route="a",status="200"\} 11$/m, '4 + 6 retired + 1');
  assert.match(text, /^portcullis_request_duration_seconds_count\{route="a"\} 11$/m);
  assert.match(text, /^portcullis_requests_in_flight 1$/m, 'a dead worker has nothing in flight');
  assert.match(text, /^portcullis_worker_restarts_total 1$/m);
});

test('the merged registry renders OpenMetrics through the metrics handler path', async () => {
  const registry = registryOf(mergeSnapshots([await worker(1, 0), await worker(2, 0)]));
  const { renderOpenMetrics } = await import('../../src/observe/metrics-handler.js');
  const text = await renderOpenMetrics(registry);
  assert.match(text, /^# TYPE portcullis_requests counter$/m);
  assert.match(text, /^portcullis_requests_total\{route="a",status="200"\} 3$/m);
  assert.match(text, /# EOF\n$/);
});

test('docs/metrics.md lists exactly the metrics only a host with workers has, with their types', async () => {
  const { readFileSync } = await import('node:fs');
  const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
  const rows = doc.split('\n').filter((l) => /^\| `portcullis_[a-z_]+` \|/.test(l));
  const header = doc.indexOf('| Host metric | Type |');
  assert.ok(header !== -1, 'the host metrics table exists');
  const table = doc.slice(header).split('\n\n')[0]?.split('\n').slice(2) ?? [];
  const documented = table
    .map((l) => l.split('|').map((c) => c.trim()))
    .map(([, name = '', type = '']) => `${name.replace(/`/g, '')} ${type}`);
  const host = createHostMetrics(() => 0);
  const own = (await host.merge([])).filter(
    (m) =>
      ![
        'portcullis_config_reloads_total',
        'portcullis_config_last_reload_success_timestamp_seconds',
        'portcullis_config_last_reload_successful',
        // Every process has it; the primary adds its own dropped lines to the workers'.
        'portcullis_log_lines_dropped_total',
      ].includes(m.name),
  );
  assert.deepEqual(documented.sort(), own.map((m) => `${m.name} ${String(m.type)}`).sort());
  assert.ok(rows.length > documented.length);
});

test("the primary's own dropped log lines are added to the workers' in portcullis_log_lines_dropped_total", async () => {
  const workerSnapshot = async (dropped: number): Promise<MetricSnapshot> => {
    const registry = new Registry();
    new Counter({ name: 'portcullis_log_lines_dropped_total', help: 'd', registers: [registry] }).inc(dropped);
    return registry.getMetricsAsJSON();
  };
  let primaryDropped = 0;
  const host = createHostMetrics(
    () => 2,
    () => primaryDropped,
  );
  assert.match(
    await render(await host.merge([await workerSnapshot(3), await workerSnapshot(4)])),
    /^portcullis_log_lines_dropped_total 7$/m,
  );
  primaryDropped = 5;
  assert.match(
    await render(await host.merge([await workerSnapshot(3), await workerSnapshot(4)])),
    /^portcullis_log_lines_dropped_total 12$/m,
  );
});
