/**
 * What the authenticate stage asks of a credential check: the credential verifier
 * (credentials/verify.ts), or a composition of it with JWT verifiers (dispatch.ts). Refusals are
 * thrown (or rejected) as GatewayErrors; their headers are replaced by the route's challenges.
 * Its own module so that dispatch.ts and index.ts both depend on it, not on each other.
 */
import type { Principal, PresentedCredential } from '../types.js';

export interface PresentedCredentialVerifier {
  verify(presented: PresentedCredential): Principal | Promise<Principal>;
  /**
   * Whether `presented` is verified and cached as valid right now: answered from memory alone,
   * never by the store, never counted as a cache lookup. Omitted: never.
   */
  cached?(presented: PresentedCredential): boolean;
}
