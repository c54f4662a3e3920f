/**
 * Verifies presented API tokens and OAuth client credentials against the store, with the two
 * caches of cache.ts in front (docs/credentials.md "The verifier").
 *
 *   Bearer pcl_…                       API token
 *   Basic  <anything>:pcl_…            API token (the user name is ignored)
 *   Basic  cli_…:pcs_…                 OAuth client
 *
 * Order of work for one credential:
 *   1. shape and checksum (no store access: a typo costs nothing);
 *   2. SHA-256 of the presented credential → positive cache: on a hit the Principal is returned
 *      synchronously after re-checking expiry and grace against the clock;
 *   3. negative cache: a recent refusal is repeated synchronously;
 *   4. one store read per key, shared by concurrent requests for the same key.
 *
 * Unknown and wrong credentials get the same code and detail after the same work (a hash, one
 * indexed lookup, two constant-time comparisons). Revocation, rotation and account changes made
 * through this process's store apply at once (store.subscribe); those of other processes within
 * one poll of the change feed (≤ 250 ms by default; one round trip when the store can push).
 *
 * Partition safety: while the change feed is not fresh (not confirmed within cache.maxStaleness,
 * change-feed.ts), every credential is refused with auth.store_unavailable, cached or not — a
 * cached answer may be one a revocation has since made wrong, and a store read cannot be trusted
 * to be a re-check either (an SQLite file moved under the process still answers).
 */
import type { CacheSettings, Deprecation } from '../config/types.js';
import { aboutCredential, GatewayError, type ErrorCode } from '../errors.js';
import type { Principal, PresentedCredential } from '../types.js';
import { createCredentialCache, type NegativeEntry, type PositiveEntry } from './cache.js';
import { createChangeFeedFollower, type ChangeFeedFollower } from './change-feed.js';
import { createLastUsedRecorder } from './last-used.js';
import { sunsetHeaders } from '../rollout/deprecation-headers.js';
import { narrowerScope, sharedScope } from './scope.js';
import {
  cacheKeyOf,
  digestsEqual,
  DUMMY_DIGEST,
  hashSecret,
  isClientId,
  isWellFormedApiToken,
  isWellFormedClientSecret,
} from './secrets.js';
import {
  PREVIOUS_SECRET_SUFFIX,
  type ChangeRow,
  type ClientVerificationRecord,
  type CredentialStore,
  type TokenVerificationRecord,
  type VerificationDeprecation,
} from './store.js';

/**
 * What the verifier reports, for metrics. Constant objects are reused for the frequent events,
 * so a listener must not keep or mutate them.
 */
export type VerifierEvent =
  | { readonly type: 'cache_hit' }
  | { readonly type: 'cache_miss' }
  | { readonly type: 'negative_hit' }
  /**
   * `count` entries left a cache: `capacity` (LRU), `expired` (TTL, expiry or end of a rotation
   * grace) or `change` (evicted by a change-feed row; also reported as `change_applied`).
   */
  | { readonly type: 'eviction'; readonly reason: 'capacity' | 'expired' | 'change'; readonly count: number }
  | { readonly type: 'store_read'; readonly op: 'token' | 'client'; readonly durationMs: number }
  | { readonly type: 'store_error'; readonly op: 'token' | 'client' | 'changes' | 'last_used' }
  /** A change-feed row was applied; `delayMs` = now − commit time; `evicted` = entries removed. */
  | { readonly type: 'change_applied'; readonly change: ChangeRow; readonly delayMs: number; readonly evicted: number };

/** Counters since creation, and current sizes. */
export interface VerifierStats {
  readonly hits: number;
  readonly misses: number;
  readonly negativeHits: number;
  readonly storeReads: number;
  readonly storeErrors: number;
  readonly changesApplied: number;
  readonly positiveEntries: number;
  readonly negativeEntries: number;
  readonly inFlight: number;
  /** Last change-feed seq applied; null until `start()` has read the feed's position. */
  readonly changeCursor: number | null;
  readonly pendingLastUsed: number;
}

/** Options of {@link createCredentialVerifier}. */
export interface CredentialVerifierOptions {
  readonly store: CredentialStore;
  readonly cache: CacheSettings;
  /** Wall clock in epoch ms (expiry, grace, cache TTLs). Default `Date.now`. */
  readonly now?: () => number;
  /** Event hook for metrics; exceptions it throws are ignored. */
  readonly onEvent?: (event: VerifierEvent) => void;
  /**
   * The process's change-feed follower (src/services.ts shares one with the OAuth layer). When
   * omitted the verifier creates, starts and closes its own.
   */
  readonly feed?: ChangeFeedFollower;
  /** Poll period in ms (10-500) of the verifier's own follower. Default 250. */
  readonly pollIntervalMs?: number;
  /** Last-used flush period in ms. Default 5000. */
  readonly lastUsedFlushMs?: number;
}

/** The verifier of API tokens and OAuth client credentials. */
export interface CredentialVerifier {
  /**
   * Resolves a presented credential. Returns the Principal synchronously on a cache hit, a
   * promise otherwise; refusals are GatewayErrors (auth.invalid_token, auth.invalid_credentials,
   * auth.token_expired, auth.token_revoked, auth.store_unavailable) without headers.
   */
  verify(presented: PresentedCredential): Principal | Promise<Principal>;
  /**
   * Whether `presented` is in the positive cache and still valid (expiry, rotation grace, a
   * fresh change feed): memory only, nothing counted. The failure throttle asks this before it
   * lets a throttled address reach verify.
   */
  cached(presented: PresentedCredential): boolean;
  /**
   * Starts the change feed (its own, or the shared one: idempotent) and the periodic flush of
   * last-used times. Never rejects (a store that is down is retried by the next poll). Every
   * credential is refused with auth.store_unavailable until the feed is confirmed, so call it
   * before serving.
   */
  start(): Promise<void>;
  /** Applies pending change-feed rows now. */
  sync(): Promise<void>;
  /** Stops polling, flushes last-used times. Does not close the store (its owner does). */
  close(): Promise<void>;
  stats(): VerifierStats;
  /** Entries in the positive cache (for a gauge read at scrape time). */
  positiveSize(): number;
  /** Entries in the negative cache. */
  negativeSize(): number;
}

type Outcome =
  { readonly ok: true; readonly entry: PositiveEntry; readonly ttlMs: number } | { readonly ok: false; readonly refusal: NegativeEntry };

const HIT: VerifierEvent = Object.freeze({ type: 'cache_hit' });
const MISS: VerifierEvent = Object.freeze({ type: 'cache_miss' });
const NEGATIVE_HIT: VerifierEvent = Object.freeze({ type: 'negative_hit' });
const EVICTED_CAPACITY: VerifierEvent = Object.freeze({ type: 'eviction', reason: 'capacity', count: 1 });
const EVICTED_EXPIRED: VerifierEvent = Object.freeze({ type: 'eviction', reason: 'expired', count: 1 });

const DETAIL = {
  invalidToken: 'The token is not valid.',
  invalidCredentials: 'The credentials are not valid.',
  revokedToken: 'The token was revoked.',
  disabledAccount: 'The account owning this token is disabled.',
  revokedClient: 'The OAuth client was revoked.',
  storeUnavailable: 'The credential store cannot be reached; try again shortly.',
} as const;

const expiredDetail = (expiresAt: number): string => `The token expired at ${new Date(expiresAt).toISOString()}.`;
const sunsetDetail = (what: string, sunset: number): string => `${what} reached its sunset at ${new Date(sunset).toISOString()}.`;

/** A stored deprecation as the Principal carries it (rollout/deprecation.ts reads it on every request). */
function principalDeprecation(deprecation: VerificationDeprecation | null): { readonly deprecation?: Deprecation } {
  if (deprecation === null) return {};
  return { deprecation: Object.freeze({ sinceMs: deprecation.since, sunsetMs: deprecation.sunset, link: deprecation.link ?? undefined }) };
}

function refuse(code: ErrorCode, detail: string, credentialId: string | null = null, account: string | null = null): Outcome {
  return { ok: false, refusal: { code, detail, credentialId, account } };
}

/** The refusal of a credential past its sunset, with the `Sunset` (and `Link`) it was announced with. */
function sunsetRefusal(
  what: string,
  deprecation: { readonly sunset: number; readonly link: string | null | undefined },
  credentialId: string,
  account: string | null,
): NegativeEntry {
  return {
    code: 'auth.credential_sunset',
    detail: sunsetDetail(what, deprecation.sunset),
    credentialId,
    account,
    headers: sunsetHeaders(deprecation.sunset, deprecation.link ?? undefined),
  };
}

/**
 * The last-used key of a verified entry: its id, or its id with PREVIOUS_SECRET_SUFFIX when the
 * previous (in-grace) secret matched, so the store keeps both generations' last use.
 */
function usedKey(entry: { readonly credentialId: string; readonly validUntil: number }): string {
  return entry.validUntil === Infinity ? entry.credentialId : `${entry.credentialId}${PREVIOUS_SECRET_SUFFIX}`;
}

/** Which secret matched, and until when it works (Infinity for the current one). */
function matchSecret(hash: Uint8Array, record: TokenVerificationRecord | ClientVerificationRecord | undefined): number {
  // Both comparisons always run, against a dummy digest when there is nothing to compare.
  const current = digestsEqual(hash, record?.secretHash ?? DUMMY_DIGEST);
  const previous = digestsEqual(hash, record?.previousSecretHash ?? DUMMY_DIGEST);
  if (record === undefined) return -Infinity;
  if (current) return Infinity;
  if (previous && record.previousSecretHash !== null) return record.previousValidUntil ?? -Infinity;
  return -Infinity;
}

function decideToken(
  record: TokenVerificationRecord | undefined,
  hash: Uint8Array,
  scheme: 'bearer' | 'basic',
  now: number,
  ttlMs: number,
): Outcome {
  const validUntil = matchSecret(hash, record);
  if (record === undefined || now >= validUntil) {
    return scheme === 'bearer'
      ? refuse('auth.invalid_token', DETAIL.invalidToken)
      : refuse('auth.invalid_credentials', DETAIL.invalidCredentials);
  }
  const account = record.account;
  const accountName = account?.name ?? null;
  if (record.revokedAt !== null) return refuse('auth.token_revoked', DETAIL.revokedToken, record.id, accountName);
  if (account !== null && account.disabled) return refuse('auth.token_revoked', DETAIL.disabledAccount, record.id, accountName);
  const expiresAt = record.expiresAt ?? Infinity;
  if (now >= expiresAt) return refuse('auth.token_expired', expiredDetail(expiresAt), record.id, accountName);
  const sunset = record.deprecation?.sunset ?? Infinity;
  if (record.deprecation !== null && now >= sunset)
    return { ok: false, refusal: sunsetRefusal('This API token', record.deprecation, record.id, accountName) };
  const principal: Principal = Object.freeze({
    kind: 'api_token',
    scheme,
    subject: accountName ?? record.id,
    scope: sharedScope(account === null ? record.scope : narrowerScope(record.scope, account.scope)),
    credentialId: record.id,
    ...(accountName === null ? {} : { account: accountName }),
    ...(record.owner ? { owner: true as const } : {}),
    ...principalDeprecation(record.deprecation),
  });
  return {
    ok: true,
    entry: { principal, credentialId: record.id, account: accountName, expiresAt, validUntil },
    ttlMs: Math.min(ttlMs, expiresAt - now, validUntil - now, sunset - now),
  };
}

function decideClient(record: ClientVerificationRecord | undefined, hash: Uint8Array, now: number, ttlMs: number): Outcome {
  const validUntil = matchSecret(hash, record);
  if (record === undefined || now >= validUntil) return refuse('auth.invalid_credentials', DETAIL.invalidCredentials);
  if (record.revokedAt !== null) return refuse('auth.token_revoked', DETAIL.revokedClient, record.clientId);
  const sunset = record.deprecation?.sunset ?? Infinity;
  if (record.deprecation !== null && now >= sunset)
    return { ok: false, refusal: sunsetRefusal('This OAuth client', record.deprecation, record.clientId, null) };
  const principal: Principal = Object.freeze({
    kind: 'oauth_client',
    scheme: 'basic',
    subject: record.clientId,
    scope: sharedScope(record.scope),
    credentialId: record.clientId,
    ...(record.orgId === null ? {} : { orgId: record.orgId }),
    ...(record.technicalAccountId === null ? {} : { technicalAccountId: record.technicalAccountId }),
    ...principalDeprecation(record.deprecation),
  });
  return {
    ok: true,
    entry: { principal, credentialId: record.clientId, account: null, expiresAt: Infinity, validUntil },
    ttlMs: Math.min(ttlMs, validUntil - now, sunset - now),
  };
}

/** Creates a verifier. Settings are checked here (TypeError on unsafe cache or poll values). */
export function createCredentialVerifier(options: CredentialVerifierOptions): CredentialVerifier {
  const { store } = options;
  const now = options.now ?? Date.now;
  const ttlMs = options.cache.ttlMs;
  const listener = options.onEvent;
  const emit = (event: VerifierEvent): void => {
    if (listener === undefined) return;
    try {
      listener(event);
    } catch {
      // Metrics must never change an authentication decision.
    }
  };

  const counters = { hits: 0, misses: 0, negativeHits: 0, storeReads: 0, storeErrors: 0, changesApplied: 0 };
  const cache = createCredentialCache(options.cache, {
    ...(options.now === undefined ? {} : { now: options.now }),
    onEvict: (reason) => emit(reason === 'capacity' ? EVICTED_CAPACITY : EVICTED_EXPIRED),
  });
  const inflight = new Map<string, Promise<Principal>>();
  /** Bumped whenever changes are applied: a read that started before must not be cached. */
  let epoch = 0;
  /** True once the change feed's position is known; nothing is cached before. */
  let following = false;
  function applyChanges(changes: readonly ChangeRow[]): void {
    epoch++;
    for (const change of changes) {
      const evicted = 'credentialId' in change ? cache.evictCredential(change.credentialId) : cache.evictAccount(change.account);
      counters.changesApplied++;
      if (evicted > 0) emit({ type: 'eviction', reason: 'change', count: evicted });
      emit({ type: 'change_applied', change, delayMs: now() - change.at, evicted });
    }
  }

  const ownFeed = options.feed === undefined;
  const feed =
    options.feed ??
    createChangeFeedFollower({
      store,
      ...(options.pollIntervalMs === undefined ? {} : { intervalMs: options.pollIntervalMs }),
      ...(options.cache.maxStalenessMs === undefined ? {} : { maxStalenessMs: options.cache.maxStalenessMs }),
      onError: () => {
        counters.storeErrors++;
        emit({ type: 'store_error', op: 'changes' });
      },
    });
  const unfollow = feed.follow({
    apply: applyChanges,
    onFollowing: () => {
      epoch++;
      following = true;
    },
  });
  const lastUsed = createLastUsedRecorder(store, {
    ...(options.lastUsedFlushMs === undefined ? {} : { intervalMs: options.lastUsedFlushMs }),
    onError: () => emit({ type: 'store_error', op: 'last_used' }),
  });

  async function readStore<T>(op: 'token' | 'client', read: () => Promise<T>): Promise<T> {
    counters.storeReads++;
    const started = performance.now();
    try {
      const value = await read();
      emit({ type: 'store_read', op, durationMs: performance.now() - started });
      return value;
    } catch {
      counters.storeErrors++;
      emit({ type: 'store_error', op });
      throw new GatewayError('auth.store_unavailable', DETAIL.storeUnavailable);
    }
  }

  function settle(key: string, outcome: Outcome, startedAt: number, cacheable: boolean, at: number): Principal {
    const fresh = cacheable && startedAt === epoch;
    if (outcome.ok) {
      if (fresh) cache.setPositive(key, outcome.entry, outcome.ttlMs);
      lastUsed.touch(usedKey(outcome.entry), at);
      return outcome.entry.principal;
    }
    if (fresh) cache.setNegative(key, outcome.refusal);
    throw aboutCredential(
      new GatewayError(outcome.refusal.code, outcome.refusal.detail, outcome.refusal.headers),
      outcome.refusal.credentialId,
    );
  }

  async function loadToken(key: string, token: string, scheme: 'bearer' | 'basic'): Promise<Principal> {
    const startedAt = epoch;
    const cacheable = following;
    const hash = hashSecret(token);
    const record = await readStore('token', () => store.findTokenByHash(hash));
    const at = now();
    return settle(key, decideToken(record, hash, scheme, at, ttlMs), startedAt, cacheable, at);
  }

  async function loadClient(key: string, clientId: string, secret: string): Promise<Principal> {
    const startedAt = epoch;
    const cacheable = following;
    const hash = hashSecret(secret);
    const record = await readStore('client', () => store.findClientById(clientId));
    const at = now();
    return settle(key, decideClient(record, hash, at, ttlMs), startedAt, cacheable, at);
  }

  /**
   * The cached answer for `key`: the Principal, a thrown refusal, or undefined on a miss.
   * Allocation-free on a hit.
   */
  function fromCache(key: string): Principal | undefined {
    const at = now();
    const hit = cache.getPositive(key);
    if (hit !== undefined) {
      if (at >= hit.expiresAt) {
        // Expiry is enforced against the clock on every hit, whatever the entry's TTL says.
        const detail = expiredDetail(hit.expiresAt);
        cache.setNegative(key, { code: 'auth.token_expired', detail, credentialId: hit.credentialId, account: hit.account });
        counters.negativeHits++;
        emit(NEGATIVE_HIT);
        throw aboutCredential(new GatewayError('auth.token_expired', detail), hit.credentialId);
      }
      const deprecation = hit.principal.deprecation;
      if (deprecation !== undefined && at >= deprecation.sunsetMs) {
        // A deprecated credential's sunset is enforced on every hit too: the cache never serves it past it.
        const refusal = sunsetRefusal(
          hit.principal.kind === 'api_token' ? 'This API token' : 'This OAuth client',
          { sunset: deprecation.sunsetMs, link: deprecation.link },
          hit.credentialId,
          hit.account,
        );
        cache.setNegative(key, refusal);
        counters.negativeHits++;
        emit(NEGATIVE_HIT);
        throw aboutCredential(new GatewayError(refusal.code, refusal.detail, refusal.headers), hit.credentialId);
      }
      if (at < hit.validUntil) {
        counters.hits++;
        emit(HIT);
        lastUsed.touch(usedKey(hit), at);
        return hit.principal;
      }
      cache.delete(key);
      emit(EVICTED_EXPIRED);
    }
    const refusal = cache.getNegative(key);
    if (refusal !== undefined) {
      counters.negativeHits++;
      emit(NEGATIVE_HIT);
      throw aboutCredential(new GatewayError(refusal.code, refusal.detail, refusal.headers), refusal.credentialId);
    }
    counters.misses++;
    emit(MISS);
    return undefined;
  }

  /** One store read per key at a time: concurrent misses share the pending answer. */
  function coalesce(key: string, load: () => Promise<Principal>): Promise<Principal> {
    let pending = inflight.get(key);
    if (pending === undefined) {
      pending = load().finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  }

  /** Refuses while the change feed is not fresh: nothing cached or read can be trusted then. */
  function requireFreshFeed(): void {
    if (!feed.fresh()) throw new GatewayError('auth.store_unavailable', DETAIL.storeUnavailable);
  }

  return {
    verify(presented) {
      if (presented.scheme === 'bearer') {
        const { token } = presented;
        if (!isWellFormedApiToken(token)) throw new GatewayError('auth.invalid_token', DETAIL.invalidToken);
        requireFreshFeed();
        const key = cacheKeyOf('bearer', token);
        return fromCache(key) ?? coalesce(key, () => loadToken(key, token, 'bearer'));
      }
      const { username, password } = presented;
      if (isWellFormedApiToken(password)) {
        requireFreshFeed();
        const key = cacheKeyOf('basic', username, password);
        return fromCache(key) ?? coalesce(key, () => loadToken(key, password, 'basic'));
      }
      if (isClientId(username) && isWellFormedClientSecret(password)) {
        requireFreshFeed();
        const key = cacheKeyOf('client', username, password);
        return fromCache(key) ?? coalesce(key, () => loadClient(key, username, password));
      }
      throw new GatewayError('auth.invalid_credentials', DETAIL.invalidCredentials);
    },
    cached(presented) {
      let key: string;
      if (presented.scheme === 'bearer') {
        if (!isWellFormedApiToken(presented.token)) return false;
        key = cacheKeyOf('bearer', presented.token);
      } else if (isWellFormedApiToken(presented.password)) {
        key = cacheKeyOf('basic', presented.username, presented.password);
      } else if (isClientId(presented.username) && isWellFormedClientSecret(presented.password)) {
        key = cacheKeyOf('client', presented.username, presented.password);
      } else {
        return false;
      }
      if (!feed.fresh()) return false;
      const hit = cache.getPositive(key);
      const at = now();
      return hit !== undefined && at < hit.expiresAt && at < hit.validUntil;
    },
    async start() {
      lastUsed.start();
      await feed.start();
    },
    sync: () => feed.poll(),
    async close() {
      unfollow();
      if (ownFeed) feed.close();
      await lastUsed.close();
    },
    positiveSize: () => cache.positiveSize(),
    negativeSize: () => cache.negativeSize(),
    stats: () => ({
      ...counters,
      positiveEntries: cache.positiveSize(),
      negativeEntries: cache.negativeSize(),
      inFlight: inflight.size,
      changeCursor: feed.cursor() ?? null,
      pendingLastUsed: lastUsed.pending(),
    }),
  };
}
