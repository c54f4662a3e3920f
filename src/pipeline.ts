/**
 * THE order of stages a proxied request goes through (docs/request-path.md):
 *
 *   guard framing → parse target (path safety) → match route → authenticate (behind the
 *   failure throttle; and the credential's deprecation) → authorize → require → rate limit
 *   → forward
 *
 * On a route in shadow mode (rollout/shadow.ts) the policy stages record their refusals instead
 * of answering them, and the request is forwarded as on an `auth: off` route. Rate limits still
 * apply there, keyed by the credential when it was valid and by the client address otherwise.
 *
 * Each stage either returns (the request goes on) or throws a GatewayError, which becomes the
 * problem+json answer in one place. Authentication answers synchronously on a cache hit, so a
 * cached request goes through without a promise.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from './authorize/index.js';
import type { GatewayConfig } from './config/types.js';
import { createContext } from './context.js';
import { GatewayError } from './errors.js';
import { forwardHttp, type ForwardedExchange } from './forward/forward-http.js';
import { upstreamRequestHeaders } from './forward/header-rules.js';
import { UPSTREAM_ERROR_CODES } from './forward/upstream-errors.js';
import type { UpstreamPools } from './forward/upstream-pools.js';
import type { ClientLimits } from './listen/client-limits.js';
import { expectsContinue, guardFraming, guardMethodOverrideParameter, methodOverridesOf } from './listen/framing-guard.js';
import { parseRequestTarget, type RequestTarget } from './listen/request-target.js';
import { requestIdOf } from './listen/request-id.js';
import { asGatewayError, sendProblem } from './listen/send-problem.js';
import type { RateLimits } from './limit/rate-limits.js';
import type { RouteTable } from './match/route-table.js';
import type { RequestObserver } from './observe/observer.js';
import { checkIdentityMatch, checkRequired } from './require/index.js';
import { checkDeprecation } from './rollout/deprecation.js';
import { authenticateInShadow, decideInShadow, recordShadowed } from './rollout/shadow.js';
import type { Authenticate, Principal, RequestContext, RoutePolicy } from './types.js';

/** Everything a configuration (re)load produces; swapped as one reference on SIGHUP. */
export interface RoutingState {
  readonly config: GatewayConfig;
  readonly routes: RouteTable;
  readonly pools: UpstreamPools;
}

export interface PipelineDeps {
  readonly state: () => RoutingState;
  readonly authenticate: Authenticate;
  readonly observer: RequestObserver;
  /** Endpoints served on the proxy listener ahead of routing; true when one answered. */
  readonly ownEndpoints?: ((req: IncomingMessage, res: ServerResponse, requestId: string, ctx: RequestContext) => boolean) | undefined;
  /** Whether the proxy listener terminates TLS. */
  readonly proto: 'http' | 'https';
  /** Called once per request handled by createRequestHandler, when its response closed. */
  readonly requestClosed?: (() => void) | undefined;
  /** Limits per client address (connections, requests in flight); none when undefined. */
  readonly clientLimits?: ClientLimits | undefined;
  /** The request being served on each connection, while it is (for a request timeout). */
  readonly active?: WeakMap<object, RequestContext> | undefined;
  /** Rate limits per route (src/limit/rate-limits.ts), counted once a request would be forwarded. */
  readonly rateLimits?: RateLimits | undefined;
}

/** A matched, authorised request that is about to be forwarded or upgraded. */
export interface AdmittedRequest {
  readonly ctx: RequestContext;
  readonly route: RoutePolicy;
  readonly state: RoutingState;
  readonly headers: string[];
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Runs every stage up to forwarding. Calls `admitted` with the request if it may go upstream,
 * or answers the refusal itself.
 */
export function admit(deps: PipelineDeps, ctx: RequestContext, admitted: (request: AdmittedRequest) => void): void {
  const state = deps.state();
  const { req } = ctx;
  try {
    const host = guardFraming(req);
    const target = parseRequestTarget(req.url ?? '');
    ctx.path = target.path;
    ctx.search = target.search;
    // Set: the framing guard refused a request without one.
    const method = req.method as string;
    if (target.search.length > 1) guardMethodOverrideParameter(method, target.search);
    const route = state.routes.match(host, method, target.path);
    if (route === undefined) throw new GatewayError('route.not_found', 'No route matches this host, path and method.');
    if (!READ_METHODS.has(method)) checkOverrideRoute(state, host, method, target, req, route);
    ctx.route = route;
    if (route.auth === 'required') {
      const result = route.mode === 'shadow' ? authenticateInShadow(deps.authenticate, route, ctx) : deps.authenticate(route, req);
      if (result instanceof Promise) {
        result.then(
          (principal) => afterAuthentication(deps, state, ctx, principal, admitted),
          (error: unknown) => refuse(ctx, asGatewayError(error)),
        );
        return;
      }
      afterAuthentication(deps, state, ctx, result, admitted);
      return;
    }
    afterAuthentication(deps, state, ctx, undefined, admitted);
  } catch (error) {
    refuse(ctx, asGatewayError(error));
  }
}

function afterAuthentication(
  deps: PipelineDeps,
  state: RoutingState,
  ctx: RequestContext,
  principal: Principal | undefined,
  admitted: (request: AdmittedRequest) => void,
): void {
  const route = ctx.route;
  if (route === undefined || ctx.res.destroyed) return;
  try {
    const { req } = ctx;
    const shadow = route.mode === 'shadow';
    if (principal !== undefined) {
      try {
        checkDeprecation(ctx, route, principal, state.config, Date.now);
      } catch (error) {
        // A credential past its sunset is no valid credential: in shadow, no identity headers.
        if (!shadow) throw error;
        recordShadowed(ctx, error);
        principal = undefined;
      }
    }
    ctx.principal = principal;
    if (shadow) {
      decideInShadow(ctx, route, req, principal, state.config.admin.allowOnProxyRoutes);
    } else {
      authorize(route, req, principal, state.config.admin.allowOnProxyRoutes);
      checkRequired(route, req, ctx.search);
      checkIdentityMatch(route, req, principal);
    }
    deps.rateLimits?.admit(route, principal, req, state.config.trustedProxies);
    const peerAddress = req.socket.remoteAddress ?? '';
    const headers = upstreamRequestHeaders(req, {
      peerAddress,
      peerTrusted: state.config.trustedProxies.has(peerAddress),
      proto: deps.proto,
      // A shadow route forwards as an `auth: off` route does: the Authorization header included.
      stripAuthorization: route.auth === 'required' && !shadow,
      principal,
      upstreamHost: route.upstream.hostHeader,
      requestId: ctx.id,
    });
    admitted({ ctx, route, state, headers });
  } catch (error) {
    refuse(ctx, asGatewayError(error));
  }
}

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A write may carry a method override (reads may not, see the framing guard); the backend may
 * then run the named method. Refused when that method would have gone to another route, whose
 * policy (auth, access, require) was never applied.
 */
function checkOverrideRoute(
  state: RoutingState,
  host: string,
  method: string,
  target: RequestTarget,
  req: IncomingMessage,
  route: RoutePolicy,
): void {
  const overrides = methodOverridesOf(req, target.search);
  if (overrides === undefined) return;
  for (const override of overrides) {
    if (override !== method && state.routes.match(host, override, target.path) !== route) {
      throw new GatewayError(
        'request.malformed',
        `The method override names ${JSON.stringify(override.slice(0, 32))}, which another route takes than ${method} does.`,
      );
    }
  }
}

/**
 * The request did not arrive within `limits.requestTimeout` (Node's connection checker said so):
 * answered 408 and the connection closed, or cut when its response already started. Aborting the
 * upstream exchange follows from the response's close.
 */
export function timeOut(ctx: RequestContext): void {
  if (ctx.res.headersSent) {
    ctx.decision = 'request.timeout';
    ctx.res.destroy();
    return;
  }
  refuse(ctx, new GatewayError('request.timeout', "The request did not arrive within the listener's time limit."));
}

export function refuse(ctx: RequestContext, error: GatewayError): void {
  ctx.decision = error.code;
  if (error.credentialId !== undefined) ctx.refusedCredentialId = error.credentialId;
  if (error.code === 'internal.error' && error.cause !== undefined) ctx.failure = error.cause;
  sendProblem(ctx.req, ctx.res, error, ctx.id);
}

/** The proxy listener's request handler: admit, then forward through undici. */
export function createRequestHandler(deps: PipelineDeps): RequestHandler {
  const { observer, requestClosed, clientLimits, active } = deps;
  return (req, res) => {
    const ctx = createContext(requestIdOf(req), req, res);
    observer.requestStarted(ctx);
    const socket = req.socket;
    const address = socket.remoteAddress ?? '';
    const refusal = clientLimits?.admit(address);
    active?.set(socket, ctx);
    let exchange: ForwardedExchange | undefined;
    // The one 'close' listener of a request: the client may have left mid-exchange.
    res.once('close', () => {
      try {
        if (refusal === undefined) clientLimits?.release(address);
        if (active?.get(socket) === ctx) active.delete(socket);
        exchange?.clientGone();
        observer.requestEnded(ctx, res.headersSent ? res.statusCode : 499);
      } finally {
        // Drain at shutdown waits for this count: it must come down whatever happened above.
        requestClosed?.();
      }
    });
    if (refusal !== undefined) {
      refuse(ctx, refusal);
      return;
    }
    // Portcullis' own endpoints (token endpoint, JWKS) are observed like every other request.
    if (deps.ownEndpoints?.(req, res, ctx.id, ctx)) return;
    admit(deps, ctx, ({ ctx: admittedCtx, route, state, headers }) => {
      // With an Expect header the client waits for this before sending the body: refused
      // requests never make it upload (RFC 9110 §10.1.1). Never to an HTTP/1.0 client.
      if (expectsContinue(req)) res.writeContinue();
      admittedCtx.upstreamStartedAt = process.hrtime.bigint();
      exchange = forwardHttp(
        state.pools,
        {
          req,
          res,
          route,
          pathAndQuery: admittedCtx.path + admittedCtx.search,
          headers,
          requestId: admittedCtx.id,
          deprecation: admittedCtx.deprecation,
        },
        {
          onUpstreamHeaders: () => {
            admittedCtx.upstreamHeadersAt = process.hrtime.bigint();
          },
          onFailure: (error, kind, reason) => {
            observer.upstreamFailed(admittedCtx, kind, reason);
            refuse(admittedCtx, error);
          },
          onBrokenResponse: (kind, reason) => {
            admittedCtx.decision = UPSTREAM_ERROR_CODES[kind];
            observer.upstreamFailed(admittedCtx, kind, reason);
          },
        },
      );
    });
  };
}
