/**
 * The verifier of JWT-shaped bearer tokens on proxied routes: Portcullis access tokens and
 * tokens of configured external issuers.
 *
 *   1. size: over 8 KiB → auth.invalid_token, before any decoding;
 *   2. cache (SHA-256 of the token): a verified token is answered synchronously, its expiry
 *      re-checked against the clock; a recent refusal is repeated;
 *   3. the unverified `iss` chooses the verifier (Portcullis' own issuer, or one of
 *      `jwt.issuers`); any other → auth.invalid_token. Nothing else of the unverified token is
 *      trusted: the chosen verifier checks the signature and requires that same `iss`;
 *   4. concurrent misses for one token share a single verification.
 */
import { decodeJwt } from 'jose';
import { cacheKeyOf } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import type { AccessTokenVerifier } from './access-token-verifier.js';
import type { ExternalIssuers } from './external-issuers.js';
import { isTransient, type JwtCache, type VerifiedJwt } from './jwt-cache.js';

/** Longest bearer JWT accepted, in bytes (characters: a JWT is ASCII). */
export const MAX_JWT_BYTES = 8 * 1024;

/** The JWT bearer verifier. */
export interface JwtBearerVerifier {
  /** The Principal, synchronously on a cache hit; throws or rejects GatewayError. */
  verify(token: string): Principal | Promise<Principal>;
  /** Whether the token is verified and cached as valid right now (memory only, no counting). */
  cached(token: string): boolean;
  /** The full verification of a Portcullis access token (cached), for introspection. */
  inspect(token: string): VerifiedJwt | Promise<VerifiedJwt>;
}

/** Options of {@link createJwtBearerVerifier}. */
export interface JwtBearerVerifierOptions {
  readonly cache: JwtCache;
  readonly own: AccessTokenVerifier;
  /** The current `oauth.issuer`. */
  readonly ownIssuer: () => string;
  /** The current external issuers. */
  readonly external: () => ExternalIssuers;
  /**
   * Whether the change feed is fresh (change-feed.ts). Portcullis' own tokens depend on it
   * (client and jti revocations arrive through it): while it is not, they are refused with
   * auth.store_unavailable, cached or not. Omitted: always fresh.
   */
  readonly feedFresh?: () => boolean;
  readonly now?: () => number;
}

const INVALID = 'The token is not valid.';
const OWN = -2;
const STORE_UNAVAILABLE = 'The credential store cannot be reached; try again shortly.';

/** Creates the verifier. */
export function createJwtBearerVerifier(options: JwtBearerVerifierOptions): JwtBearerVerifier {
  const { cache, own } = options;
  const now = options.now ?? Date.now;
  const feedFresh = options.feedFresh ?? (() => true);
  const inflight = new Map<string, Promise<VerifiedJwt>>();

  /** -2: Portcullis' own issuer; ≥ 0: an external issuer; -1: none we trust. */
  function issuerOf(token: string): number {
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return -1;
    }
    if (typeof iss !== 'string') return -1;
    return iss === options.ownIssuer() ? OWN : options.external().indexOf(iss);
  }

  function load(key: string, token: string, issuer: number): Promise<VerifiedJwt> {
    let pending = inflight.get(key);
    if (pending !== undefined) return pending;
    const ticket = cache.ticket();
    const verification =
      issuer === OWN
        ? own.verify(token)
        : issuer >= 0
          ? options.external().verify(issuer, token)
          : Promise.reject(new GatewayError('auth.invalid_token', INVALID));
    pending = verification
      .then(
        (verified) => {
          cache.setPositive(key, verified, ticket, now());
          return verified;
        },
        (error: unknown) => {
          if (error instanceof GatewayError && !isTransient(error))
            cache.setNegative(key, { code: error.code, detail: error.detail ?? INVALID }, ticket);
          throw error;
        },
      )
      .finally(() => inflight.delete(key));
    inflight.set(key, pending);
    return pending;
  }

  /** Refuses a token of Portcullis' own while the change feed is not fresh. */
  function requireFreshFeed(): void {
    if (!feedFresh()) throw new GatewayError('auth.store_unavailable', STORE_UNAVAILABLE);
  }

  /** The cached answer, a thrown refusal, or undefined on a miss. */
  function fromCache(key: string): VerifiedJwt | undefined {
    const hit = cache.getPositive(key);
    if (hit !== undefined) {
      if (hit.clientId !== null) requireFreshFeed();
      if (now() < hit.validUntil) return hit;
      // Past its validity (expiry, or the end of a secret rotation's grace): verified again,
      // which answers with the reason (and caches the refusal).
      cache.delete(key);
    }
    const refusal = cache.getNegative(key);
    if (refusal !== undefined) throw new GatewayError(refusal.code, refusal.detail);
    return undefined;
  }

  function keyOf(token: string): string {
    if (token.length > MAX_JWT_BYTES) throw new GatewayError('auth.invalid_token', `The token is longer than ${MAX_JWT_BYTES} bytes.`);
    return cacheKeyOf('jwt', token);
  }

  return {
    verify(token) {
      const key = keyOf(token);
      const hit = fromCache(key);
      if (hit !== undefined) return hit.principal;
      const issuer = issuerOf(token);
      if (issuer === OWN) requireFreshFeed();
      return load(key, token, issuer).then((verified) => verified.principal);
    },
    cached(token) {
      if (token.length > MAX_JWT_BYTES) return false;
      const hit = cache.getPositive(cacheKeyOf('jwt', token));
      return hit !== undefined && now() < hit.validUntil && (hit.clientId === null || feedFresh());
    },
    inspect(token) {
      const key = keyOf(token);
      const hit = fromCache(key);
      if (hit !== undefined) {
        if (hit.claims === null) throw new GatewayError('auth.invalid_token', INVALID);
        return hit;
      }
      // Only Portcullis' own tokens are introspected; nothing is cached for the others here.
      const issuer = issuerOf(token);
      if (issuer !== OWN) throw new GatewayError('auth.invalid_token', INVALID);
      requireFreshFeed();
      return load(key, token, issuer);
    },
  };
}
