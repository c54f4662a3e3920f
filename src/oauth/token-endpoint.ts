/**
 * `POST /oauth2/token`: the client credentials grant (RFC 6749 §4.4), as docs/oauth.md
 * "The token endpoint" describes it.
 *
 * Order of checks (each failure is an RFC 6749 §5.2 error, docs/oauth.md):
 *   1. the request itself (read-request.ts)                           invalid_request
 *   2. `grant_type` present / `client_credentials`                     invalid_request / unsupported_grant_type
 *   3. client authentication (client-auth.ts)                          invalid_client / unauthorized_client
 *   3b. the client's `oauth.rateLimit` (token-rate-limit.ts)           429 rate.limited (problem+json)
 *   4. `scope` within the client's scope (scope.ts)                    invalid_scope
 *   5. sign an access token (access-token.ts) and answer
 *      200 {"access_token","token_type":"Bearer","expires_in","scope"} with no-store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PresentedCredentialVerifier } from '../authenticate/index.js';
import type { Principal, RequestContext } from '../types.js';
import { issueAccessToken, type IssueSettings } from './access-token.js';
import { authenticateClient } from './client-auth.js';
import type { ClientDirectory } from './client-directory.js';
import { readOAuthPost } from './read-request.js';
import { OAuthError, sendOAuthJson } from './responses.js';
import { grantedScope } from './scope.js';
import type { KeyRing } from './signing-keys.js';

/** The only grant type served. */
export const GRANT_TYPE = 'client_credentials';

/** What the token endpoint needs. */
export interface TokenEndpointDeps {
  /** `limits.bodyReadTimeout` in milliseconds: longest the form may take to arrive. */
  readonly bodyReadTimeoutMs: () => number;
  /** Verifies client secrets (credentials/verify.ts). */
  readonly credentials: PresentedCredentialVerifier;
  readonly keys: KeyRing;
  readonly clients: ClientDirectory;
  readonly settings: () => IssueSettings;
  readonly now: () => number;
  /** Called once per access token issued (metrics). */
  readonly onTokenIssued?: (() => void) | undefined;
  /** The failed-attempt throttle's view of `credentials` for this request's client address. */
  readonly throttle?: ((req: IncomingMessage, verifier: PresentedCredentialVerifier) => PresentedCredentialVerifier) | undefined;
  /** `oauth.rateLimit` (token-rate-limit.ts): throws 429 rate.limited for a client past its limit. */
  readonly rateLimit?: ((client: Principal, req: IncomingMessage) => void) | undefined;
}

/**
 * An endpoint of the OAuth layer; refusals are thrown (OAuthError, GatewayError). `ctx`, when
 * given, is the request's observation context: the token endpoint records the authenticated
 * client there, so the access line names it (`credentialId`).
 */
export type OAuthHandler = (req: IncomingMessage, res: ServerResponse, requestId: string, ctx?: RequestContext) => Promise<void>;

/** Creates the token endpoint handler. */
export function createTokenEndpoint(deps: TokenEndpointDeps): OAuthHandler {
  return async (req, res, requestId, ctx) => {
    const request = await readOAuthPost(req, res, deps.bodyReadTimeoutMs());
    const grantType = request.params.get('grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required.');
    if (grantType !== GRANT_TYPE) throw new OAuthError('unsupported_grant_type', 'Only the client_credentials grant is supported.');
    const client = await authenticateClient(request, deps.throttle?.(req, deps.credentials) ?? deps.credentials);
    const principal: Principal = {
      kind: 'oauth_client',
      scheme: 'basic',
      subject: client.clientId,
      scope: client.scope,
      credentialId: client.clientId,
    };
    // Only an authenticated id is logged: an id that failed could be anything a caller typed.
    if (ctx !== undefined) ctx.principal = principal;
    deps.rateLimit?.(principal, req);
    const info = await deps.clients.get(client.clientId);
    // The secret verified a moment ago; a client revoked since gets nothing either.
    if (info === undefined || info.revoked) throw new OAuthError('invalid_client', 'Client authentication failed.');
    const scope = grantedScope(request.params.get('scope'), info.scope);
    const signer = deps.keys.signer();
    if (signer === undefined) throw new OAuthError('temporarily_unavailable', 'No signing key is loaded yet.');
    const issued = await issueAccessToken(
      signer,
      { clientId: client.clientId, scope, orgId: info.orgId, technicalAccountId: info.technicalAccountId },
      deps.settings(),
      deps.now(),
    );
    try {
      deps.onTokenIssued?.();
    } catch {
      // Metrics never change an answer.
    }
    sendOAuthJson(req, res, 200, { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope }, requestId);
  };
}
