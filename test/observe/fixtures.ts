/**
 * Configurations for unit tests of src/observe that need no listener.
 */
import { compileTrustedProxies } from '../../src/config/trusted-proxies.js';
import type { GatewayConfig, RoutePolicy } from '../../src/config/types.js';

function route(name: string, index: number): RoutePolicy {
  return {
    name,
    index,
    host: { kind: 'any' },
    pathPrefix: `/${name}`,
    methods: undefined,
    upstream: {
      origin: 'https://127.0.0.1:1',
      hostname: '127.0.0.1',
      port: 1,
      servername: '127.0.0.1',
      hostHeader: '127.0.0.1:1',
      basePath: '',
      ca: undefined,
    },
    auth: 'required',
    access: 'read-only',
    credentials: new Set(['bearer', 'basic'] as const),
    requiredHeaders: [],
    requiredQuery: [],
    identityMatch: [],
    timeoutMs: 30_000,
    websocket: 'read-write',
    readsWithBody: false,
    mode: 'enforce',
    deprecated: {},
  };
}

/** A compiled configuration with the given routes, query allow-list and external issuers. */
export function minimalConfig(
  options: { routes?: readonly string[]; queryValues?: readonly string[]; issuers?: readonly string[] } = {},
): GatewayConfig {
  return {
    file: '/dev/null',
    files: [],
    listen: { host: '127.0.0.1', port: 0 },
    tls: undefined,
    trustedProxies: compileTrustedProxies([]),
    workers: 1,
    limits: {
      maxHeaderBytes: 16_384,
      headersTimeoutMs: 10_000,
      shutdownGraceMs: 1_000,
      shutdownDelayMs: 0,
      requestTimeoutMs: 60_000,
      bodyReadTimeoutMs: 10_000,
      maxConnectionsPerClient: 256,
      maxInFlightPerClient: 64,
      upstreamQueueSize: 256,
      upstreamQueueTimeoutMs: 5_000,
      responseStallTimeoutMs: 30_000,
    },
    admin: {
      listen: { host: '127.0.0.1', port: 0 },
      tls: undefined,
      allowOnProxyRoutes: false,
      console: true,
      sessionIdleTimeoutMs: 1_800_000,
    },
    metrics: { listen: { host: '127.0.0.1', port: 0 } },
    store: { url: 'sqlite:/dev/null', poolSize: 10, queryTimeoutMs: 2000, migrate: true },
    cache: { maxEntries: 10, ttlMs: 1_000, negativeTtlMs: 1_000, negativeMaxEntries: 10 },
    tokens: { defaultExpiryMs: undefined },
    oauth: { issuer: 'https://portcullis.local', audience: 'portcullis', tokenTtlMs: 3_600_000, leewayMs: 30_000 },
    jwt: {
      issuers: (options.issuers ?? []).map((issuer) => ({
        issuer,
        jwksUrl: `${issuer}/jwks.json`,
        audience: 'api',
        scopeClaim: 'scope',
        readWriteValues: ['write'],
        readOnlyValues: ['read'],
        jwksCa: undefined,
      })),
    },
    log: { level: 'info', queryValues: options.queryValues ?? [], bufferBytes: 4_194_304 },
    routes: (options.routes ?? ['alpha']).map(route),
  };
}

/** Every key of an access-log line: pino's (level, time, service) and ours. docs/logging.md lists the same. */
export const ACCESS_LINE_KEYS = [
  'level',
  'time',
  'service',
  'event',
  'requestId',
  'route',
  'method',
  'path',
  'status',
  'durationMs',
  'upstreamMs',
  'credentialId',
  'decision',
  'shadow',
  'bytesIn',
  'bytesOut',
  'clientAddress',
].sort();
