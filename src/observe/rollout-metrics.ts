/**
 * Metrics of the rollout controls (src/rollout/): shadow mode and deprecations. Registered on the
 * instance's registry next to the others (metrics.ts), kept in their own module. Labels are route
 * names (from the configuration), error codes (the shadowed ones of shadow.ts) and fixed sets:
 * never a credential id.
 */
import { Gauge, type Registry } from 'prom-client';
import type { RoutePolicy } from '../config/types.js';
import { DEPRECATION_KINDS, type DeprecationKind } from '../rollout/deprecation.js';
import { LabelledCounter } from './labelled-counter.js';

/** `phase` of portcullis_deprecated_credential_requests_total: before the sunset (served, announced) or from it on (refused). */
export const DEPRECATION_PHASES = ['announced', 'sunset'] as const;
export type DeprecationPhase = (typeof DEPRECATION_PHASES)[number];

export interface RolloutMetrics {
  /** A request on a shadow route would have been refused with `code`. */
  shadowRefusal(route: string, code: string): void;
  /** A request used a deprecated credential. */
  deprecatedRequest(route: string, kind: DeprecationKind, phase: DeprecationPhase): void;
  /** The routes of the running configuration (start and every reload). */
  setRoutes(routes: readonly RoutePolicy[]): void;
}

export function createRolloutMetrics(registry: Registry): RolloutMetrics {
  const shadowRefusals = new LabelledCounter(
    'portcullis_shadow_refusals_total',
    "Requests on routes in shadow mode that the route's policy would have refused, by route and would-be error code; they were forwarded.",
    ['route', 'code'] as const,
  );
  registry.registerMetric(shadowRefusals as never);
  const deprecated = new LabelledCounter(
    'portcullis_deprecated_credential_requests_total',
    'Requests with a deprecated credential, by route, kind (what was deprecated: token, client, scheme on the route, issuer) and phase (announced: before the sunset, served with Deprecation and Sunset headers; sunset: refused, or only recorded in shadow mode).',
    ['route', 'kind', 'phase'] as const,
  );
  registry.registerMetric(deprecated as never);
  let routes: readonly RoutePolicy[] = [];
  new Gauge({
    name: 'portcullis_route_mode',
    help: 'Always 1, one series per configured route, labelled with its mode (enforce, shadow). Updated on start and on every reload.',
    labelNames: ['route', 'mode'] as const,
    // Every worker runs the same configuration: the host value is 1, not the number of workers.
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      for (const route of routes) this.labels(route.name, route.mode).set(1);
    },
  });
  return {
    shadowRefusal(route, code) {
      shadowRefusals.labels(route, code).inc();
    },
    deprecatedRequest(route, kind, phase) {
      deprecated.labels(route, kind, phase).inc();
    },
    setRoutes(next) {
      routes = next;
      // A route's deprecation series exist from the first scrape, so rate() sees their first use.
      for (const route of next) {
        for (const scheme of ['bearer', 'basic'] as const) {
          if (route.deprecated[scheme] !== undefined)
            for (const phase of DEPRECATION_PHASES) deprecated.labels(route.name, 'scheme', phase).inc(0);
        }
      }
    },
  };
}

export { DEPRECATION_KINDS };
