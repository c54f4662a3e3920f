/**
 * One keep-alive connection pool per upstream (origin + trust roots). TLS verification is always
 * on; the server name and the certificate check follow the upstream's host, never the client's
 * Host header (STYLE.md gotcha 2).
 */
import { isIP } from 'node:net';
import { Pool } from 'undici';
import type { UpstreamTarget } from '../config/types.js';
import { trustContextOf } from './upstream-trust.js';

export interface UpstreamPools {
  get(target: UpstreamTarget): Pool;
  close(): Promise<void>;
}

function poolKey(target: UpstreamTarget): string {
  return target.ca === undefined ? target.origin : `${target.origin}\n${target.ca}`;
}

export function createUpstreamPools(targets: Iterable<UpstreamTarget>): UpstreamPools {
  const pools = new Map<string, Pool>();
  // Targets are frozen objects of the compiled configuration: the pool is found by identity on
  // the request path, without building the (CA-sized) key string.
  const byTarget = new WeakMap<UpstreamTarget, Pool>();
  const add = (target: UpstreamTarget): Pool => {
    const secureContext = trustContextOf(target);
    const pool = new Pool(target.origin, {
      connections: 256,
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
    return pool;
  };
  for (const target of targets) if (!pools.has(poolKey(target))) add(target);
  return {
    get(target) {
      let pool = byTarget.get(target);
      if (pool === undefined) {
        pool = pools.get(poolKey(target)) ?? add(target);
        byTarget.set(target, pool);
      }
      return pool;
    },
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close().catch(() => pool.destroy())));
    },
  };
}
