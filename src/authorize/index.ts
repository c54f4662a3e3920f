/**
 * The authorize stage (docs/request-path.md "Authorize and require"): GET, HEAD and OPTIONS read;
 * every other method writes. A write needs a route with `access: read-write` AND a credential whose
 * effective scope is read-write (or admin). Method-override headers and `_method` parameters on
 * reads are refused earlier, by the framing guard.
 *
 * Two reads count as writes too:
 *  - a WebSocket upgrade rides on a GET but opens a two-way channel, so it is a write unless the
 *    route says `websocket: read-only` (the backend then keeps the socket read-only);
 *  - a body on a read, which a backend may run as a write (or, ignoring it, read as a second
 *    request), is refused on a read-only route or with a read-only credential unless the route
 *    says `readsWithBody: true`. A form body on a read is refused on every route: frameworks
 *    read `_method` from it and the gateway does not buffer bodies to look.
 */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';
import { challengesFor } from '../authenticate/challenges.js';
import { mayWrite } from '../credentials/scope.js';
import type { Principal, RoutePolicy } from '../types.js';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The `Allow` header of a read-only route. */
export const READ_ONLY_ALLOW = 'GET, HEAD, OPTIONS';

/** Content types a framework reads `_method` from (Rails, Laravel, Symfony, method-override). */
const FORM_TYPE = /^\s*(?:application\/x-www-form-urlencoded|multipart\/form-data)\s*(?:;|$)/i;

export function isWrite(method: string): boolean {
  return !READ_METHODS.has(method);
}

/**
 * Throws a coded denial, or returns when the request may proceed.
 *
 * An account owner's token (`owner`) is refused on every proxy route with 401 `auth.owner_credential`.
 * An `admin` credential manages the gateway (admin API, introspection); on a proxy route it is
 * refused with 401 `auth.admin_credential` unless `admin.allowOnProxyRoutes` says otherwise: a
 * management credential that also opens every backend is one leak away from both.
 */
export function authorize(route: RoutePolicy, req: IncomingMessage, principal: Principal | undefined, adminOnProxyRoutes = false): void {
  if (principal?.owner === true) {
    throw new GatewayError(
      'auth.owner_credential',
      "An account owner's token is for the console and the admin API only; proxy routes need a token without the owner flag.",
      { 'www-authenticate': challengesFor(route.credentials, principal.scheme === 'bearer' ? 'invalid_token' : undefined) },
    );
  }
  if (principal !== undefined && principal.scope === 'admin' && !adminOnProxyRoutes) {
    throw new GatewayError(
      'auth.admin_credential',
      'An admin credential is for the admin API only; proxy routes need a read-only or read-write credential.',
      { 'www-authenticate': challengesFor(route.credentials, principal.scheme === 'bearer' ? 'invalid_token' : undefined) },
    );
  }
  // A request without a method is refused by the framing guard; should one get here, it is a
  // write, never a read.
  const method = req.method ?? '';
  if (isWrite(method)) {
    requireWrite(route, principal, `${method} is a write`);
    return;
  }
  // Node's parser marks a request that asks to switch protocols (Connection: upgrade + Upgrade).
  if ((req as { upgrade?: boolean }).upgrade === true && route.websocket === 'read-write')
    requireWrite(route, principal, 'a WebSocket upgrade is a write (the route does not say "websocket: read-only")');
  const length = req.headers['content-length'];
  if (length !== undefined && length !== '0' && Number(length) !== 0) checkBodyOnRead(route, req, principal, method);
}

function requireWrite(route: RoutePolicy, principal: Principal | undefined, what: string): void {
  if (route.access !== 'read-write') {
    throw new GatewayError('route.read_only', `The route "${route.name}" is read-only; ${what}.`, {
      allow: READ_ONLY_ALLOW,
    });
  }
  if (principal !== undefined && !mayWrite(principal.scope)) {
    throw new GatewayError('auth.insufficient_scope', `The credential is read-only; ${what}.`, {
      'www-authenticate': challengesFor(route.credentials, 'insufficient_scope', 'read-write'),
    });
  }
}

function checkBodyOnRead(route: RoutePolicy, req: IncomingMessage, principal: Principal | undefined, method: string): void {
  const type = req.headers['content-type'];
  if (type !== undefined && FORM_TYPE.test(type)) {
    throw new GatewayError('request.body_on_read', `A form body is not accepted on ${method}: a backend may read "_method" from it.`);
  }
  if (route.readsWithBody) return;
  if (route.access !== 'read-write') {
    throw new GatewayError(
      'request.body_on_read',
      `A body is not accepted on ${method} on the read-only route "${route.name}" (it does not say "readsWithBody: true").`,
    );
  }
  if (principal !== undefined && !mayWrite(principal.scope)) {
    throw new GatewayError(
      'request.body_on_read',
      `A body is not accepted on ${method} with a read-only credential (the route does not say "readsWithBody: true").`,
    );
  }
}
