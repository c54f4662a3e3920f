/**
 * What a storage engine provides to the backend-neutral credential store (create-store.ts): its
 * SQL, nothing else. Every rule that is not SQL (input validation, permanent revocation,
 * disabled accounts, secret generation, change listeners, record shapes) lives in the core, once;
 * a backend reads and writes rows. Times are epoch milliseconds, hashes 32-byte SHA-256 values,
 * JWKs opaque JSON text (the OAuth layer may encrypt the private one: a backend never looks
 * inside it).
 */
import type { ChangeNotifier } from './change-notifier.js';
import type { Scope } from './scope.js';
import type { CredentialStoreError } from './store-error.js';
import type { SigningAlgorithm } from './store.js';

export interface AccountRow {
  name: string;
  scope: Scope;
  created_at: number;
  disabled_at: number | null;
}
export interface TokenRow {
  id: string;
  label: string;
  scope: Scope;
  account: string | null;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  rotated_at: number | null;
  revoked_at: number | null;
  prev_valid_until: number | null;
  prev_last_used_at: number | null;
  /** An account owner's token (SQLite 0/1, PostgreSQL boolean). */
  owner: number | boolean;
  deprecated_since: number | null;
  sunset_at: number | null;
  deprecation_link: string | null;
}
export interface ClientRow {
  id: string;
  name: string;
  scope: Scope;
  org_id: string | null;
  technical_account_id: string | null;
  created_at: number;
  last_used_at: number | null;
  rotated_at: number | null;
  revoked_at: number | null;
  prev_valid_until: number | null;
  prev_last_used_at: number | null;
  deprecated_since: number | null;
  sunset_at: number | null;
  deprecation_link: string | null;
}
export interface TokenAuthRow {
  id: string;
  scope: Scope;
  secret_hash: Uint8Array;
  prev_secret_hash: Uint8Array | null;
  prev_valid_until: number | null;
  expires_at: number | null;
  revoked_at: number | null;
  account_name: string | null;
  account_scope: Scope | null;
  account_disabled_at: number | null;
  owner: number | boolean;
  deprecated_since: number | null;
  sunset_at: number | null;
  deprecation_link: string | null;
}
export interface ClientAuthRow {
  id: string;
  scope: Scope;
  org_id: string | null;
  technical_account_id: string | null;
  secret_hash: Uint8Array;
  prev_secret_hash: Uint8Array | null;
  prev_valid_until: number | null;
  revoked_at: number | null;
  rotated_at: number | null;
  deprecated_since: number | null;
  sunset_at: number | null;
  deprecation_link: string | null;
}
/** A deprecation as stored: epoch ms and an optional link. */
export interface DeprecationRow {
  readonly since: number;
  readonly sunset: number;
  readonly link: string | null;
}
export interface ChangeDbRow {
  seq: number;
  kind: string;
  target: string;
  at: number;
}
export interface SigningKeyRow {
  kid: string;
  alg: SigningAlgorithm;
  public_jwk: string;
  private_jwk: string | null;
  created_at: number;
  retired_at: number | null;
}
/** A console session, found by the SHA-256 of its id. */
export interface SessionRow {
  credential_id: string;
  created_at: number;
  last_seen_at: number;
}
export interface RevokedAccessTokenRow {
  jti: string;
  client_id: string;
  expires_at: number;
  revoked_at: number;
}
/** An audit-log row; `details` is JSON text (an object). */
export interface AuditDbRow {
  id: number;
  at: number;
  actor: string;
  actor_kind: string;
  action: string;
  target: string | null;
  address: string | null;
  details: string;
}
/** What `auditEntries` selects by; null: any. */
export interface AuditQuery {
  since: number | null;
  actor: string | null;
  action: string | null;
  limit: number;
}

/** Full rows, secret hashes included: what `portcullis store copy` moves between stores. */
export interface FullTokenRow extends TokenRow {
  secret_hash: Uint8Array;
  prev_secret_hash: Uint8Array | null;
}
export interface FullClientRow extends ClientRow {
  secret_hash: Uint8Array;
  prev_secret_hash: Uint8Array | null;
}
export interface StoreDump {
  readonly accounts: readonly AccountRow[];
  readonly tokens: readonly FullTokenRow[];
  readonly clients: readonly FullClientRow[];
  readonly signingKeys: readonly SigningKeyRow[];
  readonly revokedAccessTokens: readonly RevokedAccessTokenRow[];
  /** The audit log, oldest first, ids kept. */
  readonly auditLog: readonly AuditDbRow[];
}

/** Reads, outside or inside a transaction. */
export interface StoreReads {
  account(name: string): Promise<AccountRow | undefined>;
  accounts(): Promise<AccountRow[]>;
  token(id: string): Promise<TokenRow | undefined>;
  /** Oldest first; of one account when given. */
  tokens(account?: string): Promise<TokenRow[]>;
  client(id: string): Promise<ClientRow | undefined>;
  clients(): Promise<ClientRow[]>;
  /** Newest first. */
  signingKeys(): Promise<SigningKeyRow[]>;
  signingKey(kid: string): Promise<SigningKeyRow | undefined>;
  activeSigningKey(): Promise<SigningKeyRow | undefined>;
  /** The token whose current or previous secret hash is `hash`, joined with its account. */
  tokenByHash(hash: Uint8Array): Promise<TokenAuthRow | undefined>;
  clientAuth(id: string): Promise<ClientAuthRow | undefined>;
  /** The id of the client whose current or previous secret hash is `hash` (incident response, not the request path). */
  clientIdByHash(hash: Uint8Array): Promise<string | undefined>;
  isAccessTokenRevoked(jti: string): Promise<boolean>;
  /** Feed rows with seq > afterSeq, in seq order. Seq order must be commit order. */
  changesSince(afterSeq: number, limit: number): Promise<ChangeDbRow[]>;
  /** The highest committed seq, 0 when the feed never had a row. */
  latestSeq(): Promise<number>;
  /** Audit rows matching `query`, newest first (by `at`, then `id`). */
  auditEntries(query: AuditQuery): Promise<AuditDbRow[]>;
  /** The console session whose id hashes to `idHash`. */
  session(idHash: Uint8Array): Promise<SessionRow | undefined>;
}

/** Writes, inside a transaction. */
export interface StoreWrites extends StoreReads {
  insertAccount(name: string, scope: Scope, at: number): Promise<void>;
  setAccountScope(name: string, scope: Scope): Promise<void>;
  disableAccount(name: string, at: number): Promise<void>;
  /** Clears `disabled_at` (accounts enable). */
  enableAccount(name: string): Promise<void>;
  insertToken(row: {
    id: string;
    label: string;
    scope: Scope;
    account: string | null;
    secretHash: Uint8Array;
    createdAt: number;
    expiresAt: number | null;
    owner: boolean;
  }): Promise<void>;
  revokeToken(id: string, at: number): Promise<void>;
  /** New secret hash; the current one becomes the previous one until `prevValidUntil`, or is dropped (null). */
  rotateToken(id: string, secretHash: Uint8Array, at: number, prevValidUntil: number | null): Promise<void>;
  setTokenExpiry(id: string, expiresAt: number | null): Promise<void>;
  /** Sets (or, with null, removes) a token's deprecation. */
  setTokenDeprecation(id: string, deprecation: DeprecationRow | null): Promise<void>;
  setClientDeprecation(id: string, deprecation: DeprecationRow | null): Promise<void>;
  insertClient(row: {
    id: string;
    name: string;
    scope: Scope;
    orgId: string | null;
    technicalAccountId: string | null;
    secretHash: Uint8Array;
    createdAt: number;
  }): Promise<void>;
  revokeClient(id: string, at: number): Promise<void>;
  rotateClient(id: string, secretHash: Uint8Array, at: number, prevValidUntil: number | null): Promise<void>;
  /** Times only move forward; unknown ids are ignored. */
  recordTokenLastUsed(id: string, at: number): Promise<void>;
  recordClientLastUsed(id: string, at: number): Promise<void>;
  /** Last use of the previous (in-grace) secret; ignored when there is none. Times only move forward. */
  recordTokenPreviousLastUsed(id: string, at: number): Promise<void>;
  recordClientPreviousLastUsed(id: string, at: number): Promise<void>;
  insertSigningKey(row: { kid: string; alg: SigningAlgorithm; publicJwk: string; privateJwk: string; createdAt: number }): Promise<void>;
  /** Retires the key and erases its private part. */
  retireSigningKey(kid: string, at: number): Promise<void>;
  /** Replaces the private part of the ACTIVE key `kid` (re-encryption); false if `kid` is not active. */
  replaceSigningKeyPrivate(kid: string, privateJwk: string): Promise<boolean>;
  /** False when `jti` was already recorded. */
  insertRevokedAccessToken(jti: string, clientId: string, expiresAt: number, at: number): Promise<boolean>;
  pruneRevokedAccessTokens(expiredBefore: number): Promise<void>;
  /** Appends a feed row; its seq must be in commit order with every other append. */
  appendChange(kind: string, target: string, at: number): Promise<ChangeDbRow>;
  /** Deletes feed rows older than `before`, never the newest one (it marks the position). */
  pruneChanges(before: number): Promise<void>;
  /** Appends an audit row (the table refuses updates and deletes). */
  appendAudit(row: Omit<AuditDbRow, 'id'>): Promise<AuditDbRow>;
  /** Inserts dumped rows as they are, audit ids included (store copy). */
  insertSession(idHash: Uint8Array, credentialId: string, at: number): Promise<void>;
  touchSession(idHash: Uint8Array, at: number): Promise<void>;
  deleteSession(idHash: Uint8Array): Promise<void>;
  /** Deletes the sessions last seen before `before` (idle ones). */
  pruneSessions(before: number): Promise<void>;
  /** Inserts dumped rows as they are (store copy). */
  load(dump: StoreDump): Promise<void>;
}

/** A storage engine under the credential store. */
export interface StoreBackend extends StoreReads {
  /** Where the store is, for messages (never a password). */
  readonly description: string;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it rejects. */
  transaction<T>(fn: (tx: StoreWrites) => Promise<T>): Promise<T>;
  /** Translates a foreign error where it enters; coded errors pass through. */
  translate(error: unknown, what: string): CredentialStoreError;
  /** Every row, secret hashes included (store copy). */
  dump(): Promise<StoreDump>;
  readonly notifier?: ChangeNotifier;
  /** Credentials that work at `now`: tokens not revoked, not expired, of no disabled account; clients not revoked. */
  countActive(now: number): Promise<{ readonly tokens: number; readonly clients: number }>;
  /** Resolves when the engine answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
