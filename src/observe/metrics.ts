/**
 * The gateway's metrics, defined once on a Registry that belongs to one gateway
 * instance — never prom-client's global registry, so two gateways (or two tests) in one process
 * never share a series. Every metric below is documented in docs/metrics.md; a test compares the
 * two (names, types, labels).
 *
 * Label values come only from the bounded sets of labels.ts. Gauges are computed in `collect()`,
 * at scrape time, from the sources given here.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CACHE_KINDS, CACHE_LOOKUP_RESULTS, EVICTION_REASONS, RELOAD_RESULTS, TOKEN_RESULTS } from './labels.js';
import { LabelledCounter } from './labelled-counter.js';
import { RouteHistogram } from './route-histogram.js';

/** Prefix of every Portcullis metric. */
export const METRIC_PREFIX = 'portcullis_';

/**
 * Request and upstream latency buckets, in seconds: from the gateway's own sub-millisecond
 * refusals up to a minute (route timeouts default to 30 s).
 */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Credential change apply delay buckets, in seconds; a change reaches every instance within 1 s (docs/credentials.md). */
export const CHANGE_DELAY_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];

/**
 * prom-client default metrics dropped from the registry: gauges named `_total`, which Prometheus'
 * linter (`promtool check metrics`) refuses, and which are only the sums of the by-type gauges
 * `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`.
 */
const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Sizes of the two credential caches, read at scrape time. */
export interface CacheSizes {
  positiveSize(): number;
  negativeSize(): number;
}

/** What the gauges read at scrape time. */
export interface GaugeSources {
  inFlight(): number;
  /** The credential cache, once one is attached; undefined reports 0 entries. */
  cacheSizes(): CacheSizes | undefined;
  /** Log lines dropped so far because the log reader did not keep up (log-sink.ts). */
  logLinesDropped?(): number;
  /** Milliseconds since the change feed was last confirmed, once a follower is attached. */
  feedAgeMs(): number | undefined;
  /** Client addresses the failed-attempt throttle remembers, once one is attached. */
  throttleAddresses?(): number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** `portcullis_requests_total` — counter, requests; labels route, method, status. */
  readonly requests: LabelledCounter<'route' | 'method' | 'status'>;
  /** `portcullis_request_duration_seconds` — histogram, seconds; label route (route-histogram.ts). */
  readonly requestDuration: RouteHistogram;
  /** `portcullis_upstream_duration_seconds` — histogram, seconds; label route (route-histogram.ts). */
  readonly upstreamDuration: RouteHistogram;
  /** `portcullis_requests_in_flight` — gauge, requests; no labels. */
  readonly inFlight: Gauge;
  /** `portcullis_auth_decisions_total` — counter, decisions; labels route, scheme, result, code. */
  readonly authDecisions: LabelledCounter<'route' | 'scheme' | 'result' | 'code'>;
  /** `portcullis_credential_cache_lookups_total` — counter, lookups; label result. */
  readonly cacheLookups: LabelledCounter<'result'>;
  /** `portcullis_credential_cache_evictions_total` — counter, entries; label reason. */
  readonly cacheEvictions: LabelledCounter<'reason'>;
  /** `portcullis_credential_cache_entries` — gauge, entries; label cache. */
  readonly cacheEntries: Gauge<'cache'>;
  /** `portcullis_store_reads_total` — counter, reads; no labels. */
  readonly storeReads: Counter;
  /** `portcullis_store_errors_total` — counter, errors; no labels. */
  readonly storeErrors: Counter;
  /** `portcullis_store_feed_age_seconds` — gauge, seconds; no labels. */
  readonly feedAge: Gauge;
  /** `portcullis_credential_change_apply_delay_seconds` — histogram, seconds; no labels. */
  readonly changeApplyDelay: Histogram;
  /** `portcullis_upstream_errors_total` — counter, errors; labels route, kind. */
  readonly upstreamErrors: LabelledCounter<'route' | 'kind'>;
  /** `portcullis_tokens_issued_total` — counter, tokens; no labels. */
  readonly tokensIssued: Counter;
  /** `portcullis_oauth_token_requests_total` — counter, requests; label result. */
  readonly tokenRequests: LabelledCounter<'result'>;
  /** `portcullis_jwks_refreshes_total` — counter, refreshes; labels issuer, result. */
  readonly jwksRefreshes: LabelledCounter<'issuer' | 'result'>;
  /** `portcullis_config_reloads_total` — counter, reloads; label result. */
  readonly configReloads: LabelledCounter<'result'>;
  /** `portcullis_config_last_reload_success_timestamp_seconds` — gauge, Unix seconds; no labels. */
  readonly lastReloadSuccess: Gauge;
  /** `portcullis_config_last_reload_successful` — gauge, 1 or 0; no labels. */
  readonly lastReloadSuccessful: Gauge;
  /** `portcullis_tls_certificate_expiry_timestamp_seconds` — gauge, Unix seconds; labels kind, name. */
  readonly certificateExpiry: Gauge<'kind' | 'name'>;
  /** `portcullis_config_restart_required` — gauge, 1 or 0; no labels. */
  readonly credentialsActive: Gauge<'kind'>;
  readonly restartRequired: Gauge;
  /** `portcullis_build_info` — gauge, always 1; labels version, node_version. */
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  /** `portcullis_log_lines_dropped_total` — counter, lines; no labels; read from the log sink at scrape time. */
  readonly logLinesDropped: Counter;
  /** `portcullis_rate_limited_total` — counter, requests; label route. */
  readonly rateLimited: LabelledCounter<'route'>;
  /** `portcullis_auth_throttled_total` — counter, requests; no labels. */
  readonly authThrottled: Counter;
  /** `portcullis_auth_throttle_addresses` — gauge, addresses; computed at scrape time. */
  readonly throttleAddresses: Gauge;
}

/** Creates the registry, the default process metrics and every Portcullis metric. */
export function createMetrics(version: string, sources: GaugeSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const registers = [registry];
  // What portcullis_log_lines_dropped_total has been brought up to from the sink's running total.
  let droppedCounted = 0;

  // The two per-request latency histograms: registered here, rendered by the registry.
  const routeHistogram = (name: string, help: string): RouteHistogram => {
    const histogram = new RouteHistogram(name, help, LATENCY_BUCKETS);
    registry.registerMetric(histogram as never);
    return histogram;
  };

  // Labelled counters: children bound once (labelled-counter.ts), rendered by the registry.
  const labelledCounter = <Label extends string>(name: string, help: string, labelNames: readonly Label[]): LabelledCounter<Label> => {
    const counter = new LabelledCounter(name, help, labelNames);
    registry.registerMetric(counter as never);
    return counter;
  };

  const metrics: GatewayMetrics = {
    registry,
    requests: labelledCounter(
      'portcullis_requests_total',
      'Requests on the proxy listener whose response closed, by route (none: no route), method (fixed list, OTHER) and status code (499: the client left before a response).',
      ['route', 'method', 'status'] as const,
    ),
    requestDuration: routeHistogram(
      'portcullis_request_duration_seconds',
      "Time from the request's arrival to the response's close, in seconds, by route. WebSocket sessions (101) are not observed.",
    ),
    upstreamDuration: routeHistogram(
      'portcullis_upstream_duration_seconds',
      'Time from sending the request upstream to receiving the upstream response headers, in seconds, by route.',
    ),
    inFlight: new Gauge({
      name: 'portcullis_requests_in_flight',
      help: 'Requests on the proxy listener currently being served.',
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    }),
    authDecisions: labelledCounter(
      'portcullis_auth_decisions_total',
      'Authentication decisions on routes that require credentials, by route, presented scheme (bearer, basic, none), result (success, failure) and code (ok or an auth.* error code).',
      ['route', 'scheme', 'result', 'code'] as const,
    ),
    cacheLookups: labelledCounter(
      'portcullis_credential_cache_lookups_total',
      'Credential cache lookups by result: hit (verified credential cached), negative_hit (refusal cached), miss (the store is asked).',
      ['result'] as const,
    ),
    cacheEvictions: labelledCounter(
      'portcullis_credential_cache_evictions_total',
      'Entries removed from the credential caches, by reason: capacity (LRU), expired (TTL), change (revoke, rotate or account change read from the store).',
      ['reason'] as const,
    ),
    cacheEntries: new Gauge({
      name: 'portcullis_credential_cache_entries',
      help: 'Entries currently held by the credential caches, by cache (positive, negative).',
      labelNames: ['cache'] as const,
      registers,
      collect() {
        const sizes = sources.cacheSizes();
        this.set({ cache: 'positive' }, sizes?.positiveSize() ?? 0);
        this.set({ cache: 'negative' }, sizes?.negativeSize() ?? 0);
      },
    }),
    storeReads: new Counter({
      name: 'portcullis_store_reads_total',
      help: 'Credential lookups that reached the credential store (cache misses); change-feed polls are not counted.',
      registers,
    }),
    storeErrors: new Counter({
      name: 'portcullis_store_errors_total',
      help: 'Credential store operations that failed (store unreachable, query error).',
      registers,
    }),
    feedAge: new Gauge({
      name: 'portcullis_store_feed_age_seconds',
      help: "Seconds since this instance last confirmed the store's change feed (read to its end); above cache.maxStaleness the instance refuses credentials and is unready.",
      registers,
      collect() {
        const ageMs = sources.feedAgeMs();
        this.set(ageMs === undefined ? 0 : ageMs / 1000);
      },
    }),
    changeApplyDelay: new Histogram({
      name: 'portcullis_credential_change_apply_delay_seconds',
      help: 'Delay between a credential change in the store (revoke, rotate, account change) and the moment this instance applied it, in seconds.',
      buckets: [...CHANGE_DELAY_BUCKETS],
      registers,
    }),
    upstreamErrors: labelledCounter(
      'portcullis_upstream_errors_total',
      'Upstream failures by route and kind (unavailable, tls, timeout, reset, saturated, client_stalled: the client stopped reading the response).',
      ['route', 'kind'] as const,
    ),
    tokensIssued: new Counter({
      name: 'portcullis_tokens_issued_total',
      help: 'Access tokens issued by the OAuth token endpoint.',
      registers,
    }),
    tokenRequests: labelledCounter(
      'portcullis_oauth_token_requests_total',
      'Requests to the OAuth token endpoint by result: issued, an RFC 6749 error code (invalid_request, invalid_client, unauthorized_client, unsupported_grant_type, invalid_scope, temporarily_unavailable), refused (wrong method or malformed request) or internal_error.',
      ['result'] as const,
    ),
    jwksRefreshes: labelledCounter(
      'portcullis_jwks_refreshes_total',
      'JWKS refreshes of external issuers, by issuer (as configured in jwt.issuers; other for any other) and result (ok, error).',
      ['issuer', 'result'] as const,
    ),
    configReloads: labelledCounter('portcullis_config_reloads_total', 'Configuration reloads (SIGHUP) by result (success, failure).', [
      'result',
    ] as const),
    lastReloadSuccess: new Gauge({
      name: 'portcullis_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last successful configuration load (startup or reload), in seconds.',
      registers,
    }),
    lastReloadSuccessful: new Gauge({
      name: 'portcullis_config_last_reload_successful',
      help: 'Whether the last configuration reload succeeded (1) or was refused (0); 1 at startup.',
      registers,
    }),
    certificateExpiry: new Gauge({
      name: 'portcullis_tls_certificate_expiry_timestamp_seconds',
      help: "When a certificate stops being valid (notAfter, Unix seconds; the earliest in the file), by kind (listener: served by the proxy or admin listener; upstream_ca: a route's upstreamCa; jwks_ca: an issuer's jwksCa) and name (proxy, admin, the route or the issuer). Updated on start and on every reload.",
      labelNames: ['kind', 'name'] as const,
      registers,
    }),
    credentialsActive: new Gauge({
      name: 'portcullis_credentials_active',
      help: 'Credentials in the store that work now, by kind (api_token: not revoked, not expired, of no disabled account; oauth_client: not revoked). Counted every 30 s off the request path; absent until the first count.',
      labelNames: ['kind'] as const,
      // Every worker counts the same store: the host value is one count, not their sum.
      aggregator: 'max',
      registers,
    }),
    restartRequired: new Gauge({
      name: 'portcullis_config_restart_required',
      help: 'Whether the last applied reload left keys that only a restart applies (1) or not (0); the config.restart_required log line names them.',
      registers,
    }),
    buildInfo: new Gauge({
      name: 'portcullis_build_info',
      help: 'Always 1; labels carry the Portcullis version and the Node.js version.',
      labelNames: ['version', 'node_version'] as const,
      registers,
    }),
    logLinesDropped: new Counter({
      name: 'portcullis_log_lines_dropped_total',
      help: 'Log lines (access and event lines) dropped because the reader of stdout did not keep up; see docs/logging.md.',
      registers,
      collect() {
        const total = sources.logLinesDropped?.() ?? 0;
        const counted = droppedCounted;
        if (total > counted) {
          this.inc(total - counted);
          droppedCounted = total;
        }
      },
    }),
    rateLimited: labelledCounter(
      'portcullis_rate_limited_total',
      "Requests refused with 429 rate.limited, by route: the route's rate limit (or a credential's override) was used up. Nothing was sent upstream.",
      ['route'] as const,
    ),
    authThrottled: new Counter({
      name: 'portcullis_auth_throttled_total',
      help: 'Requests refused with 429 auth.too_many_failures before their credential was checked: their client address failed authentication too often (proxy routes, token endpoint, admin API).',
      registers,
    }),
    throttleAddresses: new Gauge({
      name: 'portcullis_auth_throttle_addresses',
      help: 'Client addresses (IPv6: /64 networks) whose failed authentications the throttle remembers; at most throttle.maxAddresses.',
      registers,
      collect() {
        this.set(sources.throttleAddresses?.() ?? 0);
      },
    }),
  };

  // Counters of small fixed label sets start at 0, so rate() and absent() work from the first scrape.
  for (const result of CACHE_LOOKUP_RESULTS) metrics.cacheLookups.labels(result).inc(0);
  for (const reason of EVICTION_REASONS) metrics.cacheEvictions.labels(reason).inc(0);
  for (const result of RELOAD_RESULTS) metrics.configReloads.labels(result).inc(0);
  for (const result of TOKEN_RESULTS) metrics.tokenRequests.labels(result).inc(0);
  for (const cache of CACHE_KINDS) metrics.cacheEntries.labels(cache).set(0);
  metrics.buildInfo.labels(version, process.version).set(1);
  metrics.lastReloadSuccess.set(Date.now() / 1000);
  metrics.lastReloadSuccessful.set(1);
  metrics.restartRequired.set(0);
  metrics.authThrottled.inc(0);
  return metrics;
}
