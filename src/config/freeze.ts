/**
 * Deep freezing of the compiled configuration: objects, arrays and sets (a frozen `Set` still
 * accepts `add`, so ours refuse it explicitly).
 */

function refuse(): never {
  throw new TypeError('the configuration is frozen');
}

/** A set whose `add`, `delete` and `clear` throw. */
export function frozenSet<T>(values: Iterable<T>): ReadonlySet<T> {
  const set = new Set(values);
  Object.defineProperties(set, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(set);
}

/** Freeze `value` and everything reachable from it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}
