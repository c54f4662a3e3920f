/**
 * An lru-cache bounded by its number of entries that allocates as it fills.
 *
 * Given `max`, lru-cache allocates its key, value, time and link arrays for `max` entries when
 * it is made: 4.4 MB per cache at the default `cache.maxEntries` of 100,000, three such caches
 * in a gateway, all of it in the old generation whether the caches ever fill or not, and 1.3 GB
 * at the largest value the configuration accepts. Bounded by `maxSize` with every entry of size
 * 1, the same cache holds at most as many entries and its arrays grow with use
 * (docs/decisions/0007).
 */
import { LRUCache } from 'lru-cache';

/** What the callers set; the bound is `maxEntries`. */
export interface BoundedLruOptions<V extends {}> {
  readonly maxEntries: number;
  /** Milliseconds; at least 1. */
  readonly ttl: number;
  readonly dispose?: LRUCache.Disposer<string, V>;
  readonly perf?: { now(): number };
}

const ONE = (): number => 1;

export function createBoundedLru<V extends {}>(options: BoundedLruOptions<V>): LRUCache<string, V> {
  return new LRUCache<string, V>({
    maxSize: options.maxEntries,
    sizeCalculation: ONE,
    ttl: options.ttl,
    updateAgeOnGet: false,
    ...(options.dispose === undefined ? {} : { dispose: options.dispose }),
    ...(options.perf === undefined ? {} : { perf: options.perf }),
  });
}
