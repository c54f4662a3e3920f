/**
 * Opens the credential store named by `store.url` (docs/configuration.md), dispatching on the URL
 * scheme.
 *
 *   sqlite:/absolute/path.db   (also sqlite:///absolute/path.db; sqlite::memory: for tests)
 *   postgres://… | postgresql://…   (postgres-location.ts)
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { createCredentialStore } from './create-store.js';
import { isPostgresUrl, parsePostgresUrl } from './postgres-location.js';
import { migratePostgres, openPostgresBackend, type PostgresStoreOptions } from './postgres-store.js';
import { migrateSqlite, notInitialisedError, openSqliteBackend, type SqliteStoreOptions } from './sqlite-store.js';
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

/**
 * Opens and migrates the store at `url` (errors as {@link openBackend}). Without `create` a store
 * that `portcullis store init` has not created is refused (`not_initialised`), nothing written.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<CredentialStore> {
  return createCredentialStore(await openBackend(url, options), options);
}

/** What {@link initStore} did: `created` is false for a store that already existed. */
export interface InitResult {
  readonly created: boolean;
  readonly applied: readonly number[];
}

/**
 * `portcullis store init`: creates the store at `url` and brings its schema up to date (SQLite:
 * the file and its directory; PostgreSQL: the schema, in a database that must exist). Idempotent:
 * an existing store gets only its missing migrations.
 */
export async function initStore(url: string, options: { readonly queryTimeoutMs?: number } = {}): Promise<InitResult> {
  if (url.startsWith('sqlite:')) {
    const file = sqlitePathOf(url);
    if (file === ':memory:') return { created: true, applied: [] };
    const existed = existsSync(file);
    const { applied } = migrateSqlite(file, undefined, true);
    return { created: !existed || applied.includes(1), applied };
  }
  if (isPostgresUrl(url)) {
    const { applied } = await migratePostgres(parsePostgresUrl(url), true, Math.max(options.queryTimeoutMs ?? 0, 5000));
    return { created: applied.includes(1), applied };
  }
  throw new TypeError('store URL must start with "sqlite:", "postgres://" or "postgresql://"');
}

/**
 * Refuses, before anything starts, a SQLite store file that does not exist (`start` with
 * workers: the primary checks once rather than every worker failing). A PostgreSQL store is
 * checked when it is opened.
 */
export function assertStoreExists(url: string): void {
  if (!url.startsWith('sqlite:')) return;
  const file = sqlitePathOf(url);
  if (file !== ':memory:' && !existsSync(file)) throw notInitialisedError(file, 'does not exist');
}

/** The store options the configuration's `store` section gives. */
export function storeOptionsOf(settings: {
  readonly poolSize: number;
  readonly queryTimeoutMs: number;
  readonly migrate: boolean;
}): OpenStoreOptions {
  return { poolSize: settings.poolSize, queryTimeoutMs: settings.queryTimeoutMs, migrate: settings.migrate };
}
