/**
 * Route selection (SPEC §1): exact host over wildcard over none, then the longest path prefix on
 * a segment boundary, then a route listing the method over one listing none. A route listing
 * GET also takes HEAD (see `pick`).
 *
 * The table is built once per configuration. A lookup costs at most three host probes times the
 * number of `/` in the request path, each a Map lookup: it does not depend on the route count.
 */
import type { RoutePolicy } from '../config/types.js';

interface PrefixBucket {
  readonly byMethod: Map<string, RoutePolicy>;
  anyMethod: RoutePolicy | undefined;
}

type PrefixMap = Map<string, PrefixBucket>;

export interface RouteTable {
  /** Routes selected for a host (lower case, no port), a method and a normalised path. */
  match(host: string, method: string, path: string): RoutePolicy | undefined;
}

/** Two routes that both claim the same (host, prefix, method). */
export interface RouteConflict {
  readonly first: RoutePolicy;
  readonly second: RoutePolicy;
  readonly method: string | undefined;
}

export interface BuiltRouteTable {
  readonly table: RouteTable;
  readonly conflicts: readonly RouteConflict[];
}

export function buildRouteTable(routes: readonly RoutePolicy[]): BuiltRouteTable {
  const exact = new Map<string, PrefixMap>();
  const wildcard = new Map<string, PrefixMap>();
  const anyHost: PrefixMap = new Map();
  const conflicts: RouteConflict[] = [];

  for (const route of routes) {
    let prefixes: PrefixMap;
    if (route.host.kind === 'any') {
      prefixes = anyHost;
    } else {
      const hostMap = route.host.kind === 'exact' ? exact : wildcard;
      const key = route.host.kind === 'exact' ? route.host.host : route.host.suffix;
      prefixes = hostMap.get(key) ?? new Map();
      hostMap.set(key, prefixes);
    }
    let bucket = prefixes.get(route.pathPrefix);
    if (!bucket) {
      bucket = { byMethod: new Map(), anyMethod: undefined };
      prefixes.set(route.pathPrefix, bucket);
    }
    if (route.methods === undefined) {
      if (bucket.anyMethod) conflicts.push({ first: bucket.anyMethod, second: route, method: undefined });
      else bucket.anyMethod = route;
    } else {
      for (const method of route.methods) {
        const existing = bucket.byMethod.get(method);
        if (existing) conflicts.push({ first: existing, second: route, method });
        else bucket.byMethod.set(method, route);
      }
    }
  }

  const hasWildcards = wildcard.size > 0;
  const hasExact = exact.size > 0;

  function matchIn(prefixes: PrefixMap | undefined, method: string, path: string): RoutePolicy | undefined {
    if (prefixes === undefined || prefixes.size === 0) return undefined;
    // Candidates from the longest: the whole path (unless it ends with "/"), then each prefix
    // ending just before a "/". The root route is stored under "".
    let end = path.length;
    if (path.charCodeAt(end - 1) !== 0x2f) {
      const found = pick(prefixes.get(path), method);
      if (found) return found;
    }
    for (end = path.lastIndexOf('/', end - 1); end >= 0; end = end === 0 ? -1 : path.lastIndexOf('/', end - 1)) {
      const found = pick(prefixes.get(path.slice(0, end)), method);
      if (found) return found;
    }
    return undefined;
  }

  const table: RouteTable = {
    match(host, method, path) {
      if (hasExact) {
        const found = matchIn(exact.get(host), method, path);
        if (found) return found;
      }
      if (hasWildcards) {
        const dot = host.indexOf('.');
        if (dot > 0) {
          const found = matchIn(wildcard.get(host.slice(dot)), method, path);
          if (found) return found;
        }
      }
      return matchIn(anyHost, method, path);
    },
  };
  return { table, conflicts };
}

function pick(bucket: PrefixBucket | undefined, method: string): RoutePolicy | undefined {
  if (bucket === undefined) return undefined;
  // HEAD is GET without the body (RFC 9110 §9.3.2), and most backends answer it by running their
  // GET handler: a route listing GET takes HEAD too, unless another route lists HEAD itself.
  // Otherwise HEAD could reach a GET-only resource through a laxer methodless route.
  return bucket.byMethod.get(method) ?? (method === 'HEAD' ? bucket.byMethod.get('GET') : undefined) ?? bucket.anyMethod;
}
