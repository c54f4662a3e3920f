/**
 * Route selection (docs/configuration.md "How a request picks a route"): exact host over
 * wildcard over none, then the longest path prefix on a segment boundary, then a route listing the
 * method over one listing none. A route listing GET also takes HEAD (see `pick`). A `.` ends a
 * prefix like a `/` does: Rails routes `/admin.json` to `/admin(.:format)` and Spring ≤ 5.2's
 * suffix matching to `/admin`, so the route of `/admin` must be the one that checks it
 * (docs/decisions/0012, "Second review").
 *
 * The table is built once per configuration. A lookup probes, for each of at most three host
 * maps, only the prefix lengths (in segments) that some route of that map has, longest first:
 * one Map lookup per distinct route depth, whatever the route count and the path's length.
 */
import type { HostMatch, RoutePolicy } from '../config/types.js';

/** What routing reads of a route; `portcullis check` builds tables of these to find fall-through. */
export interface Routable {
  readonly host: HostMatch;
  readonly pathPrefix: string;
  readonly methods: ReadonlySet<string> | undefined;
}

interface PrefixBucket<R> {
  readonly byMethod: Map<string, R>;
  anyMethod: R | undefined;
}

type PrefixMap<R> = Map<string, PrefixBucket<R>>;

/** A host's prefixes, and the segment counts they have (`/a/b` → 2, the root `` → 0), descending. */
interface HostPrefixes<R> {
  readonly prefixes: PrefixMap<R>;
  depths: readonly number[];
}

function depthOf(prefix: string): number {
  let depth = 0;
  for (let i = 0; i < prefix.length; i++) if (prefix.charCodeAt(i) === 0x2f) depth++;
  return depth;
}

export interface RouteTable<R extends Routable = RoutePolicy> {
  /** Routes selected for a host (lower case, no port), a method and a normalised path. */
  match(host: string, method: string, path: string): R | undefined;
}

/** Two routes that both claim the same (host, prefix, method). */
export interface RouteConflict<R extends Routable = RoutePolicy> {
  readonly first: R;
  readonly second: R;
  readonly method: string | undefined;
}

export interface BuiltRouteTable<R extends Routable = RoutePolicy> {
  readonly table: RouteTable<R>;
  readonly conflicts: readonly RouteConflict<R>[];
}

export function buildRouteTable<R extends Routable = RoutePolicy>(routes: readonly R[]): BuiltRouteTable<R> {
  const exact = new Map<string, HostPrefixes<R>>();
  const wildcard = new Map<string, HostPrefixes<R>>();
  const anyHost: HostPrefixes<R> = { prefixes: new Map(), depths: [] };
  const conflicts: RouteConflict<R>[] = [];

  for (const route of routes) {
    let host: HostPrefixes<R>;
    if (route.host.kind === 'any') {
      host = anyHost;
    } else {
      const hostMap = route.host.kind === 'exact' ? exact : wildcard;
      const key = route.host.kind === 'exact' ? route.host.host : route.host.suffix;
      host = hostMap.get(key) ?? { prefixes: new Map(), depths: [] };
      hostMap.set(key, host);
    }
    let bucket = host.prefixes.get(route.pathPrefix);
    if (!bucket) {
      bucket = { byMethod: new Map(), anyMethod: undefined };
      host.prefixes.set(route.pathPrefix, bucket);
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
  for (const host of [anyHost, ...exact.values(), ...wildcard.values()]) {
    host.depths = [...new Set([...host.prefixes.keys()].map(depthOf))].sort((a, b) => b - a);
  }

  const hasWildcards = wildcard.size > 0;
  const hasExact = exact.size > 0;
  // Positions of the path's first `deepest + 1` slashes, found once per lookup and shared by
  // the (up to three) host maps probed; deeper slashes cannot end a candidate. Reused between
  // lookups, which are synchronous.
  let deepest = 0;
  for (const host of [anyHost, ...exact.values(), ...wildcard.values()]) deepest = Math.max(deepest, host.depths[0] ?? 0);
  const slashes: number[] = [];
  let slashCount = 0;

  function matchIn(host: HostPrefixes<R> | undefined, method: string, path: string, endsWithSlash: boolean): R | undefined {
    if (host === undefined) return undefined;
    const { prefixes, depths } = host;
    // The candidate of depth d is the path up to its (d+1)-th "/", or the whole path when it has
    // exactly d segments and does not end with "/". The root route is stored under "".
    for (const depth of depths) {
      let end: number;
      if (depth < slashCount) end = slashes[depth] as number;
      else if (depth === slashCount && !endsWithSlash) end = path.length;
      else continue;
      const found = pick(prefixes.get(path.slice(0, end)), method);
      if (found) return found;
      if (depth === 0) continue;
      // Then the same segment cut at each `.` in it, the longest first: `/admin.public.json`
      // tries `/admin.public`, then `/admin`. Only paths with a dot in that segment pay.
      const start = (slashes[depth - 1] as number) + 1;
      for (let dot = path.lastIndexOf('.', end - 1); dot > start; dot = path.lastIndexOf('.', dot - 1)) {
        const cut = pick(prefixes.get(path.slice(0, dot)), method);
        if (cut) return cut;
      }
    }
    return undefined;
  }

  const table: RouteTable<R> = {
    match(host, method, path) {
      slashCount = 0;
      for (let i = path.indexOf('/'); i !== -1 && slashCount <= deepest; i = path.indexOf('/', i + 1)) slashes[slashCount++] = i;
      const endsWithSlash = path.charCodeAt(path.length - 1) === 0x2f;
      if (hasExact) {
        const found = matchIn(exact.get(host), method, path, endsWithSlash);
        if (found) return found;
      }
      if (hasWildcards) {
        const dot = host.indexOf('.');
        if (dot > 0) {
          const found = matchIn(wildcard.get(host.slice(dot)), method, path, endsWithSlash);
          if (found) return found;
        }
      }
      return matchIn(anyHost, method, path, endsWithSlash);
    },
  };
  return { table, conflicts };
}

function pick<R>(bucket: PrefixBucket<R> | undefined, method: string): R | undefined {
  if (bucket === undefined) return undefined;
  // HEAD is GET without the body (RFC 9110 §9.3.2), and most backends answer it by running their
  // GET handler: a route listing GET takes HEAD too, unless another route lists HEAD itself.
  // Otherwise HEAD could reach a GET-only resource through a laxer methodless route.
  return bucket.byMethod.get(method) ?? (method === 'HEAD' ? bucket.byMethod.get('GET') : undefined) ?? bucket.anyMethod;
}
