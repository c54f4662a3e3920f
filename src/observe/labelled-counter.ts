/**
 * A counter with labels whose children are bound once, registered in the instance's prom-client
 * Registry and rendered by it like any other metric.
 *
 * Why not prom-client's Counter: a child from its `labels()` rebuilds the label object's hash
 * string and re-validates the labels on every `inc()`, making garbage each time, and the request
 * path increments three labelled counters per request (docs/decisions/0004-engine-floors.md).
 * Here a child holds its series and an increment is one addition. The exposition is the same: one
 * sample per label set, labels in `labelNames` order, series in order of their first increment (an
 * `inc(0)` creates one).
 */

export interface CounterChild {
  /** Adds `value` (default 1); a negative or non-finite value is a programming error. */
  inc(value?: number): void;
}

interface Series {
  readonly labels: Readonly<Record<string, string>>;
  value: number;
}

/** One exposed sample, in the shape prom-client's Registry renders. */
interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** Keys in prom-client's order (`help` first), so the JSON view serialises identically. */
interface Exposition {
  readonly help: string;
  readonly name: string;
  readonly type: 'counter';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

/** What a counter shares with its children: its series, and a generation that reset() bumps. */
interface CounterState {
  readonly series: Map<string, Series>;
  generation: number;
}

export class LabelledCounter<Label extends string> {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  private readonly state: CounterState = { series: new Map(), generation: 0 };

  constructor(
    // Not readonly: prom-client's Registry may rename a counter it renders as OpenMetrics.
    public name: string,
    readonly help: string,
    /** Label names, as prom-client metrics expose them (docs/metrics.md is checked against them). */
    readonly labelNames: readonly Label[],
  ) {}

  /** The child of one label set, values in `labelNames` order (as prom-client's `labels(...)`). */
  labels(...values: string[]): CounterChild {
    if (values.length !== this.labelNames.length) {
      throw new TypeError(`${this.name}: ${values.length} label values for ${this.labelNames.length} label names`);
    }
    const labels: Record<string, string> = {};
    this.labelNames.forEach((name, i) => {
      labels[name] = values[i] as string;
    });
    return new BoundCounter(this, this.state, JSON.stringify(values), labels);
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.state.series.clear();
    this.state.generation++;
  }

  get(): Promise<Exposition> {
    const values: Sample[] = [];
    for (const series of this.state.series.values()) values.push({ value: series.value, labels: series.labels });
    return Promise.resolve({ help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator });
  }
}

/**
 * A child: one object holding its series, rather than a closure and its context. With 10,000
 * routes each request increments the counter of a different route, and every object on that
 * path is a likely cache miss (the many-routes scenario of bench/README.md).
 */
class BoundCounter implements CounterChild {
  private series: Series | undefined;
  private generation = -1;

  constructor(
    private readonly counter: LabelledCounter<string>,
    private readonly state: CounterState,
    private readonly key: string,
    private readonly labels: Readonly<Record<string, string>>,
  ) {}

  inc(value = 1): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new TypeError(`${this.counter.name}: cannot add ${String(value)} to a counter`);
    let series = this.series;
    if (series === undefined || this.generation !== this.state.generation) {
      series = this.state.series.get(this.key);
      if (series === undefined) {
        series = { labels: this.labels, value: 0 };
        this.state.series.set(this.key, series);
      }
      this.series = series;
      this.generation = this.state.generation;
    }
    series.value += value;
  }
}
