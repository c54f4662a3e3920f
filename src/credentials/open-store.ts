/**
 * Opens the credential store named by `store.url` (SPEC §1), dispatching on the URL scheme.
 *
 *   sqlite:/absolute/path.db   (also sqlite:///absolute/path.db; sqlite::memory: for tests)
 *   postgres://… | postgresql://…   (postgres-location.ts)
 */
import { isAbsolute } from 'node:path';
import { createCredentialStore } from './create-store.js';
import { isPostgresUrl } from './postgres-location.js';
import { openPostgresBackend, type PostgresStoreOptions } from './postgres-store.js';
import { openSqliteBackend, type SqliteStoreOptions } from './sqlite-store.js';
import type { StoreBackend } from './store-backend.js';
import type { CredentialStore } from './store.js';

/** Options of {@link openStore}; each implementation uses those that concern it. */
export type OpenStoreOptions = SqliteStoreOptions & PostgresStoreOptions;

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
 * The backend at `url` alone, opened and migrated. Rejects with a TypeError for a URL it cannot
 * handle (the message never echoes a postgres URL: it may hold a password), or a
 * CredentialStoreError (`unavailable`, `incompatible_schema`).
 */
export async function openBackend(url: string, options: OpenStoreOptions = {}): Promise<StoreBackend> {
  if (url.startsWith('sqlite:')) return openSqliteBackend(sqlitePathOf(url), options);
  if (isPostgresUrl(url)) return openPostgresBackend(url, options);
  throw new TypeError('store URL must start with "sqlite:", "postgres://" or "postgresql://"');
}

/** Opens, creates and migrates the store at `url` (errors as {@link openBackend}). */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<CredentialStore> {
  return createCredentialStore(await openBackend(url, options), options);
}

/** The store options the configuration's `store` section gives. */
export function storeOptionsOf(settings: { readonly poolSize: number; readonly queryTimeoutMs: number; readonly migrate: boolean }): OpenStoreOptions {
  return { poolSize: settings.poolSize, queryTimeoutMs: settings.queryTimeoutMs, migrate: settings.migrate };
}
