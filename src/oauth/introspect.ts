/**
 * `POST /oauth2/introspect` (RFC 7662): what an access token issued by this Portcullis stands for.
 *
 * Callers authenticate as an OAuth client (Basic or form fields, as at the token endpoint) or
 * with a Bearer credential of scope `admin` (an API token, or an admin access token). A client
 * sees only its own tokens; an admin sees every Portcullis access token. Anything else — an
 * unknown, expired, revoked or foreign token, an API token, a token of an external issuer, a
 * token of another client — is `{"active":false}` (RFC 7662 §2.2), so the endpoint cannot be
 * used to probe tokens. An active answer carries the current state: `scope` is the token's scope
 * narrowed by its client's current scope, and revocations are seen as on the proxy.
 */
import type { IncomingMessage } from 'node:http';
import type { PresentedCredentialVerifier } from '../authenticate/index.js';
import { looksLikeJwt } from '../authenticate/index.js';
import { challengesFor } from '../authenticate/challenges.js';
import { GatewayError } from '../errors.js';
import { checkOwnSunset } from '../rollout/deprecation.js';
import type { Principal } from '../types.js';
import type { JwtBearerVerifier } from './bearer-jwt.js';
import { authenticateClient } from './client-auth.js';
import type { VerifiedJwt } from './jwt-cache.js';
import { readOAuthPost, type OAuthPost } from './read-request.js';
import { OAuthError, sendOAuthJson } from './responses.js';
import type { OAuthHandler } from './token-endpoint.js';

/** What the introspection endpoint needs. */
export interface IntrospectionDeps {
  /** `limits.bodyReadTimeout` in milliseconds: longest the form may take to arrive. */
  readonly bodyReadTimeoutMs: () => number;
  /** Verifies client secrets (credentials/verify.ts). */
  readonly credentials: PresentedCredentialVerifier;
  /** Verifies a Bearer caller (API tokens and JWTs). */
  readonly bearer: PresentedCredentialVerifier;
  readonly jwt: JwtBearerVerifier;
  /** The failed-attempt throttle's view of a verifier for this request's client address. */
  readonly throttle?: ((req: IncomingMessage, verifier: PresentedCredentialVerifier) => PresentedCredentialVerifier) | undefined;
}

const BEARER_ONLY = new Set(['bearer'] as const);
const INACTIVE = { active: false } as const;

/** Who asks: an admin sees every token, a client only its own. */
type Caller = { readonly admin: true } | { readonly admin: false; readonly clientId: string };

async function callerOf(req: IncomingMessage, request: OAuthPost, deps: IntrospectionDeps): Promise<Caller> {
  const { authorization } = request;
  if (authorization.kind === 'credential' && authorization.credential.scheme === 'bearer') {
    let principal: Principal;
    try {
      principal = await (deps.throttle?.(req, deps.bearer) ?? deps.bearer).verify(authorization.credential);
    } catch (error) {
      // The failed-attempt throttle answers for itself: 429 with Retry-After.
      if (error instanceof GatewayError && error.code === 'auth.too_many_failures') throw error;
      if (error instanceof GatewayError && error.code === 'auth.store_unavailable') {
        throw new OAuthError('temporarily_unavailable', 'The credential store cannot be reached; try again shortly.');
      }
      throw new OAuthError('invalid_token', 'The bearer credential is not valid.', {
        'www-authenticate': challengesFor(BEARER_ONLY, 'invalid_token'),
      });
    }
    try {
      checkOwnSunset(principal, Date.now());
    } catch {
      throw new OAuthError('invalid_token', 'The bearer credential reached its sunset.', {
        'www-authenticate': challengesFor(BEARER_ONLY, 'invalid_token'),
      });
    }
    if (principal.scope !== 'admin') {
      throw new OAuthError('insufficient_scope', 'Introspection with a bearer credential needs scope admin.', {
        'www-authenticate': challengesFor(BEARER_ONLY, 'insufficient_scope', 'admin'),
      });
    }
    return { admin: true };
  }
  const client = await authenticateClient(request, deps.throttle?.(req, deps.credentials) ?? deps.credentials);
  return client.scope === 'admin' ? { admin: true } : { admin: false, clientId: client.clientId };
}

function activeAnswer(verified: VerifiedJwt): Record<string, unknown> | undefined {
  const claims = verified.claims;
  if (claims === null) return undefined;
  // Its client past its sunset: the proxy refuses the token, so it is not active (RFC 7662 §2.2).
  const sunsetMs = verified.principal.deprecation?.sunsetMs;
  if (sunsetMs !== undefined && Date.now() >= sunsetMs) return undefined;
  return {
    active: true,
    scope: verified.principal.scope,
    client_id: claims.client_id,
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    iss: claims.iss,
    aud: claims.aud,
    jti: claims.jti,
    token_type: 'Bearer',
    ...(claims.org_id === undefined ? {} : { org_id: claims.org_id }),
    ...(claims.technical_account_id === undefined ? {} : { technical_account_id: claims.technical_account_id }),
  };
}

/** Creates the introspection endpoint handler. */
export function createIntrospectionEndpoint(deps: IntrospectionDeps): OAuthHandler {
  return async (req, res, requestId) => {
    const request = await readOAuthPost(req, res, deps.bodyReadTimeoutMs());
    const caller = await callerOf(req, request, deps);
    const token = request.params.get('token');
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required.');
    let answer: Record<string, unknown> | undefined;
    if (looksLikeJwt(token)) {
      try {
        answer = activeAnswer(await deps.jwt.inspect(token));
      } catch (error) {
        if (error instanceof GatewayError && error.code === 'auth.store_unavailable') {
          throw new OAuthError('temporarily_unavailable', 'The credential store cannot be reached; try again shortly.');
        }
        answer = undefined;
      }
    }
    if (answer !== undefined && !caller.admin && answer.client_id !== caller.clientId) answer = undefined;
    sendOAuthJson(req, res, 200, answer ?? INACTIVE, requestId);
  };
}
