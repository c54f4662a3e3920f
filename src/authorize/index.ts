/**
 * The authorize stage (SPEC §2.4): GET, HEAD and OPTIONS read; every other method writes. A write
 * needs a route with `access: read-write` AND a credential whose effective scope is read-write
 * (or admin). Method-override headers on reads are refused earlier, by the framing guard.
 */
import { GatewayError } from '../errors.js';
import { challengesFor } from '../authenticate/challenges.js';
import { mayWrite } from '../credentials/scope.js';
import type { Principal, RoutePolicy } from '../types.js';

const READ_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The `Allow` header of a read-only route. */
export const READ_ONLY_ALLOW = 'GET, HEAD, OPTIONS';

export function isWrite(method: string): boolean {
  return !READ_METHODS.has(method);
}

/**
 * Throws a coded denial, or returns when the request may proceed.
 *
 * An `admin` credential manages the gateway (admin API, introspection); on a proxy route it is
 * refused with 401 `auth.admin_credential` unless `admin.allowOnProxyRoutes` says otherwise: a
 * management credential that also opens every backend is one leak away from both.
 */
export function authorize(route: RoutePolicy, method: string, principal: Principal | undefined, adminOnProxyRoutes = false): void {
  if (principal !== undefined && principal.scope === 'admin' && !adminOnProxyRoutes) {
    throw new GatewayError(
      'auth.admin_credential',
      'An admin credential is for the admin API only; proxy routes need a read-only or read-write credential.',
      { 'www-authenticate': challengesFor(route.credentials, principal.scheme === 'bearer' ? 'invalid_token' : undefined) },
    );
  }
  if (!isWrite(method)) return;
  if (route.access !== 'read-write') {
    throw new GatewayError('route.read_only', `The route "${route.name}" is read-only; ${method} is a write.`, {
      allow: READ_ONLY_ALLOW,
    });
  }
  if (principal !== undefined && !mayWrite(principal.scope)) {
    throw new GatewayError('auth.insufficient_scope', `The credential is read-only; ${method} is a write.`, {
      'www-authenticate': challengesFor(route.credentials, 'insufficient_scope', 'read-write'),
    });
  }
}
