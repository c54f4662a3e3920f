/**
 * What the credential verifier, its cache and its change-feed follower report to metrics.
 * Each call is a counter increment or a histogram observation: synchronous, allocation-free,
 * safe on the cache-hit path. Nothing here ever receives a credential or a cache key.
 */
import type { VerifierEvent } from '../credentials/index.js';
import type { EvictionReason } from './labels.js';
import type { CacheSizes, GatewayMetrics } from './metrics.js';

export type { CacheSizes, EvictionReason };

export interface CredentialEventSink {
  /** A presented credential was found in the positive cache (answered without the store). */
  cacheHit(): void;
  /** A presented credential was in neither cache: the store is asked. */
  cacheMiss(): void;
  /** A presented credential was found in the negative cache (refused without the store). */
  negativeHit(): void;
  /**
   * `count` entries (default 1) left a cache: `capacity` (LRU, the default), `expired` (TTL) or
   * `change` (a revoke, rotation or account change read from the store evicted them).
   */
  eviction(reason?: EvictionReason, count?: number): void;
  /**
   * Where `portcullis_credential_cache_entries` reads the cache sizes at scrape time. The
   * credential cache (`positiveSize()`, `negativeSize()`) fits as it is. The last call wins.
   */
  setEntriesSource(source: CacheSizes): void;
  /** A credential lookup reached the store. */
  storeRead(): void;
  /** A store operation failed. */
  storeError(): void;
  /**
   * A change written to the store (revoke, rotate, account change) was applied by this instance
   * `delayMs` milliseconds after it was written (the change row's time to the moment of apply).
   * Negative delays (clock skew between hosts) count as 0.
   */
  changeApplied(delayMs: number): void;
}

/** A sink that records nothing, for verifiers built without observability (tools, tests). */
export const NO_CREDENTIAL_EVENTS: CredentialEventSink = {
  cacheHit() {},
  cacheMiss() {},
  negativeHit() {},
  eviction() {},
  setEntriesSource() {},
  storeRead() {},
  storeError() {},
  changeApplied() {},
};

export function createCredentialEvents(metrics: GatewayMetrics, setEntriesSource: (source: CacheSizes) => void): CredentialEventSink {
  const hit = metrics.cacheLookups.labels('hit');
  const miss = metrics.cacheLookups.labels('miss');
  const negative = metrics.cacheLookups.labels('negative_hit');
  const evictions: Record<EvictionReason, ReturnType<typeof metrics.cacheEvictions.labels>> = {
    capacity: metrics.cacheEvictions.labels('capacity'),
    expired: metrics.cacheEvictions.labels('expired'),
    change: metrics.cacheEvictions.labels('change'),
  };
  const { storeReads, storeErrors, changeApplyDelay } = metrics;
  return {
    cacheHit: () => hit.inc(),
    cacheMiss: () => miss.inc(),
    negativeHit: () => negative.inc(),
    eviction(reason = 'capacity', count = 1) {
      const child = evictions[reason];
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a label value the types rule out still must not become a new series
      if (child === undefined) throw new TypeError(`unknown eviction reason "${reason}"`);
      if (count > 0) child.inc(count);
    },
    setEntriesSource,
    storeRead: () => storeReads.inc(),
    storeError: () => storeErrors.inc(),
    changeApplied(delayMs) {
      if (!Number.isFinite(delayMs)) return;
      changeApplyDelay.observe(delayMs > 0 ? delayMs / 1000 : 0);
    },
  };
}

/**
 * The credential verifier's `onEvent` hook, recording into a sink:
 * `createCredentialVerifier({ …, onEvent: verifierEventListener(observability.credentialEvents) })`.
 */
export function verifierEventListener(sink: CredentialEventSink): (event: VerifierEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'cache_hit':
        sink.cacheHit();
        return;
      case 'cache_miss':
        sink.cacheMiss();
        return;
      case 'negative_hit':
        sink.negativeHit();
        return;
      case 'eviction':
        sink.eviction(event.reason, event.count);
        return;
      case 'store_read':
        sink.storeRead();
        return;
      case 'store_error':
        sink.storeError();
        return;
      case 'change_applied':
        sink.changeApplied(event.delayMs);
        return;
    }
  };
}
