/**
 * Verifies access tokens issued by this Portcullis (the bearer JWTs whose `iss` is
 * `oauth.issuer`), on a cache miss:
 *
 *   1. signature with a key of the ring, chosen by `kid` (unknown kid: one rate-limited reload);
 *      algorithms ES256 and EdDSA only — never `none`, never a symmetric algorithm, so a public
 *      key can never serve as an HMAC secret (the classic RS256→HS256 confusion);
 *   2. header `typ: at+jwt` (RFC 9068 §4), claims `iss`, `aud`, `exp`, `iat`, `sub`, `jti`,
 *      `client_id`, `scope` present and well-formed, `exp`/`nbf` with `oauth.leeway`;
 *   3. the client exists and is not revoked (client directory, cached), the token was issued after
 *      the client's last secret rotation or that rotation's grace has not ended (a leaked secret's
 *      tokens end with it), and the token's scope is narrowed by the client's current scope;
 *   4. the `jti` is not revoked (/oauth2/revoke) — one indexed store read.
 *
 * Refusals: `auth.token_expired` for a token whose signature verified but whose `exp` (plus
 * leeway) has passed; `auth.token_revoked` for a revoked client or jti; `auth.store_unavailable`
 * when the store fails; `auth.invalid_token` for everything else. jose's messages never reach a
 * client: foreign errors are translated where they enter.
 */
import { errors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { isClientId, isScope, narrowerScope } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import { ACCESS_TOKEN_TYP, type AccessTokenClaims } from './access-token.js';
import type { ClientDirectory, ClientInfo } from './client-directory.js';
import { transient, type VerifiedJwt } from './jwt-cache.js';
import { ACCESS_TOKEN_ALGORITHMS, type KeyRing } from './signing-keys.js';
import type { CredentialStore } from '../credentials/index.js';

/** Settings the verification follows (they change on a configuration reload). */
export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly leewayMs: number;
}

/** The verifier of Portcullis access tokens. */
export interface AccessTokenVerifier {
  /** Signature, header and claims only (not the client or jti state). Rejects GatewayError. */
  verifySignature(token: string): Promise<AccessTokenClaims>;
  /** Full verification (all four steps). Rejects GatewayError; some are marked transient. */
  verify(token: string): Promise<VerifiedJwt>;
}

/** Options of {@link createAccessTokenVerifier}. */
export interface AccessTokenVerifierOptions {
  readonly keys: KeyRing;
  readonly clients: ClientDirectory;
  readonly store: CredentialStore;
  readonly settings: () => AccessTokenSettings;
  readonly now?: () => number;
}

const INVALID = 'The access token is not valid.';
const JTI_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;

class UnknownKeyError extends Error {
  override readonly name = 'UnknownKeyError';
}

function invalid(detail = INVALID): GatewayError {
  return new GatewayError('auth.invalid_token', detail);
}

/** The claims, if the payload has the shape of a Portcullis access token. */
function accessTokenClaims(payload: JWTPayload): AccessTokenClaims | undefined {
  const { iss, sub, aud, exp, iat, jti, client_id: clientId, scope, org_id: orgId, technical_account_id: technicalAccountId } = payload;
  if (typeof iss !== 'string' || typeof aud !== 'string' || typeof exp !== 'number' || typeof iat !== 'number') return undefined;
  if (typeof clientId !== 'string' || !isClientId(clientId) || sub !== clientId) return undefined;
  if (typeof jti !== 'string' || !JTI_SHAPE.test(jti) || !isScope(scope)) return undefined;
  if (orgId !== undefined && typeof orgId !== 'string') return undefined;
  if (technicalAccountId !== undefined && typeof technicalAccountId !== 'string') return undefined;
  return {
    iss,
    sub: clientId,
    aud,
    exp,
    iat,
    jti,
    client_id: clientId,
    scope,
    ...(orgId === undefined ? {} : { org_id: orgId }),
    ...(technicalAccountId === undefined ? {} : { technical_account_id: technicalAccountId }),
  };
}

/**
 * When a token issued before its client's last secret rotation stops being valid: at the end of
 * the rotation's grace, or at the rotation itself without one. Undefined for a token issued
 * after. `iat` has a one-second precision: a token issued in the second of the rotation counts as
 * issued before it (refused rather than risk keeping one the leaked secret minted); its client
 * simply asks for another.
 */
function rotationEndFor(claims: AccessTokenClaims, client: ClientInfo): number | undefined {
  if (client.rotatedAt === null || claims.iat >= Math.ceil(client.rotatedAt / 1000)) return undefined;
  return client.previousSecretValidUntil ?? client.rotatedAt;
}

/** Creates the verifier. */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const { keys, clients, store } = options;
  const now = options.now ?? Date.now;
  const algorithms = [...ACCESS_TOKEN_ALGORITHMS];

  async function keyFor(header: JWTHeaderParameters): Promise<import('jose').CryptoKey> {
    const kid = header.kid;
    if (typeof kid !== 'string') throw invalid();
    let found = keys.verificationKey(kid);
    if (found === undefined && (await keys.reloadForUnknownKid())) found = keys.verificationKey(kid);
    if (found === undefined) throw new UnknownKeyError();
    if (found.alg !== header.alg) throw invalid();
    return found.key;
  }

  async function verifySignature(token: string): Promise<AccessTokenClaims> {
    const settings = options.settings();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keyFor, {
        algorithms,
        issuer: settings.issuer,
        audience: settings.audience,
        typ: ACCESS_TOKEN_TYP,
        clockTolerance: Math.floor(settings.leewayMs / 1000),
        currentDate: new Date(now()),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
      }));
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      if (error instanceof UnknownKeyError) throw transient(invalid('The access token was signed with a key this gateway does not know.'));
      if (error instanceof errors.JWTExpired) {
        const exp = typeof error.payload.exp === 'number' ? new Date(error.payload.exp * 1000).toISOString() : 'an earlier time';
        throw new GatewayError('auth.token_expired', `The access token expired at ${exp}.`);
      }
      throw invalid();
    }
    const claims = accessTokenClaims(payload);
    if (claims === undefined) throw invalid();
    return claims;
  }

  async function storeRead<T>(read: () => T | Promise<T>): Promise<T> {
    try {
      return await read();
    } catch {
      throw transient(new GatewayError('auth.store_unavailable', 'The credential store cannot be reached; try again shortly.'));
    }
  }

  return {
    verifySignature,
    async verify(token) {
      const claims = await verifySignature(token);
      const client = await storeRead(() => clients.get(claims.client_id));
      if (client === undefined) throw invalid();
      if (client.revoked) throw new GatewayError('auth.token_revoked', 'The OAuth client was revoked.');
      const rotationEnds = rotationEndFor(claims, client);
      if (rotationEnds !== undefined && now() >= rotationEnds) {
        throw new GatewayError('auth.token_revoked', "The OAuth client's secret was rotated after this token was issued.");
      }
      if (await storeRead(() => store.accessTokens.isRevoked(claims.jti))) {
        throw new GatewayError('auth.token_revoked', 'The access token was revoked.');
      }
      const principal: Principal = Object.freeze({
        kind: 'access_token',
        scheme: 'bearer',
        subject: claims.client_id,
        scope: narrowerScope(claims.scope, client.scope),
        credentialId: claims.jti,
        ...(claims.org_id === undefined ? {} : { orgId: claims.org_id }),
        ...(claims.technical_account_id === undefined ? {} : { technicalAccountId: claims.technical_account_id }),
        ...(client.deprecation === undefined ? {} : { deprecation: client.deprecation }),
      });
      const expiresAt = claims.exp * 1000;
      const validUntil = expiresAt + Math.floor(options.settings().leewayMs / 1000) * 1000;
      return {
        principal,
        expiresAt,
        // A token living on a rotation's grace is not cached past the grace's end.
        validUntil: rotationEnds === undefined ? validUntil : Math.min(validUntil, rotationEnds),
        clientId: claims.client_id,
        jti: claims.jti,
        claims,
      };
    },
  };
}
