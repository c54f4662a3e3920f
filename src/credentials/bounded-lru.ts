/**
 * An lru-cache bounded by its number of entries that allocates as it fills.
 *
 * Given `max`, lru-cache allocates its key, value, time and link arrays for `max` entries when
 * it is made, for each of a gateway's caches whether they ever fill or not, which is megabytes at
 * the default `cache.maxEntries` and gigabytes at the largest value the configuration accepts.
 * Bounded by `maxSize` with every entry of size 1, the same cache holds at most as many entries
 * and its arrays grow with use, for slightly more per entry once full (figures in
 * docs/decisions/0007-cached-credential-memory.md).
 *
 * One difference callers see: the entry a `set` evicts is disposed of after the new one is in
 * the cache (with `max`, before). A `dispose` that threw would leave the new entry cached but
 * not indexed, so the handlers given here must not throw.
 */
import { LRUCache } from 'lru-cache';

/** What lru-cache can hold: anything but null and undefined. */
type CacheableValue = object | string | number | bigint | boolean | symbol;

/** What the callers set; the bound is `maxEntries`. */
export interface BoundedLruOptions<V extends CacheableValue> {
  readonly maxEntries: number;
  /** Milliseconds; 0: entries do not expire (only the bound removes them). */
  readonly ttl: number;
  readonly dispose?: LRUCache.Disposer<string, V>;
  readonly perf?: { now(): number };
}

const ONE = (): number => 1;

export function createBoundedLru<V extends CacheableValue>(options: BoundedLruOptions<V>): LRUCache<string, V> {
  return new LRUCache<string, V>({
    maxSize: options.maxEntries,
    sizeCalculation: ONE,
    ttl: options.ttl,
    // lru-cache's default (1 ms) caches the clock behind a fresh timer each millisecond it is
    // read: on a busy request path one timer armed and fired per millisecond. Reading the clock
    // on each lookup costs less than the timer (docs/decisions/0025, "Cuts").
    ttlResolution: 0,
    updateAgeOnGet: false,
    ...(options.dispose === undefined ? {} : { dispose: options.dispose }),
    ...(options.perf === undefined ? {} : { perf: options.perf }),
  });
}
