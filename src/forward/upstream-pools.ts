/**
 * One keep-alive connection pool per upstream (origin + trust roots). TLS verification is always
 * on; the server name and the certificate check follow the upstream's host, never the client's
 * Host header (a client could otherwise choose the certificate name that is checked).
 *
 * undici queues without bound the requests for which all connections are busy. Here that wait is
 * bounded (docs/decisions/0013-slow-clients.md): at most `limits.upstreamQueueSize` requests wait
 * per upstream, each at most `limits.upstreamQueueTimeout` (forward-http.ts); beyond, 503
 * `upstream.saturated`, and nothing reaches the upstream. Figures: docs/decisions/0013-slow-clients.md.
 */
import { isIP } from 'node:net';
import { Pool } from 'undici';
import type { UpstreamTarget } from '../config/types.js';
import { trustContextOf } from './upstream-trust.js';

/** Connections per upstream pool. */
export const UPSTREAM_CONNECTIONS = 256;

export interface QueueLimits {
  readonly upstreamQueueSize: number;
  readonly upstreamQueueTimeoutMs: number;
  readonly responseStallTimeoutMs: number;
}

export interface UpstreamPools {
  get(target: UpstreamTarget): Pool;
  /**
   * Counts a request for `target` until `leave(pool)` (once per request); undefined, counting
   * nothing, when its queue is full (answer upstream.saturated). No allocation: hot path.
   */
  enter(target: UpstreamTarget): Pool | undefined;
  /** Whether the pool's connections are all busy: a request just entered waits in the queue. */
  queued(pool: Pool): boolean;
  leave(pool: Pool): void;
  /** `limits.upstreamQueueTimeout`: how long a queued request may wait, in milliseconds. */
  readonly queueTimeoutMs: number;
  /** `limits.responseStallTimeout`: longest a client may leave a response undrained, in milliseconds. */
  readonly responseStallTimeoutMs: number;
  close(): Promise<void>;
}

interface PoolLoad {
  /** Requests dispatched and not yet ended: running on a connection or queued. */
  busy: number;
}

function poolKey(target: UpstreamTarget): string {
  return target.ca === undefined ? target.origin : `${target.origin}\n${target.ca}`;
}

const NO_QUEUE_LIMITS: QueueLimits = {
  upstreamQueueSize: Number.MAX_SAFE_INTEGER,
  upstreamQueueTimeoutMs: 0,
  responseStallTimeoutMs: 30_000,
};

export function createUpstreamPools(targets: Iterable<UpstreamTarget>, limits: QueueLimits = NO_QUEUE_LIMITS): UpstreamPools {
  const pools = new Map<string, Pool>();
  const loads = new WeakMap<Pool, PoolLoad>();
  // Targets are frozen objects of the compiled configuration: the pool is found by identity on
  // the request path, without building the (CA-sized) key string.
  const byTarget = new WeakMap<UpstreamTarget, Pool>();
  const add = (target: UpstreamTarget): Pool => {
    const secureContext = trustContextOf(target);
    const pool = new Pool(target.origin, {
      connections: UPSTREAM_CONNECTIONS,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: {
        rejectUnauthorized: true,
        // SNI must not carry an IP literal (RFC 6066 §3); the certificate check still uses it.
        ...(isIP(target.hostname) === 0 ? { servername: target.servername } : {}),
        ...(secureContext !== undefined ? { secureContext } : {}),
      },
    });
    pools.set(poolKey(target), pool);
    loads.set(pool, { busy: 0 });
    return pool;
  };
  for (const target of targets) if (!pools.has(poolKey(target))) add(target);
  const get = (target: UpstreamTarget): Pool => {
    let pool = byTarget.get(target);
    if (pool === undefined) {
      pool = pools.get(poolKey(target)) ?? add(target);
      byTarget.set(target, pool);
    }
    return pool;
  };
  return {
    get,
    enter(target) {
      const pool = get(target);
      const load = loads.get(pool) as PoolLoad;
      if (load.busy >= UPSTREAM_CONNECTIONS + limits.upstreamQueueSize) return undefined;
      load.busy++;
      return pool;
    },
    queued: (pool) => (loads.get(pool)?.busy ?? 0) > UPSTREAM_CONNECTIONS,
    leave(pool) {
      const load = loads.get(pool);
      if (load !== undefined && load.busy > 0) load.busy--;
    },
    queueTimeoutMs: limits.upstreamQueueTimeoutMs,
    responseStallTimeoutMs: limits.responseStallTimeoutMs,
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close().catch(() => pool.destroy())));
    },
  };
}
