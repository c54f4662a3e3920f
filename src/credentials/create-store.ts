/**
 * The backend-neutral credential store: every rule of the store contract (store.ts) that is not
 * SQL, written once over a {@link StoreBackend} (SQLite, PostgreSQL). Input validation, permanent
 * revocation, disabled accounts, secret generation, the change feed rows each mutation appends,
 * change listeners and the public record shapes live here; a backend only reads and writes rows.
 * (The databases enforce the rules that matter a second time: see the migrations.)
 */
import type { JWK } from 'jose';
import { generateApiToken, generateClientId, generateClientSecret, generateTokenId, hashSecret, isClientId, isTokenId } from './secrets.js';
import {
  AUDIT_ACTIONS,
  AUDIT_ACTOR_KINDS,
  AUDIT_DEFAULT_LIMIT,
  AUDIT_MAX_LIMIT,
  looksSecret,
  type AuditAction,
  type AuditActor,
  type AuditDetails,
  type AuditEntry,
  type AuditFilter,
} from './audit.js';
import type {
  AccountRow,
  AuditDbRow,
  ChangeDbRow,
  ClientRow,
  SigningKeyRow,
  StoreBackend,
  StoreWrites,
  TokenRow,
} from './store-backend.js';
import {
  ACCOUNT_CHANGE_KINDS,
  CREDENTIAL_CHANGE_KINDS,
  PREVIOUS_SECRET_SUFFIX,
  type AccountChangeKind,
  type AccountRecord,
  type ChangeListener,
  type ChangeRow,
  type ClientRecord,
  type ClientVerificationRecord,
  type CredentialChangeKind,
  type CredentialStore,
  type IssuedClient,
  type IssuedToken,
  type NewClient,
  type NewSigningKey,
  type NewToken,
  type SessionRecord,
  type SigningKeyRecord,
  type TokenRecord,
  type TokenVerificationRecord,
} from './store.js';
import { CredentialStoreError } from './store-error.js';
import { deprecationLinkProblem } from '../rollout/deprecation-link.js';
import type { DeprecationRecord, NewDeprecation, VerificationDeprecation } from './store.js';
import type { DeprecationRow } from './store-backend.js';
import { optionalFutureTime, optionalText, requireAccountName, requireGraceMs, requireScope, requireText } from './validate-input.js';

/** Options of {@link createCredentialStore}, common to every backend. */
export interface CoreStoreOptions {
  /** Wall clock in epoch ms, for timestamps and grace periods. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * How long change-feed rows are kept, in ms. Default 7 days. Must exceed `cache.ttl` by far:
   * a cache entry never outlives its TTL, so rows older than that are of no use to a reader.
   */
  readonly changeRetentionMs?: number;
}

const DEFAULT_CHANGE_RETENTION_MS = 7 * 24 * 3600 * 1000;
/** How long a revoked access token's row outlives the token's expiry, in ms (beyond any leeway). */
const REVOKED_ACCESS_TOKEN_RETENTION_MS = 24 * 3600 * 1000;
const KID_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;
/** How stale a session's last-seen time may get before a use writes it again, in ms. */
const SESSION_TOUCH_GRAIN_MS = 1000;

function requireHash(hash: unknown): void {
  if (!(hash instanceof Uint8Array) || hash.length !== 32)
    throw new CredentialStoreError('invalid_argument', 'a session id hash is 32 bytes');
}

/**
 * An unknown id as a message may show it: only when it has the shape of an id. A secret pasted
 * where an id belongs (a leaked token given to `tokens revoke`) is never echoed back.
 */
function shownId(id: unknown, isId: (value: string) => boolean): string {
  return typeof id === 'string' && isId(id) ? id : '(not shown: it is not shaped like an id)';
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

const accountKinds: ReadonlySet<string> = new Set(Object.values(ACCOUNT_CHANGE_KINDS));
const credentialKinds: ReadonlySet<string> = new Set(Object.values(CREDENTIAL_CHANGE_KINDS));

/** A feed row as the contract shows it; rows of a kind this version does not know are skipped. */
export function toChangeRow(row: ChangeDbRow): ChangeRow | undefined {
  if (accountKinds.has(row.kind)) {
    return { seq: row.seq, at: row.at, kind: row.kind as AccountChangeKind, account: row.target };
  }
  if (credentialKinds.has(row.kind)) {
    return { seq: row.seq, at: row.at, kind: row.kind as CredentialChangeKind, credentialId: row.target };
  }
  return undefined;
}

type Append = (kind: string, target: string, at: number) => Promise<void>;

const actorKinds: ReadonlySet<string> = new Set(Object.values(AUDIT_ACTOR_KINDS));
const auditActions: ReadonlySet<string> = new Set(Object.values(AUDIT_ACTIONS));

/**
 * An audit row from its parts, checked: a malformed actor, an unknown action, or anything shaped
 * like a secret is refused (`invalid_argument`) before it can reach a table that never forgets.
 */
export function auditRow(
  actor: AuditActor,
  action: AuditAction,
  target: string | null,
  details: AuditDetails,
  at: number,
): Omit<AuditDbRow, 'id'> {
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the store's boundary: a caller's actor is checked here */
  if (
    typeof actor !== 'object' ||
    actor === null ||
    !actorKinds.has(actor.kind) ||
    typeof actor.actor !== 'string' ||
    !actor.actor.startsWith(`${actor.kind}:`) ||
    actor.actor.length > 200
  ) {
    throw new CredentialStoreError('invalid_argument', 'the audit actor must be credential:<id> or cli:<user>, at most 200 characters');
  }
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  if (actor.address !== null && (typeof actor.address !== 'string' || actor.address.length === 0 || actor.address.length > 64)) {
    throw new CredentialStoreError('invalid_argument', 'the audit address must be null or 1-64 characters');
  }
  if (!auditActions.has(action)) throw new CredentialStoreError('invalid_argument', 'unknown audit action');
  if (target !== null && (typeof target !== 'string' || target.length === 0 || target.length > 200)) {
    throw new CredentialStoreError('invalid_argument', 'the audit target must be null or 1-200 characters');
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the store's boundary: a caller's details are checked here
  const json = JSON.stringify(details ?? {});
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- as above
  if (typeof details !== 'object' || details === null || Array.isArray(details) || json.length > 4096) {
    throw new CredentialStoreError('invalid_argument', 'audit details must be a JSON object of at most 4096 characters');
  }
  if (looksSecret(json) || looksSecret(actor.actor) || (target !== null && looksSecret(target))) {
    throw new CredentialStoreError('invalid_argument', 'an audit entry must never hold a secret');
  }
  return { at, actor: actor.actor, actor_kind: actor.kind, action, target, address: actor.address, details: json };
}

/** An audit row as the contract shows it. */
export function toAuditEntry(row: AuditDbRow): AuditEntry {
  let details: AuditDetails = {};
  try {
    const parsed: unknown = JSON.parse(row.details);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) details = parsed as AuditDetails;
  } catch {
    // The table checks the JSON; an unreadable value is shown as no details rather than failing the listing.
  }
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    actorKind: row.actor_kind as AuditEntry['actorKind'],
    action: row.action,
    target: row.target,
    address: row.address,
    details,
  };
}

function auditQuery(filter: AuditFilter | undefined): { since: number | null; actor: string | null; action: string | null; limit: number } {
  const limit = filter?.limit ?? AUDIT_DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > AUDIT_MAX_LIMIT) {
    throw new CredentialStoreError('invalid_argument', `limit must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`);
  }
  const since = filter?.sinceMs ?? null;
  if (since !== null && !Number.isSafeInteger(since))
    throw new CredentialStoreError('invalid_argument', 'sinceMs must be epoch milliseconds');
  const text = (value: unknown, what: string): string | null => {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string' || value.length === 0 || value.length > 200)
      throw new CredentialStoreError('invalid_argument', `${what} must be 1-200 characters`);
    return value;
  };
  return { since, actor: text(filter?.actor, 'actor'), action: text(filter?.action, 'action'), limit };
}

/** The credential store over `backend`. Closing the store closes the backend. */
export function createCredentialStore(backend: StoreBackend, options: CoreStoreOptions = {}): CredentialStore {
  const now = options.now ?? Date.now;
  const retentionMs = options.changeRetentionMs ?? DEFAULT_CHANGE_RETENTION_MS;
  let closed = false;
  const listeners = new Set<ChangeListener>();

  /** Runs a read against the open backend, translating failures. */
  async function use<T>(what: string, fn: () => Promise<T> | T): Promise<T> {
    if (closed) throw new CredentialStoreError('unavailable', `${what}: the credential store is closed`);
    try {
      return await fn();
    } catch (error) {
      throw backend.translate(error, what);
    }
  }

  /**
   * Runs `fn` in one transaction; `fn` appends change rows with `append`. After the commit,
   * this instance's subscribers see the rows.
   */
  async function write<T>(what: string, fn: (tx: StoreWrites, append: Append) => Promise<T>): Promise<T> {
    const appended: ChangeRow[] = [];
    const result = await use(what, () =>
      backend.transaction(async (tx) => {
        appended.length = 0;
        const append: Append = async (kind, target, at) => {
          const change = toChangeRow(await tx.appendChange(kind, target, at));
          if (change !== undefined) appended.push(change);
        };
        const value = await fn(tx, append);
        if (appended.length > 0) await tx.pruneChanges(now() - retentionMs);
        return value;
      }),
    );
    if (appended.length > 0) notify(appended.slice());
    return result;
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
    name: row.name,
    scope: row.scope,
    disabled: row.disabled_at !== null,
    createdAt: iso(row.created_at),
    disabledAt: isoOrNull(row.disabled_at),
  });
  const graceOrNull = (until: number | null): string | null => (until !== null && until > now() ? iso(until) : null);
  const toDeprecation = (row: {
    deprecated_since: number | null;
    sunset_at: number | null;
    deprecation_link: string | null;
  }): DeprecationRecord | null =>
    row.deprecated_since === null || row.sunset_at === null
      ? null
      : { since: iso(row.deprecated_since), sunset: iso(row.sunset_at), link: row.deprecation_link };
  const toVerificationDeprecation = (row: {
    deprecated_since: number | null;
    sunset_at: number | null;
    deprecation_link: string | null;
  }): VerificationDeprecation | null =>
    row.deprecated_since === null || row.sunset_at === null
      ? null
      : { since: row.deprecated_since, sunset: row.sunset_at, link: row.deprecation_link };
  const toToken = (row: TokenRow): TokenRecord => ({
    id: row.id,
    label: row.label,
    scope: row.scope,
    account: row.account,
    createdAt: iso(row.created_at),
    expiresAt: isoOrNull(row.expires_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at),
    rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
    previousSecretLastUsedAt: isoOrNull(row.prev_last_used_at),
    owner: Boolean(row.owner),
    deprecation: toDeprecation(row),
  });
  const toClient = (row: ClientRow): ClientRecord => ({
    clientId: row.id,
    name: row.name,
    scope: row.scope,
    orgId: row.org_id,
    technicalAccountId: row.technical_account_id,
    createdAt: iso(row.created_at),
    lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at),
    rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
    previousSecretLastUsedAt: isoOrNull(row.prev_last_used_at),
    deprecation: toDeprecation(row),
  });
  const toSigningKey = (row: SigningKeyRow): SigningKeyRecord => ({
    kid: row.kid,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    privateJwk: row.private_jwk === null ? null : (JSON.parse(row.private_jwk) as JWK),
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  });

  async function requireNewKey(tx: StoreWrites, key: NewSigningKey): Promise<NewSigningKey> {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- a store method is a boundary: a caller's JSON is checked here, whatever its type says */
    if (typeof key?.kid !== 'string' || !KID_SHAPE.test(key.kid))
      throw new CredentialStoreError('invalid_argument', 'kid must be 1-128 base64url characters');
    if (key.alg !== 'ES256' && key.alg !== 'EdDSA') throw new CredentialStoreError('invalid_argument', 'alg must be ES256 or EdDSA');
    if (typeof key.publicJwk !== 'object' || key.publicJwk === null || 'd' in key.publicJwk) {
      throw new CredentialStoreError('invalid_argument', 'publicJwk must be a public JWK');
    }
    if (typeof key.privateJwk !== 'object' || key.privateJwk === null || typeof key.privateJwk.d !== 'string') {
      throw new CredentialStoreError('invalid_argument', 'privateJwk must be a private JWK');
    }
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
    if ((await tx.signingKey(key.kid)) !== undefined)
      throw new CredentialStoreError('invalid_argument', `a signing key with kid ${key.kid} exists`);
    return key;
  }
  async function insertKey(tx: StoreWrites, key: NewSigningKey, at: number): Promise<SigningKeyRecord> {
    await tx.insertSigningKey({
      kid: key.kid,
      alg: key.alg,
      publicJwk: JSON.stringify(key.publicJwk),
      privateJwk: JSON.stringify(key.privateJwk),
      createdAt: at,
    });
    const row = await tx.signingKey(key.kid);
    if (row === undefined) throw new CredentialStoreError('unavailable', 'the signing key just stored cannot be read back');
    return toSigningKey(row);
  }

  async function existingAccount(tx: StoreWrites, name: string): Promise<AccountRow> {
    const row = typeof name === 'string' ? await tx.account(name) : undefined;
    if (row === undefined) throw new CredentialStoreError('not_found', `no account named ${name}`);
    return row;
  }
  async function existingToken(tx: StoreWrites, id: string): Promise<TokenRow> {
    const row = typeof id === 'string' ? await tx.token(id) : undefined;
    if (row === undefined) throw new CredentialStoreError('not_found', `no token with id ${shownId(id, isTokenId)}`);
    return row;
  }
  async function existingClient(tx: StoreWrites, id: string): Promise<ClientRow> {
    const row = typeof id === 'string' ? await tx.client(id) : undefined;
    if (row === undefined) throw new CredentialStoreError('not_found', `no client with id ${shownId(id, isClientId)}`);
    return row;
  }
  /** A deprecation to store, checked: real instants, since before sunset, a link a header can carry. */
  function requireDeprecation(input: NewDeprecation, at: number): DeprecationRow {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the store's boundary: a caller's input is checked here
    const sunset = input?.sunset instanceof Date ? input.sunset.getTime() : NaN;
    if (!Number.isFinite(sunset)) throw new CredentialStoreError('invalid_argument', 'sunset must be a valid date and time');
    const since = input.since === undefined ? Math.min(at, sunset - 1) : input.since instanceof Date ? input.since.getTime() : NaN;
    if (!Number.isFinite(since)) throw new CredentialStoreError('invalid_argument', 'since must be a valid date and time');
    if (since >= sunset) throw new CredentialStoreError('invalid_argument', 'the sunset must be after "since"');
    const link = input.link ?? null;
    if (link !== null) {
      const problem = typeof link === 'string' ? deprecationLinkProblem(link) : 'expected a URL';
      if (problem !== undefined) throw new CredentialStoreError('invalid_argument', `link: ${problem}`);
    }
    return { since, sunset, link };
  }
  function refuseRevoked(row: { revoked_at: number | null }, what: string): void {
    if (row.revoked_at !== null) throw new CredentialStoreError('revoked', `${what} is revoked; revocation is permanent`);
  }
  /** Appends the audit entry of a change in the change's own transaction (nothing without an actor). */
  async function record(
    tx: StoreWrites,
    actor: AuditActor | undefined,
    action: AuditAction,
    target: string | null,
    details: AuditDetails,
    at = now(),
  ): Promise<void> {
    if (actor !== undefined) await tx.appendAudit(auditRow(actor, action, target, details, at));
  }
  const unchanged = (changed: boolean): AuditDetails => (changed ? {} : { unchanged: true });
  const deprecationDetails = (row: DeprecationRow | null): AuditDetails =>
    row === null ? {} : { since: iso(row.since), sunset: iso(row.sunset), link: row.link };

  const store: CredentialStore = {
    accounts: {
      create: (name, scope, audit) =>
        write('creating an account', async (tx) => {
          const account = requireAccountName(name);
          const accountScope = requireScope(scope);
          if ((await tx.account(account)) !== undefined) {
            throw new CredentialStoreError('conflict', `an account named ${account} already exists`);
          }
          const at = now();
          await tx.insertAccount(account, accountScope, at);
          await record(tx, audit, AUDIT_ACTIONS.accountCreate, account, { scope: accountScope }, at);
          return toAccount(await existingAccount(tx, account));
        }),
      list: () => use('listing accounts', async () => (await backend.accounts()).map(toAccount)),
      get: (name) =>
        use('reading an account', async () => {
          const row = typeof name === 'string' ? await backend.account(name) : undefined;
          return row === undefined ? undefined : toAccount(row);
        }),
      setScope: (name, scope, audit) =>
        write('changing an account scope', async (tx, append) => {
          const newScope = requireScope(scope);
          const row = await existingAccount(tx, name);
          const at = now();
          if (row.scope !== newScope) {
            await tx.setAccountScope(row.name, newScope);
            await append(ACCOUNT_CHANGE_KINDS.accountScopeChanged, row.name, at);
          }
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.accountSetScope,
            row.name,
            { scope: newScope, previousScope: row.scope, ...unchanged(row.scope !== newScope) },
            at,
          );
          return toAccount(await existingAccount(tx, row.name));
        }),
      disable: (name, audit) =>
        write('disabling an account', async (tx, append) => {
          const row = await existingAccount(tx, name);
          const at = now();
          if (row.disabled_at === null) {
            await tx.disableAccount(row.name, at);
            await append(ACCOUNT_CHANGE_KINDS.accountDisabled, row.name, at);
          }
          await record(tx, audit, AUDIT_ACTIONS.accountDisable, row.name, unchanged(row.disabled_at === null), at);
          return toAccount(await existingAccount(tx, row.name));
        }),
      enable: (name, audit) =>
        write('enabling an account', async (tx, append) => {
          const row = await existingAccount(tx, name);
          const at = now();
          if (row.disabled_at !== null) {
            await tx.enableAccount(row.name);
            await append(ACCOUNT_CHANGE_KINDS.accountEnabled, row.name, at);
          }
          await record(tx, audit, AUDIT_ACTIONS.accountEnable, row.name, unchanged(row.disabled_at !== null), at);
          return toAccount(await existingAccount(tx, row.name));
        }),
    },

    tokens: {
      create: (input: NewToken, audit) =>
        write('creating a token', async (tx): Promise<IssuedToken> => {
          const createdAt = now();
          const label = requireText('label', input.label);
          const scope = requireScope(input.scope);
          const expiresAt = optionalFutureTime(input.expiresAt, createdAt);
          let account: string | null = null;
          if (input.account !== undefined && input.account !== null) {
            const row = await existingAccount(tx, requireAccountName(input.account));
            if (row.disabled_at !== null) throw new CredentialStoreError('disabled', `account ${row.name} is disabled`);
            account = row.name;
          }
          const owner = input.owner === true;
          if (owner && account === null) throw new CredentialStoreError('invalid_argument', 'an owner token needs an account');
          // An owner manages tokens; an admin-scope owner would also pass every admin-only check.
          if (owner && scope === 'admin')
            throw new CredentialStoreError('invalid_argument', 'an owner token is read-only or read-write, never admin');
          const id = generateTokenId();
          const token = generateApiToken();
          await tx.insertToken({ id, label, scope, account, secretHash: hashSecret(token), createdAt, expiresAt, owner });
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.tokenCreate,
            id,
            { label, scope, account, expiresAt: isoOrNull(expiresAt), ...(owner ? { owner } : {}) },
            createdAt,
          );
          return { record: toToken(await existingToken(tx, id)), token };
        }),
      list: (filter) => use('listing tokens', async () => (await backend.tokens(filter?.account)).map(toToken)),
      get: (id) =>
        use('reading a token', async () => {
          const row = typeof id === 'string' ? await backend.token(id) : undefined;
          return row === undefined ? undefined : toToken(row);
        }),
      idBySecretHash: (hash) => use('looking up a token by its secret', async () => (await backend.tokenByHash(hash))?.id),
      revoke: (id, audit) =>
        write('revoking a token', async (tx, append) => {
          const row = await existingToken(tx, id);
          const at = now();
          if (row.revoked_at === null) {
            await tx.revokeToken(row.id, at);
            await append(CREDENTIAL_CHANGE_KINDS.tokenRevoked, row.id, at);
          }
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.tokenRevoke,
            row.id,
            { label: row.label, account: row.account, ...unchanged(row.revoked_at === null) },
            at,
          );
          return toToken(await existingToken(tx, row.id));
        }),
      rotate: (id, graceMs, audit) =>
        write('rotating a token', async (tx, append): Promise<IssuedToken> => {
          const grace = requireGraceMs(graceMs);
          const row = await existingToken(tx, id);
          refuseRevoked(row, `token ${row.id}`);
          const at = now();
          const token = generateApiToken();
          await tx.rotateToken(row.id, hashSecret(token), at, grace > 0 ? at + grace : null);
          await append(CREDENTIAL_CHANGE_KINDS.tokenRotated, row.id, at);
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.tokenRotate,
            row.id,
            { label: row.label, account: row.account, graceMs: grace, previousSecretValidUntil: grace > 0 ? iso(at + grace) : null },
            at,
          );
          return { record: toToken(await existingToken(tx, row.id)), token };
        }),
      setExpiry: (id, expiresAt, audit) =>
        write('changing a token expiry', async (tx, append) => {
          const row = await existingToken(tx, id);
          refuseRevoked(row, `token ${row.id}`);
          const at = now();
          const expiry = optionalFutureTime(expiresAt, at);
          if (expiry !== row.expires_at) {
            await tx.setTokenExpiry(row.id, expiry);
            await append(CREDENTIAL_CHANGE_KINDS.tokenExpiryChanged, row.id, at);
          }
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.tokenSetExpiry,
            row.id,
            { expiresAt: isoOrNull(expiry), previousExpiresAt: isoOrNull(row.expires_at), ...unchanged(expiry !== row.expires_at) },
            at,
          );
          return toToken(await existingToken(tx, row.id));
        }),
      setDeprecation: (id, deprecation, audit) =>
        write('deprecating a token', async (tx, append) => {
          const row = await existingToken(tx, id);
          refuseRevoked(row, `token ${row.id}`);
          const at = now();
          const stored = deprecation === null ? null : requireDeprecation(deprecation, at);
          await tx.setTokenDeprecation(row.id, stored);
          await append(CREDENTIAL_CHANGE_KINDS.tokenDeprecated, row.id, at);
          await record(
            tx,
            audit,
            stored === null ? AUDIT_ACTIONS.tokenUndeprecate : AUDIT_ACTIONS.tokenDeprecate,
            row.id,
            deprecationDetails(stored),
            at,
          );
          return toToken(await existingToken(tx, row.id));
        }),
    },

    clients: {
      create: (input: NewClient, audit) =>
        write('creating a client', async (tx): Promise<IssuedClient> => {
          const name = requireText('name', input.name);
          const scope = requireScope(input.scope);
          const orgId = optionalText('orgId', input.orgId);
          const technicalAccountId = optionalText('technicalAccountId', input.technicalAccountId);
          const clientId = generateClientId();
          const clientSecret = generateClientSecret();
          const at = now();
          await tx.insertClient({
            id: clientId,
            name,
            scope,
            orgId,
            technicalAccountId,
            secretHash: hashSecret(clientSecret),
            createdAt: at,
          });
          await record(tx, audit, AUDIT_ACTIONS.clientCreate, clientId, { name, scope, orgId, technicalAccountId }, at);
          return { record: toClient(await existingClient(tx, clientId)), clientSecret };
        }),
      list: () => use('listing clients', async () => (await backend.clients()).map(toClient)),
      get: (clientId) =>
        use('reading a client', async () => {
          const row = typeof clientId === 'string' ? await backend.client(clientId) : undefined;
          return row === undefined ? undefined : toClient(row);
        }),
      idBySecretHash: (hash) => use('looking up a client by its secret', () => backend.clientIdByHash(hash)),
      revoke: (clientId, audit) =>
        write('revoking a client', async (tx, append) => {
          const row = await existingClient(tx, clientId);
          const at = now();
          if (row.revoked_at === null) {
            await tx.revokeClient(row.id, at);
            await append(CREDENTIAL_CHANGE_KINDS.clientRevoked, row.id, at);
          }
          await record(tx, audit, AUDIT_ACTIONS.clientRevoke, row.id, { name: row.name, ...unchanged(row.revoked_at === null) }, at);
          return toClient(await existingClient(tx, row.id));
        }),
      rotateSecret: (clientId, graceMs, audit) =>
        write('rotating a client secret', async (tx, append): Promise<IssuedClient> => {
          const grace = requireGraceMs(graceMs);
          const row = await existingClient(tx, clientId);
          refuseRevoked(row, `client ${row.id}`);
          const at = now();
          const clientSecret = generateClientSecret();
          await tx.rotateClient(row.id, hashSecret(clientSecret), at, grace > 0 ? at + grace : null);
          await append(CREDENTIAL_CHANGE_KINDS.clientSecretRotated, row.id, at);
          await record(
            tx,
            audit,
            AUDIT_ACTIONS.clientRotateSecret,
            row.id,
            { name: row.name, graceMs: grace, previousSecretValidUntil: grace > 0 ? iso(at + grace) : null },
            at,
          );
          return { record: toClient(await existingClient(tx, row.id)), clientSecret };
        }),
      setDeprecation: (clientId, deprecation, audit) =>
        write('deprecating a client', async (tx, append) => {
          const row = await existingClient(tx, clientId);
          refuseRevoked(row, `client ${row.id}`);
          const at = now();
          const stored = deprecation === null ? null : requireDeprecation(deprecation, at);
          await tx.setClientDeprecation(row.id, stored);
          await append(CREDENTIAL_CHANGE_KINDS.clientDeprecated, row.id, at);
          await record(
            tx,
            audit,
            stored === null ? AUDIT_ACTIONS.clientUndeprecate : AUDIT_ACTIONS.clientDeprecate,
            row.id,
            deprecationDetails(stored),
            at,
          );
          return toClient(await existingClient(tx, row.id));
        }),
    },

    signingKeys: {
      list: () => use('listing signing keys', async () => (await backend.signingKeys()).map(toSigningKey)),
      ensureActive: (candidate) =>
        write('storing the first signing key', async (tx, append) => {
          const active = await tx.activeSigningKey();
          if (active !== undefined) return toSigningKey(active);
          const at = now();
          const record = await insertKey(tx, await requireNewKey(tx, candidate), at);
          await append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, record.kid, at);
          return record;
        }),
      rotate: (next, audit) =>
        write('rotating the signing key', async (tx, append) => {
          const key = await requireNewKey(tx, next);
          const at = now();
          const previous = await tx.activeSigningKey();
          if (previous !== undefined) await tx.retireSigningKey(previous.kid, at);
          const active = await insertKey(tx, key, at);
          await append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, active.kid, at);
          const retired = previous === undefined ? undefined : await tx.signingKey(previous.kid);
          await record(tx, audit, AUDIT_ACTIONS.signingKeyRotate, active.kid, { alg: active.alg, retiredKid: previous?.kid ?? null }, at);
          return { active, retired: retired === undefined ? null : toSigningKey(retired) };
        }),
      replacePrivate: (kid, privateJwk, audit) =>
        write('re-encrypting the signing key', async (tx) => {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a store method is a boundary: the caller's JSON is checked here
          if (typeof privateJwk !== 'object' || privateJwk === null || typeof privateJwk.d !== 'string' || privateJwk.kid !== kid) {
            throw new CredentialStoreError('invalid_argument', 'privateJwk must be the private JWK of that key');
          }
          if (!(await tx.replaceSigningKeyPrivate(kid, JSON.stringify(privateJwk)))) {
            throw new CredentialStoreError('not_found', `no active signing key with kid ${kid}`);
          }
          await record(tx, audit, AUDIT_ACTIONS.signingKeyRekey, kid, {});
          const row = await tx.signingKey(kid);
          if (row === undefined) throw new CredentialStoreError('unavailable', 'the signing key just stored cannot be read back');
          return toSigningKey(row);
        }),
    },

    accessTokens: {
      revoke: (jti, clientId, expiresAt) =>
        write('revoking an access token', async (tx, append) => {
          if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128)
            throw new CredentialStoreError('invalid_argument', 'jti must be 1-128 characters');
          if (typeof clientId !== 'string' || clientId.length === 0)
            throw new CredentialStoreError('invalid_argument', 'clientId is required');
          if (!Number.isSafeInteger(expiresAt)) throw new CredentialStoreError('invalid_argument', 'expiresAt must be epoch milliseconds');
          const at = now();
          if (await tx.insertRevokedAccessToken(jti, clientId, expiresAt, at)) {
            await append(CREDENTIAL_CHANGE_KINDS.accessTokenRevoked, jti, at);
            await tx.pruneRevokedAccessTokens(at - REVOKED_ACCESS_TOKEN_RETENTION_MS);
          }
        }),
      isRevoked: (jti) => use('looking up an access token revocation', () => backend.isAccessTokenRevoked(jti)),
    },

    sessions: {
      open: (idHash, credentialId, idleBefore) =>
        write('opening a console session', async (tx) => {
          requireHash(idHash);
          await tx.pruneSessions(idleBefore);
          await tx.insertSession(idHash, credentialId, now());
        }),
      use: (idHash, idleBefore) =>
        use('reading a console session', async (): Promise<SessionRecord | undefined> => {
          requireHash(idHash);
          const row = await backend.session(idHash);
          if (row === undefined || row.last_seen_at < idleBefore) return undefined;
          const at = now();
          // One write per second at most per session: the idle clock needs no finer grain.
          if (at - row.last_seen_at >= SESSION_TOUCH_GRAIN_MS) await backend.transaction((tx) => tx.touchSession(idHash, at));
          return { credentialId: row.credential_id, createdAt: row.created_at, lastSeenAt: Math.max(at, row.last_seen_at) };
        }),
      end: (idHash) =>
        write('ending a console session', async (tx) => {
          requireHash(idHash);
          await tx.deleteSession(idHash);
        }),
    },

    findTokenByHash: (hash) =>
      use('looking up a token', async (): Promise<TokenVerificationRecord | undefined> => {
        const row = await backend.tokenByHash(hash);
        if (row === undefined) return undefined;
        return {
          id: row.id,
          scope: row.scope,
          secretHash: row.secret_hash,
          previousSecretHash: row.prev_secret_hash,
          previousValidUntil: row.prev_valid_until,
          expiresAt: row.expires_at,
          revokedAt: row.revoked_at,
          account:
            row.account_name === null || row.account_scope === null
              ? null
              : { name: row.account_name, scope: row.account_scope, disabled: row.account_disabled_at !== null },
          owner: Boolean(row.owner),
          deprecation: toVerificationDeprecation(row),
        };
      }),
    findClientById: (clientId) =>
      use('looking up a client', async (): Promise<ClientVerificationRecord | undefined> => {
        if (typeof clientId !== 'string') return undefined;
        const row = await backend.clientAuth(clientId);
        if (row === undefined) return undefined;
        return {
          clientId: row.id,
          scope: row.scope,
          orgId: row.org_id,
          technicalAccountId: row.technical_account_id,
          secretHash: row.secret_hash,
          previousSecretHash: row.prev_secret_hash,
          previousValidUntil: row.prev_valid_until,
          revokedAt: row.revoked_at,
          rotatedAt: row.rotated_at,
          deprecation: toVerificationDeprecation(row),
        };
      }),
    recordLastUsed: (batch) => {
      if (batch.size === 0) return use('recording last use', () => undefined);
      return write('recording last use', async (tx) => {
        for (const [key, at] of batch) {
          const previous = key.endsWith(PREVIOUS_SECRET_SUFFIX);
          const id = previous ? key.slice(0, -PREVIOUS_SECRET_SUFFIX.length) : key;
          if (id.startsWith('tok_')) {
            await tx.recordTokenLastUsed(id, at);
            if (previous) await tx.recordTokenPreviousLastUsed(id, at);
          } else if (id.startsWith('cli_')) {
            await tx.recordClientLastUsed(id, at);
            if (previous) await tx.recordClientPreviousLastUsed(id, at);
          }
        }
      });
    },

    changesSince: (afterSeq, limit = 1000) =>
      use('reading the change feed', async () => {
        const rows: ChangeRow[] = [];
        for (const row of await backend.changesSince(afterSeq, limit)) {
          const change = toChangeRow(row);
          if (change !== undefined) rows.push(change);
        }
        return rows;
      }),
    latestChangeSeq: () => use('reading the change feed', () => backend.latestSeq()),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    ...(backend.notifier === undefined ? {} : { notifier: backend.notifier }),

    countActive: () =>
      use('counting active credentials', async () => {
        const { tokens, clients } = await backend.countActive(now());
        return { api_token: tokens, oauth_client: clients };
      }),
    appendAudit: (entry) =>
      write('recording an audit entry', async (tx) =>
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the store's boundary: a caller's entry is checked by auditRow
        toAuditEntry(await tx.appendAudit(auditRow(entry?.actor, entry?.action, entry?.target ?? null, entry?.details ?? {}, now()))),
      ),
    listAudit: (filter) =>
      use('reading the audit log', async () => {
        const query = auditQuery(filter);
        return (await backend.auditEntries(query)).map(toAuditEntry);
      }),
    ping: () => use('pinging the store', () => backend.ping()),
    close: async () => {
      if (!closed) {
        closed = true;
        listeners.clear();
        await backend.close();
      }
    },
  };
  return store;
}
