/**
 * The SQLite backend of the credential store (better-sqlite3): its SQL only; the rules are in
 * create-store.ts.
 *
 * Several processes (the CLI, the admin API, every gateway on the host) open the same file:
 *   - `journal_mode=WAL`: readers never block the writer and the writer never blocks readers;
 *   - `busy_timeout`: a writer waits for the lock held by another process instead of failing
 *     with SQLITE_BUSY;
 *   - every write runs in `BEGIN IMMEDIATE`, which takes the write lock up front. A deferred
 *     transaction that reads then writes could not be retried by the busy handler
 *     (SQLITE_BUSY_SNAPSHOT) and would fail under concurrency. The write lock also makes the
 *     change feed's seq order its commit order;
 *   - `synchronous=NORMAL`: durable across process crashes in WAL mode; a power loss may drop
 *     the last commits, never corrupt the file.
 *
 * better-sqlite3 is synchronous: each call below runs to completion before its promise is
 * returned (microseconds for the indexed lookups of the request path). A transaction spans
 * several such calls with `await`s between them, so this process's other calls wait for it
 * (`gate`): none runs inside another's transaction or sees its uncommitted rows.
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createCredentialStore, type CoreStoreOptions } from './create-store.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import type {
  AccountRow,
  AuditDbRow,
  ChangeDbRow,
  ClientAuthRow,
  ClientRow,
  FullClientRow,
  FullTokenRow,
  RevokedAccessTokenRow,
  SigningKeyRow,
  SessionRow,
  StoreBackend,
  StoreDump,
  StoreReads,
  StoreWrites,
  TokenAuthRow,
  TokenRow,
} from './store-backend.js';
import type { CredentialStore } from './store.js';
import { CredentialStoreError } from './store-error.js';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions extends CoreStoreOptions {
  /** How long a writer waits for another process's lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
  /** Apply missing migrations on open (default true); false refuses a store that is behind. */
  readonly migrate?: boolean;
  /**
   * Create the file (and its directory) and the schema when there is none (default false: a
   * missing file, or one without a schema, is refused with `not_initialised` and nothing is
   * written, so a mistyped path or an unmounted volume never becomes an empty store).
   */
  readonly create?: boolean;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const TOKEN_COLUMNS =
  'id, label, scope, account, created_at, expires_at, last_used_at, rotated_at, revoked_at, prev_valid_until, prev_last_used_at, owner, deprecated_since, sunset_at, deprecation_link';
const CLIENT_COLUMNS =
  'id, name, scope, org_id, technical_account_id, created_at, last_used_at, rotated_at, revoked_at, prev_valid_until, prev_last_used_at, deprecated_since, sunset_at, deprecation_link';
const KEY_COLUMNS = 'kid, alg, public_jwk, private_jwk, created_at, retired_at';
const AUDIT_COLUMNS = 'id, at, actor, actor_kind, action, target, address, details';

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

/** The refusal of a store that `portcullis store init` has not created; the caller adds the command. */
export function notInitialisedError(file: string, why: string): CredentialStoreError {
  return new CredentialStoreError(
    'not_initialised',
    `the SQLite store ${file} ${why}; nothing was created (a mistyped store.url or a volume that is not mounted looks the same)`,
  );
}

const hasSchema = (db: Database.Database): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;

function openDatabase(file: string, busyTimeoutMs: number, allowMigrate: boolean, skipMigrate = false, create = false): Database.Database {
  const onDisk = file !== ':memory:';
  if (onDisk) {
    if (!existsSync(file)) {
      if (!create) throw notInitialisedError(file, 'does not exist');
      mkdirSync(dirname(file), { recursive: true });
      // A new file is created owner-only: it holds the OAuth signing key (docs/oauth.md). SQLite
      // gives its -wal and -shm files the same permissions. An existing file keeps its mode.
      closeSync(openSync(file, 'a', 0o600));
    }
  }
  // fileMustExist: a file deleted between the check and here is refused, not recreated.
  const db = new Database(file, { fileMustExist: onDisk });
  try {
    // busy_timeout first: the journal_mode switch itself may have to wait for another process.
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // An existing file without the schema (an empty file, another program's database) is not a
    // store either; only `store init` (create) or `store migrate` (skipMigrate) may write one.
    if (onDisk && !create && !skipMigrate && !hasSchema(db)) throw notInitialisedError(file, 'holds no Portcullis schema');
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && file !== ':memory:') {
      throw new CredentialStoreError('unavailable', `the SQLite store at ${file} cannot use WAL mode (got ${String(mode)})`);
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    // better-sqlite3 builds SQLite with a large page cache; under a working set larger than the
    // credential cache it filled up and counted in the gateway's RSS, while the kernel's page
    // cache already holds the file (docs/decisions/0003-request-path-costs.md). SQLite's own
    // default keeps the B-tree's upper levels; a leaf miss costs one pread from the kernel's cache.
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    if (!skipMigrate) migrate(db, file, allowMigrate);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Applies the missing migrations, all in one immediate transaction (which other processes wait
 * for: they migrate once). A store with a version this code does not know is refused untouched;
 * with `allowMigrate` false a store that is behind is refused too.
 */
function migrate(db: Database.Database, file: string, allowMigrate: boolean): number[] {
  return db
    .transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
      );
      const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
      const known = new Set(MIGRATIONS.map((m) => m.version));
      for (const version of applied) {
        if (!known.has(version)) {
          throw new CredentialStoreError(
            'incompatible_schema',
            `the SQLite store at ${file} has schema version ${version}, newer than this Portcullis knows (${latestVersion()}): upgrade Portcullis`,
          );
        }
      }
      const missing = MIGRATIONS.filter((m) => !applied.has(m.version));
      if (missing.length > 0 && !allowMigrate) {
        throw new CredentialStoreError(
          'incompatible_schema',
          `the SQLite store at ${file} is at schema version ${Math.max(0, ...applied)}, this Portcullis needs ${latestVersion()}: run \`portcullis store migrate\` (store.migrate is false)`,
        );
      }
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      for (const migration of missing) {
        db.exec(migration.sql);
        record.run(migration.version, migration.name, Date.now());
      }
      return missing.map((m) => m.version);
    })
    .immediate();
}

/** `portcullis store migrate` on SQLite: opens, migrates, closes; returns the versions applied. */
export function migrateSqlite(file: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS, create = false): { applied: number[] } {
  const db = openDatabase(file, busyTimeoutMs, false, true, create);
  try {
    return { applied: migrate(db, file, true) };
  } catch (error) {
    throw translate(error, `migrating ${file}`);
  } finally {
    db.close();
  }
}

const latestVersion = (): number => Math.max(...MIGRATIONS.map((m) => m.version));
/**
 * Opens and migrates the SQLite store at the absolute path `file` (creating it only with
 * `create`). Throws CredentialStoreError `not_initialised`, `unavailable` or `incompatible_schema`.
 */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): CredentialStore {
  return createCredentialStore(openSqliteBackend(file, options), options);
}

/** The SQLite backend alone (the store core goes over it; `store copy` uses it directly). */
export function openSqliteBackend(file: string, options: SqliteStoreOptions = {}): StoreBackend {
  let db: Database.Database;
  try {
    db = openDatabase(file, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, options.migrate ?? true, false, options.create ?? false);
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
    accountEnable: db.prepare('UPDATE accounts SET disabled_at = NULL WHERE name = ?'),

    tokenInsert: db.prepare(
      'INSERT INTO tokens (id, label, scope, account, secret_hash, created_at, expires_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    tokenGet: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = ?`),
    tokenList: db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id`),
    tokenListByAccount: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLUMNS} FROM tokens WHERE account = ? ORDER BY created_at, id`),
    tokenRevoke: db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    tokenRotate: db.prepare(`UPDATE tokens SET prev_secret_hash = CASE WHEN ? IS NOT NULL THEN secret_hash END,
      prev_valid_until = ?, prev_last_used_at = NULL, secret_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL`),
    tokenSetExpiry: db.prepare('UPDATE tokens SET expires_at = ? WHERE id = ? AND revoked_at IS NULL'),
    tokenLastUsed: db.prepare('UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
    tokenPrevLastUsed: db.prepare(
      'UPDATE tokens SET prev_last_used_at = ? WHERE id = ? AND prev_secret_hash IS NOT NULL AND (prev_last_used_at IS NULL OR prev_last_used_at < ?)',
    ),
    tokenAuth: db.prepare<[Uint8Array, Uint8Array], TokenAuthRow>(`
      SELECT t.id, t.scope, t.secret_hash, t.prev_secret_hash, t.prev_valid_until, t.expires_at, t.revoked_at, t.owner,
             t.deprecated_since, t.sunset_at, t.deprecation_link,
             a.name AS account_name, a.scope AS account_scope, a.disabled_at AS account_disabled_at
      FROM tokens t LEFT JOIN accounts a ON a.name = t.account
      WHERE t.secret_hash = ? OR t.prev_secret_hash = ?`),
    tokenDump: db.prepare<[], FullTokenRow>(`SELECT ${TOKEN_COLUMNS}, secret_hash, prev_secret_hash FROM tokens ORDER BY created_at, id`),
    tokenLoad: db.prepare(
      `INSERT INTO tokens (${TOKEN_COLUMNS}, secret_hash, prev_secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),

    sessionGet: db.prepare<[Uint8Array], SessionRow>(
      'SELECT credential_id, created_at, last_seen_at FROM console_sessions WHERE id_hash = ?',
    ),
    sessionInsert: db.prepare('INSERT INTO console_sessions (id_hash, credential_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)'),
    sessionTouch: db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?'),
    sessionDelete: db.prepare('DELETE FROM console_sessions WHERE id_hash = ?'),
    sessionPrune: db.prepare('DELETE FROM console_sessions WHERE last_seen_at < ?'),
    tokenDeprecate: db.prepare('UPDATE tokens SET deprecated_since = ?, sunset_at = ?, deprecation_link = ? WHERE id = ?'),

    clientInsert: db.prepare(
      'INSERT INTO clients (id, name, scope, org_id, technical_account_id, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    clientGet: db.prepare<[string], ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = ?`),
    clientList: db.prepare<[], ClientRow>(`SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY created_at, id`),
    clientRevoke: db.prepare('UPDATE clients SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    clientRotate: db.prepare(`UPDATE clients SET prev_secret_hash = CASE WHEN ? IS NOT NULL THEN secret_hash END,
      prev_valid_until = ?, prev_last_used_at = NULL, secret_hash = ?, rotated_at = ? WHERE id = ? AND revoked_at IS NULL`),
    clientLastUsed: db.prepare('UPDATE clients SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'),
    clientPrevLastUsed: db.prepare(
      'UPDATE clients SET prev_last_used_at = ? WHERE id = ? AND prev_secret_hash IS NOT NULL AND (prev_last_used_at IS NULL OR prev_last_used_at < ?)',
    ),
    clientAuth: db.prepare<[string], ClientAuthRow>(
      'SELECT id, scope, org_id, technical_account_id, secret_hash, prev_secret_hash, prev_valid_until, revoked_at, rotated_at, deprecated_since, sunset_at, deprecation_link FROM clients WHERE id = ?',
    ),
    clientDeprecate: db.prepare('UPDATE clients SET deprecated_since = ?, sunset_at = ?, deprecation_link = ? WHERE id = ?'),
    clientByHash: db.prepare<[Uint8Array, Uint8Array], { id: string }>(
      'SELECT id FROM clients WHERE secret_hash = ? OR prev_secret_hash = ?',
    ),
    clientDump: db.prepare<[], FullClientRow>(
      `SELECT ${CLIENT_COLUMNS}, secret_hash, prev_secret_hash FROM clients ORDER BY created_at, id`,
    ),
    clientLoad: db.prepare(
      `INSERT INTO clients (${CLIENT_COLUMNS}, secret_hash, prev_secret_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),

    changeInsert: db.prepare<[string, string, number], ChangeDbRow>(
      'INSERT INTO changes (kind, target, at) VALUES (?, ?, ?) RETURNING seq, kind, target, at',
    ),
    changePrune: db.prepare('DELETE FROM changes WHERE at < ? AND seq < (SELECT max(seq) FROM changes)'),
    changesSince: db.prepare<[number, number], ChangeDbRow>('SELECT seq, kind, target, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
    latestSeq: db.prepare<[], number>("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)").pluck(),
    ping: db.prepare('SELECT 1').pluck(),
    activeTokens: db
      .prepare<[number], number>(
        'SELECT count(*) AS n FROM tokens t LEFT JOIN accounts a ON a.name = t.account WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?) AND a.disabled_at IS NULL',
      )
      .pluck(),
    activeClients: db.prepare<[], number>('SELECT count(*) AS n FROM clients WHERE revoked_at IS NULL').pluck(),

    keyList: db.prepare<[], SigningKeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, rowid DESC`),
    keyActive: db.prepare<[], SigningKeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE retired_at IS NULL`),
    keyGet: db.prepare<[string], SigningKeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys WHERE kid = ?`),
    keyInsert: db.prepare('INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at) VALUES (?, ?, ?, ?, ?)'),
    keyRetire: db.prepare('UPDATE signing_keys SET retired_at = ?, private_jwk = NULL WHERE kid = ? AND retired_at IS NULL'),
    keyReplacePrivate: db.prepare('UPDATE signing_keys SET private_jwk = ? WHERE kid = ? AND retired_at IS NULL'),
    keyDump: db.prepare<[], SigningKeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY created_at, rowid`),
    keyLoad: db.prepare(`INSERT INTO signing_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`),

    accessTokenRevoke: db.prepare(
      'INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING',
    ),
    accessTokenIsRevoked: db.prepare<[string], number>('SELECT 1 FROM revoked_access_tokens WHERE jti = ?').pluck(),
    accessTokenPrune: db.prepare('DELETE FROM revoked_access_tokens WHERE expires_at < ?'),
    accessTokenDump: db.prepare<[], RevokedAccessTokenRow>(
      'SELECT jti, client_id, expires_at, revoked_at FROM revoked_access_tokens ORDER BY jti',
    ),
    accountLoad: db.prepare('INSERT INTO accounts (name, scope, created_at, disabled_at) VALUES (?, ?, ?, ?)'),

    auditInsert: db.prepare<[number, string, string, string, string | null, string | null, string], AuditDbRow>(
      `INSERT INTO audit_log (at, actor, actor_kind, action, target, address, details) VALUES (?, ?, ?, ?, ?, ?, ?)
       RETURNING ${AUDIT_COLUMNS}`,
    ),
    auditList: db.prepare<{ since: number | null; actor: string | null; action: string | null; limit: number }, AuditDbRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log
       WHERE (@since IS NULL OR at >= @since) AND (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action)
       ORDER BY at DESC, id DESC LIMIT @limit`,
    ),
    auditDump: db.prepare<[], AuditDbRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY id`),
    auditLoad: db.prepare(`INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
  };

  /** Set while a transaction is open: this process's other calls wait for it. */
  let gate: Promise<void> | undefined;
  async function read<T>(fn: () => T): Promise<T> {
    while (gate !== undefined) await gate;
    return fn();
  }

  const reads = (run: <T>(fn: () => T) => Promise<T>): StoreReads => ({
    account: (name) => run(() => sql.accountGet.get(name)),
    accounts: () => run(() => sql.accountList.all()),
    token: (id) => run(() => sql.tokenGet.get(id)),
    tokens: (account) => run(() => (account === undefined ? sql.tokenList.all() : sql.tokenListByAccount.all(account))),
    client: (id) => run(() => sql.clientGet.get(id)),
    clients: () => run(() => sql.clientList.all()),
    signingKeys: () => run(() => sql.keyList.all()),
    signingKey: (kid) => run(() => sql.keyGet.get(kid)),
    activeSigningKey: () => run(() => sql.keyActive.get()),
    tokenByHash: (hash) => run(() => sql.tokenAuth.get(hash, hash)),
    clientAuth: (id) => run(() => sql.clientAuth.get(id)),
    clientIdByHash: (hash) => run(() => sql.clientByHash.get(hash, hash)?.id),
    isAccessTokenRevoked: (jti) => run(() => sql.accessTokenIsRevoked.get(jti) !== undefined),
    changesSince: (afterSeq, limit) => run(() => sql.changesSince.all(afterSeq, limit)),
    latestSeq: () => run(() => sql.latestSeq.get() ?? 0),
    auditEntries: (query) => run(() => sql.auditList.all(query)),
    session: (idHash) => run(() => sql.sessionGet.get(idHash)),
  });

  const inTx = <T>(fn: () => T): Promise<T> => Promise.resolve(fn());
  const writes: StoreWrites = {
    ...reads(inTx),
    insertAccount: (name, scope, at) =>
      inTx(() => {
        sql.accountInsert.run(name, scope, at);
      }),
    setAccountScope: (name, scope) =>
      inTx(() => {
        sql.accountSetScope.run(scope, name);
      }),
    disableAccount: (name, at) =>
      inTx(() => {
        sql.accountDisable.run(at, name);
      }),
    enableAccount: (name) =>
      inTx(() => {
        sql.accountEnable.run(name);
      }),
    insertToken: (r) =>
      inTx(() => {
        sql.tokenInsert.run(r.id, r.label, r.scope, r.account, r.secretHash, r.createdAt, r.expiresAt, r.owner ? 1 : 0);
      }),
    revokeToken: (id, at) =>
      inTx(() => {
        sql.tokenRevoke.run(at, id);
      }),
    rotateToken: (id, hash, at, until) =>
      inTx(() => {
        sql.tokenRotate.run(until, until, hash, at, id);
      }),
    setTokenExpiry: (id, expiresAt) =>
      inTx(() => {
        sql.tokenSetExpiry.run(expiresAt, id);
      }),
    setTokenDeprecation: (id, d) =>
      inTx(() => {
        sql.tokenDeprecate.run(d?.since ?? null, d?.sunset ?? null, d?.link ?? null, id);
      }),
    setClientDeprecation: (id, d) =>
      inTx(() => {
        sql.clientDeprecate.run(d?.since ?? null, d?.sunset ?? null, d?.link ?? null, id);
      }),
    insertClient: (r) =>
      inTx(() => {
        sql.clientInsert.run(r.id, r.name, r.scope, r.orgId, r.technicalAccountId, r.secretHash, r.createdAt);
      }),
    revokeClient: (id, at) =>
      inTx(() => {
        sql.clientRevoke.run(at, id);
      }),
    rotateClient: (id, hash, at, until) =>
      inTx(() => {
        sql.clientRotate.run(until, until, hash, at, id);
      }),
    recordTokenLastUsed: (id, at) =>
      inTx(() => {
        sql.tokenLastUsed.run(at, id, at);
      }),
    recordClientLastUsed: (id, at) =>
      inTx(() => {
        sql.clientLastUsed.run(at, id, at);
      }),
    recordTokenPreviousLastUsed: (id, at) =>
      inTx(() => {
        sql.tokenPrevLastUsed.run(at, id, at);
      }),
    recordClientPreviousLastUsed: (id, at) =>
      inTx(() => {
        sql.clientPrevLastUsed.run(at, id, at);
      }),
    insertSigningKey: (r) =>
      inTx(() => {
        sql.keyInsert.run(r.kid, r.alg, r.publicJwk, r.privateJwk, r.createdAt);
      }),
    retireSigningKey: (kid, at) =>
      inTx(() => {
        sql.keyRetire.run(at, kid);
      }),
    replaceSigningKeyPrivate: (kid, privateJwk) => inTx(() => sql.keyReplacePrivate.run(privateJwk, kid).changes > 0),
    insertRevokedAccessToken: (jti, clientId, expiresAt, at) =>
      inTx(() => sql.accessTokenRevoke.run(jti, clientId, expiresAt, at).changes > 0),
    pruneRevokedAccessTokens: (before) =>
      inTx(() => {
        sql.accessTokenPrune.run(before);
      }),
    appendChange: (kind, target, at) =>
      inTx(() => {
        const row = sql.changeInsert.get(kind, target, at);
        if (row === undefined) throw new CredentialStoreError('unavailable', 'a change row just appended cannot be read back');
        return row;
      }),
    pruneChanges: (before) =>
      inTx(() => {
        sql.changePrune.run(before);
      }),
    appendAudit: (r) =>
      inTx(() => {
        const row = sql.auditInsert.get(r.at, r.actor, r.actor_kind, r.action, r.target, r.address, r.details);
        if (row === undefined) throw new CredentialStoreError('unavailable', 'an audit entry just appended cannot be read back');
        return row;
      }),
    insertSession: (idHash, credentialId, at) =>
      inTx(() => {
        sql.sessionInsert.run(idHash, credentialId, at, at);
      }),
    touchSession: (idHash, at) =>
      inTx(() => {
        sql.sessionTouch.run(at, idHash, at);
      }),
    deleteSession: (idHash) =>
      inTx(() => {
        sql.sessionDelete.run(idHash);
      }),
    pruneSessions: (before) =>
      inTx(() => {
        sql.sessionPrune.run(before);
      }),
    load: (dump) =>
      inTx(() => {
        for (const a of dump.accounts) sql.accountLoad.run(a.name, a.scope, a.created_at, a.disabled_at);
        for (const t of dump.tokens) {
          sql.tokenLoad.run(
            t.id,
            t.label,
            t.scope,
            t.account,
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.rotated_at,
            t.revoked_at,
            t.prev_valid_until,
            t.prev_last_used_at,
            t.owner ? 1 : 0,
            t.deprecated_since,
            t.sunset_at,
            t.deprecation_link,
            t.secret_hash,
            t.prev_secret_hash,
          );
        }
        for (const c of dump.clients) {
          sql.clientLoad.run(
            c.id,
            c.name,
            c.scope,
            c.org_id,
            c.technical_account_id,
            c.created_at,
            c.last_used_at,
            c.rotated_at,
            c.revoked_at,
            c.prev_valid_until,
            c.prev_last_used_at,
            c.deprecated_since,
            c.sunset_at,
            c.deprecation_link,
            c.secret_hash,
            c.prev_secret_hash,
          );
        }
        for (const k of dump.signingKeys) sql.keyLoad.run(k.kid, k.alg, k.public_jwk, k.private_jwk, k.created_at, k.retired_at);
        for (const r of dump.revokedAccessTokens) sql.accessTokenRevoke.run(r.jti, r.client_id, r.expires_at, r.revoked_at);
        for (const e of dump.auditLog) sql.auditLoad.run(e.id, e.at, e.actor, e.actor_kind, e.action, e.target, e.address, e.details);
      }),
  };

  let closed = false;
  return {
    description: `the SQLite store at ${file}`,
    ...reads(read),
    async transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T> {
      while (gate !== undefined) await gate;
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          const value = await fn(writes);
          db.exec('COMMIT');
          return value;
        } catch (error) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw error;
        }
      } finally {
        gate = undefined;
        open();
      }
    },
    translate,
    dump: () =>
      read((): StoreDump =>
        db.transaction(() => ({
          accounts: sql.accountList.all(),
          // SQLite's 0/1 as the boolean PostgreSQL gives: a dump reads the same from either engine.
          tokens: sql.tokenDump.all().map((t) => ({ ...t, owner: Boolean(t.owner) })),
          clients: sql.clientDump.all(),
          signingKeys: sql.keyDump.all(),
          revokedAccessTokens: sql.accessTokenDump.all(),
          auditLog: sql.auditDump.all(),
        }))(),
      ),
    countActive: (now) => read(() => ({ tokens: sql.activeTokens.get(now) ?? 0, clients: sql.activeClients.get() ?? 0 })),
    ping: () =>
      read(() => {
        sql.ping.get();
        checkStillAtPath();
      }),
    close: () => {
      if (!closed) {
        closed = true;
        db.close();
      }
      return Promise.resolve();
    },
  };
}
