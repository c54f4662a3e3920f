/**
 * Versioned schema migrations of the PostgreSQL store, the counterpart of sqlite-migrations.ts
 * (same versions, same meaning). Never edit a released migration: append a new one.
 *
 * Times are bigint epoch milliseconds; secret hashes 32-byte bytea (SHA-256). The database
 * enforces, whatever the client code does: tokens and clients are never deleted (nor truncated);
 * a revoked row can no longer change except for its last-used time; a retired signing key stays
 * retired without its private part; at most one active signing key; only 32-byte hashes.
 */
import type { Migration } from './sqlite-migrations.js';

const SCOPE_CHECK = "IN ('read-only', 'read-write', 'admin')";

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'accounts, tokens, clients, change feed',
    sql: `
      CREATE TABLE accounts (
        name        text PRIMARY KEY,
        scope       text NOT NULL CHECK (scope ${SCOPE_CHECK}),
        created_at  bigint NOT NULL,
        disabled_at bigint
      );

      CREATE TABLE tokens (
        id               text PRIMARY KEY,
        label            text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 200),
        scope            text NOT NULL CHECK (scope ${SCOPE_CHECK}),
        account          text REFERENCES accounts(name),
        secret_hash      bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
        prev_secret_hash bytea UNIQUE CHECK (prev_secret_hash IS NULL OR octet_length(prev_secret_hash) = 32),
        prev_valid_until bigint,
        created_at       bigint NOT NULL,
        expires_at       bigint,
        last_used_at     bigint,
        rotated_at       bigint,
        revoked_at       bigint
      );
      CREATE INDEX tokens_by_account ON tokens(account);

      CREATE TABLE clients (
        id                   text PRIMARY KEY,
        name                 text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
        scope                text NOT NULL CHECK (scope ${SCOPE_CHECK}),
        org_id               text,
        technical_account_id text,
        secret_hash          bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
        prev_secret_hash     bytea CHECK (prev_secret_hash IS NULL OR octet_length(prev_secret_hash) = 32),
        prev_valid_until     bigint,
        created_at           bigint NOT NULL,
        last_used_at         bigint,
        rotated_at           bigint,
        revoked_at           bigint
      );

      -- seq order is commit order: every append takes the feed's transaction-scoped advisory
      -- lock just before its insert (postgres-store.ts, docs/decisions/0009-postgres-driver.md).
      CREATE TABLE changes (
        seq    bigserial PRIMARY KEY,
        kind   text NOT NULL,
        target text NOT NULL,
        at     bigint NOT NULL
      );
      CREATE INDEX changes_by_time ON changes(at);

      CREATE FUNCTION portcullis_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% rows are never deleted: revoke instead', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
      END $$;
      CREATE TRIGGER tokens_are_never_deleted BEFORE DELETE ON tokens FOR EACH ROW EXECUTE FUNCTION portcullis_never_deleted();
      CREATE TRIGGER tokens_are_never_truncated BEFORE TRUNCATE ON tokens FOR EACH STATEMENT EXECUTE FUNCTION portcullis_never_deleted();
      CREATE TRIGGER clients_are_never_deleted BEFORE DELETE ON clients FOR EACH ROW EXECUTE FUNCTION portcullis_never_deleted();
      CREATE TRIGGER clients_are_never_truncated BEFORE TRUNCATE ON clients FOR EACH STATEMENT EXECUTE FUNCTION portcullis_never_deleted();

      CREATE FUNCTION portcullis_token_revocation_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.revoked_at IS NOT NULL AND (
          NEW.revoked_at IS DISTINCT FROM OLD.revoked_at OR NEW.id IS DISTINCT FROM OLD.id OR NEW.scope IS DISTINCT FROM OLD.scope
          OR NEW.account IS DISTINCT FROM OLD.account OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash
          OR NEW.prev_secret_hash IS DISTINCT FROM OLD.prev_secret_hash OR NEW.prev_valid_until IS DISTINCT FROM OLD.prev_valid_until
          OR NEW.expires_at IS DISTINCT FROM OLD.expires_at) THEN
          RAISE EXCEPTION 'a revoked token cannot change' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER token_revocation_is_permanent BEFORE UPDATE ON tokens
        FOR EACH ROW EXECUTE FUNCTION portcullis_token_revocation_is_permanent();

      CREATE FUNCTION portcullis_client_revocation_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.revoked_at IS NOT NULL AND (
          NEW.revoked_at IS DISTINCT FROM OLD.revoked_at OR NEW.id IS DISTINCT FROM OLD.id OR NEW.scope IS DISTINCT FROM OLD.scope
          OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash OR NEW.prev_secret_hash IS DISTINCT FROM OLD.prev_secret_hash
          OR NEW.prev_valid_until IS DISTINCT FROM OLD.prev_valid_until) THEN
          RAISE EXCEPTION 'a revoked client cannot change' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER client_revocation_is_permanent BEFORE UPDATE ON clients
        FOR EACH ROW EXECUTE FUNCTION portcullis_client_revocation_is_permanent();
    `,
  },
  {
    version: 2,
    name: 'oauth signing keys, revoked access tokens',
    sql: `
      -- JWKs as text, opaque to the store (the OAuth layer may encrypt the private one).
      CREATE TABLE signing_keys (
        kid         text PRIMARY KEY CHECK (char_length(kid) BETWEEN 1 AND 128),
        alg         text NOT NULL CHECK (alg IN ('ES256', 'EdDSA')),
        public_jwk  text NOT NULL,
        private_jwk text,
        created_at  bigint NOT NULL,
        retired_at  bigint,
        CHECK (retired_at IS NULL OR private_jwk IS NULL)
      );
      CREATE UNIQUE INDEX one_active_signing_key ON signing_keys ((true)) WHERE retired_at IS NULL;

      CREATE FUNCTION portcullis_signing_key_retirement_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.retired_at IS NOT NULL AND (NEW.retired_at IS DISTINCT FROM OLD.retired_at OR NEW.private_jwk IS NOT NULL
          OR NEW.public_jwk IS DISTINCT FROM OLD.public_jwk OR NEW.kid IS DISTINCT FROM OLD.kid) THEN
          RAISE EXCEPTION 'a retired signing key cannot change' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER signing_key_retirement_is_permanent BEFORE UPDATE ON signing_keys
        FOR EACH ROW EXECUTE FUNCTION portcullis_signing_key_retirement_is_permanent();

      CREATE TABLE revoked_access_tokens (
        jti        text PRIMARY KEY CHECK (char_length(jti) BETWEEN 1 AND 128),
        client_id  text NOT NULL,
        expires_at bigint NOT NULL,
        revoked_at bigint NOT NULL
      );
      CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens(expires_at);
    `,
  },
  {
    version: 3,
    name: 'last use of the previous secret',
    sql: `
      -- Last use of the secret a rotation replaced, while it is in grace (reset by each rotation):
      -- whether clients still use the old secret. last_used_at stays the last use of either.
      ALTER TABLE tokens ADD COLUMN prev_last_used_at bigint;
      ALTER TABLE clients ADD COLUMN prev_last_used_at bigint;
    `,
  },
  {
    version: 4,
    name: 'audit log',
    sql: `
      -- Who changed what, when, from where (docs/audit.md). Append-only: the trigger function
      -- refuses every UPDATE, DELETE and TRUNCATE, whatever the client code does.
      CREATE TABLE audit_log (
        id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at         bigint NOT NULL,
        actor      text NOT NULL CHECK (char_length(actor) BETWEEN 1 AND 200),
        actor_kind text NOT NULL CHECK (actor_kind IN ('credential', 'cli')),
        action     text NOT NULL CHECK (char_length(action) BETWEEN 1 AND 64),
        target     text CHECK (target IS NULL OR char_length(target) BETWEEN 1 AND 200),
        address    text CHECK (address IS NULL OR char_length(address) BETWEEN 1 AND 64),
        -- json, not jsonb: the text is kept as written (key order included), so a store copy
        -- between backends moves it byte for byte.
        details    json NOT NULL CHECK (json_typeof(details) = 'object')
      );
      CREATE INDEX audit_log_by_time ON audit_log(at);

      CREATE FUNCTION portcullis_audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP USING ERRCODE = 'integrity_constraint_violation';
      END $$;
      CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION portcullis_audit_log_is_append_only();
      CREATE TRIGGER audit_log_is_never_truncated BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION portcullis_audit_log_is_append_only();
      `,
  },
  {
    version: 5,
    name: 'console sessions, account owner tokens',
    sql: `
      -- A console session (docs/console.md): only the SHA-256 of its id is kept, so a copy of the
      -- store signs nobody in. The credential it was opened with is checked again on every use.
      CREATE TABLE console_sessions (
        id_hash       bytea PRIMARY KEY CHECK (octet_length(id_hash) = 32),
        credential_id text NOT NULL,
        created_at    bigint NOT NULL,
        last_seen_at  bigint NOT NULL
      );
      CREATE INDEX console_sessions_by_last_seen ON console_sessions(last_seen_at);

      -- An owner token manages its account's tokens on the admin listener and works nowhere else
      -- (docs/credentials.md "Account owners"); it always belongs to an account.
      ALTER TABLE tokens ADD COLUMN owner boolean NOT NULL DEFAULT false;
      ALTER TABLE tokens ADD CONSTRAINT owner_tokens_have_an_account CHECK (NOT owner OR account IS NOT NULL);
      CREATE FUNCTION portcullis_token_owner_flag_is_permanent() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.owner IS DISTINCT FROM OLD.owner THEN
          RAISE EXCEPTION 'a token cannot become or stop being an owner token' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER token_owner_flag_is_permanent BEFORE UPDATE ON tokens
        FOR EACH ROW EXECUTE FUNCTION portcullis_token_owner_flag_is_permanent();
      `,
  },
  {
    version: 6,
    name: 'deprecation with a sunset',
    sql: `
      -- A token or client marked deprecated: since when (the Deprecation header), from when it is
      -- refused (sunset), and an optional migration link. All three set together, or none.
      ALTER TABLE tokens ADD COLUMN deprecated_since bigint;
      ALTER TABLE tokens ADD COLUMN sunset_at bigint;
      ALTER TABLE tokens ADD COLUMN deprecation_link text;
      ALTER TABLE tokens ADD CONSTRAINT tokens_deprecation_whole CHECK ((deprecated_since IS NULL) = (sunset_at IS NULL) AND (deprecation_link IS NULL OR sunset_at IS NOT NULL));
      ALTER TABLE clients ADD COLUMN deprecated_since bigint;
      ALTER TABLE clients ADD COLUMN sunset_at bigint;
      ALTER TABLE clients ADD COLUMN deprecation_link text;
      ALTER TABLE clients ADD CONSTRAINT clients_deprecation_whole CHECK ((deprecated_since IS NULL) = (sunset_at IS NULL) AND (deprecation_link IS NULL OR sunset_at IS NOT NULL));
    `,
  },
];
