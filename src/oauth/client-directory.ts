/**
 * What the OAuth layer needs to know about a client beyond its secret: its current scope, its
 * org and technical account ids (token claims), and whether it is revoked (every fresh
 * verification of one of its access tokens asks).
 *
 * Cached for `cache.ttl` (LRU, at most `cache.maxEntries`), evicted by the `client.revoked` and
 * `client.secret_rotated` and `client.deprecated` changes (a rotation ends the access tokens issued before it), so the request path answers synchronously on a hit. A read
 * that started before an eviction is not cached (an epoch counter), so a race cannot put back a
 * client that was just revoked.
 */
import { createBoundedLru } from '../credentials/bounded-lru.js';
import type { CacheSettings, Deprecation } from '../config/types.js';
import type { CredentialStore, Scope } from '../credentials/index.js';

/** A client as the OAuth layer sees it. */
export interface ClientInfo {
  readonly clientId: string;
  readonly scope: Scope;
  readonly orgId: string | null;
  readonly technicalAccountId: string | null;
  readonly revoked: boolean;
  /** Epoch ms of the last secret rotation, or null: access tokens issued before it end with its grace. */
  readonly rotatedAt: number | null;
  /** Epoch ms until which the previous secret (and what it minted) stays valid; null: no grace left at the read. */
  readonly previousSecretValidUntil: number | null;
  /** The client's deprecation (its access tokens carry it), or undefined. */
  readonly deprecation: Deprecation | undefined;
}

/** The cached directory. */
export interface ClientDirectory {
  /** The client (undefined if unknown): synchronously on a hit. Rejects if the store fails. */
  get(clientId: string): ClientInfo | undefined | Promise<ClientInfo | undefined>;
  /** Forgets a client (a change-feed row names it). */
  evict(clientId: string): void;
  clear(): void;
}

/** Creates the directory over `store`. A TTL of 0 disables caching. */
export function createClientDirectory(store: CredentialStore, settings: CacheSettings): ClientDirectory {
  const cache = createBoundedLru<ClientInfo>({ maxEntries: Math.max(1, settings.maxEntries), ttl: Math.max(1, settings.ttlMs) });
  const enabled = settings.ttlMs > 0;
  const inflight = new Map<string, Promise<ClientInfo | undefined>>();
  let epoch = 0;

  async function load(clientId: string): Promise<ClientInfo | undefined> {
    const startedAt = epoch;
    const record = await store.clients.get(clientId);
    if (record === undefined) return undefined;
    const info: ClientInfo = Object.freeze({
      clientId: record.clientId,
      scope: record.scope,
      orgId: record.orgId,
      technicalAccountId: record.technicalAccountId,
      revoked: record.revokedAt !== null,
      rotatedAt: record.rotatedAt === null ? null : Date.parse(record.rotatedAt),
      previousSecretValidUntil: record.previousSecretValidUntil === null ? null : Date.parse(record.previousSecretValidUntil),
      deprecation:
        record.deprecation === null
          ? undefined
          : Object.freeze({
              sinceMs: Date.parse(record.deprecation.since),
              sunsetMs: Date.parse(record.deprecation.sunset),
              link: record.deprecation.link ?? undefined,
            }),
    });
    if (enabled && startedAt === epoch) cache.set(clientId, info);
    return info;
  }

  return {
    get(clientId) {
      const hit = cache.get(clientId);
      if (hit !== undefined) return hit;
      let pending = inflight.get(clientId);
      if (pending === undefined) {
        pending = load(clientId).finally(() => inflight.delete(clientId));
        inflight.set(clientId, pending);
      }
      return pending;
    },
    evict(clientId) {
      epoch++;
      cache.delete(clientId);
    },
    clear() {
      epoch++;
      cache.clear();
    },
  };
}
