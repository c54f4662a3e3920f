/**
 * Verified and refused bearer JWTs, keyed by a SHA-256 of the token (never the token), so a
 * token seen before is answered synchronously without a signature check (no await on the request path).
 *
 *   positive  key → Principal, at most `cache.maxEntries`, living min(cache.ttl, until `exp` +
 *             leeway); expiry is re-checked against the clock on every hit;
 *   negative  key → refusal, at most `cache.negativeMaxEntries`, for `cache.negativeTtl`.
 *
 * Kept apart so a flood of bad tokens only evicts bad tokens. An index client id → keys and
 * jti → keys lets a `client.revoked` or `access_token.revoked` change evict exactly the entries
 * it concerns (maintained from lru-cache's `dispose`, so it never outlives its entries).
 *
 * A verification that started before an eviction, or before the change feed's position was
 * known, is not cached (`ticket()` / `isCurrent()`): a race cannot reinstall a revoked token.
 */
import { createBoundedLru } from '../credentials/bounded-lru.js';
import type { CacheSettings } from '../config/types.js';
import type { ErrorCode } from '../errors.js';
import type { Principal } from '../types.js';
import type { AccessTokenClaims } from './access-token.js';
import { KeyIndex } from '../credentials/key-index.js';

/** A verified JWT. */
export interface VerifiedJwt {
  readonly principal: Principal;
  /** Epoch ms after which the token is refused (exp + leeway). */
  readonly validUntil: number;
  /** Epoch ms of `exp`, for messages. */
  readonly expiresAt: number;
  /** Portcullis access tokens only: their client (for revocation) and claims (introspection). */
  readonly clientId: string | null;
  readonly jti: string | null;
  readonly claims: AccessTokenClaims | null;
}

/** A refused JWT. */
export interface RefusedJwt {
  readonly code: ErrorCode;
  readonly detail: string;
}

/** The two caches and their index. */
export interface JwtCache {
  getPositive(key: string): VerifiedJwt | undefined;
  getNegative(key: string): RefusedJwt | undefined;
  /** The current epoch; pass it back to the set calls. */
  ticket(): number;
  /** Caches a verified token for at most `cache.ttl` and never past `validUntil`, if `ticket` is current. */
  setPositive(key: string, entry: VerifiedJwt, ticket: number, now: number): void;
  setNegative(key: string, refusal: RefusedJwt, ticket: number): void;
  delete(key: string): void;
  /** Evicts every token of a client; returns how many. */
  evictClient(clientId: string): number;
  /** Evicts a token by jti; returns how many. */
  evictJti(jti: string): number;
  /** Starts caching (once the change feed's position is known). */
  follow(): void;
  clear(): void;
  positiveSize(): number;
  negativeSize(): number;
}

const TRANSIENT = new WeakSet();

/**
 * Marks a refusal that must not be cached: the store was unavailable, or the token named a key
 * this instance has not loaded yet (a rotation another instance already sees).
 */
export function transient<T extends object>(error: T): T {
  TRANSIENT.add(error);
  return error;
}

/** Whether a refusal was marked {@link transient}. */
export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && TRANSIENT.has(error);
}

/** Creates the caches (settings were checked by the credential cache already). */
export function createJwtCache(settings: CacheSettings, options: { readonly now?: () => number } = {}): JwtCache {
  const byClient = new KeyIndex();
  const byJti = new KeyIndex();
  const perf = options.now === undefined ? {} : { perf: { now: options.now } };
  const positive = createBoundedLru<VerifiedJwt>({
    maxEntries: settings.maxEntries,
    ttl: Math.max(settings.ttlMs, 1),
    dispose: (entry, key) => {
      byClient.remove(entry.clientId, key);
      byJti.remove(entry.jti, key);
    },
    ...perf,
  });
  const negative = createBoundedLru<RefusedJwt>({
    maxEntries: settings.negativeMaxEntries,
    ttl: Math.max(settings.negativeTtlMs, 1),
    ...perf,
  });
  let epoch = 0;
  let following = false;

  function evict(index: KeyIndex, id: string): number {
    epoch++;
    let count = 0;
    for (const key of index.take(id)) if (positive.delete(key)) count++;
    return count;
  }

  return {
    getPositive: (key) => positive.get(key),
    getNegative: (key) => negative.get(key),
    ticket: () => epoch,
    setPositive(key, entry, ticket, now) {
      negative.delete(key);
      const ttl = Math.min(settings.ttlMs, entry.validUntil - now);
      if (!following || ticket !== epoch || !(ttl > 0)) return;
      positive.set(key, entry, { ttl: Math.ceil(ttl) });
      byClient.add(entry.clientId, key);
      byJti.add(entry.jti, key);
    },
    setNegative(key, refusal, ticket) {
      positive.delete(key);
      if (!following || ticket !== epoch || settings.negativeTtlMs <= 0) return;
      negative.set(key, refusal);
    },
    delete(key) {
      positive.delete(key);
      negative.delete(key);
    },
    evictClient: (clientId) => evict(byClient, clientId),
    evictJti: (jti) => evict(byJti, jti),
    follow() {
      epoch++;
      following = true;
    },
    clear() {
      epoch++;
      positive.clear();
      negative.clear();
    },
    positiveSize: () => positive.size,
    negativeSize: () => negative.size,
  };
}
