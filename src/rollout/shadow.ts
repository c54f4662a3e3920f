/**
 * Shadow mode (`mode: shadow` on a route): every decision of the authenticate, authorize and
 * require stages is made, but a refusal is recorded instead of answered — the would-be code goes
 * to `ctx.shadow` (the access line's `shadow`, `portcullis_shadow_refusals_total`) and the request
 * is forwarded as on an `auth: off` route. It answers "who would break if authentication were
 * switched on?" from real traffic (docs/request-path.md "Shadow mode").
 *
 * Only policy decisions are shadowed: the codes in SHADOWED_CODES. Everything that keeps a request
 * safe to forward at all — framing and smuggling guards, path safety, route selection, method
 * overrides naming another route, a `Connection` header naming a required header, form bodies on
 * reads, client limits, upstream rules, internal errors — refuses as on any route: shadow mode
 * opens the route's policy, never the gateway's.
 */
import type { IncomingMessage } from 'node:http';
import { authorize } from '../authorize/index.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { checkIdentityMatch, checkRequired } from '../require/index.js';
import type { Authenticate, Principal, RequestContext, RoutePolicy } from '../types.js';

/** The refusals shadow mode records instead of answering: the route's authentication and authorization policy. */
export const SHADOWED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'auth.malformed_credentials',
  'auth.missing_credentials',
  'auth.invalid_token',
  'auth.invalid_credentials',
  'auth.token_expired',
  'auth.token_revoked',
  'auth.credential_sunset',
  'auth.admin_credential',
  'auth.insufficient_scope',
  'auth.identity_mismatch',
  'auth.store_unavailable',
  // The failure throttle refuses before the store is asked: shadowed, the request goes on without
  // a principal, so a throttled address (a NAT) is never shut out of a route that is open.
  'auth.too_many_failures',
  'route.read_only',
  'request.body_on_read',
  'request.missing_header',
  'request.missing_query_param',
]);

/**
 * Records a shadowed refusal (the first one wins: it is the code the client would have got) and
 * returns; re-throws anything else. A request refused anyway is not a shadow refusal: its
 * record is dropped, so the access line and the counter only show requests that went through.
 */
export function recordShadowed(ctx: RequestContext, error: unknown): void {
  if (!(error instanceof GatewayError) || !SHADOWED_CODES.has(error.code)) {
    ctx.shadow = undefined;
    throw error;
  }
  ctx.shadow ??= error.code;
  if (error.credentialId !== undefined) ctx.refusedCredentialId ??= error.credentialId;
}

/** The authenticate stage on a shadow route: a refusal is recorded and the request goes on without a principal. */
export function authenticateInShadow(
  authenticate: Authenticate,
  route: RoutePolicy,
  ctx: RequestContext,
): Principal | undefined | Promise<Principal | undefined> {
  let result: Principal | Promise<Principal>;
  try {
    result = authenticate(route, ctx.req);
  } catch (error) {
    recordShadowed(ctx, error);
    return undefined;
  }
  if (!(result instanceof Promise)) return result;
  return result.catch((error: unknown) => {
    recordShadowed(ctx, error);
    return undefined;
  });
}

/** The same route as `auth: off`, `access: read-write`: the floor a shadow route still enforces. */
const openTwins = new WeakMap<RoutePolicy, RoutePolicy>();
function openTwin(route: RoutePolicy): RoutePolicy {
  let twin = openTwins.get(route);
  if (twin === undefined) {
    twin = Object.freeze({ ...route, auth: 'off', access: 'read-write', websocket: 'read-write', mode: 'enforce' } as const);
    openTwins.set(route, twin);
  }
  return twin;
}

/**
 * The authorize and require stages on a shadow route: each decision is made and its refusal
 * recorded; then what an `auth: off`, read-write route enforces is enforced (a form body on a
 * read is refused on every route).
 */
export function decideInShadow(
  ctx: RequestContext,
  route: RoutePolicy,
  req: IncomingMessage,
  principal: Principal | undefined,
  adminOnProxyRoutes: boolean,
): void {
  try {
    authorize(route, req, principal, adminOnProxyRoutes);
  } catch (error) {
    recordShadowed(ctx, error);
  }
  try {
    checkRequired(route, req, ctx.search);
  } catch (error) {
    recordShadowed(ctx, error);
  }
  try {
    checkIdentityMatch(route, req, principal);
  } catch (error) {
    recordShadowed(ctx, error);
  }
  try {
    authorize(openTwin(route), req, undefined);
  } catch (error) {
    ctx.shadow = undefined;
    throw error;
  }
}
