/**
 * `POST /oauth2/revoke` (RFC 7009): a client revokes one of its own access tokens.
 *
 * The client authenticates as at the token endpoint. Then:
 *   - `token` missing                                   400 invalid_request
 *   - an API token (`pcl_…`)                            400 unsupported_token_type: API tokens are
 *                                                       revoked with `portcullis tokens revoke` or
 *                                                       the admin API, by their owner
 *   - not a valid Portcullis access token (unknown,
 *     expired, malformed, another issuer)               200: nothing to revoke (RFC 7009 §2.2)
 *   - a valid access token of another client            400 unauthorized_client (RFC 7009 §2.1)
 *   - a valid access token of this client               200; its jti is recorded in the store and
 *                                                       every instance refuses the token within
 *                                                       one change-feed poll (this one at once)
 * `token_type_hint` is accepted and ignored: only access tokens can be revoked here.
 */
import type { IncomingMessage } from 'node:http';
import type { PresentedCredentialVerifier } from '../authenticate/index.js';
import { looksLikeJwt } from '../authenticate/index.js';
import type { CredentialStore } from '../credentials/index.js';
import type { AccessTokenClaims } from './access-token.js';
import type { AccessTokenVerifier } from './access-token-verifier.js';
import { authenticateClient } from './client-auth.js';
import { readOAuthPost } from './read-request.js';
import { OAuthError, sendOAuthJson } from './responses.js';
import type { OAuthHandler } from './token-endpoint.js';

/** What the revocation endpoint needs. */
export interface RevocationDeps {
  /** `limits.bodyReadTimeout` in milliseconds: longest the form may take to arrive. */
  readonly bodyReadTimeoutMs: () => number;
  readonly credentials: PresentedCredentialVerifier;
  readonly own: AccessTokenVerifier;
  readonly store: CredentialStore;
  /** The failed-attempt throttle's view of a verifier for this request's client address. */
  readonly throttle?: ((req: IncomingMessage, verifier: PresentedCredentialVerifier) => PresentedCredentialVerifier) | undefined;
}

/** Creates the revocation endpoint handler. */
export function createRevocationEndpoint(deps: RevocationDeps): OAuthHandler {
  return async (req, res, requestId) => {
    const request = await readOAuthPost(req, res, deps.bodyReadTimeoutMs());
    const client = await authenticateClient(request, deps.throttle?.(req, deps.credentials) ?? deps.credentials);
    const token = request.params.get('token');
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required.');
    if (token.startsWith('pcl_')) {
      throw new OAuthError('unsupported_token_type', 'API tokens are revoked with portcullis tokens revoke or the admin API.');
    }
    let claims: AccessTokenClaims | undefined;
    if (looksLikeJwt(token)) {
      try {
        claims = await deps.own.verifySignature(token);
      } catch {
        claims = undefined;
      }
    }
    if (claims !== undefined) {
      if (claims.client_id !== client.clientId) throw new OAuthError('unauthorized_client', 'The token was not issued to this client.');
      await deps.store.accessTokens.revoke(claims.jti, claims.client_id, claims.exp * 1000);
    }
    sendOAuthJson(req, res, 200, undefined, requestId);
  };
}
