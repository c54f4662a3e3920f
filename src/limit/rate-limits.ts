/**
 * Rate limits per route (docs/configuration.md `rateLimit`), by GCRA — the generic cell rate
 * algorithm, a token bucket that keeps one number per key: the theoretical arrival time (TAT) of
 * the next request at the sustained rate. A request is admitted while TAT stays within `burst`
 * emission intervals of now. The state is a mutable holder per route, under the key in a
 * bounded LRU: an admitted request costs a cache lookup and a map lookup, on strings whose hash
 * V8 keeps (no key is built), and no allocation (docs/decisions/0024 has the figures).
 *
 * Keys: the credential on `auth: required` routes — an API token by its id, an OAuth client and
 * every access token it was issued by the client id (minting tokens does not buy requests), an
 * external JWT by issuer and subject — and the client address (client-address.ts) on
 * `auth: off` routes. A per-credential override (`rateLimits.credentials`, by token or client
 * id) replaces the route's limit on every route that has one.
 *
 * Per process: with `workers: N` each worker admits `requests / N` with a bucket of
 * ceil(burst / N), so an instance never admits more than its limit (plus at most N − 1 of
 * burst), however the kernel spreads a client's connections; a client on one connection gets
 * 1/N of it. Several instances each admit the whole limit (docs/configuration.md).
 */
import type { IncomingMessage } from 'node:http';
import type { LRUCache } from 'lru-cache';
import type { GatewayConfig, RateLimitPolicy, RoutePolicy, TrustedProxies } from '../config/types.js';
import { createBoundedLru } from '../credentials/bounded-lru.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import { clientKeyOf } from './client-address.js';

/** What a limit is counted under: a route, or one of Portcullis' own endpoints (`oauth:token`). */
export type LimitedRoute = Pick<RoutePolicy, 'name' | 'rateLimit'>;

export interface RateLimits {
  /** Counts the request against its bucket; throws 429 rate.limited when the bucket is empty. */
  admit(route: LimitedRoute, principal: Principal | undefined, req: IncomingMessage, trusted: TrustedProxies): void;
  /** Keys (credentials, client addresses) holding buckets. */
  size(): number;
  /** Applies a reloaded `rateLimits` (overrides, bound); route limits are read per request. */
  reload(config: GatewayConfig): void;
}

export interface RateLimitOptions {
  /** Workers serving this instance (`workers: N`). Default 1. */
  readonly share?: number;
  /** Called once per refused request, with its route name (metrics). */
  readonly onLimited?: (routeName: string) => void;
  /** Milliseconds, monotonic. Default performance.now. */
  readonly now?: () => number;
}

/** The GCRA state of one key. */
interface Bucket {
  /** Theoretical arrival time of the next request, ms on `now()`'s clock. */
  tat: number;
  /** The emission interval `tat` was counted in: a reload (or an override) that changes it rescales the debt. */
  interval: number;
}

/** The credential a principal is limited as (see the module comment). */
function credentialKey(principal: Principal): string {
  switch (principal.kind) {
    case 'access_token':
      return principal.subject;
    case 'external_jwt':
      return `${principal.issuer ?? ''} ${principal.subject}`;
    default:
      return principal.credentialId;
  }
}

/** `RateLimit-Policy` for `policy` under the route's name (a structured-field String; route names need no escaping). */
export function policyField(routeName: string, policy: RateLimitPolicy): string {
  return `"${routeName}";q=${policy.requests};w=${policy.perMs / 1000}`;
}

export function createRateLimits(config: GatewayConfig, options: RateLimitOptions = {}): RateLimits {
  const share = Math.max(1, options.share ?? 1);
  const now = options.now ?? (() => performance.now());
  let maxKeys = config.rateLimits?.maxKeys ?? 100_000;
  let overrides = new Map(Object.entries(config.rateLimits?.credentials ?? {}));
  // Key → route name → bucket: bounded by maxKeys times the routes that have a limit.
  const make = (): LRUCache<string, Map<string, Bucket>> => createBoundedLru<Map<string, Bucket>>({ maxEntries: maxKeys, ttl: 0 });
  let keys = make();

  function refuse(route: LimitedRoute, policy: RateLimitPolicy, waitMs: number): GatewayError {
    try {
      options.onLimited?.(route.name);
    } catch {
      // Metrics never change an answer.
    }
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    return new GatewayError(
      'rate.limited',
      `More than ${policy.requests} requests in ${policy.perMs / 1000} s on this route; try again in ${retryAfter} s.`,
      {
        'retry-after': String(retryAfter),
        'ratelimit-policy': policyField(route.name, policy),
        // Remaining 0; the reset names the same instant as Retry-After (the draft asks for that on a 429).
        ratelimit: `"${route.name}";r=0;t=${retryAfter}`,
      },
    );
  }

  return {
    admit(route, principal, req, trusted) {
      const routePolicy = route.rateLimit;
      if (routePolicy === undefined) return;
      let policy = routePolicy;
      let key: string;
      if (principal === undefined) {
        key = clientKeyOf(req, trusted);
      } else {
        key = credentialKey(principal);
        if (overrides.size > 0) policy = overrides.get(key) ?? routePolicy;
      }
      // Per worker: the interval stretched N times, the bucket cut to its share.
      const interval = (policy.perMs * share) / policy.requests;
      const capacity = (share === 1 ? policy.burst : Math.ceil(policy.burst / share)) * interval;
      const at = now();
      let routes = keys.get(key);
      if (routes === undefined) {
        routes = new Map();
        keys.set(key, routes);
      }
      const bucket = routes.get(route.name);
      let tat = bucket === undefined || bucket.tat < at ? at : bucket.tat;
      // The requests still owed keep their number under a new limit, not their duration.
      if (bucket !== undefined && bucket.interval !== interval && tat > at) tat = at + ((tat - at) / bucket.interval) * interval;
      const next = tat + interval;
      if (next - at > capacity) throw refuse(route, policy, next - at - capacity);
      if (bucket === undefined) routes.set(route.name, { tat: next, interval });
      else {
        bucket.tat = next;
        bucket.interval = interval;
      }
    },
    size: () => keys.size,
    reload(next) {
      overrides = new Map(Object.entries(next.rateLimits?.credentials ?? {}));
      const nextMax = next.rateLimits?.maxKeys ?? 100_000;
      if (nextMax !== maxKeys) {
        maxKeys = nextMax;
        keys = make();
      }
    },
  };
}
