/**
 * The authenticate stage (docs/credentials.md "The authenticate stage"): parse the Authorization
 * header (no I/O), check the scheme against the route's `credentials`, verify, and turn every
 * refusal into a coded GatewayError carrying the route's WWW-Authenticate challenges (RFC 6750 §3,
 * RFC 7617 §2).
 *
 *   no Authorization, or a scheme the route does not accept   401 auth.missing_credentials
 *   unparseable Authorization                                  400 auth.malformed_credentials
 *   verifier refusal                                            its code (401, or 503 store)
 *
 * A cache hit is answered synchronously: the Principal is returned, not a promise.
 */
import type { IncomingMessage } from 'node:http';
import { aboutCredential, GatewayError } from '../errors.js';
import type { Authenticate, Principal, PresentedCredential, RoutePolicy } from '../types.js';
import { challengesFor } from './challenges.js';
import { parseAuthorization, type ParsedAuthorization } from './parse-authorization.js';

export { dispatchVerifier, looksLikeJwt, type BearerJwtVerifier } from './dispatch.js';
export type { PresentedCredentialVerifier } from './verifier.js';
import type { PresentedCredentialVerifier } from './verifier.js';

function missing(route: RoutePolicy): GatewayError {
  return new GatewayError('auth.missing_credentials', 'This route requires credentials.', {
    'www-authenticate': challengesFor(route.credentials),
  });
}

/** Re-throws a refusal with the route's challenges (`error=` only on the Bearer challenge it concerns). */
function withChallenges(route: RoutePolicy, scheme: PresentedCredential['scheme'], error: unknown): unknown {
  if (!(error instanceof GatewayError)) return error;
  return aboutCredential(challenged(route, scheme, error), error.credentialId);
}

function challenged(route: RoutePolicy, scheme: PresentedCredential['scheme'], error: GatewayError): GatewayError {
  if (error.status === 400) {
    return new GatewayError(error.code, error.detail, { 'www-authenticate': challengesFor(route.credentials, 'invalid_request') });
  }
  if (error.status === 403) {
    // A valid token that grants nothing Portcullis maps (external issuers): RFC 6750 §3.1.
    return new GatewayError(error.code, error.detail, {
      'www-authenticate': challengesFor(route.credentials, 'insufficient_scope', 'read-only'),
    });
  }
  if (error.status !== 401) return error;
  const challenge = challengesFor(route.credentials, scheme === 'bearer' ? 'invalid_token' : undefined);
  // A credential past its sunset keeps the Sunset and Link it was announced with.
  const sunset = error.code === 'auth.credential_sunset' && error.headers !== undefined ? error.headers : undefined;
  return new GatewayError(error.code, error.detail, { ...sunset, 'www-authenticate': challenge });
}

/** The authenticate stage over `verifier`. */
export function createAuthenticator(verifier: PresentedCredentialVerifier): Authenticate {
  return (route: RoutePolicy, req: IncomingMessage) => {
    let parsed: ParsedAuthorization;
    try {
      parsed = parseAuthorization(req.rawHeaders);
    } catch (error) {
      throw withChallenges(route, 'bearer', error);
    }
    if (parsed.kind !== 'credential') throw missing(route);
    const credential = parsed.credential;
    if (!route.credentials.has(credential.scheme)) throw missing(route);
    let result: Principal | Promise<Principal>;
    try {
      result = verifier.verify(credential);
    } catch (error) {
      throw withChallenges(route, credential.scheme, error);
    }
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        throw withChallenges(route, credential.scheme, error);
      });
    }
    return result;
  };
}

/**
 * The stage used when no credential store is configured: every route that requires
 * authentication is closed. No credentials → 401 auth.missing_credentials with the route's
 * challenges; anything presented → 401 auth.invalid_token.
 */
export function createClosedAuthenticator(): Authenticate {
  return (route: RoutePolicy, req: IncomingMessage) => {
    if (req.headers.authorization === undefined) throw missing(route);
    throw new GatewayError('auth.invalid_token', 'No credential store is configured.', {
      'www-authenticate': challengesFor(route.credentials, 'invalid_token'),
    });
  };
}
