/**
 * Which verifier a presented credential goes to:
 *
 *   Bearer, JWT-shaped (three base64url segments)   the JWT verifier (Portcullis access tokens,
 *                                                   external issuers), when one is configured
 *   Bearer pcl_…, anything else, and Basic          the credential verifier (API tokens, OAuth
 *                                                   clients), which refuses unknown shapes
 *
 * The two shapes cannot overlap: an API token has no `.`.
 */
import type { Principal, PresentedCredential } from '../types.js';
import type { PresentedCredentialVerifier } from './verifier.js';

/** RFC 7515 §7.1 compact serialization: three base64url segments (the signature may not be empty here). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer value has the shape of a signed JWT (no decoding, no verification). */
export function looksLikeJwt(token: string): boolean {
  // A JWT has two dots; an API token none (checked first: it is the common case, and the shape
  // test would walk the whole token before failing).
  return token.includes('.') && JWT_SHAPE.test(token);
}

/** Verifies bearer JWTs; synchronously on a cache hit. */
export interface BearerJwtVerifier {
  verify(token: string): Principal | Promise<Principal>;
  /** Whether the token is verified and cached as valid right now (memory only). */
  cached?(token: string): boolean;
}

/** The verifier that sends each credential to the right one of `credentials` and `jwt`. */
export function dispatchVerifier(
  credentials: PresentedCredentialVerifier,
  jwt: BearerJwtVerifier | undefined,
): PresentedCredentialVerifier {
  if (jwt === undefined) return credentials;
  return {
    verify(presented: PresentedCredential) {
      if (presented.scheme === 'bearer' && looksLikeJwt(presented.token)) return jwt.verify(presented.token);
      return credentials.verify(presented);
    },
    cached(presented: PresentedCredential) {
      if (presented.scheme === 'bearer' && looksLikeJwt(presented.token)) return jwt.cached?.(presented.token) ?? false;
      return credentials.cached?.(presented) ?? false;
    },
  };
}
