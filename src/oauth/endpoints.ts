/**
 * The OAuth endpoints on the proxy listener, served ahead of routing
 * (GatewayServices.ownEndpoints). Exact paths only — a request whose raw path differs in any
 * byte (case, encoding, trailing slash) is not ours and goes through routing and its path-safety
 * checks like any other:
 *
 *   POST      /oauth2/token                              token-endpoint.ts
 *   POST      /oauth2/introspect                         introspect.ts
 *   POST      /oauth2/revoke                             revoke.ts
 *   GET HEAD  /.well-known/jwks.json                     jwks.ts
 *   GET HEAD  /.well-known/oauth-authorization-server    metadata.ts
 *
 * The smuggling guard runs first (problem+json on failure, as for proxied requests); another
 * method → 405 `method.not_allowed` with `Allow`; OAuth refusals are RFC 6749 §5.2 JSON; a store
 * failure is 503 `temporarily_unavailable`; anything unexpected is a problem+json internal.error
 * whose message is never shown.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isStoreError } from '../credentials/index.js';
import { GatewayError } from '../errors.js';
import { guardFraming } from '../listen/framing-guard.js';
import { sendProblem } from '../listen/send-problem.js';
import { OAUTH_PATHS } from './metadata.js';
import { OAuthError, sendOAuthError } from './responses.js';
import type { OAuthHandler } from './token-endpoint.js';
import type { ReportInternalError } from '../observe/internal-errors.js';

/** A synchronous GET/HEAD answer. */
export type ReadHandler = (req: IncomingMessage, res: ServerResponse, requestId: string) => void;

/** The handlers of each path. */
export interface OAuthEndpointHandlers {
  readonly token: OAuthHandler;
  readonly introspect: OAuthHandler;
  readonly revoke: OAuthHandler;
  readonly jwks: ReadHandler;
  readonly metadata: ReadHandler;
}

type Entry = { readonly allow: string; readonly post: OAuthHandler } | { readonly allow: string; readonly read: ReadHandler };

/** Errors of an OAuth POST, answered in the OAuth form where one applies. */
function answerFailure(req: IncomingMessage, res: ServerResponse, error: unknown, requestId: string, report: ReportInternalError | undefined): void {
  if (error instanceof OAuthError) {
    sendOAuthError(req, res, error, requestId);
  } else if (isStoreError(error) || (error instanceof GatewayError && error.code === 'auth.store_unavailable')) {
    sendOAuthError(req, res, new OAuthError('temporarily_unavailable', 'The credential store cannot be reached; try again shortly.'), requestId);
  } else if (error instanceof GatewayError) {
    sendProblem(req, res, error, requestId);
  } else {
    // Unexpected: the cause goes to the log against the request id, never to the client.
    report?.(requestId, error);
    if (!res.headersSent && !req.destroyed) sendProblem(req, res, new GatewayError('internal.error'), requestId);
    else res.destroy();
  }
}

/**
 * The `ownEndpoints` hook: answers and returns true for an OAuth path, returns false (touching
 * nothing) for any other request.
 */
export function createOAuthEndpoints(
  handlers: OAuthEndpointHandlers,
  report?: ReportInternalError,
): (req: IncomingMessage, res: ServerResponse, requestId: string) => boolean {
  const table = new Map<string, Entry>([
    [OAUTH_PATHS.token, { allow: 'POST', post: handlers.token }],
    [OAUTH_PATHS.introspect, { allow: 'POST', post: handlers.introspect }],
    [OAUTH_PATHS.revoke, { allow: 'POST', post: handlers.revoke }],
    [OAUTH_PATHS.jwks, { allow: 'GET, HEAD', read: handlers.jwks }],
    [OAUTH_PATHS.metadata, { allow: 'GET, HEAD', read: handlers.metadata }],
  ]);
  return (req, res, requestId) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const entry = table.get(query === -1 ? url : url.slice(0, query));
    if (entry === undefined) return false;
    try {
      guardFraming(req);
      const method = req.method ?? '';
      if ('post' in entry) {
        if (method !== 'POST') throw new GatewayError('method.not_allowed', 'Use POST.', { allow: entry.allow });
        entry.post(req, res, requestId).catch((error: unknown) => answerFailure(req, res, error, requestId, report));
      } else {
        if (method !== 'GET' && method !== 'HEAD') throw new GatewayError('method.not_allowed', 'Use GET.', { allow: entry.allow });
        entry.read(req, res, requestId);
      }
    } catch (error) {
      answerFailure(req, res, error, requestId, report);
    }
    return true;
  };
}
