/**
 * Credential scopes and their order: read-only < read-write < admin.
 */
import { SCOPES, type Scope } from '../config/schema.js';

export { SCOPES, type Scope };

const RANK: Readonly<Record<Scope, number>> = { 'read-only': 0, 'read-write': 1, admin: 2 };

/**
 * The program's own string equal to `scope`. Strings read from the store are new on every read;
 * a cached credential keeps this one instead of a copy of its own (32 B each). Anything that is
 * not a scope (the store's CHECK constraints should make that impossible) becomes the narrowest.
 */
export function sharedScope(scope: Scope): Scope {
  return SCOPES.find((known) => known === scope) ?? 'read-only';
}

/** True when `scope` is read-write or wider. Anything that is not a scope may not write. */
export function mayWrite(scope: Scope): boolean {
  return isScope(scope) && RANK[scope] >= RANK['read-write'];
}

/** True when `value` is one of the scopes of docs/credentials.md. */
export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/**
 * The narrower of two scopes: a token can only narrow what its account may do
 * (docs/credentials.md), so a read-write token of a read-only account is read-only.
 */
export function narrowerScope(a: Scope, b: Scope): Scope {
  return RANK[a] <= RANK[b] ? a : b;
}
