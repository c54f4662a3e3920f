/**
 * The label children of each route, resolved once per route (and once per method × status or
 * scheme × code the route actually sees), so the request path never builds a label object.
 *
 * Routes are keyed by their configured name; a route removed by a reload keeps its series until
 * the process restarts (counters must not vanish under a running `rate()`), so the number of
 * series is bounded by the route names the process has been configured with.
 */
import type { UpstreamErrorKind } from '../forward/upstream-errors.js';
import { METHOD_LABELS, NO_ROUTE, OWN_ENDPOINT_ROUTES, UPSTREAM_ERROR_KINDS, type AuthOutcomeCode, type AuthScheme } from './labels.js';
import type { CounterChild } from './labelled-counter.js';
import type { GatewayMetrics } from './metrics.js';
import type { RouteHistogramChild } from './route-histogram.js';

export interface RouteSeries {
  readonly name: string;
  readonly requestDuration: RouteHistogramChild;
  readonly upstreamDuration: RouteHistogramChild;
  readonly upstreamErrors: Readonly<Record<UpstreamErrorKind, CounterChild>>;
  /** `portcullis_requests_total` child for a METHOD_LABELS index and a status code. */
  request(method: number, status: number): CounterChild;
  /** `portcullis_auth_decisions_total` child. */
  authDecision(scheme: AuthScheme, code: AuthOutcomeCode): CounterChild;
}

function createRouteSeries(metrics: GatewayMetrics, name: string, zeroErrors: boolean): RouteSeries {
  const requests = new Map<number, CounterChild>();
  let lastKey = -1;
  let lastChild: CounterChild | undefined;
  const decisions: Record<AuthScheme, Map<AuthOutcomeCode, CounterChild>> = { bearer: new Map(), basic: new Map(), none: new Map() };
  const upstreamErrors = {} as Record<UpstreamErrorKind, CounterChild>;
  for (const kind of UPSTREAM_ERROR_KINDS) {
    const child = metrics.upstreamErrors.labels(name, kind);
    if (zeroErrors) child.inc(0); // present from the first scrape, so error-ratio alerts see a 0
    upstreamErrors[kind] = child;
  }
  return {
    name,
    requestDuration: metrics.requestDuration.labels(name),
    upstreamDuration: metrics.upstreamDuration.labels(name),
    upstreamErrors,
    request(method, status) {
      const key = method * 1000 + status;
      // Most requests of a route end like the one before: skip the map (one cache miss fewer
      // per request when requests spread over many routes).
      if (key === lastKey && lastChild !== undefined) return lastChild;
      let child = requests.get(key);
      if (child === undefined) {
        child = metrics.requests.labels(name, METHOD_LABELS[method] ?? 'OTHER', String(status));
        requests.set(key, child);
      }
      lastKey = key;
      lastChild = child;
      return child;
    },
    authDecision(scheme, code) {
      const byCode = decisions[scheme];
      let child = byCode.get(code);
      if (child === undefined) {
        child = metrics.authDecisions.labels(name, scheme, code === 'ok' ? 'success' : 'failure', code);
        byCode.set(code, child);
      }
      return child;
    },
  };
}

/** Route name → its series; `none` for requests without a route; `oauth:…` for the OAuth endpoints. */
export interface RouteSeriesTable {
  /** Series of a configured route name, or of `none` for undefined. */
  get(routeName: string | undefined): RouteSeries;
  /** Whether a name is one this process has been configured with. */
  has(routeName: string): boolean;
  /** Resolves the series of every route of a (re)loaded configuration. */
  addRoutes(names: Iterable<string>): void;
}

export function createRouteSeriesTable(metrics: GatewayMetrics): RouteSeriesTable {
  const table = new Map<string, RouteSeries>();
  const none = createRouteSeries(metrics, NO_ROUTE, false);
  // Portcullis' own endpoints never go upstream: no zero upstream-error series for them.
  for (const name of OWN_ENDPOINT_ROUTES) table.set(name, createRouteSeries(metrics, name, false));
  const add = (name: string): RouteSeries => {
    let series = table.get(name);
    if (series === undefined) {
      series = createRouteSeries(metrics, name, true);
      table.set(name, series);
    }
    return series;
  };
  return {
    // A route object only ever comes from a compiled configuration, so an unknown name is one
    // the gateway was reloaded with before updateRoutes() ran: still a configured name.
    get: (routeName) => (routeName === undefined ? none : (table.get(routeName) ?? add(routeName))),
    has: (routeName) => table.has(routeName),
    addRoutes(names) {
      for (const name of names) add(name);
    },
  };
}
