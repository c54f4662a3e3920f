/**
 * Versioned schema migrations of the SQLite store. Applied in order, each in the transaction
 * that records it in `schema_migrations`, when a store is opened. Never edit a released
 * migration: append a new one.
 *
 * Times are INTEGER epoch milliseconds; secret hashes are 32-byte BLOBs (SHA-256). Rows of
 * `tokens` and `clients` are never deleted (their ids are never reused) and a revoked row can no
 * longer change, except for its last-used time: the triggers below enforce it whatever the
 * client code does.
 */

/** One schema step. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const SCOPE_CHECK = "IN ('read-only', 'read-write', 'admin')";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, tokens, clients, change feed',
    sql: `
      CREATE TABLE accounts (
        name        TEXT PRIMARY KEY,
        scope       TEXT NOT NULL CHECK (scope ${SCOPE_CHECK}),
        created_at  INTEGER NOT NULL,
        disabled_at INTEGER
      ) STRICT;

      CREATE TABLE tokens (
        id               TEXT PRIMARY KEY,
        label            TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
        scope            TEXT NOT NULL CHECK (scope ${SCOPE_CHECK}),
        account          TEXT REFERENCES accounts(name),
        secret_hash      BLOB NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
        prev_secret_hash BLOB UNIQUE CHECK (prev_secret_hash IS NULL OR length(prev_secret_hash) = 32),
        prev_valid_until INTEGER,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER,
        last_used_at     INTEGER,
        rotated_at       INTEGER,
        revoked_at       INTEGER
      ) STRICT;
      CREATE INDEX tokens_by_account ON tokens(account);

      CREATE TABLE clients (
        id                   TEXT PRIMARY KEY,
        name                 TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        scope                TEXT NOT NULL CHECK (scope ${SCOPE_CHECK}),
        org_id               TEXT,
        technical_account_id TEXT,
        secret_hash          BLOB NOT NULL CHECK (length(secret_hash) = 32),
        prev_secret_hash     BLOB CHECK (prev_secret_hash IS NULL OR length(prev_secret_hash) = 32),
        prev_valid_until     INTEGER,
        created_at           INTEGER NOT NULL,
        last_used_at         INTEGER,
        rotated_at           INTEGER,
        revoked_at           INTEGER
      ) STRICT;

      -- AUTOINCREMENT: seq values are never reused, so a reader's cursor stays meaningful.
      CREATE TABLE changes (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        kind   TEXT NOT NULL,
        target TEXT NOT NULL,
        at     INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX changes_by_time ON changes(at);

      CREATE TRIGGER tokens_are_never_deleted BEFORE DELETE ON tokens
      BEGIN SELECT RAISE(ABORT, 'tokens are never deleted: revoke instead'); END;

      CREATE TRIGGER clients_are_never_deleted BEFORE DELETE ON clients
      BEGIN SELECT RAISE(ABORT, 'clients are never deleted: revoke instead'); END;

      CREATE TRIGGER token_revocation_is_permanent BEFORE UPDATE ON tokens
      WHEN OLD.revoked_at IS NOT NULL AND (
        NEW.revoked_at IS NOT OLD.revoked_at OR NEW.id IS NOT OLD.id OR NEW.scope IS NOT OLD.scope
        OR NEW.account IS NOT OLD.account OR NEW.secret_hash IS NOT OLD.secret_hash
        OR NEW.prev_secret_hash IS NOT OLD.prev_secret_hash OR NEW.prev_valid_until IS NOT OLD.prev_valid_until
        OR NEW.expires_at IS NOT OLD.expires_at)
      BEGIN SELECT RAISE(ABORT, 'a revoked token cannot change'); END;

      CREATE TRIGGER client_revocation_is_permanent BEFORE UPDATE ON clients
      WHEN OLD.revoked_at IS NOT NULL AND (
        NEW.revoked_at IS NOT OLD.revoked_at OR NEW.id IS NOT OLD.id OR NEW.scope IS NOT OLD.scope
        OR NEW.secret_hash IS NOT OLD.secret_hash OR NEW.prev_secret_hash IS NOT OLD.prev_secret_hash
        OR NEW.prev_valid_until IS NOT OLD.prev_valid_until)
      BEGIN SELECT RAISE(ABORT, 'a revoked client cannot change'); END;
    `,
  },
  {
    version: 2,
    name: 'oauth signing keys, revoked access tokens',
    sql: `
      -- JWKs as JSON text. The private part of a key is erased when it is retired (rotation):
      -- only the active key's private JWK is ever stored (docs/oauth.md "Key protection").
      CREATE TABLE signing_keys (
        kid         TEXT PRIMARY KEY CHECK (length(kid) BETWEEN 1 AND 128),
        alg         TEXT NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
        public_jwk  TEXT NOT NULL,
        private_jwk TEXT,
        created_at  INTEGER NOT NULL,
        retired_at  INTEGER,
        CHECK (retired_at IS NULL OR private_jwk IS NULL)
      ) STRICT;
      -- At most one active key, whatever the client code does.
      CREATE UNIQUE INDEX one_active_signing_key ON signing_keys((1)) WHERE retired_at IS NULL;

      CREATE TRIGGER signing_key_retirement_is_permanent BEFORE UPDATE ON signing_keys
      WHEN OLD.retired_at IS NOT NULL AND (NEW.retired_at IS NOT OLD.retired_at OR NEW.private_jwk IS NOT NULL
        OR NEW.public_jwk IS NOT OLD.public_jwk OR NEW.kid IS NOT OLD.kid)
      BEGIN SELECT RAISE(ABORT, 'a retired signing key cannot change'); END;

      CREATE TABLE revoked_access_tokens (
        jti        TEXT PRIMARY KEY CHECK (length(jti) BETWEEN 1 AND 128),
        client_id  TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens(expires_at);
    `,
  },
  {
    version: 3,
    name: 'last use of the previous secret',
    sql: `
      -- Last use of the secret a rotation replaced, while it is in grace (reset by each rotation):
      -- whether clients still use the old secret. last_used_at stays the last use of either.
      ALTER TABLE tokens ADD COLUMN prev_last_used_at INTEGER;
      ALTER TABLE clients ADD COLUMN prev_last_used_at INTEGER;
    `,
  },
  {
    version: 4,
    name: 'audit log',
    sql: `
      -- Who changed what, when, from where (docs/audit.md). Append-only: the triggers refuse
      -- every UPDATE and DELETE, whatever the client code does. details: a JSON object, no secret.
      CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        actor      TEXT NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
        actor_kind TEXT NOT NULL CHECK (actor_kind IN ('credential', 'cli')),
        action     TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
        target     TEXT CHECK (target IS NULL OR length(target) BETWEEN 1 AND 200),
        address    TEXT CHECK (address IS NULL OR length(address) BETWEEN 1 AND 64),
        details    TEXT NOT NULL CHECK (json_valid(details) AND json_type(details) = 'object')
      ) STRICT;
      CREATE INDEX audit_log_by_time ON audit_log(at);

      CREATE TRIGGER audit_log_is_never_updated BEFORE UPDATE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries are never updated'); END;

      CREATE TRIGGER audit_log_is_never_deleted BEFORE DELETE ON audit_log
      BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries are never deleted'); END;
      `,
  },
  {
    version: 5,
    name: 'console sessions, account owner tokens',
    sql: `
      -- A console session (docs/console.md): only the SHA-256 of its id is kept, so a copy of the
      -- store signs nobody in. The credential it was opened with is checked again on every use.
      CREATE TABLE console_sessions (
        id_hash       BLOB PRIMARY KEY CHECK (length(id_hash) = 32),
        credential_id TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        last_seen_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX console_sessions_by_last_seen ON console_sessions(last_seen_at);

      -- An owner token manages its account's tokens on the admin listener and works nowhere else
      -- (docs/credentials.md "Account owners"); it always belongs to an account.
      ALTER TABLE tokens ADD COLUMN owner INTEGER NOT NULL DEFAULT 0 CHECK (owner IN (0, 1) AND (owner = 0 OR account IS NOT NULL));
      CREATE TRIGGER token_owner_flag_is_permanent BEFORE UPDATE OF owner ON tokens
      WHEN NEW.owner IS NOT OLD.owner
      BEGIN SELECT RAISE(ABORT, 'a token cannot become or stop being an owner token'); END;
      `,
  },
  {
    version: 6,
    name: 'deprecation with a sunset',
    sql: `
      -- A token or client marked deprecated: since when (the Deprecation header), from when it is
      -- refused (sunset), and an optional migration link. All three set together, or none.
      ALTER TABLE tokens ADD COLUMN deprecated_since INTEGER;
      ALTER TABLE tokens ADD COLUMN sunset_at INTEGER;
      ALTER TABLE tokens ADD COLUMN deprecation_link TEXT;
      ALTER TABLE clients ADD COLUMN deprecated_since INTEGER;
      ALTER TABLE clients ADD COLUMN sunset_at INTEGER;
      ALTER TABLE clients ADD COLUMN deprecation_link TEXT;
    `,
  },
];
