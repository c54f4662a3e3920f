/**
 * One `/metrics` for a host of workers (docs/metrics.md, "Workers"). The primary collects each
 * worker's registry as JSON and merges them: counters and histograms are summed series by series
 * (same name, same labels, same `le`), gauges follow the metric's aggregator (prom-client's:
 * `sum` unless the metric says otherwise, e.g. `min` for the event loop's minimum delay), and
 * what only the primary knows (reloads, workers, restarts) comes from the primary's registry.
 *
 * A worker that exits takes its counts with it; summed, the host's counters would fall, which
 * Prometheus reads as a reset. So the last snapshot collected from each worker is kept, and when
 * the worker exits its counters and histograms are folded into a "retired" total that stays in
 * the sum: the host's counters never decrease (counts since the worker's last scrape are lost).
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { RELOAD_RESULTS, type ReloadResult } from '../observe/labels.js';
import type { MetricSnapshot } from './messages.js';

type Metric = MetricSnapshot[number];
type Value = Metric['values'][number];

/** Worker metrics replaced by the primary's own: a reload is decided once, by the primary. */
const PRIMARY_OWNED = new Set([
  'portcullis_config_reloads_total',
  'portcullis_config_last_reload_success_timestamp_seconds',
  'portcullis_config_last_reload_successful',
]);

/** Aggregators where the metric's own (`sum` by default) would say the wrong thing for a host. */
const HOST_AGGREGATOR: Readonly<Record<string, string>> = {
  portcullis_build_info: 'first',
};

const combine: Readonly<Record<string, ((values: readonly number[]) => number) | undefined>> = {
  sum: (v) => v.reduce((a, b) => a + b, 0),
  first: (v) => v[0] ?? 0,
  min: (v) => Math.min(...v),
  max: (v) => Math.max(...v),
  average: (v) => v.reduce((a, b) => a + b, 0) / v.length,
};

function seriesKey(value: Value): string {
  const labels = Object.entries(value.labels).sort(([a], [b]) => (a < b ? -1 : 1));
  return `${(value as { metricName?: string }).metricName ?? ''}\u0000${JSON.stringify(labels)}`;
}

/** Merges snapshots metric by metric, series by series; metrics aggregated by `omit` are dropped. */
export function mergeSnapshots(snapshots: readonly MetricSnapshot[]): MetricSnapshot {
  const byName = new Map<string, Metric[]>();
  for (const snapshot of snapshots) {
    for (const metric of snapshot) {
      const list = byName.get(metric.name);
      if (list) list.push(metric);
      else byName.set(metric.name, [metric]);
    }
  }
  const out: MetricSnapshot = [];
  for (const [name, metrics] of byName) {
    const first = metrics[0];
    if (!first) continue;
    // A snapshot crossed the IPC channel from a worker: prom-client's type says the aggregator is there, the
    // message is not checked against it.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- widened on purpose, see above
    const aggregator = HOST_AGGREGATOR[name] ?? (first.aggregator as string | undefined) ?? 'sum';
    const fn = combine[aggregator];
    if (fn === undefined) continue; // 'omit' (process start time: one per process)
    const series = new Map<string, { value: Value; values: number[] }>();
    for (const metric of metrics) {
      for (const value of metric.values) {
        const key = seriesKey(value);
        const entry = series.get(key);
        if (entry) entry.values.push(value.value);
        else series.set(key, { value, values: [value.value] });
      }
    }
    const values = [...series.values()].map(({ value, values: all }) => ({ ...value, value: fn(all) }));
    out.push({ ...first, values });
  }
  return out;
}

/** The counters and histograms of a snapshot: what stays in the host's totals after a worker exits. */
export function cumulativeOnly(snapshot: MetricSnapshot): MetricSnapshot {
  return snapshot.filter((m) => (m.type as unknown as string) === 'counter' || (m.type as unknown as string) === 'histogram');
}

/** A registry that renders a merged snapshot (text or OpenMetrics, via the metrics handler). */
export function registryOf(snapshot: MetricSnapshot): Registry {
  const registry = new Registry();
  for (const metric of snapshot) {
    registry.registerMetric({
      name: metric.name,
      help: metric.help,
      type: metric.type,
      aggregator: metric.aggregator,
      get: () => Promise.resolve(metric),
    } as never);
  }
  return registry;
}

export interface HostMetrics {
  /** The merged host view, from the live workers' snapshots. */
  merge(live: readonly MetricSnapshot[]): Promise<MetricSnapshot>;
  /** The last snapshot of a worker that exited: its counters stay in the totals. */
  retire(last: MetricSnapshot | undefined): void;
  recordReload(result: ReloadResult): void;
  workerRestarted(): void;
}

/**
 * `workers`: how many serve now; `primaryLinesDropped`: the primary's own dropped log lines,
 * added to the workers' in `portcullis_log_lines_dropped_total`.
 */
export function createHostMetrics(workers: () => number, primaryLinesDropped: () => number = () => 0): HostMetrics {
  const registry = new Registry();
  const registers = [registry];
  const reloads = new Counter({
    name: 'portcullis_config_reloads_total',
    help: 'Configuration reloads (SIGHUP) by result (success, failure).',
    labelNames: ['result'] as const,
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'portcullis_config_last_reload_success_timestamp_seconds',
    help: 'Unix time of the last successful configuration load (startup or reload), in seconds.',
    registers,
  });
  const lastSuccessful = new Gauge({
    name: 'portcullis_config_last_reload_successful',
    help: 'Whether the last configuration reload succeeded (1) or was refused (0); 1 at startup.',
    registers,
  });
  new Gauge({
    name: 'portcullis_workers',
    help: 'Worker processes serving the listeners (started and connected to the primary).',
    registers,
    collect() {
      this.set(workers());
    },
  });
  const restarts = new Counter({
    name: 'portcullis_worker_restarts_total',
    help: 'Workers restarted by the primary after they exited unexpectedly.',
    registers,
  });
  let primaryDroppedCounted = 0;
  new Counter({
    name: 'portcullis_log_lines_dropped_total',
    help: 'Log lines (access and event lines) dropped because the reader of stdout did not keep up; see docs/logging.md.',
    registers,
    collect() {
      const total = primaryLinesDropped();
      if (total > primaryDroppedCounted) {
        this.inc(total - primaryDroppedCounted);
        primaryDroppedCounted = total;
      }
    },
  });
  for (const result of RELOAD_RESULTS) reloads.labels(result).inc(0);
  lastSuccess.set(Date.now() / 1000);
  lastSuccessful.set(1);
  let retired: MetricSnapshot = [];

  return {
    async merge(live) {
      const fromWorkers = [...live, retired].map((s) => s.filter((m) => !PRIMARY_OWNED.has(m.name)));
      return mergeSnapshots([...fromWorkers, await registry.getMetricsAsJSON()]);
    },
    retire(last) {
      if (last) retired = mergeSnapshots([retired, cumulativeOnly(last)]);
    },
    recordReload(result) {
      reloads.labels(result).inc();
      lastSuccessful.set(result === 'success' ? 1 : 0);
      if (result === 'success') lastSuccess.set(Date.now() / 1000);
    },
    workerRestarted() {
      restarts.inc();
    },
  };
}
