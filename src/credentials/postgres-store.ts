/**
 * The PostgreSQL backend of the credential store (driver `pg`; why:
 * docs/decisions/0009-postgres-driver.md): its SQL only; the rules are in create-store.ts.
 *
 * Bounds: every query has `store.queryTimeout` on the client (the answer) and on the server
 * (statement_timeout), and waiting for a pooled connection has the same bound, so a slow or
 * exhausted database answers `unavailable` (→ 503 auth.store_unavailable) instead of holding a
 * request.
 *
 * Change feed: each append takes a transaction-scoped advisory lock just before its insert and
 * holds it until commit, so appends are serialised and seq order is commit order (a sequence
 * alone is not: a transaction that drew seq 7 can commit after one that drew seq 8, and a reader
 * that has seen 8 would never look back). The same transaction NOTIFYs `portcullis_changes`,
 * delivered when it commits; the table stays the source of truth.
 */
import pg from 'pg';
import { createCredentialStore, type CoreStoreOptions } from './create-store.js';
import type { ChangeNotifier } from './change-notifier.js';
import { describePostgres, parsePostgresUrl, tlsOptionsOf, type PostgresLocation } from './postgres-location.js';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.js';
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

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions extends CoreStoreOptions {
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  /** Bound on each query and on waiting for a connection, in ms. Default 2000. */
  readonly queryTimeoutMs?: number;
  /** Apply missing migrations on open (default true); false refuses a database that is behind. */
  readonly migrate?: boolean;
  /**
   * Create the schema in a database that has none (no migrations table). Default false: such a
   * database is refused with `not_initialised` (`portcullis store init` creates it; `start`
   * passes `store.migrate`).
   */
  readonly create?: boolean;
  /** How often the LISTEN connection is checked with a query, in ms. Default 1000. */
  readonly listenHeartbeatMs?: number;
  /**
   * When given, a database that cannot be reached does not fail the open: the store answers
   * `unavailable` (and `ping` rejects) while a background loop retries with backoff, reporting
   * each failure here. A schema this code cannot use still fails the open.
   */
  readonly onUnreachable?: (message: string) => void;
  /** Called once the background loop reached the database. */
  readonly onReachable?: () => void;
}

export const DEFAULT_POOL_SIZE = 10;
export const DEFAULT_QUERY_TIMEOUT_MS = 2000;
/** Advisory lock keys ("pcl" + n): one for migrations, one serialising feed appends, one for signing keys. */
const MIGRATION_LOCK = 0x70636c01;
const FEED_LOCK = 0x70636c02;
const SIGNING_KEY_LOCK = 0x70636c03;
export const CHANGE_CHANNEL = 'portcullis_changes';

/** bigint (int8) columns as numbers: epoch ms and seq values stay far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-enum-assignment -- pg's own parser lookup is untyped; the cast restores its declared type
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

const TOKEN_COLUMNS =
  'id, label, scope, account, created_at, expires_at, last_used_at, rotated_at, revoked_at, prev_valid_until, prev_last_used_at, owner, deprecated_since, sunset_at, deprecation_link';
const CLIENT_COLUMNS =
  'id, name, scope, org_id, technical_account_id, created_at, last_used_at, rotated_at, revoked_at, prev_valid_until, prev_last_used_at, deprecated_since, sunset_at, deprecation_link';
const KEY_COLUMNS = 'kid, alg, public_jwk, private_jwk, created_at, retired_at';
/** details as JSON text, as the SQLite backend returns it (json in the table). */
const AUDIT_COLUMNS = 'id, at, actor, actor_kind, action, target, address, details::text AS details';

interface PgError {
  code?: string;
  message?: string;
  severity?: string;
}

/**
 * A clear sentence for a driver or server failure: host and port, never the password (the
 * driver's own text is only used for server-side messages, and scrubbed anyway).
 */
export function describePgFailure(error: unknown, location: PostgresLocation, queryTimeoutMs: number): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as PgError;
  const code = e.code ?? '';
  const where = describePostgres(location);
  const server = typeof e.severity === 'string' ? scrub(e.message ?? '', location) : '';
  switch (code) {
    case '28P01':
      return `password authentication failed for user "${location.user}" at ${where}`;
    case '28000':
      return `${where} refused the connection: ${server}`;
    case '3D000':
      return `database "${location.database}" does not exist at ${where}`;
    case '42501':
      return `the role "${location.user}" lacks a privilege at ${where}: ${server} (grant it, or run \`portcullis store migrate\` as the owner)`;
    case '57014':
      return `a query took longer than store.queryTimeout (${queryTimeoutMs} ms) at ${where}`;
    case '57P01':
    case '57P02':
    case '57P03':
      return `${where} is shutting down or starting up (${code})`;
    case '53300':
      return `${where} has no connection slot left (too many connections)`;
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
    case 'EAI_AGAIN':
    case 'EPIPE':
      return `cannot reach ${where} (${code})`;
    default:
      break;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
    return `the TLS certificate of ${where} does not verify (${code}): check sslrootcert and that the certificate names the host`;
  }
  const message = e.message ?? '';
  if (message.includes('does not support SSL')) return `${where} does not accept TLS connections (sslmode=${location.sslmode})`;
  if (message.includes('timeout exceeded when trying to connect') || message.includes('Connection terminated due to connection timeout')) {
    return `no connection to ${where} within store.queryTimeout (${queryTimeoutMs} ms): the server is slow or unreachable, or the pool is exhausted`;
  }
  if (message.includes('Query read timeout')) return `no answer from ${where} within store.queryTimeout (${queryTimeoutMs} ms)`;
  if (message.includes('Connection terminated') || message.includes('Client has encountered a connection error')) {
    return `the connection to ${where} was lost`;
  }
  if (server !== '') return `${where} failed: ${server}${code === '' ? '' : ` (${code})`}`;
  return `${where} failed${code === '' ? '' : ` (${code})`}`;
}

/** Translates a driver or server error where it enters; coded errors pass through. */
function translatePg(error: unknown, what: string, location: PostgresLocation, queryTimeoutMs: number): CredentialStoreError {
  if (error instanceof CredentialStoreError) return error;
  const code = (error as PgError | undefined)?.code ?? '';
  // Ids are random: a unique violation is two writers creating the same account name at once.
  if (code === '23505') return new CredentialStoreError('conflict', `${what}: it already exists`);
  if (code.startsWith('23')) {
    return new CredentialStoreError(
      'invalid_argument',
      `${what}: refused by a store constraint (${scrub((error as PgError).message ?? code, location)})`,
    );
  }
  // No `cause`: the driver's error objects can reference the connection settings.
  return new CredentialStoreError('unavailable', `${what}: ${describePgFailure(error, location, queryTimeoutMs)}`);
}

function scrub(text: string, location: PostgresLocation): string {
  return location.password === undefined || location.password === '' ? text : text.split(location.password).join('***');
}

/** Opens (migrating as needed) the PostgreSQL store at `url`. */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<CredentialStore> {
  return createCredentialStore(await openPostgresBackend(url, options), options);
}

/** The connection settings of the driver for `location`. */
function clientConfig(location: PostgresLocation, queryTimeoutMs: number | undefined): pg.ClientConfig {
  return {
    host: location.host,
    port: location.port,
    database: location.database,
    user: location.user,
    ...(location.password === undefined ? {} : { password: location.password }),
    ssl: tlsOptionsOf(location),
    application_name: 'portcullis',
    connectionTimeoutMillis: queryTimeoutMs ?? 10_000,
    ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs, statement_timeout: queryTimeoutMs }),
    keepAlive: true,
    types,
  };
}

/**
 * Brings the schema up to date under a session advisory lock: concurrent starters wait, and
 * the first applies each missing migration in its own transaction. Refuses, before writing
 * anything, a schema newer than this code, and (with `allowMigrate` false) one that is behind.
 */
export async function migratePostgres(
  location: PostgresLocation,
  allowMigrate: boolean,
  connectTimeoutMs: number,
  create = true,
): Promise<{ applied: number[] }> {
  try {
    return await migrateUnderLock(location, allowMigrate, connectTimeoutMs, create);
  } catch (error) {
    throw translatePg(error, 'migrating the credential store', location, connectTimeoutMs);
  }
}

async function migrateUnderLock(
  location: PostgresLocation,
  allowMigrate: boolean,
  connectTimeoutMs: number,
  create: boolean,
): Promise<{ applied: number[] }> {
  const client = new pg.Client({ ...clientConfig(location, undefined), connectionTimeoutMillis: connectTimeoutMs });
  client.on('error', () => {
    /* reported by the failing query */
  });
  await client.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const exists = (await client.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t")).rows[0]?.t !== null;
    if (!exists && !create) {
      throw new CredentialStoreError(
        'not_initialised',
        `${describePostgres(location)} holds no Portcullis schema (no schema_migrations table); nothing was created`,
      );
    }
    const versions = new Set(
      exists ? (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version) : [],
    );
    const latest = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
    const known = new Set(POSTGRES_MIGRATIONS.map((m) => m.version));
    for (const version of versions) {
      if (!known.has(version)) {
        throw new CredentialStoreError(
          'incompatible_schema',
          `${describePostgres(location)} has schema version ${Math.max(...versions)}, newer than this Portcullis knows (${latest}): ` +
            'upgrade Portcullis; nothing was written',
        );
      }
    }
    const missing = POSTGRES_MIGRATIONS.filter((m) => !versions.has(m.version));
    if (missing.length > 0 && !allowMigrate) {
      throw new CredentialStoreError(
        'incompatible_schema',
        `${describePostgres(location)} is at schema version ${Math.max(0, ...versions)}, this Portcullis needs ${latest}: ` +
          'run `portcullis store migrate` (store.migrate is false)',
      );
    }
    for (const migration of missing) {
      await client.query('BEGIN');
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
        );
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      applied.push(migration.version);
    }
    return { applied };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** The PostgreSQL backend alone (the store core goes over it; `store copy` uses it directly). */
export async function openPostgresBackend(url: string, options: PostgresStoreOptions = {}): Promise<StoreBackend> {
  const location = parsePostgresUrl(url);
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const heartbeatMs = options.listenHeartbeatMs ?? 1000;
  const where = describePostgres(location);
  const translate = (error: unknown, what: string): CredentialStoreError => translatePg(error, what, location, queryTimeoutMs);

  const connectTimeoutMs = Math.max(queryTimeoutMs, 5000);
  let ready = false;
  let lastFailure = `${where} not reached yet`;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const initialise = async (): Promise<void> => {
    await migratePostgres(location, options.migrate ?? true, connectTimeoutMs, options.create ?? false);
    ready = true;
  };
  try {
    await initialise();
  } catch (error) {
    const failure = translate(error, 'opening the credential store');
    if (failure.reason !== 'unavailable' || options.onUnreachable === undefined) throw failure;
    lastFailure = failure.message;
    options.onUnreachable(failure.message);
    let delay = 250;
    const retry = (): void => {
      retryTimer = setTimeout(() => {
        initialise().then(
          () => {
            options.onReachable?.();
          },
          (again: unknown) => {
            if (closed) return;
            const next = translate(again, 'opening the credential store');
            lastFailure = next.message;
            options.onUnreachable?.(next.message);
            // A schema this code cannot use will not fix itself by retrying faster.
            delay = Math.min(delay * 2, 10_000);
            retry();
          },
        );
      }, delay);
      retryTimer.unref();
    };
    retry();
  }

  const pool = new pg.Pool({
    ...clientConfig(location, queryTimeoutMs),
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection lost (server restart): the pool drops it; the next query reconnects.
  pool.on('error', () => undefined);

  type Run = <R extends pg.QueryResultRow>(name: string, text: string, values?: unknown[]) => Promise<R[]>;
  const onPool: Run = async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []) => {
    if (!ready) throw new CredentialStoreError('unavailable', lastFailure);
    return (await pool.query<R>({ name, text, values })).rows;
  };
  const onClient =
    (client: pg.PoolClient): Run =>
    async <R extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []) =>
      (await client.query<R>({ name, text, values })).rows;
  const first = <R>(rows: R[]): R | undefined => rows[0];

  const reads = (run: Run, lock: boolean): StoreReads => {
    // Inside a write transaction the rows it decides on are locked, so a concurrent revoke and
    // rotate serialise instead of both acting on the same "not revoked" snapshot.
    const forUpdate = lock ? ' FOR UPDATE' : '';
    const suffix = lock ? '_lock' : '';
    return {
      account: async (name) =>
        first(
          await run<AccountRow>(
            `account${suffix}`,
            `SELECT name, scope, created_at, disabled_at FROM accounts WHERE name = $1${forUpdate}`,
            [name],
          ),
        ),
      accounts: () => run<AccountRow>('accounts', 'SELECT name, scope, created_at, disabled_at FROM accounts ORDER BY created_at, name'),
      token: async (id) =>
        first(await run<TokenRow>(`token${suffix}`, `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE id = $1${forUpdate}`, [id])),
      tokens: (account) =>
        account === undefined
          ? run<TokenRow>('tokens', `SELECT ${TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id`)
          : run<TokenRow>('tokens_of', `SELECT ${TOKEN_COLUMNS} FROM tokens WHERE account = $1 ORDER BY created_at, id`, [account]),
      client: async (id) =>
        first(await run<ClientRow>(`client${suffix}`, `SELECT ${CLIENT_COLUMNS} FROM clients WHERE id = $1${forUpdate}`, [id])),
      clients: () => run<ClientRow>('clients', `SELECT ${CLIENT_COLUMNS} FROM clients ORDER BY created_at, id`),
      signingKeys: () => run<SigningKeyRow>('keys', `SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY created_at DESC, kid DESC`),
      signingKey: async (kid) => first(await run<SigningKeyRow>('key', `SELECT ${KEY_COLUMNS} FROM signing_keys WHERE kid = $1`, [kid])),
      activeSigningKey: async () => {
        // Serialises the "is there an active key? then insert one" of instances starting together.
        if (lock) await run('key_lock', 'SELECT pg_advisory_xact_lock($1)', [SIGNING_KEY_LOCK]);
        return first(await run<SigningKeyRow>('key_active', `SELECT ${KEY_COLUMNS} FROM signing_keys WHERE retired_at IS NULL`));
      },
      tokenByHash: async (hash) =>
        first(
          await run<TokenAuthRow>(
            'token_auth',
            `
        SELECT t.id, t.scope, t.secret_hash, t.prev_secret_hash, t.prev_valid_until, t.expires_at, t.revoked_at, t.owner,
               t.deprecated_since, t.sunset_at, t.deprecation_link,
               a.name AS account_name, a.scope AS account_scope, a.disabled_at AS account_disabled_at
        FROM tokens t LEFT JOIN accounts a ON a.name = t.account
        WHERE t.secret_hash = $1 OR t.prev_secret_hash = $1`,
            [Buffer.from(hash)],
          ),
        ),
      clientAuth: async (id) =>
        first(
          await run<ClientAuthRow>(
            'client_auth',
            'SELECT id, scope, org_id, technical_account_id, secret_hash, prev_secret_hash, prev_valid_until, revoked_at, rotated_at, deprecated_since, sunset_at, deprecation_link FROM clients WHERE id = $1',
            [id],
          ),
        ),
      clientIdByHash: async (hash) =>
        first(
          await run<{ id: string }>('client_by_hash', 'SELECT id FROM clients WHERE secret_hash = $1 OR prev_secret_hash = $1', [
            Buffer.from(hash),
          ]),
        )?.id,
      isAccessTokenRevoked: async (jti) => (await run('jti', 'SELECT 1 FROM revoked_access_tokens WHERE jti = $1', [jti])).length > 0,
      changesSince: (afterSeq, limit) =>
        run<ChangeDbRow>('changes', 'SELECT seq, kind, target, at FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, limit]),
      // The highest committed seq (never a value drawn by a transaction still open). Pruning
      // keeps the newest row, so this never goes back.
      latestSeq: async () => first(await run<{ seq: number | null }>('latest', 'SELECT max(seq) AS seq FROM changes'))?.seq ?? 0,
      auditEntries: (q) =>
        run<AuditDbRow>(
          'audit_list',
          `SELECT ${AUDIT_COLUMNS} FROM audit_log
        WHERE ($1::bigint IS NULL OR at >= $1) AND ($2::text IS NULL OR actor = $2) AND ($3::text IS NULL OR action = $3)
        ORDER BY at DESC, id DESC LIMIT $4`,
          [q.since, q.actor, q.action, q.limit],
        ),
      session: async (idHash) =>
        first(
          await run<SessionRow>('session', 'SELECT credential_id, created_at, last_seen_at FROM console_sessions WHERE id_hash = $1', [
            Buffer.from(idHash),
          ]),
        ),
    };
  };

  const writes = (client: pg.PoolClient): StoreWrites => {
    const run = onClient(client);
    const exec = async (name: string, text: string, values: unknown[]): Promise<void> => {
      await run(name, text, values);
    };
    return {
      ...reads(run, true),
      insertAccount: (name, scope, at) =>
        exec('account_insert', 'INSERT INTO accounts (name, scope, created_at) VALUES ($1, $2, $3)', [name, scope, at]),
      setAccountScope: (name, scope) => exec('account_scope', 'UPDATE accounts SET scope = $1 WHERE name = $2', [scope, name]),
      disableAccount: (name, at) =>
        exec('account_disable', 'UPDATE accounts SET disabled_at = $1 WHERE name = $2 AND disabled_at IS NULL', [at, name]),
      enableAccount: (name) => exec('account_enable', 'UPDATE accounts SET disabled_at = NULL WHERE name = $1', [name]),
      insertToken: (r) =>
        exec(
          'token_insert',
          'INSERT INTO tokens (id, label, scope, account, secret_hash, created_at, expires_at, owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [r.id, r.label, r.scope, r.account, Buffer.from(r.secretHash), r.createdAt, r.expiresAt, r.owner],
        ),
      revokeToken: (id, at) => exec('token_revoke', 'UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]),
      rotateToken: (id, hash, at, until) =>
        exec(
          'token_rotate',
          `UPDATE tokens SET
        prev_secret_hash = CASE WHEN $1::bigint IS NOT NULL THEN secret_hash END, prev_valid_until = $1, prev_last_used_at = NULL,
        secret_hash = $2, rotated_at = $3 WHERE id = $4 AND revoked_at IS NULL`,
          [until, Buffer.from(hash), at, id],
        ),
      setTokenExpiry: (id, expiresAt) =>
        exec('token_expiry', 'UPDATE tokens SET expires_at = $1 WHERE id = $2 AND revoked_at IS NULL', [expiresAt, id]),
      setTokenDeprecation: (id, d) =>
        exec('token_deprecate', 'UPDATE tokens SET deprecated_since = $1, sunset_at = $2, deprecation_link = $3 WHERE id = $4', [
          d?.since ?? null,
          d?.sunset ?? null,
          d?.link ?? null,
          id,
        ]),
      setClientDeprecation: (id, d) =>
        exec('client_deprecate', 'UPDATE clients SET deprecated_since = $1, sunset_at = $2, deprecation_link = $3 WHERE id = $4', [
          d?.since ?? null,
          d?.sunset ?? null,
          d?.link ?? null,
          id,
        ]),
      insertClient: (r) =>
        exec(
          'client_insert',
          'INSERT INTO clients (id, name, scope, org_id, technical_account_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
          [r.id, r.name, r.scope, r.orgId, r.technicalAccountId, Buffer.from(r.secretHash), r.createdAt],
        ),
      revokeClient: (id, at) => exec('client_revoke', 'UPDATE clients SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]),
      rotateClient: (id, hash, at, until) =>
        exec(
          'client_rotate',
          `UPDATE clients SET
        prev_secret_hash = CASE WHEN $1::bigint IS NOT NULL THEN secret_hash END, prev_valid_until = $1, prev_last_used_at = NULL,
        secret_hash = $2, rotated_at = $3 WHERE id = $4 AND revoked_at IS NULL`,
          [until, Buffer.from(hash), at, id],
        ),
      recordTokenLastUsed: (id, at) =>
        exec('token_used', 'UPDATE tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [at, id]),
      recordClientLastUsed: (id, at) =>
        exec('client_used', 'UPDATE clients SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)', [at, id]),
      recordTokenPreviousLastUsed: (id, at) =>
        exec(
          'token_prev_used',
          'UPDATE tokens SET prev_last_used_at = $1 WHERE id = $2 AND prev_secret_hash IS NOT NULL AND (prev_last_used_at IS NULL OR prev_last_used_at < $1)',
          [at, id],
        ),
      recordClientPreviousLastUsed: (id, at) =>
        exec(
          'client_prev_used',
          'UPDATE clients SET prev_last_used_at = $1 WHERE id = $2 AND prev_secret_hash IS NOT NULL AND (prev_last_used_at IS NULL OR prev_last_used_at < $1)',
          [at, id],
        ),
      insertSigningKey: (r) =>
        exec('key_insert', 'INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at) VALUES ($1, $2, $3, $4, $5)', [
          r.kid,
          r.alg,
          r.publicJwk,
          r.privateJwk,
          r.createdAt,
        ]),
      retireSigningKey: (kid, at) =>
        exec('key_retire', 'UPDATE signing_keys SET retired_at = $1, private_jwk = NULL WHERE kid = $2 AND retired_at IS NULL', [at, kid]),
      replaceSigningKeyPrivate: async (kid, privateJwk) =>
        (
          await run('key_replace_private', 'UPDATE signing_keys SET private_jwk = $1 WHERE kid = $2 AND retired_at IS NULL RETURNING kid', [
            privateJwk,
            kid,
          ])
        ).length > 0,
      insertRevokedAccessToken: async (jti, clientId, expiresAt, at) =>
        (
          await run(
            'jti_insert',
            'INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING RETURNING jti',
            [jti, clientId, expiresAt, at],
          )
        ).length > 0,
      pruneRevokedAccessTokens: (before) => exec('jti_prune', 'DELETE FROM revoked_access_tokens WHERE expires_at < $1', [before]),
      appendChange: async (kind, target, at) => {
        // Held until this transaction ends: the next append draws its seq only after this one
        // committed (or rolled back), so no reader can see a higher seq before a lower one.
        await run('feed_lock', 'SELECT pg_advisory_xact_lock($1)', [FEED_LOCK]);
        const row = first(
          await run<ChangeDbRow>(
            'feed_append',
            `
          WITH appended AS (INSERT INTO changes (kind, target, at) VALUES ($1, $2, $3) RETURNING seq, kind, target, at)
          SELECT seq, kind, target, at, pg_notify('${CHANGE_CHANNEL}', seq::text) FROM appended`,
            [kind, target, at],
          ),
        );
        if (row === undefined) throw new CredentialStoreError('unavailable', 'a change row just appended cannot be read back');
        return { seq: row.seq, kind: row.kind, target: row.target, at: row.at };
      },
      appendAudit: async (r) => {
        const row = first(
          await run<AuditDbRow>(
            'audit_append',
            `INSERT INTO audit_log (at, actor, actor_kind, action, target, address, details)
          VALUES ($1, $2, $3, $4, $5, $6, $7::json) RETURNING ${AUDIT_COLUMNS}`,
            [r.at, r.actor, r.actor_kind, r.action, r.target, r.address, r.details],
          ),
        );
        if (row === undefined) throw new CredentialStoreError('unavailable', 'an audit entry just appended cannot be read back');
        return row;
      },
      insertSession: (idHash, credentialId, at) =>
        exec('session_insert', 'INSERT INTO console_sessions (id_hash, credential_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)', [
          Buffer.from(idHash),
          credentialId,
          at,
        ]),
      touchSession: (idHash, at) =>
        exec('session_touch', 'UPDATE console_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1', [
          at,
          Buffer.from(idHash),
        ]),
      deleteSession: (idHash) => exec('session_delete', 'DELETE FROM console_sessions WHERE id_hash = $1', [Buffer.from(idHash)]),
      pruneSessions: (before) => exec('session_prune', 'DELETE FROM console_sessions WHERE last_seen_at < $1', [before]),
      pruneChanges: (before) => exec('feed_prune', 'DELETE FROM changes WHERE at < $1 AND seq < (SELECT max(seq) FROM changes)', [before]),
      load: async (dump) => {
        for (const a of dump.accounts) {
          await exec('load_account', 'INSERT INTO accounts (name, scope, created_at, disabled_at) VALUES ($1, $2, $3, $4)', [
            a.name,
            a.scope,
            a.created_at,
            a.disabled_at,
          ]);
        }
        for (const t of dump.tokens) {
          await exec(
            'load_token',
            `INSERT INTO tokens (${TOKEN_COLUMNS}, secret_hash, prev_secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
            [
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
              Boolean(t.owner),
              t.deprecated_since,
              t.sunset_at,
              t.deprecation_link,
              Buffer.from(t.secret_hash),
              t.prev_secret_hash === null ? null : Buffer.from(t.prev_secret_hash),
            ],
          );
        }
        for (const c of dump.clients) {
          await exec(
            'load_client',
            `INSERT INTO clients (${CLIENT_COLUMNS}, secret_hash, prev_secret_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
            [
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
              Buffer.from(c.secret_hash),
              c.prev_secret_hash === null ? null : Buffer.from(c.prev_secret_hash),
            ],
          );
        }
        for (const k of dump.signingKeys) {
          await exec('load_key', `INSERT INTO signing_keys (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`, [
            k.kid,
            k.alg,
            k.public_jwk,
            k.private_jwk,
            k.created_at,
            k.retired_at,
          ]);
        }
        for (const r of dump.revokedAccessTokens) {
          await exec('load_jti', 'INSERT INTO revoked_access_tokens (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4)', [
            r.jti,
            r.client_id,
            r.expires_at,
            r.revoked_at,
          ]);
        }
        for (const e of dump.auditLog) {
          await exec(
            'load_audit',
            'INSERT INTO audit_log (id, at, actor, actor_kind, action, target, address, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json)',
            [e.id, e.at, e.actor, e.actor_kind, e.action, e.target, e.address, e.details],
          );
        }
        // Ids were given: the identity continues after the highest, so new entries never reuse one.
        if (dump.auditLog.length > 0) {
          await exec(
            'load_audit_identity',
            "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), (SELECT max(id) FROM audit_log))",
            [],
          );
        }
      },
    };
  };

  async function transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T> {
    if (!ready) throw new CredentialStoreError('unavailable', lastFailure);
    const client = await pool.connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      const value = await fn(writes(client));
      await client.query('COMMIT');
      return value;
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A failed transaction's connection is discarded rather than rolled back: after a client
      // timeout its state is unknown, and the server rolls back when the connection closes.
      client.release(failed ? true : undefined);
    }
  }

  const notifier: ChangeNotifier = {
    listen: (wake, onState) => listenForChanges(location, queryTimeoutMs, heartbeatMs, wake, onState),
  };

  return {
    description: where,
    ...reads(onPool, false),
    transaction: (fn) => transaction(fn),
    translate,
    notifier,
    dump: async (): Promise<StoreDump> => {
      if (!ready) throw new CredentialStoreError('unavailable', lastFailure);
      const client = await pool.connect();
      let failed = false;
      try {
        // One consistent snapshot of every table.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const run = async <R extends pg.QueryResultRow>(text: string): Promise<R[]> => (await client.query<R>(text)).rows;
        const dump: StoreDump = {
          accounts: await run<AccountRow>('SELECT name, scope, created_at, disabled_at FROM accounts ORDER BY created_at, name'),
          tokens: await run<FullTokenRow>(`SELECT ${TOKEN_COLUMNS}, secret_hash, prev_secret_hash FROM tokens ORDER BY created_at, id`),
          clients: await run<FullClientRow>(`SELECT ${CLIENT_COLUMNS}, secret_hash, prev_secret_hash FROM clients ORDER BY created_at, id`),
          signingKeys: await run<SigningKeyRow>(`SELECT ${KEY_COLUMNS} FROM signing_keys ORDER BY created_at, kid`),
          revokedAccessTokens: await run<RevokedAccessTokenRow>(
            'SELECT jti, client_id, expires_at, revoked_at FROM revoked_access_tokens ORDER BY jti',
          ),
          auditLog: await run<AuditDbRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log ORDER BY id`),
        };
        await client.query('COMMIT');
        return dump;
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        client.release(failed ? true : undefined);
      }
    },
    countActive: async (now) => {
      const tokens = first(
        await onPool(
          'active_tokens',
          'SELECT count(*) AS n FROM tokens t LEFT JOIN accounts a ON a.name = t.account WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $1) AND a.disabled_at IS NULL',
          [now],
        ),
      );
      const clients = first(await onPool('active_clients', 'SELECT count(*) AS n FROM clients WHERE revoked_at IS NULL'));
      return {
        tokens: Number((tokens as { n?: unknown } | undefined)?.n ?? 0),
        clients: Number((clients as { n?: unknown } | undefined)?.n ?? 0),
      };
    },
    ping: async () => {
      await onPool('ping', 'SELECT 1');
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      await pool.end();
    },
  };
}

/**
 * One dedicated LISTEN connection: reconnects with backoff (100 ms doubling to 5 s), and checks
 * itself with a query every `heartbeatMs` so that a connection cut off without a reset (a
 * partition, a frozen relay) is noticed within heartbeat + query timeout, not when TCP gives up.
 */
function listenForChanges(
  location: PostgresLocation,
  queryTimeoutMs: number,
  heartbeatMs: number,
  wake: () => void,
  onState: (connected: boolean) => void,
): () => void {
  let stopped = false;
  let connected: boolean | undefined;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delay = 100;
  const setState = (next: boolean): void => {
    if (connected === next) return;
    connected = next;
    try {
      onState(next);
    } catch {
      // The listener's failure must not stop the channel.
    }
  };
  const later = (fn: () => void, ms: number): void => {
    timer = setTimeout(fn, ms);
    timer.unref();
  };
  const lost = (c: pg.Client): void => {
    if (client !== c) return;
    client = undefined;
    c.end().catch(() => undefined);
    if (stopped) return;
    setState(false);
    later(connect, delay);
    delay = Math.min(delay * 2, 5000);
  };
  const heartbeat = (c: pg.Client): void => {
    later(() => {
      if (client !== c || stopped) return;
      c.query('SELECT 1').then(
        () => heartbeat(c),
        () => lost(c),
      );
    }, heartbeatMs);
  };
  function connect(): void {
    if (stopped) return;
    const c = new pg.Client(clientConfig(location, queryTimeoutMs));
    client = c;
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    c.on('notification', () => {
      try {
        wake();
      } catch {
        // As above.
      }
    });
    c.connect()
      .then(() => c.query(`LISTEN ${CHANGE_CHANNEL}`))
      .then(
        () => {
          if (client !== c) return;
          if (stopped) {
            c.end().catch(() => undefined);
            return;
          }
          delay = 100;
          setState(true);
          // Changes committed while the channel was down were not announced: wake the reader so
          // it catches up from its own position.
          wake();
          heartbeat(c);
        },
        () => lost(c),
      );
  }
  connect();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    const c = client;
    client = undefined;
    c?.end().catch(() => undefined);
  };
}
