/**
 * Compilation: a validated configuration → the frozen runtime `GatewayConfig`. Paths become
 * absolute, durations milliseconds, PEM files their text, routes `RoutePolicy` objects with
 * their host match, path prefix, method set and upstream target precomputed. Nothing on the
 * request path parses configuration again.
 */
import path from 'node:path';
import { parseDuration } from './durations.js';
import { compileDeprecation } from './deprecations.js';
import { deepFreeze, frozenSet } from './freeze.js';
import { methodList } from './check-routes.js';
import type { RawRoute } from './schema.js';
import { compileTrustedProxies } from './trusted-proxies.js';
import type { GatewayConfig, RateLimitPolicy, RoutePolicy, UpstreamTarget } from './types.js';
import type { ValidatedConfig } from './validate.js';
import {
  normalisePathPrefix,
  parseCidr,
  parseHostMatch,
  parseListen,
  parseStoreUrl,
  parseUpstream,
  storeUrlOf,
  type Parsed,
} from './values.js';

/** Values were checked by `validateConfig`; a failure here is a bug, not a user error. */
function must<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new TypeError(`compileConfig: unvalidated configuration: ${parsed.message}`);
  return parsed.value;
}

/** Routes naming the same upstream and CA file share one target: parsed once, one object. */
type UpstreamTargets = Map<string, UpstreamTarget>;

function upstreamTarget(route: RawRoute, config: ValidatedConfig, targets: UpstreamTargets): UpstreamTarget {
  const key = route.upstreamCa === undefined ? route.upstream : `${route.upstream}\n${route.upstreamCa}`;
  let target = targets.get(key);
  if (target === undefined) {
    const ca = route.upstreamCa === undefined ? undefined : config.files.get(path.resolve(config.baseDir, route.upstreamCa));
    target = Object.freeze({ ...must(parseUpstream(route.upstream)), ca });
    targets.set(key, target);
  }
  return target;
}

/**
 * A route, frozen as it is built (deepFreeze stops at frozen objects): walking 10,000 routes
 * afterwards took a third of the compilation. A test walks the whole result for anything unfrozen.
 */
function compileRoute(route: RawRoute, index: number, config: ValidatedConfig, targets: UpstreamTargets): RoutePolicy {
  const methods = methodList(route.match.methods);
  return Object.freeze({
    name: route.name,
    index,
    host: Object.freeze(parseHostMatch(route.match.host)),
    pathPrefix: must(normalisePathPrefix(route.match.path)),
    methods: methods === undefined ? undefined : frozenSet(methods),
    upstream: upstreamTarget(route, config, targets),
    auth: route.auth,
    access: route.access,
    credentials: frozenSet(route.credentials),
    requiredHeaders: Object.freeze([...new Set((route.require?.headers ?? []).map((h) => h.toLowerCase()))]),
    requiredQuery: Object.freeze([...new Set(route.require?.query ?? [])]),
    identityMatch: Object.freeze(
      Object.entries(route.require?.match ?? {}).map(([header, field]) => Object.freeze([header.toLowerCase(), field] as const)),
    ),
    timeoutMs: parseDuration(route.timeout),
    websocket: route.websocket,
    readsWithBody: route.readsWithBody,
    rateLimit: route.rateLimit === undefined ? undefined : rateLimitPolicy(route.rateLimit),
    mode: route.mode,
    deprecated: Object.freeze(
      Object.fromEntries(Object.entries(route.deprecated ?? {}).map(([scheme, raw]) => [scheme, compileDeprecation(raw)])),
    ),
  });
}

function rateLimitPolicy(raw: NonNullable<RawRoute['rateLimit']>): RateLimitPolicy {
  return Object.freeze({ requests: raw.requests, perMs: parseDuration(raw.per), burst: raw.burst ?? raw.requests });
}

/**
 * Build the runtime configuration from a validated one. `file` is the config file (made
 * absolute). The result is deeply frozen.
 */
export function compileConfig(config: ValidatedConfig, file: string): GatewayConfig {
  const { raw, baseDir, files } = config;
  const fileText = (written: string): string => files.get(path.resolve(baseDir, written)) ?? '';
  const targets: UpstreamTargets = new Map();
  return deepFreeze<GatewayConfig>({
    file: path.resolve(file),
    files: [...files.keys()],
    listen: must(parseListen(raw.listen)),
    tls: raw.tls === undefined ? undefined : { cert: fileText(raw.tls.cert), key: fileText(raw.tls.key) },
    trustedProxies: compileTrustedProxies(raw.trustedProxies.map((text) => must(parseCidr(text)))),
    workers: raw.workers,
    limits: {
      maxHeaderBytes: raw.limits.maxHeaderBytes,
      headersTimeoutMs: parseDuration(raw.limits.headersTimeout),
      shutdownGraceMs: parseDuration(raw.limits.shutdownGrace),
      requestTimeoutMs: parseDuration(raw.limits.requestTimeout),
      bodyReadTimeoutMs: parseDuration(raw.limits.bodyReadTimeout),
      maxConnectionsPerClient: raw.limits.maxConnectionsPerClient,
      maxInFlightPerClient: raw.limits.maxInFlightPerClient,
      upstreamQueueSize: raw.limits.upstreamQueueSize,
      upstreamQueueTimeoutMs: parseDuration(raw.limits.upstreamQueueTimeout),
      responseStallTimeoutMs: parseDuration(raw.limits.responseStallTimeout),
      shutdownDelayMs: parseDuration(raw.limits.shutdownDelay),
    },
    admin: {
      listen: must(parseListen(raw.admin.listen)),
      tls: raw.admin.tls === undefined ? undefined : { cert: fileText(raw.admin.tls.cert), key: fileText(raw.admin.tls.key) },
      allowOnProxyRoutes: raw.admin.allowOnProxyRoutes,
      console: raw.admin.console,
      sessionIdleTimeoutMs: parseDuration(raw.admin.sessionIdleTimeout),
    },
    metrics: { listen: must(parseListen(raw.metrics.listen)) },
    store: {
      url: storeUrlOf(must(parseStoreUrl(raw.store.url, baseDir))),
      poolSize: raw.store.poolSize,
      queryTimeoutMs: parseDuration(raw.store.queryTimeout),
      migrate: raw.store.migrate,
    },
    cache: {
      maxEntries: raw.cache.maxEntries,
      ttlMs: parseDuration(raw.cache.ttl),
      negativeTtlMs: parseDuration(raw.cache.negativeTtl),
      negativeMaxEntries: raw.cache.negativeMaxEntries,
      maxStalenessMs: parseDuration(raw.cache.maxStaleness),
    },
    tokens: { defaultExpiryMs: raw.tokens.defaultExpiry === undefined ? undefined : parseDuration(raw.tokens.defaultExpiry) },
    oauth: {
      issuer: raw.oauth.issuer,
      audience: raw.oauth.audience,
      tokenTtlMs: parseDuration(raw.oauth.tokenTtl),
      leewayMs: parseDuration(raw.oauth.leeway),
      ...(raw.oauth.keyEncryptionKey === undefined ? {} : { keyEncryptionKey: raw.oauth.keyEncryptionKey }),
      previousKeyEncryptionKeys: [...raw.oauth.previousKeyEncryptionKeys],
      allowPlaintextSigningKeys: raw.oauth.allowPlaintextSigningKeys,
      ...(raw.oauth.rateLimit === undefined ? {} : { rateLimit: rateLimitPolicy(raw.oauth.rateLimit) }),
    },
    jwt: {
      issuers: raw.jwt.issuers.map((issuer) => ({
        issuer: issuer.issuer,
        jwksUrl: issuer.jwksUrl,
        audience: issuer.audience,
        scopeClaim: issuer.scopeClaim,
        readWriteValues: [...issuer.readWriteValues],
        readOnlyValues: [...issuer.readOnlyValues],
        jwksCa: issuer.jwksCa === undefined ? undefined : fileText(issuer.jwksCa),
        deprecated: issuer.deprecated === undefined ? undefined : compileDeprecation(issuer.deprecated),
      })),
    },
    log: { level: raw.log.level, queryValues: [...raw.log.queryValues], bufferBytes: raw.log.bufferBytes },
    throttle:
      raw.throttle === undefined
        ? undefined
        : {
            failures: raw.throttle.failures,
            windowMs: parseDuration(raw.throttle.window),
            maxAddresses: raw.throttle.maxAddresses,
          },
    rateLimits: {
      maxKeys: raw.rateLimits.maxKeys,
      credentials: Object.fromEntries(Object.entries(raw.rateLimits.credentials).map(([id, limit]) => [id, rateLimitPolicy(limit)])),
    },
    routes: raw.routes.map((route, index) => compileRoute(route, index, config, targets)),
  });
}
