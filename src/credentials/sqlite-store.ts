/**
 * The SQLite implementation of {@link CredentialStore} (better-sqlite3).
 *
 * Several processes (the CLI, the admin API, every gateway on the host) open the same file:
 *   - `journal_mode=WAL`: readers never block the writer and the writer never blocks readers;
 *   - `busy_timeout`: a writer waits for the lock held by another process instead of failing
 *     with SQLITE_BUSY;
 *   - every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front. A deferred
 *     transaction that reads then writes could not be retried by the busy handler
 *     (SQLITE_BUSY_SNAPSHOT) and would fail under concurrency;
 *   - `synchronous=NORMAL`: durable across process crashes in WAL mode; a power loss may drop
 *     the last commits, never corrupt the file.
 *
 * better-sqlite3 is synchronous: each call below runs to completion before its promise is
 * returned (microseconds for the indexed lookups of the request path).
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './sqlite-migrations.js';
import {
  generateApiToken, generateClientId, generateClientSecret, generateTokenId, hashSecret,
} from './secrets.js';
import type { Scope } from './scope.js';
import type { JWK } from 'jose';
import {
  ACCOUNT_CHANGE_KINDS, CREDENTIAL_CHANGE_KINDS,
  type AccountChangeKind, type AccountRecord, type ChangeListener, type ChangeRow, type ClientRecord,
  type ClientVerificationRecord, type CredentialChangeKind, type CredentialStore, type IssuedClient,
  type IssuedToken, type NewClient, type NewSigningKey, type NewToken, type SigningAlgorithm,
  type SigningKeyRecord, type TokenRecord, type TokenVerificationRecord,
} from './store.js';
import { CredentialStoreError } from './store-error.js';
import {
  optionalFutureTime, optionalText, requireAccountName, requireGraceMs, requireScope, requireText,
} from './validate-input.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Wall clock in epoch ms, for timestamps and grace periods. Default `Date.now`. */
  readonly now?: () => number;
  /** How long a writer waits for another process's lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * How long change-feed rows are kept, in ms. Default 7 days. Must exceed `cache.ttl` by far:
   * a cache entry never outlives its TTL, so rows older than that are of no use to a reader.
   */
  readonly changeRetentionMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_CHANGE_RETENTION_MS = 7 * 24 * 3600 * 1000;

interface AccountRow { name: string; scope: Scope; created_at: number; disabled_at: number | null }
interface TokenRow {
  id: string; label: string; scope: Scope; account: string | null; created_at: number; expires_at: number | null;
  last_used_at: number | null; rotated_at: number | null; revoked_at: number | null; prev_valid_until: number | null;
}
interface ClientRow {
  id: string; name: string; scope: Scope; org_id: string | null; technical_account_id: string | null;
  created_at: number; last_used_at: number | null; rotated_at: number | null; revoked_at: number | null;
  prev_valid_until: number | null;
}
interface TokenAuthRow {
  id: string; scope: Scope; secret_hash: Buffer; prev_secret_hash: Buffer | null; prev_valid_until: number | null;
  expires_at: number | null; revoked_at: number | null;
  account_name: string | null; account_scope: Scope | null; account_disabled_at: number | null;
}
interface ClientAuthRow {
  id: string; scope: Scope; secret_hash: Buffer; prev_secret_hash: Buffer | null; prev_valid_until: number | null;
  revoked_at: number | null; rotated_at: number | null;
}
interface ChangeDbRow { seq: number; kind: string; target: string; at: number }
interface SigningKeyRow {
  kid: string; alg: SigningAlgorithm; public_jwk: string; private_jwk: string | null; created_at: number; retired_at: number | null;
}

/** How long a revoked access token's row outlives the token's expiry, in ms (beyond any leeway). */
const REVOKED_ACCESS_TOKEN_RETENTION_MS = 24 * 3600 * 1000;
const KID_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;

const TOKEN_COLUMNS = 'id, label, scope, account, created_at, expires_at, last_used_at, rotated_at, revoked_at, prev_valid_until';
const CLIENT_COLUMNS = 'id, name, scope, org_id, technical_account_id, created_at, last_used_at, rotated_at, revoked_at, prev_valid_until';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const accountKinds: ReadonlySet<string> = new Set(Object.values(ACCOUNT_CHANGE_KINDS));
const credentialKinds: ReadonlySet<string> = new Set(Object.values(CREDENTIAL_CHANGE_KINDS));

function toChangeRow(row: ChangeDbRow): ChangeRow | undefined {
  if (accountKinds.has(row.kind)) {
    return { seq: row.seq, at: row.at, kind: row.kind as AccountChangeKind, account: row.target };
  }
  if (credentialKinds.has(row.kind)) {
    return { seq: row.seq, at: row.at, kind: row.kind as CredentialChangeKind, credentialId: row.target };
  }
  return undefined;
}

/** Translates a foreign (SQLite) error where it enters; coded errors pass through. */
function translate(error: unknown, what: string): CredentialStoreError {
  if (error instanceof CredentialStoreError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return new CredentialStoreError('invalid_argument', `${what}: refused by a store constraint`, { cause: error });
  }
  return new CredentialStoreError('unavailable', `${what}: the credential store is unavailable`, { cause: error });
}

/** Device and inode of a file, or undefined when there is none at that path. */
function fileIdentity(file: string): string | undefined {
  try {
    const stat = statSync(file);
    return `${stat.dev}:${stat.ino}`;
  } catch {
    return undefined;
  }
}

/** SQLite's page cache, in KiB. */
const PAGE_CACHE_KIB = 2048;

function openDatabase(file: string, busyTimeoutMs: number): Database.Database {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true });
    // A new file is created owner-only: it holds the OAuth signing key (docs/oauth.md). SQLite
    // gives its -wal and -shm files the same permissions. An existing file keeps its mode.
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file);
  try {
    // busy_timeout first: the journal_mode switch itself may have to wait for another process.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && file !== ':memory:') {
      throw new CredentialStoreError('unavailable', `the SQLite store at ${file} cannot use WAL mode (got ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a 16 MiB page cache; under a working set larger than the
    // credential cache it filled up and counted in the gateway's RSS (bench scenario 5), while
    // the kernel's page cache already holds the file. SQLite's own default (2 MiB) keeps the
    // B-tree's upper levels; a leaf miss costs one pread from the kernel's cache.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    migrate(db, file);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies the missing migrations, all in one immediate transaction. */
function migrate(db: Database.Database, file: string): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
    const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    const known = new Set(MIGRATIONS.map((m) => m.version));
    for (const version of applied) {
      if (!known.has(version)) {
        throw new CredentialStoreError('incompatible_schema',
          `the SQLite store at ${file} has schema version ${version}, unknown to this Portcullis (upgrade it)`);
      }
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}

/**
 * Opens (creating and migrating as needed) the SQLite store at the absolute path `file`.
 * Throws CredentialStoreError `unavailable` or `incompatible_schema`.
 */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): CredentialStore {
  const now = options.now ?? Date.now;
  const retentionMs = options.changeRetentionMs ?? DEFAULT_CHANGE_RETENTION_MS;
  let db: Database.Database;
  try {
    db = openDatabase(file, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  } catch (error) {
    throw translate(error, `opening ${file}`);
  }

  // The file this process has open must still be the one at `file`: if it was moved or
  // deleted, the CLI and other instances now write elsewhere and their revocations would
  // never reach this process, so the store is not usable (readiness reports it).
  const openedIdentity = file === ':memory:' ? undefined : fileIdentity(file);
  const checkStillAtPath = (): void => {
    if (openedIdentity === undefined) return;
    if (fileIdentity(file) !== openedIdentity) {
      throw new CredentialStoreError('unavailable', `the SQLite store file ${file} was moved or replaced since it was opened`);
    }
  };

  const sql = {
    accountInsert: db.prepare('INSERT INTO accounts (name, scope, created_at) VALUES (?, ?, ?)'),
    accountGet: db.prepare<[string], AccountRow>('SELECT name, scope, created_at, disabled_at FROM accounts WHERE name = ?'),
    accountList: db.prepare<[], AccountRow>('SELECT name, scope, created_at, disabled_at FROM accounts ORDER BY created_at, name'),
    accountSetScope: db.prepare('UPDATE accounts SET scope = ? WHERE name = ?'),
    accountDisable: db.prepare('UPDATE accounts SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL'),

    tokenInsert: db.prepare(
      'INSERT INTO tokens (id, label, scope, account, secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    tokenGet: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`),
    tokenList: db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id`),
    tokenListByAccount: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE account = ? ORDER BY created_at, id`),
    tokenRevoke: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    tokenRotate: db.prepare(`UPDATE tokens SET prev_secret_hash = CASE WHEN ? > 0 THEN secret_hash END,
      prev_valid_until = CASE WHEN ? > 0 THEN ? END, secret_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL`),
    tokenSetExpiry: db.prepare('UPDATE tokens SET expires_at = ? WHERE id = ? AND revoked_at IS NULL'),
    tokenLastUsed: db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
    tokenAuth: db.prepare<[Uint8Array, Uint8Array], TokenAuthRow>(`
      SELECT t.id, t.scope, t.secret_hash, t.prev_secret_hash, t.prev_valid_until, t.expires_at, t.revoked_at,
             a.name AS account_name, a.scope AS account_scope, a.disabled_at AS account_disabled_at
      FROM tokens t LEFT JOIN accounts a ON a.name = t.account
      WHERE t.secret_hash = ? OR t.prev_secret_hash = ?`),

    clientInsert: db.prepare(
      'INSERT INTO clients (id, name, scope, org_id, technical_account_id, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    clientGet: db.prepare<[string], ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = ?`),
    clientList: db.prepare<[], ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY created_at, id`),
    clientRevoke: db.prepare('UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    clientRotate: db.prepare(`UPDATE clients SET prev_secret_hash = CASE WHEN ? > 0 THEN secret_hash END,
      prev_valid_until = CASE WHEN ? > 0 THEN ? END, secret_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL`),
    clientLastUsed: db.prepare('UPDATE clients SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
    clientAuth: db.prepare<[string], ClientAuthRow>(
      'SELECT id, scope, secret_hash, prev_secret_hash, prev_valid_until, revoked_at, rotated_at FROM clients WHERE id = ?'),

    changeInsert: db.prepare<[string, string, number], ChangeDbRow>(
      'INSERT INTO changes (kind, target, at) VALUES (?, ?, ?) RETURNING seq, kind, target, at'),
    changePrune: db.prepare('DELETE FROM changes WHERE at < ?'),
    changesSince: db.prepare<[number, number], ChangeDbRow>('SELECT seq, kind, target, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
    latestSeq: db.prepare<[], number>("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)").pluck(),
    ping: db.prepare('SELECT 1').pluck(),

    keyList: db.prepare<[], SigningKeyRow>(
      'SELECT kid, alg, public_jwk, private_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, rowid DESC'),
    keyActive: db.prepare<[], SigningKeyRow>(
      'SELECT kid, alg, public_jwk, private_jwk, created_at, retired_at FROM signing_keys WHERE retired_at IS NULL'),
    keyGet: db.prepare<[string], SigningKeyRow>(
      'SELECT kid, alg, public_jwk, private_jwk, created_at, retired_at FROM signing_keys WHERE kid = ?'),
    keyInsert: db.prepare('INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at) VALUES (?, ?, ?, ?, ?)'),
    keyRetire: db.prepare('UPDATE signing_keys SET retired_at = ?, private_jwk = NULL WHERE kid = ? AND retired_at IS NULL'),

    accessTokenRevoke: db.prepare(
      'INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING'),
    accessTokenIsRevoked: db.prepare<[string], number>('SELECT 1 FROM revoked_access_tokens WHERE jti = ?').pluck(),
    accessTokenPrune: db.prepare('DELETE FROM revoked_access_tokens WHERE expires_at < ?'),
  };

  let closed = false;
  const listeners = new Set<ChangeListener>();

  /** Runs a read or a write against the open database, translating failures. */
  function use<T>(what: string, fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new CredentialStoreError('unavailable', `${what}: the credential store is closed`));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(translate(error, what));
    }
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction; `fn` appends change rows with `append`. After
   * the commit, this instance's subscribers see the rows.
   */
  function write<T>(what: string, fn: (append: (kind: string, target: string, at: number) => void) => T): Promise<T> {
    const appended: ChangeRow[] = [];
    return use(what, () => {
      const result = db.transaction(() => {
        appended.length = 0;
        const append = (kind: string, target: string, at: number): void => {
          const row = sql.changeInsert.get(kind, target, at);
          const change = row === undefined ? undefined : toChangeRow(row);
          if (change !== undefined) appended.push(change);
        };
        const value = fn(append);
        if (appended.length > 0) sql.changePrune.run(now() - retentionMs);
        return value;
      }).immediate();
      if (appended.length > 0) notify(appended.slice());
      return result;
    });
  }

  function notify(changes: readonly ChangeRow[]): void {
    for (const listener of listeners) {
      try {
        listener(changes);
      } catch {
        // A listener's failure must not turn a committed change into a failed call.
      }
    }
  }

  const toAccount = (row: AccountRow): AccountRecord => ({
    name: row.name, scope: row.scope, disabled: row.disabled_at !== null,
    createdAt: iso(row.created_at), disabledAt: isoOrNull(row.disabled_at),
  });
  const graceOrNull = (until: number | null): string | null => (until !== null && until > now() ? iso(until) : null);
  const toToken = (row: TokenRow): TokenRecord => ({
    id: row.id, label: row.label, scope: row.scope, account: row.account,
    createdAt: iso(row.created_at), expiresAt: isoOrNull(row.expires_at), lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at), rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
  });
  const toClient = (row: ClientRow): ClientRecord => ({
    clientId: row.id, name: row.name, scope: row.scope, orgId: row.org_id, technicalAccountId: row.technical_account_id,
    createdAt: iso(row.created_at), lastUsedAt: isoOrNull(row.last_used_at), revokedAt: isoOrNull(row.revoked_at),
    rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
  });

  const toSigningKey = (row: SigningKeyRow): SigningKeyRecord => ({
    kid: row.kid, alg: row.alg, publicJwk: JSON.parse(row.public_jwk) as JWK,
    privateJwk: row.private_jwk === null ? null : JSON.parse(row.private_jwk) as JWK,
    createdAt: row.created_at, retiredAt: row.retired_at,
  });
  function requireNewKey(key: NewSigningKey): NewSigningKey {
    if (typeof key?.kid !== 'string' || !KID_SHAPE.test(key.kid)) throw new CredentialStoreError('invalid_argument', 'kid must be 1-128 base64url characters');
    if (key.alg !== 'ES256' && key.alg !== 'EdDSA') throw new CredentialStoreError('invalid_argument', 'alg must be ES256 or EdDSA');
    if (typeof key.publicJwk !== 'object' || key.publicJwk === null || 'd' in key.publicJwk) {
      throw new CredentialStoreError('invalid_argument', 'publicJwk must be a public JWK');
    }
    if (typeof key.privateJwk !== 'object' || key.privateJwk === null || typeof key.privateJwk.d !== 'string') {
      throw new CredentialStoreError('invalid_argument', 'privateJwk must be a private JWK');
    }
    if (sql.keyGet.get(key.kid) !== undefined) throw new CredentialStoreError('invalid_argument', `a signing key with kid ${key.kid} exists`);
    return key;
  }
  function insertKey(key: NewSigningKey, at: number): SigningKeyRecord {
    sql.keyInsert.run(key.kid, key.alg, JSON.stringify(key.publicJwk), JSON.stringify(key.privateJwk), at);
    const row = sql.keyGet.get(key.kid);
    if (row === undefined) throw new CredentialStoreError('unavailable', 'the signing key just stored cannot be read back');
    return toSigningKey(row);
  }

  function existingAccount(name: string): AccountRow {
    const row = sql.accountGet.get(name);
    if (row === undefined) throw new CredentialStoreError('not_found', `no account named ${name}`);
    return row;
  }
  function existingToken(id: string): TokenRow {
    const row = typeof id === 'string' ? sql.tokenGet.get(id) : undefined;
    if (row === undefined) throw new CredentialStoreError('not_found', `no token with id ${String(id)}`);
    return row;
  }
  function existingClient(id: string): ClientRow {
    const row = typeof id === 'string' ? sql.clientGet.get(id) : undefined;
    if (row === undefined) throw new CredentialStoreError('not_found', `no client with id ${String(id)}`);
    return row;
  }
  function refuseRevoked(row: { revoked_at: number | null }, what: string): void {
    if (row.revoked_at !== null) throw new CredentialStoreError('revoked', `${what} is revoked; revocation is permanent`);
  }

  const store: CredentialStore = {
    accounts: {
      create: (name, scope) => write('creating an account', () => {
        const account = requireAccountName(name);
        const accountScope = requireScope(scope);
        if (sql.accountGet.get(account) !== undefined) {
          throw new CredentialStoreError('conflict', `an account named ${account} already exists`);
        }
        sql.accountInsert.run(account, accountScope, now());
        return toAccount(existingAccount(account));
      }),
      list: () => use('listing accounts', () => sql.accountList.all().map(toAccount)),
      get: (name) => use('reading an account', () => {
        const row = typeof name === 'string' ? sql.accountGet.get(name) : undefined;
        return row === undefined ? undefined : toAccount(row);
      }),
      setScope: (name, scope) => write('changing an account scope', (append) => {
        const newScope = requireScope(scope);
        const row = existingAccount(name);
        if (row.scope !== newScope) {
          const at = now();
          sql.accountSetScope.run(newScope, row.name);
          append(ACCOUNT_CHANGE_KINDS.accountScopeChanged, row.name, at);
        }
        return toAccount(existingAccount(row.name));
      }),
      disable: (name) => write('disabling an account', (append) => {
        const row = existingAccount(name);
        if (row.disabled_at === null) {
          const at = now();
          sql.accountDisable.run(at, row.name);
          append(ACCOUNT_CHANGE_KINDS.accountDisabled, row.name, at);
        }
        return toAccount(existingAccount(row.name));
      }),
    },

    tokens: {
      create: (input: NewToken) => write('creating a token', (): IssuedToken => {
        const createdAt = now();
        const label = requireText('label', input.label);
        const scope = requireScope(input.scope);
        const expiresAt = optionalFutureTime(input.expiresAt, createdAt);
        let account: string | null = null;
        if (input.account !== undefined && input.account !== null) {
          const row = existingAccount(requireAccountName(input.account));
          if (row.disabled_at !== null) throw new CredentialStoreError('disabled', `account ${row.name} is disabled`);
          account = row.name;
        }
        const id = generateTokenId();
        const token = generateApiToken();
        sql.tokenInsert.run(id, label, scope, account, hashSecret(token), createdAt, expiresAt);
        return { record: toToken(existingToken(id)), token };
      }),
      list: (filter) => use('listing tokens', () => {
        const rows = filter?.account === undefined ? sql.tokenList.all() : sql.tokenListByAccount.all(filter.account);
        return rows.map(toToken);
      }),
      get: (id) => use('reading a token', () => {
        const row = typeof id === 'string' ? sql.tokenGet.get(id) : undefined;
        return row === undefined ? undefined : toToken(row);
      }),
      revoke: (id) => write('revoking a token', (append) => {
        const row = existingToken(id);
        if (row.revoked_at === null) {
          const at = now();
          sql.tokenRevoke.run(at, row.id);
          append(CREDENTIAL_CHANGE_KINDS.tokenRevoked, row.id, at);
        }
        return toToken(existingToken(row.id));
      }),
      rotate: (id, graceMs) => write('rotating a token', (append): IssuedToken => {
        const grace = requireGraceMs(graceMs);
        const row = existingToken(id);
        refuseRevoked(row, `token ${row.id}`);
        const at = now();
        const token = generateApiToken();
        sql.tokenRotate.run(grace, grace, at + grace, hashSecret(token), at, row.id);
        append(CREDENTIAL_CHANGE_KINDS.tokenRotated, row.id, at);
        return { record: toToken(existingToken(row.id)), token };
      }),
      setExpiry: (id, expiresAt) => write('changing a token expiry', (append) => {
        const row = existingToken(id);
        refuseRevoked(row, `token ${row.id}`);
        const at = now();
        const expiry = optionalFutureTime(expiresAt, at);
        if (expiry !== row.expires_at) {
          sql.tokenSetExpiry.run(expiry, row.id);
          append(CREDENTIAL_CHANGE_KINDS.tokenExpiryChanged, row.id, at);
        }
        return toToken(existingToken(row.id));
      }),
    },

    clients: {
      create: (input: NewClient) => write('creating a client', (): IssuedClient => {
        const name = requireText('name', input.name);
        const scope = requireScope(input.scope);
        const orgId = optionalText('orgId', input.orgId);
        const technicalAccountId = optionalText('technicalAccountId', input.technicalAccountId);
        const clientId = generateClientId();
        const clientSecret = generateClientSecret();
        sql.clientInsert.run(clientId, name, scope, orgId, technicalAccountId, hashSecret(clientSecret), now());
        return { record: toClient(existingClient(clientId)), clientSecret };
      }),
      list: () => use('listing clients', () => sql.clientList.all().map(toClient)),
      get: (clientId) => use('reading a client', () => {
        const row = typeof clientId === 'string' ? sql.clientGet.get(clientId) : undefined;
        return row === undefined ? undefined : toClient(row);
      }),
      revoke: (clientId) => write('revoking a client', (append) => {
        const row = existingClient(clientId);
        if (row.revoked_at === null) {
          const at = now();
          sql.clientRevoke.run(at, row.id);
          append(CREDENTIAL_CHANGE_KINDS.clientRevoked, row.id, at);
        }
        return toClient(existingClient(row.id));
      }),
      rotateSecret: (clientId, graceMs) => write('rotating a client secret', (append): IssuedClient => {
        const grace = requireGraceMs(graceMs);
        const row = existingClient(clientId);
        refuseRevoked(row, `client ${row.id}`);
        const at = now();
        const clientSecret = generateClientSecret();
        sql.clientRotate.run(grace, grace, at + grace, hashSecret(clientSecret), at, row.id);
        append(CREDENTIAL_CHANGE_KINDS.clientSecretRotated, row.id, at);
        return { record: toClient(existingClient(row.id)), clientSecret };
      }),
    },

    signingKeys: {
      list: () => use('listing signing keys', () => sql.keyList.all().map(toSigningKey)),
      ensureActive: (candidate) => write('storing the first signing key', (append) => {
        const active = sql.keyActive.get();
        if (active !== undefined) return toSigningKey(active);
        const at = now();
        const record = insertKey(requireNewKey(candidate), at);
        append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, record.kid, at);
        return record;
      }),
      rotate: (next) => write('rotating the signing key', (append) => {
        const key = requireNewKey(next);
        const at = now();
        const previous = sql.keyActive.get();
        if (previous !== undefined) sql.keyRetire.run(at, previous.kid);
        const active = insertKey(key, at);
        append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, active.kid, at);
        const retired = previous === undefined ? undefined : sql.keyGet.get(previous.kid);
        return { active, retired: retired === undefined ? null : toSigningKey(retired) };
      }),
    },

    accessTokens: {
      revoke: (jti, clientId, expiresAt) => write('revoking an access token', (append) => {
        if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new CredentialStoreError('invalid_argument', 'jti must be 1-128 characters');
        if (typeof clientId !== 'string' || clientId.length === 0) throw new CredentialStoreError('invalid_argument', 'clientId is required');
        if (!Number.isSafeInteger(expiresAt)) throw new CredentialStoreError('invalid_argument', 'expiresAt must be epoch milliseconds');
        const at = now();
        if (sql.accessTokenRevoke.run(jti, clientId, expiresAt, at).changes > 0) {
          append(CREDENTIAL_CHANGE_KINDS.accessTokenRevoked, jti, at);
          sql.accessTokenPrune.run(at - REVOKED_ACCESS_TOKEN_RETENTION_MS);
        }
      }),
      isRevoked: (jti) => use('looking up an access token revocation', () => sql.accessTokenIsRevoked.get(jti) !== undefined),
    },

    findTokenByHash: (hash) => use('looking up a token', (): TokenVerificationRecord | undefined => {
      const row = sql.tokenAuth.get(hash, hash);
      if (row === undefined) return undefined;
      return {
        id: row.id, scope: row.scope, secretHash: row.secret_hash, previousSecretHash: row.prev_secret_hash,
        previousValidUntil: row.prev_valid_until, expiresAt: row.expires_at, revokedAt: row.revoked_at,
        account: row.account_name === null || row.account_scope === null ? null
          : { name: row.account_name, scope: row.account_scope, disabled: row.account_disabled_at !== null },
      };
    }),
    findClientById: (clientId) => use('looking up a client', (): ClientVerificationRecord | undefined => {
      const row = sql.clientAuth.get(clientId);
      if (row === undefined) return undefined;
      return {
        clientId: row.id, scope: row.scope, secretHash: row.secret_hash, previousSecretHash: row.prev_secret_hash,
        previousValidUntil: row.prev_valid_until, revokedAt: row.revoked_at, rotatedAt: row.rotated_at,
      };
    }),
    recordLastUsed: (batch) => {
      if (batch.size === 0) return use('recording last use', () => undefined);
      return write('recording last use', () => {
        for (const [id, at] of batch) {
          if (id.startsWith('tok_')) sql.tokenLastUsed.run(at, id, at);
          else if (id.startsWith('cli_')) sql.clientLastUsed.run(at, id, at);
        }
      });
    },

    changesSince: (afterSeq, limit = 1000) => use('reading the change feed', () => {
      const rows: ChangeRow[] = [];
      for (const row of sql.changesSince.all(afterSeq, limit)) {
        const change = toChangeRow(row);
        if (change !== undefined) rows.push(change);
      }
      return rows;
    }),
    latestChangeSeq: () => use('reading the change feed', () => sql.latestSeq.get() ?? 0),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },

    ping: () => use('pinging the store', () => {
      sql.ping.get();
      checkStillAtPath();
    }),
    close: () => {
      if (!closed) {
        closed = true;
        listeners.clear();
        db.close();
      }
      return Promise.resolve();
    },
  };
  return store;
}
