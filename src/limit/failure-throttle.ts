/**
 * Failed authentications counted per client address key, in a bounded LRU: past `failures`
 * within `window` (from the first failure), the address is throttled until the window ends.
 * A success does not reset the count: behind a NAT an attacker would otherwise be let through
 * again by every other user's success.
 */
import type { LRUCache } from 'lru-cache';
import type { ThrottleSettings } from '../config/types.js';
import { createBoundedLru } from '../credentials/bounded-lru.js';

export interface FailureThrottle {
  /** Seconds until `key` may try again (≥ 1), or 0 when it is not throttled. */
  retryAfter(key: string): number;
  /** Counts one failed authentication of `key`; true when this failure starts its throttling. */
  failed(key: string): boolean;
  /** Addresses whose failures are remembered (for `portcullis_auth_throttle_addresses`). */
  size(): number;
  /** Applies reloaded settings; counts survive unless `maxAddresses` changed. */
  configure(settings: ThrottleSettings): void;
}

interface Failures {
  count: number;
  /** When the window that started with the first failure ends (ms, `now()`'s clock). */
  readonly until: number;
}

/**
 * `share`: the workers serving one instance (`workers: N`); each counts its own failures, so each
 * throttles after ceil(failures / N) — an address then gets at most about `failures` across the
 * instance, however the kernel spreads its connections (docs/configuration.md).
 */
export function createFailureThrottle(
  initial: ThrottleSettings,
  options: { readonly share?: number; readonly now?: () => number } = {},
): FailureThrottle {
  const now = options.now ?? Date.now;
  const share = Math.max(1, options.share ?? 1);
  let settings = initial;
  let allowed = Math.ceil(settings.failures / share);
  const make = (): LRUCache<string, Failures> =>
    createBoundedLru<Failures>({ maxEntries: settings.maxAddresses, ttl: settings.windowMs, perf: { now } });
  let table = make();
  return {
    retryAfter(key) {
      const entry = table.get(key);
      if (entry === undefined || entry.count < allowed) return 0;
      const left = entry.until - now();
      return left <= 0 ? 0 : Math.ceil(left / 1000);
    },
    failed(key) {
      const at = now();
      const entry = table.get(key);
      if (entry === undefined || entry.until <= at) {
        table.set(key, { count: 1, until: at + settings.windowMs }, { ttl: settings.windowMs });
        return allowed === 1;
      }
      entry.count++;
      return entry.count === allowed;
    },
    size() {
      table.purgeStale();
      return table.size;
    },
    configure(next) {
      const rebuild = next.maxAddresses !== settings.maxAddresses;
      settings = next;
      allowed = Math.ceil(settings.failures / share);
      if (rebuild) table = make();
    },
  };
}
