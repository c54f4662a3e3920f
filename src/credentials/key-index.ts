/**
 * An index from an id (token id, client id, jti, account) to the cache keys of the entries it
 * owns, so a change read from the store evicts exactly those entries.
 */
export type KeyIndex = Map<string, Set<string>>;

export function indexAdd(index: KeyIndex, id: string | null, key: string): void {
  if (id === null) return;
  let keys = index.get(id);
  if (keys === undefined) index.set(id, (keys = new Set()));
  keys.add(key);
}

export function indexRemove(index: KeyIndex, id: string | null, key: string): void {
  if (id === null) return;
  const keys = index.get(id);
  if (keys === undefined) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(id);
}
