/**
 * Warnings (not errors) for method fall-through: a route that lists `methods` takes only those;
 * a request with another method to the same host and path goes to the next route that matches,
 * which may be less protected (`auth: off`, or `read-write` below a `read-only` route). That is
 * sometimes meant, often not: `portcullis check` says so, located, and exits 0.
 *
 * Routes for the same host and path as the listing route are not warned about: written side by
 * side, they split the methods on purpose. The trap is a route elsewhere (a shorter prefix, a
 * broader host) that the operator did not have in view.
 *
 * The check asks the real route table (match/route-table.ts), built from the routes' match parts,
 * where each unlisted method would go: the same selection the gateway makes.
 */
import { buildRouteTable, type Routable } from '../match/route-table.js';
import type { Finding } from './issues.js';
import { methodList } from './check-routes.js';
import type { RawRoute } from './schema.js';
import { normalisePathPrefix, parseHostMatch } from './values.js';

interface CheckedRoute extends Routable {
  readonly index: number;
  readonly name: string;
  readonly auth: RawRoute['auth'];
  readonly access: RawRoute['access'];
  readonly mode: RawRoute['mode'];
}

/** Methods tried besides those some route lists: the ones clients send. */
const COMMON_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A host name that only `route`'s host match (and broader ones) take. */
function sampleHost(route: Routable): string {
  switch (route.host.kind) {
    case 'exact':
      return route.host.host;
    case 'wildcard':
      return `portcullis-check${route.host.suffix}`;
    case 'any':
      return 'portcullis-check.invalid';
  }
}

function hostKey(route: Routable): string {
  return route.host.kind === 'any' ? '' : route.host.kind === 'exact' ? route.host.host : `*${route.host.suffix}`;
}

/** Why `to` protects less than `from`, or undefined. */
function weaker(from: CheckedRoute, to: CheckedRoute): string | undefined {
  if (from.auth === 'required' && to.auth === 'off') return 'auth: off';
  // A shadow route forwards as an `auth: off` one does.
  if (from.auth === 'required' && from.mode !== 'shadow' && to.mode === 'shadow') return 'mode: shadow';
  if (from.access === 'read-only' && to.access === 'read-write') return 'access: read-write';
  return undefined;
}

export function checkFallThrough(routes: readonly RawRoute[]): Finding[] {
  const checked: CheckedRoute[] = [];
  routes.forEach((route, index) => {
    const prefix = normalisePathPrefix(route.match.path);
    if (!prefix.ok) return;
    const methods = methodList(route.match.methods);
    checked.push({
      index,
      name: route.name,
      auth: route.auth,
      access: route.access,
      mode: route.mode,
      host: parseHostMatch(route.match.host),
      pathPrefix: prefix.value,
      methods: methods === undefined ? undefined : new Set(methods),
    });
  });
  const { table } = buildRouteTable(checked);
  const tried = [...new Set([...COMMON_METHODS, ...checked.flatMap((r) => (r.methods === undefined ? [] : [...r.methods]))])];
  const findings: Finding[] = [];
  for (const route of checked) {
    if (route.methods === undefined) continue;
    const host = sampleHost(route);
    const path = route.pathPrefix === '' ? '/' : route.pathPrefix;
    // A request the route would take itself is no fall-through (it may lose to a more specific one).
    const fallen = new Map<CheckedRoute, string[]>();
    for (const method of tried) {
      const to = table.match(host, method, path);
      if (to === undefined || to === route) continue;
      // A route written for the same host and path takes the rest on purpose (both are in view
      // side by side: `profiles-search` for GET, `profiles` for everything else).
      if (to.pathPrefix === route.pathPrefix && hostKey(to) === hostKey(route)) continue;
      if (weaker(route, to) === undefined) continue;
      const list = fallen.get(to) ?? [];
      list.push(method);
      fallen.set(to, list);
    }
    for (const [to, methods] of fallen) {
      findings.push({
        path: ['routes', route.index, 'match', 'methods'],
        message: `warning: route "${route.name}" lists only ${[...route.methods].join(', ')}; ${methods.join(', ')} to the same host and path fall through to routes[${to.index}] "${to.name}", which is less protected (${weaker(route, to) ?? ''}). List those methods on a route with the protection they need, or drop "methods" if "${route.name}" should take them`,
      });
    }
  }
  return findings;
}
