/**
 * Opens the credential store named by `store.url` (SPEC §1), dispatching on the URL scheme.
 *
 *   sqlite:/absolute/path.db   (also sqlite:///absolute/path.db; sqlite::memory: for tests)
 *   postgres://… | postgresql://…   not implemented yet
 */
import { isAbsolute } from 'node:path';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { CredentialStore } from './store.js';

/** Options of {@link openStore}; passed to the implementation chosen by the URL. */
export type OpenStoreOptions = SqliteStoreOptions;

/** The file path of a `sqlite:` URL, or a TypeError if it is not absolute. */
export function sqlitePathOf(url: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (path === ':memory:') return path;
  if (path === '' || !isAbsolute(path)) {
    throw new TypeError(`store URL "${url}": a sqlite: URL needs an absolute path (the configuration resolves relative ones)`);
  }
  return path;
}

/**
 * Opens, creates and migrates the store at `url`. Rejects with a TypeError for a URL it cannot
 * handle, or a CredentialStoreError (`unavailable`, `incompatible_schema`) if the store cannot
 * be opened. Store URLs carry no secret for SQLite; a postgres URL may, so it is never echoed.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<CredentialStore> {
  if (url.startsWith('sqlite:')) return openSqliteStore(sqlitePathOf(url), options);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new Error('PostgreSQL credential stores are not implemented yet; use a sqlite: URL');
  }
  throw new TypeError('store URL must start with "sqlite:" or "postgres://"');
}
