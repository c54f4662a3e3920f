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
import type { OwnEndpointRoute, TokenResult } from '../observe/labels.js';
import type { RequestContext, RoutePolicy } from '../types.js';
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
  /** How each token request ended (metrics). */
  readonly onTokenResult?: ((result: TokenResult) => void) | undefined;
}

type Entry = { readonly route: RoutePolicy } & (
  { readonly allow: string; readonly post: OAuthHandler } | { readonly allow: string; readonly read: ReadHandler }
);

/**
 * The route an OAuth endpoint's requests are observed under: metrics and the access log name it
 * (`oauth:token`, …) instead of `none`. Never matched, never forwarded; `auth: off` because each
 * endpoint authenticates its caller itself.
 */
function endpointRoute(name: OwnEndpointRoute, path: string, methods: readonly string[]): RoutePolicy {
  const route: RoutePolicy = {
    name,
    index: -1,
    host: { kind: 'any' },
    pathPrefix: path,
    methods: new Set(methods),
    upstream: { origin: '', hostname: '', port: 0, servername: '', hostHeader: '', basePath: '', ca: undefined },
    auth: 'off',
    access: 'read-only',
    credentials: new Set(['basic', 'bearer'] as const),
    requiredHeaders: [],
    requiredQuery: [],
    identityMatch: [],
    timeoutMs: 0,
    websocket: 'read-write',
    readsWithBody: false,
    mode: 'enforce',
    deprecated: {},
  };
  return Object.freeze(route);
}

/** The result label of a token request that failed with `error`. */
function tokenResultOf(error: unknown): TokenResult {
  if (error instanceof OAuthError) {
    return error.error === 'unsupported_token_type' || error.error === 'invalid_token' || error.error === 'insufficient_scope'
      ? 'invalid_request'
      : error.error;
  }
  if (isStoreError(error) || (error instanceof GatewayError && error.code === 'auth.store_unavailable')) return 'temporarily_unavailable';
  if (error instanceof GatewayError && error.code !== 'internal.error') return 'refused';
  return 'internal_error';
}

/** Errors of an OAuth POST, answered in the OAuth form where one applies. */
function answerFailure(
  req: IncomingMessage,
  res: ServerResponse,
  error: unknown,
  requestId: string,
  report: ReportInternalError | undefined,
): void {
  if (error instanceof OAuthError) {
    sendOAuthError(req, res, error, requestId);
  } else if (isStoreError(error) || (error instanceof GatewayError && error.code === 'auth.store_unavailable')) {
    sendOAuthError(
      req,
      res,
      new OAuthError('temporarily_unavailable', 'The credential store cannot be reached; try again shortly.'),
      requestId,
    );
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
): (req: IncomingMessage, res: ServerResponse, requestId: string, ctx?: RequestContext) => boolean {
  const post = (name: OwnEndpointRoute, path: string, handler: OAuthHandler): [string, Entry] => [
    path,
    { route: endpointRoute(name, path, ['POST']), allow: 'POST', post: handler },
  ];
  const read = (name: OwnEndpointRoute, path: string, handler: ReadHandler): [string, Entry] => [
    path,
    { route: endpointRoute(name, path, ['GET', 'HEAD']), allow: 'GET, HEAD', read: handler },
  ];
  const table = new Map<string, Entry>([
    post('oauth:token', OAUTH_PATHS.token, handlers.token),
    post('oauth:introspect', OAUTH_PATHS.introspect, handlers.introspect),
    post('oauth:revoke', OAUTH_PATHS.revoke, handlers.revoke),
    read('oauth:jwks', OAUTH_PATHS.jwks, handlers.jwks),
    read('oauth:metadata', OAUTH_PATHS.metadata, handlers.metadata),
  ]);
  const tokenResult = (path: string, result: TokenResult): void => {
    if (path !== OAUTH_PATHS.token) return;
    try {
      handlers.onTokenResult?.(result);
    } catch {
      // Metrics never change an answer.
    }
  };
  return (req, res, requestId, ctx) => {
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const entry = table.get(path);
    if (entry === undefined) return false;
    if (ctx !== undefined) ctx.route = entry.route;
    const failed = (error: unknown): void => {
      tokenResult(path, tokenResultOf(error));
      answerFailure(req, res, error, requestId, report);
    };
    try {
      // The form endpoints refuse two Content-Types themselves, in RFC 6749 form.
      guardFraming(req, { ownContentTypeCheck: true });
      const method = req.method ?? '';
      if ('post' in entry) {
        if (method !== 'POST') throw new GatewayError('method.not_allowed', 'Use POST.', { allow: entry.allow });
        entry.post(req, res, requestId, ctx).then(() => tokenResult(path, 'issued'), failed);
      } else {
        if (method !== 'GET' && method !== 'HEAD') throw new GatewayError('method.not_allowed', 'Use GET.', { allow: entry.allow });
        entry.read(req, res, requestId);
      }
    } catch (error) {
      failed(error);
    }
    return true;
  };
}
