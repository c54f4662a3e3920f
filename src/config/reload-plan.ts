/**
 * What a reload may change in a running gateway, and what it may not (docs/configuration.md
 * "Reloading"). A reload compares the running configuration with the new one key by key:
 *
 *   - keys in APPLIED_ON_RELOAD take effect for new requests (and new TLS handshakes);
 *   - every other key that changed needs a restart: the running value is kept, and the key is
 *     named in a warning, so the file and the process never disagree silently.
 *
 * Unknown to this table means "needs a restart": a key added later is never claimed to be
 * applied when it is not.
 */
import type { GatewayConfig } from './types.js';

/** Keys (as written in the file) that a reload applies. */
export const APPLIED_ON_RELOAD: readonly string[] = [
  'tls',
  'admin.tls',
  'admin.allowOnProxyRoutes',
  'trustedProxies',
  'limits.shutdownGrace',
  'limits.shutdownDelay',
  'oauth',
  'jwt',
  'log.queryValues',
  'throttle',
  'rateLimits',
  'routes',
];

/** Sections compared as one value: a change anywhere inside names the section. */
const UNITS: ReadonlySet<string> = new Set([
  'listen',
  'tls',
  'admin.tls',
  'trustedProxies',
  'oauth',
  'jwt',
  'throttle',
  'rateLimits',
  'routes',
]);

/** Sections whose presence decides what kind of listener runs: adding or removing them needs a restart. */
const LISTENER_KINDS: ReadonlySet<string> = new Set(['tls', 'admin.tls']);

export interface ReloadPlan {
  /** The configuration to run: the new one, with every restart-only key at its running value. */
  readonly effective: GatewayConfig;
  /** Keys whose change took effect. */
  readonly applied: readonly string[];
  /** Keys that changed in the file but keep their running value until a restart. */
  readonly restartRequired: readonly string[];
}

interface Leaf {
  /** As written in the file: `limits.shutdownGrace`. */
  readonly name: string;
  /** Where it is in GatewayConfig: `['limits', 'shutdownGraceMs']`. */
  readonly at: readonly string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Set);
}

/** Durations are compiled to `…Ms`; the file names them without the suffix. */
function fileName(compiledKey: string): string {
  return compiledKey.endsWith('Ms') ? compiledKey.slice(0, -2) : compiledKey;
}

function leavesOf(a: GatewayConfig, b: GatewayConfig): Leaf[] {
  const leaves: Leaf[] = [];
  const top = new Set([...Object.keys(a), ...Object.keys(b)]);
  top.delete('file');
  top.delete('files');
  for (const key of top) {
    const left: unknown = Reflect.get(a, key);
    const right: unknown = Reflect.get(b, key);
    if (UNITS.has(key) || !(isPlainObject(left) || isPlainObject(right))) {
      leaves.push({ name: key, at: [key] });
      continue;
    }
    const inner = new Set([...Object.keys(isPlainObject(left) ? left : {}), ...Object.keys(isPlainObject(right) ? right : {})]);
    for (const sub of inner) leaves.push({ name: `${key}.${fileName(sub)}`, at: [key, sub] });
  }
  return leaves;
}

function valueAt(config: GatewayConfig, at: readonly string[]): unknown {
  let node: unknown = config;
  for (const key of at) node = isPlainObject(node) ? node[key] : undefined;
  return node;
}

/**
 * Structural equality of two compiled values (plain objects, arrays, Sets, primitives). Walked
 * rather than serialised: serialising repeats the CA text once per route, and with many routes
 * took several times longer on the main thread than the walk, which also stops at once when the
 * route counts differ (figures in docs/decisions/0014-reloads-and-shutdown.md).
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set) || !(b instanceof Set) || a.size !== b.size) return false;
    for (const item of a) if (!b.has(item)) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) if (!Object.hasOwn(right, key) || !sameValue(left[key], right[key])) return false;
  return true;
}

function withValue(config: Record<string, unknown>, at: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = at;
  if (head === undefined) return config;
  if (rest.length === 0) return { ...config, [head]: value };
  const inner = config[head];
  return { ...config, [head]: withValue(isPlainObject(inner) ? inner : {}, rest, value) };
}

/** Compares the running configuration with a newly loaded one. Names keys only, never values. */
export function planReload(running: GatewayConfig, next: GatewayConfig): ReloadPlan {
  const applied: string[] = [];
  const restartRequired: string[] = [];
  let effective = next as unknown as Record<string, unknown>;
  for (const leaf of leavesOf(running, next)) {
    const before = valueAt(running, leaf.at);
    const after = valueAt(next, leaf.at);
    if (sameValue(before, after)) continue;
    const kindChanged = LISTENER_KINDS.has(leaf.name) && (before === undefined) !== (after === undefined);
    if (APPLIED_ON_RELOAD.includes(leaf.name) && !kindChanged) {
      applied.push(leaf.name);
    } else {
      restartRequired.push(leaf.name);
      effective = withValue(effective, leaf.at, before);
    }
  }
  return { effective: Object.freeze(effective) as unknown as GatewayConfig, applied, restartRequired };
}
