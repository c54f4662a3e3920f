/**
 * `GET /v1/routes`: the loaded policy as the console's Routes page shows it, read-only. Only what
 * the configuration says about matching and protection, and the upstream's origin and base path:
 * never a CA file's content, a header value or anything secret.
 */
import type { RoutePolicy } from '../config/types.js';

/** One route as JSON. */
export interface RouteJson {
  readonly name: string;
  readonly match: { readonly host: string | null; readonly path: string; readonly methods: readonly string[] | null };
  /** `required` or `off`: the per-API authentication switch. */
  readonly auth: RoutePolicy['auth'];
  /** `read-only` or `read-write`. */
  readonly access: RoutePolicy['access'];
  /** `https://host:port/base`, without user information. */
  readonly upstream: string;
}

export function routeJson(route: RoutePolicy): RouteJson {
  const host = route.host.kind === 'any' ? null : route.host.kind === 'exact' ? route.host.host : `*${route.host.suffix}`;
  return {
    name: route.name,
    match: {
      host,
      path: route.pathPrefix === '' ? '/' : route.pathPrefix,
      methods: route.methods === undefined ? null : [...route.methods].sort(),
    },
    auth: route.auth,
    access: route.access,
    upstream: `${route.upstream.origin}${route.upstream.basePath}`,
  };
}
