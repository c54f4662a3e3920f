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

/** Throws a coded denial, or returns when the request may proceed. */
export function authorize(route: RoutePolicy, method: string, principal: Principal | undefined): void {
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
