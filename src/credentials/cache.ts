/**
 * The verifier's two caches (docs/credentials.md):
 *
 *   positive  credential key → Principal, at most `maxEntries`, each entry living
 *             min(cache.ttl, time to the credential's expiry, time to the end of its grace);
 *   negative  credential key → refusal, at most `negativeMaxEntries`, for `negativeTtl`.
 *
 * Kept apart so a flood of bad credentials can only evict other bad credentials. Keys are
 * SHA-256 digests of the presented credential (secrets.ts `cacheKeyOf`), never secrets.
 *
 * An index (credential id → keys, account name → keys) lets a change-feed row evict exactly the
 * entries it affects; it is maintained from lru-cache's `dispose` hook so it never outlives the
 * entries it points to.
 */
import type { LRUCache } from 'lru-cache';
import { createBoundedLru } from './bounded-lru.js';
import type { CacheSettings } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { Principal } from '../types.js';
import { KeyIndex } from './key-index.js';

/** A verified credential. */
export interface PositiveEntry {
  readonly principal: Principal;
  readonly credentialId: string;
  readonly account: string | null;
  /** Epoch ms of the credential's expiry, or Infinity. Re-checked on every hit. */
  readonly expiresAt: number;
  /** Epoch ms at which the presented secret stops working (end of a rotation grace), or Infinity. */
  readonly validUntil: number;
}

/** A refused credential. */
export interface NegativeEntry {
  readonly code: ErrorCode;
  readonly detail: string;
  /** The credential it belongs to when known (revoked, expired, wrong client secret). */
  readonly credentialId: string | null;
  readonly account: string | null;
  /** Headers the refusal carries (`Sunset` and `Link` of a credential past its sunset). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Why entries left the cache, for the verifier's events. */
export type CacheEvictionReason = 'capacity' | 'expired';

/** The two caches and their index. */
export interface CredentialCache {
  getPositive(key: string): PositiveEntry | undefined;
  getNegative(key: string): NegativeEntry | undefined;
  /** Stores a verified credential for `ttlMs` (≤ cache.ttl; ignored when ≤ 0). */
  setPositive(key: string, entry: PositiveEntry, ttlMs: number): void;
  setNegative(key: string, entry: NegativeEntry): void;
  delete(key: string): void;
  /** Removes every entry (both caches) of a credential id; returns how many. */
  evictCredential(id: string): number;
  /** Removes every entry (both caches) of an account's tokens; returns how many. */
  evictAccount(name: string): number;
  clear(): void;
  positiveSize(): number;
  negativeSize(): number;
}

/** Longest positive TTL accepted, in ms (1 day). */
export const MAX_CACHE_TTL_MS = 24 * 3600 * 1000;

function checkSettings(settings: CacheSettings): void {
  const counts = [
    ['maxEntries', settings.maxEntries],
    ['negativeMaxEntries', settings.negativeMaxEntries],
  ] as const;
  for (const [name, value] of counts) {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`cache.${name} must be a whole number ≥ 1 (got ${value})`);
  }
  const ttls = [
    ['ttlMs', settings.ttlMs],
    ['negativeTtlMs', settings.negativeTtlMs],
  ] as const;
  for (const [name, value] of ttls) {
    if (!Number.isFinite(value) || value < 0 || value > MAX_CACHE_TTL_MS) {
      throw new TypeError(`cache.${name} must be between 0 (disabled) and ${MAX_CACHE_TTL_MS} ms (got ${value})`);
    }
  }
}

/**
 * Creates the caches. Settings are checked here (TypeError for a count < 1, or a TTL that is
 * negative or above one day); a TTL of 0 disables that cache.
 */
export function createCredentialCache(
  settings: CacheSettings,
  options: { readonly now?: () => number; readonly onEvict?: (reason: CacheEvictionReason) => void } = {},
): CredentialCache {
  checkSettings(settings);
  const byCredential = new KeyIndex();
  const byAccount = new KeyIndex();
  const { onEvict } = options;
  const perf = options.now === undefined ? {} : { perf: { now: options.now } };

  const dispose = (entry: PositiveEntry | NegativeEntry, key: string, reason: LRUCache.DisposeReason): void => {
    byCredential.remove(entry.credentialId, key);
    byAccount.remove(entry.account, key);
    if (onEvict !== undefined && (reason === 'evict' || reason === 'expire')) onEvict(reason === 'evict' ? 'capacity' : 'expired');
  };

  const positive = createBoundedLru<PositiveEntry>({ maxEntries: settings.maxEntries, ttl: Math.max(settings.ttlMs, 1), dispose, ...perf });
  const negative = createBoundedLru<NegativeEntry>({
    maxEntries: settings.negativeMaxEntries,
    ttl: Math.max(settings.negativeTtlMs, 1),
    dispose,
    ...perf,
  });
  const positiveEnabled = settings.ttlMs > 0;
  const negativeEnabled = settings.negativeTtlMs > 0;

  function evict(index: KeyIndex, id: string): number {
    let count = 0;
    for (const key of index.take(id)) {
      if (positive.delete(key)) count++;
      if (negative.delete(key)) count++;
    }
    return count;
  }

  return {
    getPositive: (key) => positive.get(key),
    getNegative: (key) => negative.get(key),
    setPositive(key, entry, ttlMs) {
      negative.delete(key);
      if (!positiveEnabled || !(ttlMs > 0)) return;
      positive.set(key, entry, { ttl: Math.min(Math.ceil(ttlMs), settings.ttlMs) });
      byCredential.add(entry.credentialId, key);
      byAccount.add(entry.account, key);
    },
    setNegative(key, entry) {
      positive.delete(key);
      if (!negativeEnabled) return;
      negative.set(key, entry);
      byCredential.add(entry.credentialId, key);
      byAccount.add(entry.account, key);
    },
    delete(key) {
      positive.delete(key);
      negative.delete(key);
    },
    evictCredential: (id) => evict(byCredential, id),
    evictAccount: (name) => evict(byAccount, name),
    clear() {
      positive.clear();
      negative.clear();
      byCredential.clear();
      byAccount.clear();
    },
    positiveSize: () => positive.size,
    negativeSize: () => negative.size,
  };
}
