/**
 * Observability of one gateway instance (docs/metrics.md, docs/logging.md): its metrics registry,
 * the request observer (metrics + access log), the /metrics handler, and the hooks through which other
 * services report what only they see (credential cache and store, token endpoint, JWKS,
 * configuration reloads).
 *
 * Wiring (src/services.ts): pass `observer` and `metricsHandler` to startGateway, call
 * `updateRoutes` from the bundle's `reload` and `recordReload` from its `recordReload`; give
 * `credentialEvents` to the credential verifier, `tokenIssued` to the token endpoint and
 * `jwksRefresh` to the external-issuer verifier.
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { GatewayConfig } from '../config/types.js';
import { createAccessLog } from './access-log.js';
import { certificateExpiries } from './certificate-expiry.js';
import { createCredentialEvents, type CacheSizes, type CredentialEventSink } from './credential-events.js';
import {
  isAuthOutcomeCode,
  JWKS_RESULTS,
  OTHER_ISSUER,
  type AuthOutcomeCode,
  type AuthScheme,
  type JwksResult,
  type ReloadResult,
  TOKEN_RESULTS,
  type TokenResult,
} from './labels.js';
import { createInternalErrorLog, type ReportInternalError } from './internal-errors.js';
import { logLinesDropped, type Logger } from './logger.js';
import { createMetricsHandler } from './metrics-handler.js';
import { TOKEN_ENDPOINT_ROUTE } from './labels.js';
import { createMetrics } from './metrics.js';
import type { RequestObserver } from './observer.js';
import { createRequestObserver } from './request-observer.js';
import { createRolloutMetrics } from './rollout-metrics.js';
import { createRouteSeriesTable } from './route-series.js';

const TOKEN_RESULT_SET: ReadonlySet<string> = new Set(TOKEN_RESULTS);

export type { AuthOutcomeCode, AuthScheme, CacheSizes, CredentialEventSink, JwksResult, ReloadResult, TokenResult };
export { NO_CREDENTIAL_EVENTS, verifierEventListener } from './credential-events.js';

export interface ObservabilityOptions {
  /** The configuration at startup: route names, `log.queryValues`, `jwt.issuers`. */
  readonly config: GatewayConfig;
  /** Where access-log lines and observation events go. */
  readonly logger: Logger;
  /** The Portcullis version, for `portcullis_build_info`. */
  readonly version: string;
}

export interface Observability {
  /** Hooks of the request pipeline: counts, times and logs every request on the proxy listener. */
  readonly observer: RequestObserver;
  /** Serves GET /metrics on the metrics listener (404 for other paths). */
  readonly metricsHandler: http.RequestListener;
  /** A SIGHUP reload succeeded (the configuration was swapped) or was refused. */
  recordReload(result: ReloadResult): void;
  /**
   * An authentication decision made outside the request pipeline. The observer already counts
   * one decision per proxied request on an `auth: required` route — do not report those again.
   * An unknown route name is counted as `none`; a code that is neither `ok` nor an `auth.*`
   * code of errors.ts is a programming error (TypeError).
   */
  authOutcome(routeName: string, scheme: AuthScheme, code: AuthOutcomeCode): void;
  /** For the credential verifier, its cache and its change-feed follower. */
  readonly credentialEvents: CredentialEventSink;
  /** The token endpoint issued an access token. */
  tokenIssued(): void;
  /** A request to the token endpoint ended with `result`. */
  tokenRequest(result: TokenResult): void;
  /** A JWKS refresh of an external issuer finished; `issuer` is the configured `iss`. */
  jwksRefresh(issuer: string, result: JwksResult): void;
  /** Applies a reloaded configuration (route names, `log.queryValues`, `jwt.issuers`, certificate expiries). */
  updateRoutes(config: GatewayConfig): void;
  /** Whether the running configuration differs from the file in keys only a restart applies. */
  setRestartRequired(required: boolean): void;
  /** This instance's registry (never prom-client's global one). */
  readonly registry: Registry;
  /** Logs the unexpected failure behind an `internal.error` answer against its request id. */
  readonly reportInternalError: ReportInternalError;
  /** Where `portcullis_store_feed_age_seconds` reads the feed's age at scrape time (the last call wins). */
  setFeedSource(source: { health(): { readonly ageMs: number } }): void;
  /** The latest count of active credentials by kind (`portcullis_credentials_active`). */
  setActiveCredentials(counts: { readonly api_token: number; readonly oauth_client: number }): void;
  /** A request on `routeName` was refused with rate.limited. */
  rateLimited(routeName: string): void;
  /** A request was refused with auth.too_many_failures. */
  authThrottled(): void;
  /** Where `portcullis_auth_throttle_addresses` reads the throttle's size at scrape time. */
  setThrottleSource(source: { size(): number }): void;
}

export function createObservability(options: ObservabilityOptions): Observability {
  const { config, logger, version } = options;
  let cacheSizes: CacheSizes | undefined;
  let feedSource: { health(): { readonly ageMs: number } } | undefined;
  let throttleSource: { size(): number } | undefined;
  // Late-bound: the observer is created after the metrics that read its in-flight count.
  let inFlight = (): number => 0;
  const metrics = createMetrics(version, {
    inFlight: () => inFlight(),
    cacheSizes: () => cacheSizes,
    logLinesDropped: () => logLinesDropped(logger),
    feedAgeMs: () => feedSource?.health().ageMs,
    throttleAddresses: () => throttleSource?.size() ?? 0,
  });
  const table = createRouteSeriesTable(metrics);
  const accessLog = createAccessLog(logger, config.log.queryValues);
  const rollout = createRolloutMetrics(metrics.registry);
  const observer = createRequestObserver(table, accessLog, logger, rollout);
  inFlight = observer.inFlight;

  let issuers: ReadonlySet<string> = new Set();
  let routeNames: ReadonlySet<string> = new Set();
  const applyConfig = (next: GatewayConfig): void => {
    table.addRoutes(next.routes.map((route) => route.name));
    rollout.setRoutes(next.routes);
    accessLog.setQueryValues(next.log.queryValues);
    accessLog.setTrustedProxies(next.trustedProxies);
    issuers = new Set(next.jwt.issuers.map((issuer) => issuer.issuer));
    for (const issuer of issuers) for (const result of JWKS_RESULTS) metrics.jwksRefreshes.labels(issuer, result).inc(0);
    // A certificate that is no longer configured must not keep alerting.
    metrics.certificateExpiry.reset();
    for (const { kind, name, expiresAt } of certificateExpiries(next)) metrics.certificateExpiry.labels(kind, name).set(expiresAt);
    for (const route of next.routes) if (route.rateLimit !== undefined) metrics.rateLimited.labels(route.name).inc(0);
    if (next.oauth.rateLimit !== undefined) metrics.rateLimited.labels(TOKEN_ENDPOINT_ROUTE).inc(0);
    routeNames = new Set([...next.routes.map((route) => route.name), TOKEN_ENDPOINT_ROUTE]);
  };
  applyConfig(config);

  return {
    reportInternalError: createInternalErrorLog(logger),
    observer,
    metricsHandler: createMetricsHandler(metrics.registry, logger),
    registry: metrics.registry,
    credentialEvents: createCredentialEvents(metrics, (source) => {
      cacheSizes = source;
    }),
    recordReload(result) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a label value the types rule out still must not become a new series
      if (result !== 'success' && result !== 'failure') throw new TypeError(`unknown reload result "${String(result)}"`);
      metrics.configReloads.labels(result).inc();
      metrics.lastReloadSuccessful.set(result === 'success' ? 1 : 0);
      if (result === 'success') metrics.lastReloadSuccess.set(Date.now() / 1000);
    },
    authOutcome(routeName, scheme, code) {
      if (!isAuthOutcomeCode(code)) throw new TypeError(`"${String(code)}" is not an authentication outcome code`);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a label value the types rule out still must not become a new series
      if (scheme !== 'bearer' && scheme !== 'basic' && scheme !== 'none') throw new TypeError(`unknown scheme "${String(scheme)}"`);
      table
        .get(table.has(routeName) ? routeName : undefined)
        .authDecision(scheme, code)
        .inc();
    },
    tokenIssued() {
      metrics.tokensIssued.inc();
    },
    tokenRequest(result) {
      metrics.tokenRequests.labels(TOKEN_RESULT_SET.has(result) ? result : 'internal_error').inc();
    },
    jwksRefresh(issuer, result) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a label value the types rule out still must not become a new series
      if (result !== 'ok' && result !== 'error') throw new TypeError(`unknown JWKS refresh result "${String(result)}"`);
      metrics.jwksRefreshes.labels(issuers.has(issuer) ? issuer : OTHER_ISSUER, result).inc();
    },
    updateRoutes: applyConfig,
    setRestartRequired(required) {
      metrics.restartRequired.set(required ? 1 : 0);
    },
    setFeedSource(source) {
      feedSource = source;
    },
    rateLimited(routeName) {
      // Route names come from the configuration; anything else would be a label a client chose.
      if (routeNames.has(routeName)) metrics.rateLimited.labels(routeName).inc();
    },
    authThrottled() {
      metrics.authThrottled.inc();
    },
    setThrottleSource(source) {
      throttleSource = source;
    },
    setActiveCredentials(counts) {
      metrics.credentialsActive.set({ kind: 'api_token' }, counts.api_token);
      metrics.credentialsActive.set({ kind: 'oauth_client' }, counts.oauth_client);
    },
  };
}
