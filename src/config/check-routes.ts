/**
 * Semantic checks of `routes`: upstream URLs (https only), path prefixes, required header
 * names, timeouts, unique names, and that no two routes take the same requests.
 */
import { checkDuration } from './check-settings.js';
import type { Finding } from './issues.js';
import type { DeepPartial } from './partial.js';
import type { RawRoute } from './schema.js';
import type { HostMatch } from './types.js';
import { normalisePathPrefix, parseHostMatch, parseUpstream, TOKEN } from './values.js';

/** A route's well-formed parts (see `partial.ts`). */
type PartialRoute = DeepPartial<RawRoute>;

/** Upper-cased, de-duplicated, sorted methods; undefined when the route takes every method. */
export function methodList(methods: readonly (string | undefined)[] | undefined): readonly string[] | undefined {
  if (methods === undefined) return undefined;
  const upper = methods.flatMap((m) => (m === undefined ? [] : [m.toUpperCase()]));
  return [...new Set(upper)].sort();
}

function hostKey(host: HostMatch): string {
  return host.kind === 'any' ? '' : host.kind === 'exact' ? host.host : `*${host.suffix}`;
}

function describeMatch(host: HostMatch, prefix: string, methods: readonly string[] | undefined): string {
  const hostText = host.kind === 'any' ? 'any host' : `host ${hostKey(host)}`;
  return `${hostText}, path ${prefix === '' ? '/' : prefix}, ${methods === undefined ? 'every method' : `methods ${methods.join(', ')}`}`;
}

function checkRoute(route: PartialRoute, i: number): Finding[] {
  const findings: Finding[] = [];
  if (route.upstream !== undefined) {
    const upstream = parseUpstream(route.upstream);
    if (!upstream.ok) findings.push({ path: ['routes', i, 'upstream'], message: upstream.message });
  }
  if (route.match?.path !== undefined) {
    const prefix = normalisePathPrefix(route.match.path);
    if (!prefix.ok) findings.push({ path: ['routes', i, 'match', 'path'], message: prefix.message });
  }
  route.require?.headers?.forEach((name, j) => {
    if (name !== undefined && !TOKEN.test(name)) {
      findings.push({
        path: ['routes', i, 'require', 'headers', j],
        message: `expected a header name (letters, digits and !#$%&'*+-.^_\`|~); got ${JSON.stringify(name)}`,
      });
    }
  });
  for (const name of Object.keys(route.require?.match ?? {})) {
    if (!TOKEN.test(name)) {
      findings.push({
        path: ['routes', i, 'require', 'match', name],
        message: `expected a header name (letters, digits and !#$%&'*+-.^_\`|~); got ${JSON.stringify(name)}`,
      });
    } else if (name.toLowerCase().replace(/[_.]/g, '-').startsWith('x-portcullis-')) {
      findings.push({
        path: ['routes', i, 'require', 'match', name],
        message: 'X-Portcullis-* headers are set by Portcullis; name the header your clients send (e.g. X-Tenant)',
      });
    }
  }
  if (route.require?.match !== undefined && Object.keys(route.require.match).length > 0 && route.auth === 'off') {
    findings.push({
      path: ['routes', i, 'require', 'match'],
      message: 'require.match compares a header with the credential: it needs auth: required',
    });
  }
  findings.push(...checkDuration({ path: ['routes', i, 'timeout'], text: route.timeout, zero: false, timer: true }));
  return findings;
}

interface Claim {
  readonly index: number;
  readonly name: string;
  readonly methods: readonly string[] | undefined;
}

const ADVICE = 'a request could go to either, so make one more specific or merge them';

/** Why a route conflicts with an earlier one of the same host and path, if it does. */
function conflict(name: string, methods: readonly string[] | undefined, other: Claim, match: string): string | undefined {
  const same = `route "${name}" has the same match as routes[${other.index}] "${other.name}" (${match}); ${ADVICE}`;
  if (methods === undefined || other.methods === undefined) return methods === other.methods ? same : undefined;
  const shared = methods.filter((m) => other.methods?.includes(m));
  if (shared.length === 0) return undefined;
  if (shared.length === methods.length && shared.length === other.methods.length) return same;
  return `route "${name}" and routes[${other.index}] "${other.name}" both take ${shared.join(', ')} on the same host and path; ${ADVICE}`;
}

/**
 * Two routes with the same host and path that would both take a request: both without
 * `methods`, or listing a method in common. (A route listing methods beats one that does not,
 * so that pair is fine.)
 */
function checkOverlaps(routes: readonly (PartialRoute | undefined)[]): Finding[] {
  const findings: Finding[] = [];
  const byTarget = new Map<string, Claim[]>();
  routes.forEach((route, index) => {
    const match = route?.match;
    if (route?.name === undefined || match?.path === undefined || (match.methods !== undefined && match.methods.includes(undefined)))
      return;
    const prefix = normalisePathPrefix(match.path);
    if (!prefix.ok) return;
    const host = parseHostMatch(match.host);
    const key = `${host.kind} ${hostKey(host)} ${prefix.value}`;
    const methods = methodList(match.methods);
    const claims = byTarget.get(key) ?? [];
    for (const other of claims) {
      const message = conflict(route.name, methods, other, describeMatch(host, prefix.value, methods));
      if (message === undefined) continue;
      findings.push({ path: ['routes', index, 'match'], message });
      break;
    }
    claims.push({ index, name: route.name, methods });
    byTarget.set(key, claims);
  });
  return findings;
}

/** Names the metrics use for requests outside any route (src/observe/labels.ts). */
const RESERVED_ROUTE_NAMES: ReadonlySet<string> = new Set(['none']);

/** Every problem in `routes`, checking whatever parts of each route are well-formed. */
export function checkRoutes(routes: readonly (PartialRoute | undefined)[] | undefined): Finding[] {
  if (routes === undefined) return [];
  const findings: Finding[] = [];
  const names = new Map<string, number>();
  routes.forEach((route, i) => {
    if (route === undefined) return;
    findings.push(...checkRoute(route, i));
    if (route.name === undefined) return;
    if (RESERVED_ROUTE_NAMES.has(route.name)) {
      findings.push({
        path: ['routes', i, 'name'],
        message: `route name ${JSON.stringify(route.name)} is reserved (metrics label requests that matched no route with it); choose another name`,
      });
    }
    const first = names.get(route.name);
    if (first !== undefined) {
      findings.push({
        path: ['routes', i, 'name'],
        message: `duplicate route name ${JSON.stringify(route.name)}; already used by routes[${first}] (names label metrics and logs, so they must be unique)`,
      });
    } else {
      names.set(route.name, i);
    }
  });
  findings.push(...checkOverlaps(routes));
  return findings;
}
