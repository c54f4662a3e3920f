/**
 * Builds the services the gateway composes around the request path: the credential store and
 * its cached verifier (authentication), the admin API, readiness. Each capability plugs in here
 * without touching the pipeline.
 */
import { adminSettingsOf, createAdminOperations } from './admin/operations.js';
import { createAdminHandler } from './admin/server.js';
import { createConsoleSessions } from './console/sessions.js';
import { loadConsoleFiles } from './console/static-files.js';
import { createAuthenticator } from './authenticate/index.js';
import type { GatewayConfig } from './config/types.js';
import type { PresentedCredential } from './types.js';
import {
  createChangeFeedFollower,
  createCredentialVerifier,
  type ChangeFeedFollower,
  type CredentialStore,
  type CredentialVerifier,
  type VerifierEvent,
  isPostgresUrl,
  openStore,
  storeOptionsOf,
} from './credentials/index.js';
import type { GatewayServices } from './gateway.js';
import { createObservability, type Observability, verifierEventListener } from './observe/index.js';
import type { Logger } from './observe/logger.js';
import { PACKAGE_VERSION } from './version.js';
import { workersOfThisHost } from './cluster/workers-count.js';
import { createAuthThrottle, type AuthThrottle } from './limit/auth-throttle.js';
import { createRateLimits, type RateLimits } from './limit/rate-limits.js';
import { createOAuth, requireKeyProtection, type OAuthHooks, type OAuthService } from './oauth/index.js';
import { createTokenRateLimit } from './oauth/token-rate-limit.js';

export interface ServiceBundle extends GatewayServices {
  readonly store: CredentialStore;
  readonly verifier: CredentialVerifier;
  /** The process's one change-feed follower: feeds the verifier's and the OAuth layer's caches. */
  readonly feed: ChangeFeedFollower;
  /** The OAuth layer: token endpoint, JWKS, bearer JWT verification (src/oauth). */
  readonly oauth: OAuthService;
  /** Metrics and the access log (src/observe). */
  readonly observability: Observability;
  /** Failed-attempt throttling per client address (src/limit). */
  readonly throttle: AuthThrottle;
  /** Rate limits per route (src/limit). */
  readonly rateLimits: RateLimits;
  /** Applies a reloaded configuration to the services that depend on it. */
  reload?(config: GatewayConfig): void;
  recordReload?(result: 'success' | 'failure'): void;
  close(): Promise<void>;
}

export interface ServiceHooks extends OAuthHooks {
  readonly onVerifierEvent?: (event: VerifierEvent) => void;
}

/** How often `portcullis_credentials_active` is counted, in ms. */
const ACTIVE_CREDENTIALS_REFRESH_MS = 30_000;

export async function createServices(config: GatewayConfig, logger: Logger, hooks: ServiceHooks = {}): Promise<ServiceBundle> {
  const observability = createObservability({ config, logger, version: PACKAGE_VERSION });
  const toMetrics = verifierEventListener(observability.credentialEvents);
  // The key-protection policy first: a refusal must not leave a database connection open.
  requireKeyProtection(config.oauth, config.store.url);
  // A PostgreSQL store that cannot be reached at start does not stop the process: it stays
  // unready (readiness pings the store), logs why (host and port, never the password) and keeps
  // trying with backoff. A schema it cannot use still fails the start.
  let lastUnreachable: string | undefined;
  // The gateway never creates a SQLite store: a missing file is a mistyped path or an unmounted
  // volume, and serving from an empty store would answer 401 to everyone while ready. On
  // PostgreSQL, store.migrate also creates the schema in an empty database (which must exist).
  const store = await openStore(config.store.url, {
    ...storeOptionsOf(config.store),
    create: isPostgresUrl(config.store.url) && config.store.migrate,
    onUnreachable: (message) => {
      if (message !== lastUnreachable) logger.error({ event: 'store.unreachable' }, `${message}; retrying`);
      lastUnreachable = message;
    },
    onReachable: () => {
      lastUnreachable = undefined;
      logger.info({ event: 'store.reachable' }, 'the credential store answers; starting to serve credentials');
    },
  });
  let storeDown = false;
  const feed = createChangeFeedFollower({
    store,
    ...(config.cache.maxStalenessMs === undefined ? {} : { maxStalenessMs: config.cache.maxStalenessMs }),
    onError: () => observability.credentialEvents.storeError(),
    onFreshness: (fresh, health) => {
      if (fresh)
        logger.info({ event: 'store.feed_fresh' }, 'the change feed is confirmed again: every change since the last position is applied');
      else logger.error({ event: 'store.feed_stale', ageMs: Math.round(health.ageMs) }, health.reason ?? 'the change feed is stale');
    },
    onPushState: (connected) => {
      if (connected) logger.info({ event: 'store.push_connected' }, "the store's push channel is back; catching up");
      else logger.warn({ event: 'store.push_lost' }, "the store's push channel dropped; changes arrive by polling until it is back");
    },
  });
  observability.setFeedSource(feed);
  // portcullis_credentials_active: two counting queries every 30 s, never on the request path.
  // A failed count keeps the last one (the store's own metrics and readiness report the outage).
  const countActive = (): void => {
    store.countActive().then(observability.setActiveCredentials, () => undefined);
  };
  countActive();
  const activeTimer = setInterval(countActive, ACTIVE_CREDENTIALS_REFRESH_MS);
  activeTimer.unref();
  const verifier = createCredentialVerifier({
    store,
    feed,
    cache: config.cache,
    onEvent: (event) => {
      toMetrics(event);
      hooks.onVerifierEvent?.(event);
      if (event.type === 'store_error' && !storeDown) {
        storeDown = true;
        logger.error({ event: 'store.error', op: event.op }, 'the credential store failed');
      } else if (event.type === 'store_read' && storeDown) {
        storeDown = false;
        logger.info({ event: 'store.recovered' }, 'the credential store answers again');
      }
    },
  });
  observability.credentialEvents.setEntriesSource(verifier);
  await verifier.start();
  // Per-process limits: each worker takes its share of the instance's (src/limit).
  const share = workersOfThisHost();
  // Set once the verifier exists, below; the throttle, built before it, reads it per request.
  // eslint-disable-next-line prefer-const -- assigned after the try block that builds the verifier
  let cachedCheck: ((presented: PresentedCredential) => boolean) | undefined;
  const throttle = createAuthThrottle(config, {
    cached: (presented) => cachedCheck?.(presented) ?? false,
    onThrottled: () => observability.authThrottled(),
    onThrottleStarted: (client, seconds) => {
      logger.warn(
        { event: 'auth.throttle_started', client, seconds },
        'a client address failed authentication too often; its attempts are refused until its window ends',
      );
    },
    share,
  });
  observability.setThrottleSource(throttle);
  const rateLimits = createRateLimits(config, { share, onLimited: (route) => observability.rateLimited(route) });
  const tokenRateLimit = createTokenRateLimit(config, { share, onLimited: (route) => observability.rateLimited(route) });
  let oauth: OAuthService;
  try {
    oauth = await createOAuth({
      config,
      store,
      feed,
      credentials: verifier,
      throttle: throttle.verifierFor,
      tokenRateLimit: (client, req) => tokenRateLimit.admit(client, req),
      hooks: {
        onTokenResult: (result) => {
          observability.tokenRequest(result);
          hooks.onTokenResult?.(result);
        },
        onTokenIssued: () => {
          observability.tokenIssued();
          hooks.onTokenIssued?.();
        },
        onJwksRefresh: (index, result) => {
          observability.jwksRefresh(config.jwt.issuers[index]?.issuer ?? 'other', result);
          hooks.onJwksRefresh?.(index, result);
        },
      },
      onWarning: (event, message) => logger.warn({ event }, message),
      onInternalError: observability.reportInternalError,
    });
  } catch (error) {
    // E.g. a signing key that does not decrypt: close what is open so the process can exit.
    clearInterval(activeTimer);
    await verifier.close();
    feed.close();
    await store.close();
    throw error;
  }
  const presentedVerifier = oauth.verifier;
  cachedCheck = (presented) => presentedVerifier.cached?.(presented) ?? false;
  const authenticate = throttle.wrap(createAuthenticator(presentedVerifier));
  let limits = config.limits;
  let current = config;
  const admin = createAdminOperations(store, adminSettingsOf(config));
  return {
    store,
    verifier,
    feed,
    oauth,
    observability,
    throttle,
    rateLimits,
    authenticate,
    observer: observability.observer,
    metricsHandler: observability.metricsHandler,
    recordReload: observability.recordReload,
    ownEndpoints: oauth.handle,
    reload(next) {
      limits = next.limits;
      current = next;
      throttle.reload(next);
      rateLimits.reload(next);
      tokenRateLimit.reload(next);
      observability.updateRoutes(next);
      oauth.reload(next);
    },
    adminHandler: createAdminHandler(admin, authenticate, {
      onInternalError: observability.reportInternalError,
      bodyReadTimeoutMs: () => limits.bodyReadTimeoutMs,
      lookups: { token: (id) => store.tokens.get(id), account: (name) => store.accounts.get(name) },
      routes: () => current.routes,
      ...(config.admin.console
        ? {
            console: {
              files: loadConsoleFiles(),
              verifier: oauth.verifier,
              throttle: throttle.verifierFor,
              sessions: createConsoleSessions(store, {
                tls: config.admin.tls !== undefined,
                idleMs: () => current.admin.sessionIdleTimeoutMs,
              }),
            },
          }
        : {}),
    }),
    async readiness() {
      const health = feed.health();
      if (!health.fresh) return health.reason ?? 'the change feed is stale';
      try {
        await store.ping();
      } catch {
        return 'the credential store does not answer';
      }
      if (oauth.keys.signer() === undefined) return 'the OAuth signing keys are not loaded yet';
      return undefined;
    },
    async close() {
      clearInterval(activeTimer);
      await oauth.close();
      await verifier.close();
      feed.close();
      await store.close();
    },
  };
}
