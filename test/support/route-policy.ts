/**
 * Compiled routes for unit tests of the stages that read them (match, authorize, require),
 * without going through the configuration loader.
 */
import type { HostMatch, RoutePolicy } from '../../src/config/types.js';

export interface RouteSpec {
  readonly name?: string;
  /** `api.example.com`, `*.example.com`, or omitted for any host. */
  readonly host?: string;
  /** As written in the file (`/profiles`, `/`). */
  readonly path?: string;
  readonly methods?: readonly string[];
  readonly auth?: RoutePolicy['auth'];
  readonly access?: RoutePolicy['access'];
  readonly credentials?: readonly ('bearer' | 'basic')[];
  readonly requiredHeaders?: readonly string[];
  readonly requiredQuery?: readonly string[];
  readonly websocket?: RoutePolicy['websocket'];
  readonly readsWithBody?: boolean;
  readonly mode?: RoutePolicy['mode'];
  readonly deprecated?: RoutePolicy['deprecated'];
}

let counter = 0;

function hostMatch(host: string | undefined): HostMatch {
  if (host === undefined) return { kind: 'any' };
  if (host.startsWith('*.')) return { kind: 'wildcard', suffix: host.slice(1).toLowerCase() };
  return { kind: 'exact', host: host.toLowerCase() };
}

export function routePolicy(spec: RouteSpec = {}): RoutePolicy {
  const index = counter++;
  const path = spec.path ?? '/';
  return {
    name: spec.name ?? `route-${index}`,
    index,
    host: hostMatch(spec.host),
    pathPrefix: path.replace(/\/+$/, ''),
    methods: spec.methods === undefined ? undefined : new Set(spec.methods.map((m) => m.toUpperCase())),
    upstream: {
      origin: 'https://upstream.test:8443',
      hostname: 'upstream.test',
      port: 8443,
      servername: 'upstream.test',
      hostHeader: 'upstream.test:8443',
      basePath: '',
      ca: undefined,
    },
    auth: spec.auth ?? 'required',
    access: spec.access ?? 'read-only',
    credentials: new Set(spec.credentials ?? ['bearer', 'basic']),
    requiredHeaders: spec.requiredHeaders ?? [],
    requiredQuery: spec.requiredQuery ?? [],
    identityMatch: [],
    timeoutMs: 30_000,
    websocket: spec.websocket ?? 'read-write',
    readsWithBody: spec.readsWithBody ?? false,
    mode: spec.mode ?? 'enforce',
    deprecated: spec.deprecated ?? {},
  };
}
