/**
 * The backend-neutral credential store: every rule of the store contract (store.ts) that is not
 * SQL, written once over a {@link StoreBackend} (SQLite, PostgreSQL). Input validation, permanent
 * revocation, disabled accounts, secret generation, the change feed rows each mutation appends,
 * change listeners and the public record shapes live here; a backend only reads and writes rows.
 * (The databases enforce the rules that matter a second time: see the migrations.)
 */
import type { JWK } from 'jose';
import {
  generateApiToken, generateClientId, generateClientSecret, generateTokenId, hashSecret, isClientId, isTokenId,
} from './secrets.js';
import type {
  AccountRow, ChangeDbRow, ClientRow, SigningKeyRow, StoreBackend, StoreWrites, TokenRow,
} from './store-backend.js';
import {
  ACCOUNT_CHANGE_KINDS, CREDENTIAL_CHANGE_KINDS, PREVIOUS_SECRET_SUFFIX,
  type AccountChangeKind, type AccountRecord, type ChangeListener, type ChangeRow, type ClientRecord,
  type ClientVerificationRecord, type CredentialChangeKind, type CredentialStore, type IssuedClient,
  type IssuedToken, type NewClient, type NewSigningKey, type NewToken,
  type SigningKeyRecord, type TokenRecord, type TokenVerificationRecord,
} from './store.js';
import { CredentialStoreError } from './store-error.js';
import {
  optionalFutureTime, optionalText, requireAccountName, requireGraceMs, requireScope, requireText,
} from './validate-input.js';

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
    const result = await use(what, () => backend.transaction(async (tx) => {
      appended.length = 0;
      const append: Append = async (kind, target, at) => {
        const change = toChangeRow(await tx.appendChange(kind, target, at));
        if (change !== undefined) appended.push(change);
      };
      const value = await fn(tx, append);
      if (appended.length > 0) await tx.pruneChanges(now() - retentionMs);
      return value;
    }));
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
    name: row.name, scope: row.scope, disabled: row.disabled_at !== null,
    createdAt: iso(row.created_at), disabledAt: isoOrNull(row.disabled_at),
  });
  const graceOrNull = (until: number | null): string | null => (until !== null && until > now() ? iso(until) : null);
  const toToken = (row: TokenRow): TokenRecord => ({
    id: row.id, label: row.label, scope: row.scope, account: row.account,
    createdAt: iso(row.created_at), expiresAt: isoOrNull(row.expires_at), lastUsedAt: isoOrNull(row.last_used_at),
    revokedAt: isoOrNull(row.revoked_at), rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
    previousSecretLastUsedAt: isoOrNull(row.prev_last_used_at),
  });
  const toClient = (row: ClientRow): ClientRecord => ({
    clientId: row.id, name: row.name, scope: row.scope, orgId: row.org_id, technicalAccountId: row.technical_account_id,
    createdAt: iso(row.created_at), lastUsedAt: isoOrNull(row.last_used_at), revokedAt: isoOrNull(row.revoked_at),
    rotatedAt: isoOrNull(row.rotated_at),
    previousSecretValidUntil: row.revoked_at === null ? graceOrNull(row.prev_valid_until) : null,
    previousSecretLastUsedAt: isoOrNull(row.prev_last_used_at),
  });
  const toSigningKey = (row: SigningKeyRow): SigningKeyRecord => ({
    kid: row.kid, alg: row.alg, publicJwk: JSON.parse(row.public_jwk) as JWK,
    privateJwk: row.private_jwk === null ? null : JSON.parse(row.private_jwk) as JWK,
    createdAt: row.created_at, retiredAt: row.retired_at,
  });

  async function requireNewKey(tx: StoreWrites, key: NewSigningKey): Promise<NewSigningKey> {
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- a store method is a boundary: a caller's JSON is checked here, whatever its type says */
    if (typeof key?.kid !== 'string' || !KID_SHAPE.test(key.kid)) throw new CredentialStoreError('invalid_argument', 'kid must be 1-128 base64url characters');
    if (key.alg !== 'ES256' && key.alg !== 'EdDSA') throw new CredentialStoreError('invalid_argument', 'alg must be ES256 or EdDSA');
    if (typeof key.publicJwk !== 'object' || key.publicJwk === null || 'd' in key.publicJwk) {
      throw new CredentialStoreError('invalid_argument', 'publicJwk must be a public JWK');
    }
    if (typeof key.privateJwk !== 'object' || key.privateJwk === null || typeof key.privateJwk.d !== 'string') {
      throw new CredentialStoreError('invalid_argument', 'privateJwk must be a private JWK');
    }
    /* eslint-enable @typescript-eslint/no-unnecessary-condition */
    if (await tx.signingKey(key.kid) !== undefined) throw new CredentialStoreError('invalid_argument', `a signing key with kid ${key.kid} exists`);
    return key;
  }
  async function insertKey(tx: StoreWrites, key: NewSigningKey, at: number): Promise<SigningKeyRecord> {
    await tx.insertSigningKey({
      kid: key.kid, alg: key.alg, publicJwk: JSON.stringify(key.publicJwk), privateJwk: JSON.stringify(key.privateJwk), createdAt: at,
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
  function refuseRevoked(row: { revoked_at: number | null }, what: string): void {
    if (row.revoked_at !== null) throw new CredentialStoreError('revoked', `${what} is revoked; revocation is permanent`);
  }

  const store: CredentialStore = {
    accounts: {
      create: (name, scope) => write('creating an account', async (tx) => {
        const account = requireAccountName(name);
        const accountScope = requireScope(scope);
        if (await tx.account(account) !== undefined) {
          throw new CredentialStoreError('conflict', `an account named ${account} already exists`);
        }
        await tx.insertAccount(account, accountScope, now());
        return toAccount(await existingAccount(tx, account));
      }),
      list: () => use('listing accounts', async () => (await backend.accounts()).map(toAccount)),
      get: (name) => use('reading an account', async () => {
        const row = typeof name === 'string' ? await backend.account(name) : undefined;
        return row === undefined ? undefined : toAccount(row);
      }),
      setScope: (name, scope) => write('changing an account scope', async (tx, append) => {
        const newScope = requireScope(scope);
        const row = await existingAccount(tx, name);
        if (row.scope !== newScope) {
          const at = now();
          await tx.setAccountScope(row.name, newScope);
          await append(ACCOUNT_CHANGE_KINDS.accountScopeChanged, row.name, at);
        }
        return toAccount(await existingAccount(tx, row.name));
      }),
      disable: (name) => write('disabling an account', async (tx, append) => {
        const row = await existingAccount(tx, name);
        if (row.disabled_at === null) {
          const at = now();
          await tx.disableAccount(row.name, at);
          await append(ACCOUNT_CHANGE_KINDS.accountDisabled, row.name, at);
        }
        return toAccount(await existingAccount(tx, row.name));
      }),
      enable: (name) => write('enabling an account', async (tx, append) => {
        const row = await existingAccount(tx, name);
        if (row.disabled_at !== null) {
          await tx.enableAccount(row.name);
          await append(ACCOUNT_CHANGE_KINDS.accountEnabled, row.name, now());
        }
        return toAccount(await existingAccount(tx, row.name));
      }),
    },

    tokens: {
      create: (input: NewToken) => write('creating a token', async (tx): Promise<IssuedToken> => {
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
        const id = generateTokenId();
        const token = generateApiToken();
        await tx.insertToken({ id, label, scope, account, secretHash: hashSecret(token), createdAt, expiresAt });
        return { record: toToken(await existingToken(tx, id)), token };
      }),
      list: (filter) => use('listing tokens', async () => (await backend.tokens(filter?.account)).map(toToken)),
      get: (id) => use('reading a token', async () => {
        const row = typeof id === 'string' ? await backend.token(id) : undefined;
        return row === undefined ? undefined : toToken(row);
      }),
      idBySecretHash: (hash) => use('looking up a token by its secret', async () => (await backend.tokenByHash(hash))?.id),
      revoke: (id) => write('revoking a token', async (tx, append) => {
        const row = await existingToken(tx, id);
        if (row.revoked_at === null) {
          const at = now();
          await tx.revokeToken(row.id, at);
          await append(CREDENTIAL_CHANGE_KINDS.tokenRevoked, row.id, at);
        }
        return toToken(await existingToken(tx, row.id));
      }),
      rotate: (id, graceMs) => write('rotating a token', async (tx, append): Promise<IssuedToken> => {
        const grace = requireGraceMs(graceMs);
        const row = await existingToken(tx, id);
        refuseRevoked(row, `token ${row.id}`);
        const at = now();
        const token = generateApiToken();
        await tx.rotateToken(row.id, hashSecret(token), at, grace > 0 ? at + grace : null);
        await append(CREDENTIAL_CHANGE_KINDS.tokenRotated, row.id, at);
        return { record: toToken(await existingToken(tx, row.id)), token };
      }),
      setExpiry: (id, expiresAt) => write('changing a token expiry', async (tx, append) => {
        const row = await existingToken(tx, id);
        refuseRevoked(row, `token ${row.id}`);
        const at = now();
        const expiry = optionalFutureTime(expiresAt, at);
        if (expiry !== row.expires_at) {
          await tx.setTokenExpiry(row.id, expiry);
          await append(CREDENTIAL_CHANGE_KINDS.tokenExpiryChanged, row.id, at);
        }
        return toToken(await existingToken(tx, row.id));
      }),
    },

    clients: {
      create: (input: NewClient) => write('creating a client', async (tx): Promise<IssuedClient> => {
        const name = requireText('name', input.name);
        const scope = requireScope(input.scope);
        const orgId = optionalText('orgId', input.orgId);
        const technicalAccountId = optionalText('technicalAccountId', input.technicalAccountId);
        const clientId = generateClientId();
        const clientSecret = generateClientSecret();
        await tx.insertClient({ id: clientId, name, scope, orgId, technicalAccountId, secretHash: hashSecret(clientSecret), createdAt: now() });
        return { record: toClient(await existingClient(tx, clientId)), clientSecret };
      }),
      list: () => use('listing clients', async () => (await backend.clients()).map(toClient)),
      get: (clientId) => use('reading a client', async () => {
        const row = typeof clientId === 'string' ? await backend.client(clientId) : undefined;
        return row === undefined ? undefined : toClient(row);
      }),
      idBySecretHash: (hash) => use('looking up a client by its secret', () => backend.clientIdByHash(hash)),
      revoke: (clientId) => write('revoking a client', async (tx, append) => {
        const row = await existingClient(tx, clientId);
        if (row.revoked_at === null) {
          const at = now();
          await tx.revokeClient(row.id, at);
          await append(CREDENTIAL_CHANGE_KINDS.clientRevoked, row.id, at);
        }
        return toClient(await existingClient(tx, row.id));
      }),
      rotateSecret: (clientId, graceMs) => write('rotating a client secret', async (tx, append): Promise<IssuedClient> => {
        const grace = requireGraceMs(graceMs);
        const row = await existingClient(tx, clientId);
        refuseRevoked(row, `client ${row.id}`);
        const at = now();
        const clientSecret = generateClientSecret();
        await tx.rotateClient(row.id, hashSecret(clientSecret), at, grace > 0 ? at + grace : null);
        await append(CREDENTIAL_CHANGE_KINDS.clientSecretRotated, row.id, at);
        return { record: toClient(await existingClient(tx, row.id)), clientSecret };
      }),
    },

    signingKeys: {
      list: () => use('listing signing keys', async () => (await backend.signingKeys()).map(toSigningKey)),
      ensureActive: (candidate) => write('storing the first signing key', async (tx, append) => {
        const active = await tx.activeSigningKey();
        if (active !== undefined) return toSigningKey(active);
        const at = now();
        const record = await insertKey(tx, await requireNewKey(tx, candidate), at);
        await append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, record.kid, at);
        return record;
      }),
      rotate: (next) => write('rotating the signing key', async (tx, append) => {
        const key = await requireNewKey(tx, next);
        const at = now();
        const previous = await tx.activeSigningKey();
        if (previous !== undefined) await tx.retireSigningKey(previous.kid, at);
        const active = await insertKey(tx, key, at);
        await append(CREDENTIAL_CHANGE_KINDS.signingKeyAdded, active.kid, at);
        const retired = previous === undefined ? undefined : await tx.signingKey(previous.kid);
        return { active, retired: retired === undefined ? null : toSigningKey(retired) };
      }),
      replacePrivate: (kid, privateJwk) => write('re-encrypting the signing key', async (tx) => {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a store method is a boundary: the caller's JSON is checked here
        if (typeof privateJwk !== 'object' || privateJwk === null || typeof privateJwk.d !== 'string' || privateJwk.kid !== kid) {
          throw new CredentialStoreError('invalid_argument', 'privateJwk must be the private JWK of that key');
        }
        if (!(await tx.replaceSigningKeyPrivate(kid, JSON.stringify(privateJwk)))) {
          throw new CredentialStoreError('not_found', `no active signing key with kid ${kid}`);
        }
        const row = await tx.signingKey(kid);
        if (row === undefined) throw new CredentialStoreError('unavailable', 'the signing key just stored cannot be read back');
        return toSigningKey(row);
      }),
    },

    accessTokens: {
      revoke: (jti, clientId, expiresAt) => write('revoking an access token', async (tx, append) => {
        if (typeof jti !== 'string' || jti.length === 0 || jti.length > 128) throw new CredentialStoreError('invalid_argument', 'jti must be 1-128 characters');
        if (typeof clientId !== 'string' || clientId.length === 0) throw new CredentialStoreError('invalid_argument', 'clientId is required');
        if (!Number.isSafeInteger(expiresAt)) throw new CredentialStoreError('invalid_argument', 'expiresAt must be epoch milliseconds');
        const at = now();
        if (await tx.insertRevokedAccessToken(jti, clientId, expiresAt, at)) {
          await append(CREDENTIAL_CHANGE_KINDS.accessTokenRevoked, jti, at);
          await tx.pruneRevokedAccessTokens(at - REVOKED_ACCESS_TOKEN_RETENTION_MS);
        }
      }),
      isRevoked: (jti) => use('looking up an access token revocation', () => backend.isAccessTokenRevoked(jti)),
    },

    findTokenByHash: (hash) => use('looking up a token', async (): Promise<TokenVerificationRecord | undefined> => {
      const row = await backend.tokenByHash(hash);
      if (row === undefined) return undefined;
      return {
        id: row.id, scope: row.scope, secretHash: row.secret_hash, previousSecretHash: row.prev_secret_hash,
        previousValidUntil: row.prev_valid_until, expiresAt: row.expires_at, revokedAt: row.revoked_at,
        account: row.account_name === null || row.account_scope === null ? null
          : { name: row.account_name, scope: row.account_scope, disabled: row.account_disabled_at !== null },
      };
    }),
    findClientById: (clientId) => use('looking up a client', async (): Promise<ClientVerificationRecord | undefined> => {
      if (typeof clientId !== 'string') return undefined;
      const row = await backend.clientAuth(clientId);
      if (row === undefined) return undefined;
      return {
        clientId: row.id, scope: row.scope, orgId: row.org_id, technicalAccountId: row.technical_account_id,
        secretHash: row.secret_hash, previousSecretHash: row.prev_secret_hash,
        previousValidUntil: row.prev_valid_until, revokedAt: row.revoked_at, rotatedAt: row.rotated_at,
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

    changesSince: (afterSeq, limit = 1000) => use('reading the change feed', async () => {
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
      return () => { listeners.delete(listener); };
    },
    ...(backend.notifier === undefined ? {} : { notifier: backend.notifier }),

    countActive: () => use('counting active credentials', async () => {
      const { tokens, clients } = await backend.countActive(now());
      return { api_token: tokens, oauth_client: clients };
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
