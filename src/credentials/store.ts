/**
 * The credential store contract (docs/credentials.md), shared by the request path (the verifier),
 * the CLI and the admin API. Every operation is asynchronous so that a PostgreSQL implementation can
 * replace the SQLite one without a change elsewhere.
 *
 * Public records are camelCase with ISO-8601 timestamps. Secrets appear exactly once, in the
 * result of a create or rotate call; the store keeps only their SHA-256 (see secrets.ts).
 * Failures are {@link CredentialStoreError}s with a `reason`.
 */
import type { JWK } from 'jose';
import type { ChangeNotifier } from './change-notifier.js';
import type { AuditActor, AuditEntry, AuditFilter, NewAuditEntry } from './audit.js';
import type { Scope } from './scope.js';

export type { Scope };
export type { AuditActor, AuditEntry, AuditFilter, NewAuditEntry };

/** An account: the person or service that owns tokens. Its scope caps its tokens' scope. */
export interface AccountRecord {
  readonly name: string;
  /** Maximum scope of the account's tokens. */
  readonly scope: Scope;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

/**
 * A credential's deprecation as listed: since when (the `Deprecation` response header), from
 * when it is refused with 401 auth.credential_sunset, and an optional migration link. ISO-8601.
 */
export interface DeprecationRecord {
  readonly since: string;
  readonly sunset: string;
  readonly link: string | null;
}

/** Input of `tokens.setDeprecation` and `clients.setDeprecation`. */
export interface NewDeprecation {
  /** From this instant on the credential is refused; may be in the past (refused at once). */
  readonly sunset: Date;
  /** When the deprecation takes effect; must be before `sunset`. Omitted: now. */
  readonly since?: Date;
  /** http(s) URL of the migration documentation (rollout/deprecation-link.ts). */
  readonly link?: string | null;
}

/** What the verifier needs of a deprecation: epoch ms. */
export interface VerificationDeprecation {
  readonly since: number;
  readonly sunset: number;
  readonly link: string | null;
}

/** An API token as listed (never its secret). */
export interface TokenRecord {
  /** `tok_…`: public, never reused. */
  readonly id: string;
  readonly label: string;
  /** The token's own scope; the effective scope is also capped by its account's. */
  readonly scope: Scope;
  /** Owning account name, or null for a stand-alone token. */
  readonly account: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  /** Last rotation, or null. */
  readonly rotatedAt: string | null;
  /** Until when the secret replaced by the last rotation still works, or null. */
  readonly previousSecretValidUntil: string | null;
  /**
   * Last use of the previous secret (the one the last rotation replaced) while it was in grace;
   * null when it was not used since that rotation. `lastUsedAt` is the last use of either.
   */
  readonly previousSecretLastUsedAt: string | null;
  /**
   * An account owner's token: it signs in to the console and calls the admin API for its own
   * account's tokens only, and is refused on proxy routes (docs/credentials.md "Account owners").
   */
  readonly owner: boolean;
  /** Its deprecation (`portcullis tokens deprecate`), or null. */
  readonly deprecation: DeprecationRecord | null;
}

/** An OAuth client as listed (never its secret). */
export interface ClientRecord {
  /** `cli_…`: public, never reused. */
  readonly clientId: string;
  readonly name: string;
  readonly scope: Scope;
  readonly orgId: string | null;
  readonly technicalAccountId: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly rotatedAt: string | null;
  readonly previousSecretValidUntil: string | null;
  /**
   * Last use of the previous secret (the one the last rotation replaced) while it was in grace;
   * null when it was not used since that rotation. `lastUsedAt` is the last use of either.
   */
  readonly previousSecretLastUsedAt: string | null;
  /** Its deprecation (`portcullis clients deprecate`), or null. */
  readonly deprecation: DeprecationRecord | null;
}

/** A token with its secret, returned once by create and rotate. */
export interface IssuedToken {
  readonly record: TokenRecord;
  /** The `pcl_…` secret. Show it once; it cannot be recovered. */
  readonly token: string;
}

/** A client with its secret, returned once by create and rotateSecret. */
export interface IssuedClient {
  readonly record: ClientRecord;
  /** The `pcs_…` secret. Show it once; it cannot be recovered. */
  readonly clientSecret: string;
}

/** Input of `tokens.create`. */
export interface NewToken {
  /** Required, 1-200 characters without control characters. */
  readonly label: string;
  readonly scope: Scope;
  /** Owning account (must exist and not be disabled); omitted: a stand-alone token. */
  readonly account?: string | null;
  /**
   * Expiry; must be in the future. Omitted or null: no expiry. A configured default
   * (`tokens.defaultExpiry`) is the caller's to apply.
   */
  readonly expiresAt?: Date | null;
  /** An account owner's token (needs `account`); default false. */
  readonly owner?: boolean;
}

/** Input of `clients.create`. */
export interface NewClient {
  /** Required, 1-200 characters without control characters. */
  readonly name: string;
  readonly scope: Scope;
  readonly orgId?: string | null;
  readonly technicalAccountId?: string | null;
}

/**
 * Every mutating operation below takes an optional last argument `audit`: who makes the change.
 * When given, the change and its audit entry (docs/audit.md) are written in ONE transaction: if
 * the entry cannot be written, the change is rolled back and the call rejects. The doors (the CLI
 * and the admin API, through src/admin/operations.ts) always give it; the gateway's own writes
 * (last-use times, the first signing key, RFC 7009 revocations) do not.
 */

/** Account administration. */
export interface AccountOperations {
  /** Creates an account; `conflict` if the name exists. Names: 1-64 of `A-Z a-z 0-9 _ . @ -`. */
  create(name: string, scope: Scope, audit?: AuditActor): Promise<AccountRecord>;
  list(): Promise<readonly AccountRecord[]>;
  get(name: string): Promise<AccountRecord | undefined>;
  /** Changes the maximum scope; every token of the account follows on every instance. */
  setScope(name: string, scope: Scope, audit?: AuditActor): Promise<AccountRecord>;
  /** Disables the account: all its tokens stop (auth.token_revoked). Idempotent. */
  disable(name: string, audit?: AuditActor): Promise<AccountRecord>;
  /**
   * Enables a disabled account again: its tokens that are not revoked or expired work again on
   * every instance (`account.enabled` in the change feed). Idempotent. Disabling is a state;
   * revoking a token stays permanent.
   */
  enable(name: string, audit?: AuditActor): Promise<AccountRecord>;
}

/** API token administration. */
export interface TokenOperations {
  create(input: NewToken, audit?: AuditActor): Promise<IssuedToken>;
  /** All tokens (revoked ones included), oldest first; optionally of one account. */
  list(filter?: { readonly account?: string }): Promise<readonly TokenRecord[]>;
  get(id: string): Promise<TokenRecord | undefined>;
  /** Revokes for ever (idempotent: revoking again returns the record unchanged). */
  revoke(id: string, audit?: AuditActor): Promise<TokenRecord>;
  /**
   * The id of the token whose current or previous secret hashes to `hash` (incident response:
   * a secret scanner hands over the secret, not its id), revoked ones included; undefined if none.
   */
  idBySecretHash(hash: Uint8Array): Promise<string | undefined>;
  /**
   * A new secret for the same id. The old secret fails at once (`graceMs` 0 or omitted) or
   * at now + graceMs. A previous secret still in its grace period is dropped at once.
   * `revoked` if the token is revoked.
   */
  rotate(id: string, graceMs?: number, audit?: AuditActor): Promise<IssuedToken>;
  /** Sets or removes the expiry (a Date in the future, or null). `revoked` if revoked. */
  setExpiry(id: string, expiresAt: Date | null, audit?: AuditActor): Promise<TokenRecord>;
  /**
   * Marks the token deprecated with a sunset (or, with null, no longer deprecated); appends
   * `token.deprecated` so every instance's cache takes it up. `revoked` if revoked.
   */
  setDeprecation(id: string, deprecation: NewDeprecation | null, audit?: AuditActor): Promise<TokenRecord>;
}

/** OAuth client administration. */
export interface ClientOperations {
  create(input: NewClient, audit?: AuditActor): Promise<IssuedClient>;
  /** All clients (revoked ones included), oldest first. */
  list(): Promise<readonly ClientRecord[]>;
  get(clientId: string): Promise<ClientRecord | undefined>;
  /** Revokes for ever (idempotent). */
  revoke(clientId: string, audit?: AuditActor): Promise<ClientRecord>;
  /** As `tokens.idBySecretHash`, for a client secret. */
  idBySecretHash(hash: Uint8Array): Promise<string | undefined>;
  /** As `tokens.rotate`, for the client secret. */
  rotateSecret(clientId: string, graceMs?: number, audit?: AuditActor): Promise<IssuedClient>;
  /** As `tokens.setDeprecation`; the client's access tokens follow it. Appends `client.deprecated`. */
  setDeprecation(clientId: string, deprecation: NewDeprecation | null, audit?: AuditActor): Promise<ClientRecord>;
}

/** What the verifier needs to decide on a presented API token (found by secret hash). */
export interface TokenVerificationRecord {
  readonly id: string;
  readonly scope: Scope;
  /** SHA-256 of the current secret. */
  readonly secretHash: Uint8Array;
  /** SHA-256 of the secret replaced by the last rotation, while it is in grace. */
  readonly previousSecretHash: Uint8Array | null;
  /** Epoch ms at which `previousSecretHash` stops working. */
  readonly previousValidUntil: number | null;
  /** Epoch ms, or null for no expiry. */
  readonly expiresAt: number | null;
  /** Epoch ms, or null. */
  readonly revokedAt: number | null;
  /** The owning account's current state, or null for a stand-alone token. */
  readonly account: { readonly name: string; readonly scope: Scope; readonly disabled: boolean } | null;
  /** An account owner's token: refused on proxy routes. */
  readonly owner: boolean;
  readonly deprecation: VerificationDeprecation | null;
}

/** What the verifier needs to decide on presented client credentials (found by client id). */
export interface ClientVerificationRecord {
  readonly clientId: string;
  readonly scope: Scope;
  readonly orgId: string | null;
  readonly technicalAccountId: string | null;
  readonly secretHash: Uint8Array;
  readonly previousSecretHash: Uint8Array | null;
  readonly previousValidUntil: number | null;
  readonly revokedAt: number | null;
  /** Epoch ms of the last secret rotation, or null (access tokens issued before it end with its grace). */
  readonly rotatedAt: number | null;
  readonly deprecation: VerificationDeprecation | null;
}

/**
 * Kinds of change-feed rows about one credential. `credentialId` is a tok_ or cli_ id; for
 * `access_token.revoked` the `jti` of the access token; for `signing_key.added` the `kid` of the
 * gateway's new signing key (the credential Portcullis itself signs access tokens with).
 */
export const CREDENTIAL_CHANGE_KINDS = {
  tokenRevoked: 'token.revoked',
  tokenRotated: 'token.rotated',
  tokenExpiryChanged: 'token.expiry_changed',
  /** A token's deprecation was set, changed or removed. */
  tokenDeprecated: 'token.deprecated',
  clientRevoked: 'client.revoked',
  clientSecretRotated: 'client.secret_rotated',
  /** A client's deprecation was set, changed or removed (its access tokens follow it). */
  clientDeprecated: 'client.deprecated',
  /** An access token issued by the token endpoint was revoked (RFC 7009); the id is its `jti`. */
  accessTokenRevoked: 'access_token.revoked',
  /** A signing key was added (first key, or `portcullis keys rotate`): reload the key set. */
  signingKeyAdded: 'signing_key.added',
} as const;

/** Kinds of change-feed rows about an account (`account` is its name). */
export const ACCOUNT_CHANGE_KINDS = {
  accountScopeChanged: 'account.scope_changed',
  accountDisabled: 'account.disabled',
  accountEnabled: 'account.enabled',
} as const;

export type CredentialChangeKind = (typeof CREDENTIAL_CHANGE_KINDS)[keyof typeof CREDENTIAL_CHANGE_KINDS];
export type AccountChangeKind = (typeof ACCOUNT_CHANGE_KINDS)[keyof typeof ACCOUNT_CHANGE_KINDS];
export type ChangeKind = CredentialChangeKind | AccountChangeKind;

/**
 * One row of the change feed: appended in the same transaction as every mutation that can make
 * a cached verification wrong (revoke, rotate, expiry change, account scope change, disable or enable).
 * `seq` increases with commit order; `at` is the commit time in epoch ms.
 */
export type ChangeRow =
  | { readonly seq: number; readonly at: number; readonly kind: CredentialChangeKind; readonly credentialId: string }
  | { readonly seq: number; readonly at: number; readonly kind: AccountChangeKind; readonly account: string };

/** Appended to a credential id in a last-used batch: the previous (in-grace) secret was used. */
export const PREVIOUS_SECRET_SUFFIX = ':previous';

/** Called after a mutation made through this store instance commits. */
export type ChangeListener = (changes: readonly ChangeRow[]) => void;

/** Algorithms of the OAuth signing keys (asymmetric only: the JWKS is public). */
export type SigningAlgorithm = 'ES256' | 'EdDSA';

/** A new signing key, generated by the caller (src/oauth/signing-keys.ts); the store does no crypto. */
export interface NewSigningKey {
  /** Key id: the RFC 7638 thumbprint of the public key. 1-128 characters of base64url. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Public JWK (no `d`). */
  readonly publicJwk: JWK;
  /** Private JWK. Kept in the store so every instance signs with the same key. */
  readonly privateJwk: JWK;
}

/**
 * A stored signing key. Exactly one key is active (the newest one, `retiredAt` null) once a key
 * exists; older keys are retired: they no longer sign, their private part is erased, and their
 * public part verifies tokens until `retiredAt` + token lifetime + leeway (the caller's settings).
 */
export interface SigningKeyRecord {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: JWK;
  /** The private JWK of the active key; null once retired. */
  readonly privateJwk: JWK | null;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms at which a newer key replaced it, or null for the active key. */
  readonly retiredAt: number | null;
}

/** OAuth signing keys (docs/oauth.md): shared by every instance through the store. */
export interface SigningKeyOperations {
  /** Every key, newest first (retired ones included, without their private part). */
  list(): Promise<readonly SigningKeyRecord[]>;
  /**
   * Stores `candidate` as the active key unless an active key exists already (another instance
   * may have won the race on first start). Returns the active key. Atomic across processes.
   */
  ensureActive(candidate: NewSigningKey): Promise<SigningKeyRecord>;
  /**
   * Stores `next` as the active key and retires the current one (its private part is erased).
   * Appends `signing_key.added`. `invalid_argument` if `next.kid` exists.
   */
  rotate(
    next: NewSigningKey,
    audit?: AuditActor,
  ): Promise<{ readonly active: SigningKeyRecord; readonly retired: SigningKeyRecord | null }>;
  /**
   * Replaces the private JWK of the active key `kid` with `privateJwk` — the same key
   * re-encrypted (`portcullis keys rekey`); the store treats both as opaque. No change row: the
   * key itself is unchanged. `not_found` if `kid` is not the active key.
   */
  replacePrivate(kid: string, privateJwk: JWK, audit?: AuditActor): Promise<SigningKeyRecord>;
}

/** Revocation of individual access tokens (RFC 7009), shared by every instance. */
export interface AccessTokenOperations {
  /**
   * Records that the access token `jti` (issued to `clientId`, expiring at `expiresAt` epoch ms)
   * is revoked and appends `access_token.revoked`. Idempotent (no second change row). Rows are
   * pruned one day after the token's expiry.
   */
  revoke(jti: string, clientId: string, expiresAt: number): Promise<void>;
  /** Request path (cache miss): whether `jti` was revoked. */
  isRevoked(jti: string): Promise<boolean>;
}

/** A console session as stored: who opened it, and when it was last used (epoch ms). */
export interface SessionRecord {
  /** The `tok_…` id of the credential the session was opened with (checked again on every use). */
  readonly credentialId: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

/**
 * Console sessions, shared by every worker and instance through the store. Found by the SHA-256
 * of the session id: the id itself is never stored.
 */
export interface SessionOperations {
  /** Stores a new session and deletes those last seen before `idleBefore` (epoch ms). */
  open(idHash: Uint8Array, credentialId: string, idleBefore: number): Promise<void>;
  /** The session if it was last seen at or after `idleBefore`, marked as seen now; otherwise undefined. */
  use(idHash: Uint8Array, idleBefore: number): Promise<SessionRecord | undefined>;
  /** Ends the session for every worker and instance (idempotent). */
  end(idHash: Uint8Array): Promise<void>;
}

/** The store. One instance per process; safe to share between the CLI, admin API and gateway. */
export interface CredentialStore {
  readonly accounts: AccountOperations;
  readonly tokens: TokenOperations;
  readonly clients: ClientOperations;
  readonly signingKeys: SigningKeyOperations;
  readonly accessTokens: AccessTokenOperations;
  readonly sessions: SessionOperations;

  /** Request path: the token whose current or in-grace previous secret hashes to `hash`. */
  findTokenByHash(hash: Uint8Array): Promise<TokenVerificationRecord | undefined>;
  /** Request path: the client with this id. */
  findClientById(clientId: string): Promise<ClientVerificationRecord | undefined>;
  /**
   * Records last-use times in one batched write (id → epoch ms; tok_ and cli_ ids; an id followed
   * by {@link PREVIOUS_SECRET_SUFFIX} is a use of its previous, in-grace secret). Times only
   * move forward. Unknown ids are ignored. Called off the request path by the verifier.
   */
  recordLastUsed(batch: ReadonlyMap<string, number>): Promise<void>;

  /** Change-feed rows with `seq > afterSeq`, oldest first, at most `limit` (default 1000). */
  changesSince(afterSeq: number, limit?: number): Promise<readonly ChangeRow[]>;
  /** The highest `seq` in the feed (0 when empty): the starting point of a new reader. */
  latestChangeSeq(): Promise<number>;
  /**
   * Calls `listener` synchronously after each mutation made through THIS instance commits, so
   * the process that made a change applies it at once (other processes poll the feed).
   * Returns the unsubscribe function.
   */
  subscribe(listener: ChangeListener): () => void;

  readonly notifier?: ChangeNotifier;

  /**
   * How many credentials work now, by kind: API tokens (not revoked, not expired, of no disabled
   * account) and OAuth clients (not revoked). Two counting queries: for the
   * `portcullis_credentials_active` gauge, refreshed off the request path.
   */
  countActive(): Promise<{ readonly api_token: number; readonly oauth_client: number }>;
  /**
   * Appends an audit entry on its own (a change that is not one of the operations above, such as
   * a store copy). `invalid_argument` for an entry that is malformed or holds something shaped
   * like a secret.
   */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Audit entries, newest first (docs/audit.md). `invalid_argument` for a bad filter. */
  listAudit(filter?: AuditFilter): Promise<readonly AuditEntry[]>;

  /** Resolves when the store answers a trivial query (readiness); rejects `unavailable`. */
  ping(): Promise<void>;
  /** Closes the store; later calls reject with `unavailable`. Idempotent. */
  close(): Promise<void>;
}
