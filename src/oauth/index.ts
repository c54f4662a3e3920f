/**
 * The OAuth 2.0 layer of Portcullis (docs/oauth.md): the token endpoint (client
 * credentials), introspection, revocation, the JWKS and RFC 8414 metadata on the proxy listener,
 * and the verification of bearer JWTs — Portcullis access tokens and those of configured
 * external issuers — on proxied routes.
 *
 * Wiring (src/services.ts):
 *
 *   const oauth = await createOAuth({ config, store, credentials: verifier, hooks });
 *   createAuthenticator(oauth.verifier)   // JWT-shaped Bearer → JWTs, everything else → verifier
 *   ownEndpoints: oauth.handle            // /oauth2/*, /.well-known/*
 *   reload: oauth.reload(config)          // oauth.* and jwt.issuers follow SIGHUP
 *   close: await oauth.close()            // before the store closes
 *
 * Cross-instance state lives in the store: signing keys, revoked jtis, client revocations. This
 * instance applies the store's changes through the process's one change-feed follower (shared
 * with the credential verifier): at once when it made them, within one poll (250 ms) or one push
 * when another process did. While the feed is not fresh (cache.maxStaleness), Portcullis access
 * tokens are refused with auth.store_unavailable, cached or not; external issuers' tokens do not
 * depend on the store and keep verifying.
 */
import { statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dispatchVerifier, type PresentedCredentialVerifier } from '../authenticate/index.js';
import type { GatewayConfig } from '../config/types.js';
import {
  createChangeFeedFollower,
  isStoreError,
  sqlitePathOf,
  type ChangeFeedFollower,
  type ChangeRow,
  type CredentialStore,
} from '../credentials/index.js';
import { createAccessTokenVerifier } from './access-token-verifier.js';
import { createJwtBearerVerifier, type JwtBearerVerifier } from './bearer-jwt.js';
import { createClientDirectory } from './client-directory.js';
import { createOAuthEndpoints } from './endpoints.js';
import type { TokenResult } from '../observe/labels.js';
import type { Principal, RequestContext } from '../types.js';
import { createExternalIssuers, type ExternalIssuers, type JwksTuning } from './external-issuers.js';
import { createIntrospectionEndpoint } from './introspect.js';
import { sendJwks } from './jwks.js';
import { createJwtCache } from './jwt-cache.js';
import { sendMetadata } from './metadata.js';
import { createRevocationEndpoint } from './revoke.js';
import { createKeyRing, requireKeyProtection, type KeyRing } from './signing-keys.js';
import { createTokenEndpoint } from './token-endpoint.js';
import type { ReportInternalError } from '../observe/internal-errors.js';

export {
  generateSigningKey,
  protectSigningKey,
  rekeySigningKeys,
  requireKeyProtection,
  verifiesUntil,
  KEY_PROPAGATION_MARGIN_MS,
  SIGNING_ALGORITHM,
} from './signing-keys.js';
export { OAUTH_PATHS, authorizationServerMetadata } from './metadata.js';
export type { JwksTuning } from './external-issuers.js';

/** Callbacks for metrics (the lead connects them to src/observe); exceptions are ignored. */
export interface OAuthHooks {
  /** The token endpoint issued an access token. */
  readonly onTokenIssued?: () => void;
  /** A token endpoint request ended (issued, or why not). */
  readonly onTokenResult?: (result: TokenResult) => void;
  /** A JWKS fetch of `jwt.issuers[issuerIndex]` finished. */
  readonly onJwksRefresh?: (issuerIndex: number, result: 'ok' | 'error') => void;
}

/** Options of {@link createOAuth}. */
export interface OAuthOptions {
  readonly config: GatewayConfig;
  readonly store: CredentialStore;
  /** The credential verifier (credentials/verify.ts): client secrets and API tokens. */
  readonly credentials: PresentedCredentialVerifier;
  /**
   * The failed-attempt throttle (src/limit/auth-throttle.ts): the verifier the token endpoint
   * checks a request's client secret with. Omitted: `credentials` itself.
   */
  readonly throttle?: ((req: IncomingMessage, verifier: PresentedCredentialVerifier) => PresentedCredentialVerifier) | undefined;
  /** `oauth.rateLimit` (token-rate-limit.ts): counts an authenticated client's token request. Omitted: no limit. */
  readonly tokenRateLimit?: ((client: Principal, req: IncomingMessage) => void) | undefined;
  readonly hooks?: OAuthHooks;
  /** Operational warnings (no secret in them), e.g. a store file readable by others. */
  readonly onWarning?: (event: string, message: string) => void;
  /** An unexpected failure answered `internal.error` (logged against the request id). */
  readonly onInternalError?: ReportInternalError;
  /** Wall clock in epoch ms. Default Date.now. */
  readonly now?: () => number;
  /**
   * The process's change-feed follower (src/services.ts shares one with the credential
   * verifier). When omitted the layer creates, starts and closes its own.
   */
  readonly feed?: ChangeFeedFollower;
  /** Poll period in ms (10-500) of the layer's own follower. Default 250. */
  readonly pollIntervalMs?: number;
  /** JWKS fetching of external issuers (tests shorten the periods). */
  readonly jwks?: JwksTuning;
}

/** The running OAuth layer. */
export interface OAuthService {
  /** For GatewayServices.ownEndpoints: answers OAuth paths and returns true, else false. */
  readonly handle: (req: IncomingMessage, res: ServerResponse, requestId: string, ctx?: RequestContext) => boolean;
  /** Every presented credential: bearer JWTs here, the rest to the credential verifier. */
  readonly verifier: PresentedCredentialVerifier;
  /** The JWT verifier alone (tests, introspection). */
  readonly jwt: JwtBearerVerifier;
  /** The signing keys as this instance sees them. */
  readonly keys: KeyRing;
  /** Applies a reloaded configuration (oauth.*, jwt.issuers). */
  reload(config: GatewayConfig): void;
  /** Applies pending change-feed rows now. */
  sync(): Promise<void>;
  /** Stops polling and closes JWKS connections. Does not close the store. */
  close(): Promise<void>;
}

function warnIfExposed(url: string, warn: ((event: string, message: string) => void) | undefined): void {
  if (warn === undefined || !url.startsWith('sqlite:')) return;
  try {
    const file = sqlitePathOf(url);
    if (file === ':memory:') return;
    if ((statSync(file).mode & 0o077) !== 0) {
      warn('oauth.store_permissions', `the store file ${file} holds the OAuth signing key and is readable by other users: chmod 600 it`);
    }
  } catch {
    // The store opened; a stat failure here is not worth refusing to start for.
  }
}

/**
 * Loads (or creates) the signing keys. A store that does not answer yet (PostgreSQL unreachable
 * at start) is retried in the background with backoff: until then the token endpoint answers
 * temporarily_unavailable and readiness reports the missing keys. Any other failure fails the
 * start. Returns the function that stops the retries.
 */
async function startKeys(
  keys: KeyRing,
  warn: ((event: string, message: string) => void) | undefined,
  loaded: () => void,
): Promise<() => void> {
  try {
    await keys.start();
    loaded();
    return () => undefined;
  } catch (error) {
    if (!isStoreError(error, 'unavailable')) throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  let delay = 250;
  let stopped = false;
  const retry = (): void => {
    timer = setTimeout(() => {
      keys.start().then(
        () => {
          warn?.('oauth.keys_loaded', 'the OAuth signing keys are loaded');
          loaded();
        },
        () => {
          if (stopped) return;
          delay = Math.min(delay * 2, 10_000);
          retry();
        },
      );
    }, delay);
    timer.unref();
  };
  retry();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

/** Starts the OAuth layer: loads (or creates) the signing keys and follows the change feed. */
export async function createOAuth(options: OAuthOptions): Promise<OAuthService> {
  const { store, credentials, hooks = {} } = options;
  const now = options.now ?? Date.now;
  let config = options.config;
  const makeExternal = (c: GatewayConfig): ExternalIssuers =>
    createExternalIssuers({
      issuers: c.jwt.issuers,
      leewayMs: c.oauth.leewayMs,
      ...(options.jwks === undefined ? {} : { tuning: options.jwks }),
      ...(hooks.onJwksRefresh === undefined ? {} : { onJwksRefresh: hooks.onJwksRefresh }),
      now,
    });
  let external = makeExternal(config);

  const encryption = requireKeyProtection(config.oauth, config.store.url);
  const keys = createKeyRing({ store, settings: () => config.oauth, now, encryption });
  const shared = !config.store.url.startsWith('sqlite:');
  const warnIfInClear = (): void => {
    if (!keys.activeInClear() || (encryption.current === null && !shared)) return;
    options.onWarning?.(
      'oauth.signing_key_in_clear',
      encryption.current === null
        ? 'the OAuth signing key is stored in the clear: set oauth.keyEncryptionKey (decision 0011) and run `portcullis keys rekey`'
        : 'the active OAuth signing key was stored before oauth.keyEncryptionKey was set and is still in the clear: run `portcullis keys rekey`',
    );
  };
  const stopKeyRetries = await startKeys(keys, options.onWarning, warnIfInClear);
  warnIfExposed(config.store.url, options.onWarning);
  const clients = createClientDirectory(store, config.cache);
  const cache = createJwtCache(config.cache, options.now === undefined ? {} : { now: options.now });
  const own = createAccessTokenVerifier({ keys, clients, store, settings: () => config.oauth, now });
  const ownFeed = options.feed === undefined;
  const feed =
    options.feed ??
    createChangeFeedFollower({
      store,
      ...(options.pollIntervalMs === undefined ? {} : { intervalMs: options.pollIntervalMs }),
      ...(config.cache.maxStalenessMs === undefined ? {} : { maxStalenessMs: config.cache.maxStalenessMs }),
    });
  const jwt = createJwtBearerVerifier({
    cache,
    own,
    ownIssuer: () => config.oauth.issuer,
    external: () => external,
    feedFresh: feed.fresh,
    now,
  });
  const verifier = dispatchVerifier(credentials, jwt);

  function apply(changes: readonly ChangeRow[]): void {
    for (const change of changes) {
      if (!('credentialId' in change)) continue;
      switch (change.kind) {
        case 'client.revoked':
          clients.evict(change.credentialId);
          cache.evictClient(change.credentialId);
          break;
        // Its access tokens carry its deprecation, and those issued before a rotation end with
        // its grace: verified again.
        case 'client.deprecated':
        case 'client.secret_rotated':
          clients.evict(change.credentialId);
          cache.evictClient(change.credentialId);
          break;
        case 'access_token.revoked':
          cache.evictJti(change.credentialId);
          break;
        case 'signing_key.added':
          keys.reload().catch(() => undefined); // a later unknown kid retries
          break;
        default:
          break;
      }
    }
  }
  const unfollow = feed.follow({ apply, onFollowing: () => cache.follow() });
  await feed.start();
  void external.refreshAll();

  const bodyReadTimeoutMs = (): number => config.limits.bodyReadTimeoutMs;
  const handle = createOAuthEndpoints(
    {
      token: createTokenEndpoint({
        credentials,
        keys,
        clients,
        settings: () => config.oauth,
        now,
        onTokenIssued: hooks.onTokenIssued,
        bodyReadTimeoutMs,
        throttle: options.throttle,
        rateLimit: options.tokenRateLimit,
      }),
      // Their callers authenticate like the token endpoint's: guesses there count and are throttled.
      introspect: createIntrospectionEndpoint({ credentials, bearer: verifier, jwt, bodyReadTimeoutMs, throttle: options.throttle }),
      revoke: createRevocationEndpoint({ credentials, own, store, bodyReadTimeoutMs, throttle: options.throttle }),
      jwks: (req, res, requestId) => sendJwks(req, res, keys, requestId),
      metadata: (req, res, requestId) => sendMetadata(req, res, config.oauth.issuer, requestId),
      onTokenResult: hooks.onTokenResult,
    },
    options.onInternalError,
  );

  return {
    handle,
    verifier,
    jwt,
    keys,
    reload(next) {
      const issuersChanged =
        JSON.stringify(next.jwt.issuers) !== JSON.stringify(config.jwt.issuers) || next.oauth.leewayMs !== config.oauth.leewayMs;
      const ownChanged = JSON.stringify(next.oauth) !== JSON.stringify(config.oauth);
      config = next;
      if (issuersChanged) {
        const previous = external;
        external = makeExternal(next);
        void previous.close();
        void external.refreshAll();
      }
      // Verified entries were checked against the old issuer, audience or leeway.
      if (issuersChanged || ownChanged) cache.clear();
    },
    sync: () => feed.poll(),
    async close() {
      stopKeyRetries();
      unfollow();
      if (ownFeed) feed.close();
      await external.close();
    },
  };
}
