/**
 * An index from an id (token id, client id, jti, account) to the cache keys of the entries it
 * owns, so a change read from the store evicts exactly those entries.
 *
 * Most ids own one key (one credential, presented one way), so a lone key is held as the string
 * itself and a Set is made only for the second: a one-element Set was a large share of a cached
 * credential's memory (docs/decisions/0007-cached-credential-memory.md, bench/cache-memory.mjs).
 */
export class KeyIndex {
  readonly #keysById = new Map<string, string | Set<string>>();

  add(id: string | null, key: string): void {
    if (id === null) return;
    const keys = this.#keysById.get(id);
    if (keys === undefined) this.#keysById.set(id, key);
    else if (typeof keys !== 'string') keys.add(key);
    else if (keys !== key) this.#keysById.set(id, new Set([keys, key]));
  }

  remove(id: string | null, key: string): void {
    if (id === null) return;
    const keys = this.#keysById.get(id);
    if (keys === undefined) return;
    if (typeof keys === 'string') {
      if (keys === key) this.#keysById.delete(id);
      return;
    }
    keys.delete(key);
    if (keys.size === 0) this.#keysById.delete(id);
  }

  /** Forgets `id` and returns the keys it owned (a copy: evicting them edits the index). */
  take(id: string): readonly string[] {
    const keys = this.#keysById.get(id);
    if (keys === undefined) return [];
    this.#keysById.delete(id);
    return typeof keys === 'string' ? [keys] : [...keys];
  }

  /** How many ids own at least one key. */
  get size(): number {
    return this.#keysById.size;
  }

  clear(): void {
    this.#keysById.clear();
  }
}
