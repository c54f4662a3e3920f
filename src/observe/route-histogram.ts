/**
 * A latency histogram with one label, `route`, observed on every proxied request, registered in
 * the instance's prom-client Registry and rendered by it like any other metric.
 *
 * Why not prom-client's Histogram: its observe() builds a label object and a hash string and
 * looks the series up in a map on every call (with many routes, several cache misses per
 * request; docs/decisions/0003-request-path-costs.md). Here each route's child holds its own
 * counts, bound once. The exposition is the same: `_bucket{le,route}` (cumulative), `_sum`,
 * `_count`, and a route's series appears at its first observation, as with prom-client.
 */

/** What route-series.ts keeps per route. */
export interface RouteHistogramChild {
  observe(seconds: number): void;
}

interface Series {
  readonly route: string;
  /** Non-cumulative count per upper bound; the +Inf bucket is `count`. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One exposed sample, in the shape prom-client's Registry renders. */
interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName: string;
  /** Always null on buckets and undefined on `_sum`/`_count`: prom-client's shape, exemplars off. */
  readonly exemplar: null | undefined;
  readonly sharedLabels?: Record<string, string>;
}

interface Exposition {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

/** What a histogram shares with its children: its series, and a generation that reset() bumps. */
interface HistogramState {
  readonly series: Map<string, Series>;
  generation: number;
}

export class RouteHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** Label names, as prom-client metrics expose them (docs/metrics.md is checked against them). */
  readonly labelNames: readonly string[] = ['route'];
  private readonly bounds: Float64Array;
  private readonly state: HistogramState = { series: new Map(), generation: 0 };

  constructor(
    readonly name: string,
    readonly help: string,
    upperBounds: readonly number[],
  ) {
    const sorted = [...upperBounds].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((bound, i) => !Number.isFinite(bound) || (i > 0 && bound === sorted[i - 1]))) {
      throw new TypeError(`${name}: buckets must be distinct finite numbers`);
    }
    this.bounds = Float64Array.from(sorted);
  }

  /** The child of one route; its series is created at its first observation. */
  labels(route: string): RouteHistogramChild {
    return new BoundHistogram(this.state, this.bounds, route);
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.state.series.clear();
    this.state.generation++;
  }

  /** What the Registry renders as text: the route as a shared label after `le`, as prom-client does. */
  getForPromString(): Promise<Exposition> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.state.series.values()) {
      const shared = { route: series.route };
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += series.buckets[i] as number;
        values.push({
          value: cumulative,
          labels: { le: this.bounds[i] as number },
          metricName: bucketName,
          exemplar: null,
          sharedLabels: shared,
        });
      }
      values.push({ value: series.count, labels: { le: '+Inf' }, metricName: bucketName, exemplar: null, sharedLabels: shared });
      values.push({ value: series.sum, labels: {}, metricName: `${this.name}_sum`, exemplar: undefined, sharedLabels: shared });
      values.push({ value: series.count, labels: {}, metricName: `${this.name}_count`, exemplar: undefined, sharedLabels: shared });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** The same samples with the route merged into each sample's labels (`registry.getMetricsAsJSON()`). */
  async get(): Promise<Exposition> {
    const exposition = await this.getForPromString();
    return {
      ...exposition,
      values: exposition.values.map(({ sharedLabels, ...sample }) => ({ ...sample, labels: { ...sample.labels, ...sharedLabels } })),
    };
  }
}

/** A route's child: one object holding its series, rather than a closure and its context (see LabelledCounter). */
class BoundHistogram implements RouteHistogramChild {
  private series: Series | undefined;
  private generation = -1;

  constructor(
    private readonly state: HistogramState,
    private readonly bounds: Float64Array,
    private readonly route: string,
  ) {}

  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) return;
    const bounds = this.bounds;
    let series = this.series;
    if (series === undefined || this.generation !== this.state.generation) {
      series = this.state.series.get(this.route);
      if (series === undefined) {
        series = { route: this.route, buckets: new Float64Array(bounds.length), sum: 0, count: 0 };
        this.state.series.set(this.route, series);
      }
      this.series = series;
      this.generation = this.state.generation;
    }
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    if (i < bounds.length) series.buckets[i] = (series.buckets[i] as number) + 1;
    series.sum += seconds;
    series.count++;
  }
}
