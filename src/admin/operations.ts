/**
 * The credential administration operations of SPEC §6, written once and shared by the
 * `portcullis accounts|tokens|clients` commands and the admin API. Each takes validated plain
 * input and returns the JSON shape both print; the secret appears only in create/rotate results.
 */
import {
  clientJson, type ClientJson, type CredentialStore, isScope, type Scope, tokenJson, type TokenJson,
} from '../credentials/index.js';
import { hashSecret, isWellFormedApiToken, isWellFormedClientSecret } from '../credentials/secrets.js';
import type { AccountRecord, NewClient, NewDeprecation, NewToken } from '../credentials/store.js';
import { INSTANT_PATTERN } from '../config/schema.js';
import { CredentialStoreError } from '../credentials/store-error.js';
import { parseDuration } from '../config/durations.js';

/** An account as JSON (SPEC §6: camelCase). */
export interface AccountJson {
  readonly name: string;
  readonly scope: Scope;
  readonly disabled: boolean;
  readonly createdAt: string;
  readonly disabledAt: string | null;
}

function accountJson(record: AccountRecord): AccountJson {
  return { name: record.name, scope: record.scope, disabled: record.disabled, createdAt: record.createdAt, disabledAt: record.disabledAt };
}

/** A bad input, detected before the store is touched. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}

export function requireScope(value: unknown, what = 'scope'): Scope {
  if (!isScope(value)) throw new InvalidInputError(`${what} must be one of read-only, read-write, admin`);
  return value;
}

export function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidInputError(`${what} is required`);
  return value;
}

function optionalText(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidInputError(`${what} must be a string`);
  return value;
}

function optionalMs(value: unknown, what: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidInputError(`${what} must be a duration`);
  return value;
}

/** The store's token input, with a lifetime instead of an instant. */
export interface TokenCreateInput extends Omit<NewToken, 'expiresAt' | 'account'> {
  readonly account?: string | undefined;
  /** Lifetime in ms; omitted: the configured default expiry, if any. */
  readonly expiresInMs?: number | undefined;
}

/** The store's client input as it is. */
export type ClientCreateInput = NewClient;

export interface AdminOperations {
  accountsCreate(name: string, scope: Scope): Promise<AccountJson>;
  accountsList(): Promise<AccountJson[]>;
  accountsSetScope(name: string, scope: Scope): Promise<AccountJson>;
  accountsDisable(name: string): Promise<AccountJson>;
  accountsEnable(name: string): Promise<AccountJson>;
  tokensCreate(input: TokenCreateInput): Promise<TokenJson>;
  tokensList(account?: string): Promise<TokenJson[]>;
  tokensRevoke(id: string): Promise<TokenJson>;
  /** Revokes the token that has `secret` (current or previous); never echoes it. */
  tokensRevokeBySecret(secret: string): Promise<TokenJson>;
  tokensRotate(id: string, graceMs?: number): Promise<TokenJson>;
  clientsCreate(input: ClientCreateInput): Promise<ClientJson>;
  clientsList(): Promise<ClientJson[]>;
  clientsRevoke(clientId: string): Promise<ClientJson>;
  /** Revokes the client that has `secret` (current or previous); never echoes it. */
  clientsRevokeBySecret(secret: string): Promise<ClientJson>;
  clientsRotateSecret(clientId: string, graceMs?: number): Promise<ClientJson>;
  /** Marks a token deprecated with a sunset; null: no longer deprecated. */
  tokensDeprecate(id: string, deprecation: NewDeprecation | null): Promise<TokenJson>;
  clientsDeprecate(clientId: string, deprecation: NewDeprecation | null): Promise<ClientJson>;
  /**
   * Every deprecated token and client that is not revoked, most recently used first (never used:
   * last), so a team sees whom to call before the sunset.
   */
  deprecationsList(): Promise<DeprecatedCredentialJson[]>;
}

/** One row of `portcullis deprecations list --json` and `GET /v1/deprecations`. */
export interface DeprecatedCredentialJson {
  readonly kind: 'token' | 'client';
  /** The token id or client id (never a secret). */
  readonly id: string;
  /** The token's label or the client's name. */
  readonly name: string;
  /** The token's account, or the client's org id; null for none. */
  readonly owner: string | null;
  readonly since: string;
  readonly sunset: string;
  readonly link: string | null;
  readonly lastUsedAt: string | null;
  /** Whether the sunset has passed (the credential is refused). */
  readonly pastSunset: boolean;
}

export function createAdminOperations(store: CredentialStore, defaults: { tokenExpiryMs: number | undefined }): AdminOperations {
  return {
    accountsCreate: async (name, scope) => accountJson(await store.accounts.create(name, scope)),
    accountsList: async () => (await store.accounts.list()).map(accountJson),
    accountsSetScope: async (name, scope) => accountJson(await store.accounts.setScope(name, scope)),
    accountsDisable: async (name) => accountJson(await store.accounts.disable(name)),
    accountsEnable: async (name) => accountJson(await store.accounts.enable(name)),
    async tokensCreate(input) {
      const lifetime = input.expiresInMs ?? defaults.tokenExpiryMs;
      const issued = await store.tokens.create({
        label: input.label,
        scope: input.scope,
        account: input.account ?? null,
        expiresAt: lifetime === undefined ? null : new Date(Date.now() + lifetime),
      });
      return tokenJson(issued);
    },
    tokensList: async (account) => (await store.tokens.list(account === undefined ? undefined : { account })).map((r) => tokenJson(r)),
    tokensRevoke: async (id) => tokenJson(await store.tokens.revoke(id)),
    async tokensRevokeBySecret(secret) {
      if (!isWellFormedApiToken(secret)) {
        throw new InvalidInputError(`the secret read is not an API token (pcl_ and 49 characters${isWellFormedClientSecret(secret) ? '; it is a client secret: use clients revoke --secret -' : ''})`);
      }
      const id = await store.tokens.idBySecretHash(hashSecret(secret));
      if (id === undefined) throw new CredentialStoreError('not_found', 'no token has this secret (in this store)');
      return tokenJson(await store.tokens.revoke(id));
    },
    tokensRotate: async (id, graceMs) => tokenJson(await store.tokens.rotate(id, graceMs)),
    clientsCreate: async (input) => clientJson(await store.clients.create(input)),
    clientsList: async () => (await store.clients.list()).map((r) => clientJson(r)),
    clientsRevoke: async (clientId) => clientJson(await store.clients.revoke(clientId)),
    async clientsRevokeBySecret(secret) {
      if (!isWellFormedClientSecret(secret)) {
        throw new InvalidInputError(`the secret read is not a client secret (pcs_ and 49 characters${isWellFormedApiToken(secret) ? '; it is an API token: use tokens revoke --secret -' : ''})`);
      }
      const id = await store.clients.idBySecretHash(hashSecret(secret));
      if (id === undefined) throw new CredentialStoreError('not_found', 'no client has this secret (in this store)');
      return clientJson(await store.clients.revoke(id));
    },
    clientsRotateSecret: async (clientId, graceMs) => clientJson(await store.clients.rotateSecret(clientId, graceMs)),
    tokensDeprecate: async (id, deprecation) => tokenJson(await store.tokens.setDeprecation(id, deprecation)),
    clientsDeprecate: async (clientId, deprecation) => clientJson(await store.clients.setDeprecation(clientId, deprecation)),
    async deprecationsList() {
      const now = Date.now();
      const rows: DeprecatedCredentialJson[] = [];
      for (const t of await store.tokens.list()) {
        if (t.deprecation === null || t.revokedAt !== null) continue;
        rows.push({ kind: 'token', id: t.id, name: t.label, owner: t.account, ...t.deprecation, lastUsedAt: t.lastUsedAt, pastSunset: Date.parse(t.deprecation.sunset) <= now });
      }
      for (const c of await store.clients.list()) {
        if (c.deprecation === null || c.revokedAt !== null) continue;
        rows.push({ kind: 'client', id: c.clientId, name: c.name, owner: c.orgId, ...c.deprecation, lastUsedAt: c.lastUsedAt, pastSunset: Date.parse(c.deprecation.sunset) <= now });
      }
      // ISO-8601 UTC strings sort as their instants.
      return rows.sort((a, b) => (b.lastUsedAt ?? '').localeCompare(a.lastUsedAt ?? '') || a.sunset.localeCompare(b.sunset) || a.id.localeCompare(b.id));
    },
  };
}

/** An RFC 3339 instant given by a user, or InvalidInputError naming the field. */
export function instantInput(value: unknown, what: string): Date {
  if (typeof value !== 'string' || !INSTANT_PATTERN.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidInputError(`${what} must be an RFC 3339 instant with its offset, such as 2027-03-01T00:00:00Z`);
  }
  return new Date(value);
}

/** Reads the JSON body fields of the admin API's create calls. */
export const readInput = {
  tokenCreate(body: Record<string, unknown>): TokenCreateInput {
    const expiresIn = optionalText(body.expiresIn, 'expiresIn');
    const expiresInMs = expiresIn === undefined ? undefined : durationInput(expiresIn, 'expiresIn');
    return {
      label: requireText(body.label, 'label'),
      scope: requireScope(body.scope),
      account: optionalText(body.account, 'account'),
      expiresInMs,
    };
  },
  clientCreate(body: Record<string, unknown>): ClientCreateInput {
    return {
      name: requireText(body.name, 'name'),
      scope: requireScope(body.scope),
      orgId: optionalText(body.orgId, 'orgId'),
      technicalAccountId: optionalText(body.technicalAccountId, 'technicalAccountId'),
    };
  },
  /** `{"sunset","since"?,"link"?}`, or `{"sunset": null}` to remove the deprecation. */
  deprecation(body: Record<string, unknown>): NewDeprecation | null {
    if (body.sunset === null) return null;
    const link = optionalText(body.link, 'link');
    return {
      sunset: instantInput(body.sunset, 'sunset'),
      ...(body.since === undefined || body.since === null ? {} : { since: instantInput(body.since, 'since') }),
      ...(link === undefined ? {} : { link }),
    };
  },
  graceMs(body: Record<string, unknown>): number | undefined {
    const grace = optionalText(body.grace, 'grace');
    if (grace === undefined) return optionalMs(body.graceMs, 'graceMs');
    return durationInput(grace, 'grace');
  },
};

/** A duration given by a user (`30d`, `10m`), or InvalidInputError naming the field. */
export function durationInput(text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new InvalidInputError(`${what} must be a duration such as 30s, 10m, 1h or 30d`);
  }
}
