/**
 * Deep freezing of the compiled configuration: objects, arrays and sets (a frozen `Set` still
 * accepts `add`, so ours refuse it explicitly).
 */

function refuse(): never {
  throw new TypeError('the configuration is frozen');
}

/**
 * A set whose `add`, `delete` and `clear` throw. A subclass rather than methods defined on each
 * instance: per-instance properties put every set in dictionary mode, which made each set slower
 * to build and slowed the `has` calls the request path makes on them
 * (docs/decisions/0030-figures-behind-code-choices.md).
 */
class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T>) {
    super();
    for (const value of values) super.add(value);
    Object.freeze(this);
  }

  override add(): this {
    return refuse();
  }

  override delete(): boolean {
    return refuse();
  }

  override clear(): void {
    refuse();
  }
}

export function frozenSet<T>(values: Iterable<T>): ReadonlySet<T> {
  return new FrozenSet(values);
}

/** Freeze `value` and everything reachable from it; returns it for chaining. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}
