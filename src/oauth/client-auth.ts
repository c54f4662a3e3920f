/**
 * Client authentication at the OAuth endpoints (RFC 6749 §2.3.1): `client_secret_basic`
 * (Authorization: Basic, id and secret form-urlencoded before base64) or `client_secret_post`
 * (form fields `client_id` and `client_secret`), never both in one request (RFC 6749 §2.3).
 *
 * The secret is checked by the credential verifier (credentials/verify.ts): cached, constant
 * time, rotation grace, revocation. Only OAuth clients authenticate here:
 *
 *   no or unusable client credentials, unknown client, wrong secret, revoked   401 invalid_client
 *   a valid API token presented as the secret                                   400 unauthorized_client
 *   the store cannot be reached (and the client is not cached)                  503 temporarily_unavailable
 */
import type { PresentedCredentialVerifier } from '../authenticate/index.js';
import { isClientId, isWellFormedApiToken, isWellFormedClientSecret, type Scope } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import type { Principal } from '../types.js';
import { FormError, formDecode } from './form.js';
import type { OAuthPost } from './read-request.js';
import { OAuthError } from './responses.js';

/** How the client authenticated (RFC 8414 `token_endpoint_auth_methods_supported` names). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

/** An authenticated OAuth client. */
export interface AuthenticatedClient {
  readonly clientId: string;
  /** The client's scope as stored (clients have no account to narrow it). */
  readonly scope: Scope;
  readonly method: ClientAuthMethod;
}

const FAILED = 'Client authentication failed.';

interface Presented {
  readonly id: string;
  readonly secret: string;
  readonly method: ClientAuthMethod;
}

/** Which credentials the request presents, or a refusal. */
function presentedCredentials(request: OAuthPost): Presented {
  const { authorization, params } = request;
  const formId = params.get('client_id');
  const formSecret = params.get('client_secret');
  if (authorization.kind === 'credential' && authorization.credential.scheme === 'basic') {
    if (formSecret !== undefined) {
      throw new OAuthError('invalid_request', 'Use one client authentication method: Basic or form fields, not both.');
    }
    let id: string;
    let secret: string;
    try {
      id = formDecode(authorization.credential.username);
      secret = formDecode(authorization.credential.password);
    } catch (error) {
      if (error instanceof FormError) throw new OAuthError('invalid_client', FAILED);
      throw error;
    }
    // RFC 6749 §3.2.1 lets a client repeat its id in the body; a different one is a contradiction.
    if (formId !== undefined && formId !== id)
      throw new OAuthError('invalid_request', 'The client_id in the body differs from the Basic credentials.');
    return { id, secret, method: 'client_secret_basic' };
  }
  if (authorization.kind !== 'none') {
    // Bearer, another scheme, or a malformed header: not a client authentication we support.
    throw new OAuthError('invalid_client', 'Authenticate the client with HTTP Basic or the client_id and client_secret form fields.');
  }
  if (formSecret === undefined) throw new OAuthError('invalid_client', 'Client authentication is required.');
  if (formId === undefined) throw new OAuthError('invalid_request', 'client_secret was sent without client_id.');
  return { id: formId, secret: formSecret, method: 'client_secret_post' };
}

function settle(principal: Principal, method: ClientAuthMethod): AuthenticatedClient {
  if (principal.kind !== 'oauth_client') {
    throw new OAuthError('unauthorized_client', 'API tokens cannot obtain access tokens; send them as Bearer tokens directly.');
  }
  return { clientId: principal.subject, scope: principal.scope, method };
}

function refusal(error: unknown): OAuthError | GatewayError {
  if (error instanceof OAuthError) return error;
  // The failed-attempt throttle answers for itself: 429 with Retry-After (no RFC 6749 error says it).
  if (error instanceof GatewayError && error.code === 'auth.too_many_failures') return error;
  if (error instanceof GatewayError && error.code === 'auth.store_unavailable') {
    return new OAuthError('temporarily_unavailable', 'The credential store cannot be reached; try again shortly.');
  }
  return new OAuthError('invalid_client', FAILED);
}

/**
 * Authenticates the client of an OAuth POST. Rejects with OAuthError; never echoes the id or
 * the secret.
 */
export async function authenticateClient(request: OAuthPost, verifier: PresentedCredentialVerifier): Promise<AuthenticatedClient> {
  const { id, secret, method } = presentedCredentials(request);
  // Shapes and checksums first: a typo or a random string never reaches the store.
  const apiToken = isWellFormedApiToken(secret);
  if (!apiToken && !(isClientId(id) && isWellFormedClientSecret(secret))) throw new OAuthError('invalid_client', FAILED);
  try {
    const principal = await verifier.verify({ scheme: 'basic', username: id, password: secret });
    return settle(principal, method);
  } catch (error) {
    throw refusal(error);
  }
}
