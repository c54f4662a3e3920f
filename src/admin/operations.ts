/**
 * The credential administration operations (docs/cli.md), written once and shared by the
 * `portcullis accounts|tokens|clients|keys|audit` commands and the admin API. Each takes
 * validated plain input and returns the JSON shape both print; the secret appears only in
 * create/rotate results.
 *
 * Every operation that changes something takes the actor first (who: `credential:<id>` from the
 * admin API, `cli:<user>` from the CLI): the store writes the change and its audit entry in one
 * transaction (docs/audit.md), so no door can change the store without leaving a record.
 */
import { clientJson, type ClientJson, type CredentialStore, isScope, type Scope, tokenJson, type TokenJson } from '../credentials/index.js';
import { AUDIT_MAX_LIMIT, type AuditActor, type AuditActorKind, type AuditDetails, type AuditEntry } from '../credentials/audit.js';
import { hashSecret, isWellFormedApiToken, isWellFormedClientSecret } from '../credentials/secrets.js';
import type { AccountRecord, NewClient, NewDeprecation, NewToken } from '../credentials/store.js';
import { INSTANT_PATTERN } from '../config/schema.js';
import { CredentialStoreError } from '../credentials/store-error.js';
import { parseDuration } from '../config/durations.js';
import type { GatewayConfig, OAuthSettings } from '../config/types.js';
import { generateSigningKey, protectSigningKey, requireKeyProtection } from '../oauth/signing-keys.js';
import { signingKeyJson, type SigningKeyJson, type SigningKeyRotationJson } from './signing-key-json.js';

/** An account as JSON (camelCase, as docs/cli.md shows it). */
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

/**
 * An operation the configuration forbids (a signing key that would be stored in the clear on
 * PostgreSQL): the message names the settings to change, never key material.
 */
export class RefusedOperationError extends Error {
  override readonly name = 'RefusedOperationError';
}

/** An audit entry as JSON: what `GET /v1/audit` and `portcullis audit list --json` show. */
export interface AuditEntryJson {
  readonly id: number;
  /** ISO-8601. */
  readonly at: string;
  /** `credential:<credential id>` or `cli:<user>`. */
  readonly actor: string;
  readonly actorKind: AuditActorKind;
  /** `token.create`, `account.disable`, … (docs/audit.md). */
  readonly action: string;
  readonly target: string | null;
  readonly address: string | null;
  readonly details: AuditDetails;
}

function auditEntryJson(entry: AuditEntry): AuditEntryJson {
  return {
    id: entry.id,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    actorKind: entry.actorKind,
    action: entry.action,
    target: entry.target,
    address: entry.address,
    details: entry.details,
  };
}

/** Input of `auditList`, as typed by a user (query string, command line). */
export interface AuditListInput {
  /** A duration back from now (`1h`, `30m`, `7d`) or an ISO-8601 instant. */
  readonly since?: string | undefined;
  /** 1-1000; default 100. */
  readonly limit?: string | number | undefined;
  readonly actor?: string | undefined;
  readonly action?: string | undefined;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * `since` as epoch ms: a duration back from `now` (`1h`) or an ISO-8601 instant (a date, or a
 * date and time with `Z` or an offset). InvalidInputError naming `what` otherwise.
 */
export function parseSince(text: string, now: number, what = 'since'): number {
  const trimmed = text.trim();
  if (/^\d+(ms|s|m|h|d)$/.test(trimmed)) {
    let ms: number;
    try {
      ms = parseDuration(trimmed);
    } catch {
      throw new InvalidInputError(`${what} is too large`);
    }
    return now - ms;
  }
  if (ISO_INSTANT.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (Number.isFinite(at)) return at;
  }
  throw new InvalidInputError(`${what} must be a duration back from now (30m, 1h, 7d) or an ISO-8601 instant (2026-01-31T12:00:00Z)`);
}

export function parseAuditLimit(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > AUDIT_MAX_LIMIT)
    throw new InvalidInputError(`${what} must be a whole number from 1 to ${AUDIT_MAX_LIMIT}`);
  return n;
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

function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new InvalidInputError(`${what} must be true or false`);
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

/**
 * The operations. Those that change something take the actor first; each records exactly one
 * audit entry, in the change's transaction (a refused change records none).
 */
export interface AdminOperations {
  accountsCreate(actor: AuditActor, name: string, scope: Scope): Promise<AccountJson>;
  accountsList(): Promise<AccountJson[]>;
  accountsSetScope(actor: AuditActor, name: string, scope: Scope): Promise<AccountJson>;
  accountsDisable(actor: AuditActor, name: string): Promise<AccountJson>;
  accountsEnable(actor: AuditActor, name: string): Promise<AccountJson>;
  tokensCreate(actor: AuditActor, input: TokenCreateInput): Promise<TokenJson>;
  tokensList(account?: string): Promise<TokenJson[]>;
  tokensRevoke(actor: AuditActor, id: string): Promise<TokenJson>;
  /** Revokes the token that has `secret` (current or previous); never echoes it (nor records it). */
  tokensRevokeBySecret(actor: AuditActor, secret: string): Promise<TokenJson>;
  tokensRotate(actor: AuditActor, id: string, graceMs?: number): Promise<TokenJson>;
  clientsCreate(actor: AuditActor, input: ClientCreateInput): Promise<ClientJson>;
  clientsList(): Promise<ClientJson[]>;
  clientsRevoke(actor: AuditActor, clientId: string): Promise<ClientJson>;
  /** Revokes the client that has `secret` (current or previous); never echoes it (nor records it). */
  clientsRevokeBySecret(actor: AuditActor, secret: string): Promise<ClientJson>;
  clientsRotateSecret(actor: AuditActor, clientId: string, graceMs?: number): Promise<ClientJson>;
  /** Every OAuth signing key, newest first, as `keys list --json` shows it (never private material). */
  signingKeysList(): Promise<SigningKeyJson[]>;
  /**
   * A new signing key, active at once; the previous one keeps verifying until its tokens expire.
   * RefusedOperationError when the key-protection policy forbids storing it (docs/oauth.md).
   */
  signingKeysRotate(actor: AuditActor): Promise<SigningKeyRotationJson>;
  /** Audit entries, newest first. InvalidInputError for a bad `since` or `limit`. */
  auditList(input?: AuditListInput): Promise<AuditEntryJson[]>;
  /** Marks a token deprecated with a sunset; null: no longer deprecated. */
  tokensDeprecate(actor: AuditActor, id: string, deprecation: NewDeprecation | null): Promise<TokenJson>;
  clientsDeprecate(actor: AuditActor, clientId: string, deprecation: NewDeprecation | null): Promise<ClientJson>;
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

/** What the operations need from the configuration. */
export interface AdminSettings {
  /** `tokens.defaultExpiry`: the lifetime of a token created without one, or undefined for none. */
  readonly tokenExpiryMs: number | undefined;
  /** `oauth`: signing key lifetimes and protection. */
  readonly oauth: OAuthSettings;
  /** `store.url`: whether the store is shared (PostgreSQL), for the key-protection policy. */
  readonly storeUrl: string;
}

/** The settings of the operations, from a configuration. */
export function adminSettingsOf(config: GatewayConfig): AdminSettings {
  return { tokenExpiryMs: config.tokens.defaultExpiryMs, oauth: config.oauth, storeUrl: config.store.url };
}

export function createAdminOperations(store: CredentialStore, settings: AdminSettings, now: () => number = Date.now): AdminOperations {
  return {
    accountsCreate: async (actor, name, scope) => accountJson(await store.accounts.create(name, scope, actor)),
    accountsList: async () => (await store.accounts.list()).map(accountJson),
    accountsSetScope: async (actor, name, scope) => accountJson(await store.accounts.setScope(name, scope, actor)),
    accountsDisable: async (actor, name) => accountJson(await store.accounts.disable(name, actor)),
    accountsEnable: async (actor, name) => accountJson(await store.accounts.enable(name, actor)),
    async tokensCreate(actor, input) {
      const lifetime = input.expiresInMs ?? settings.tokenExpiryMs;
      const issued = await store.tokens.create(
        {
          label: input.label,
          scope: input.scope,
          account: input.account ?? null,
          owner: input.owner === true,
          expiresAt: lifetime === undefined ? null : new Date(now() + lifetime),
        },
        actor,
      );
      return tokenJson(issued);
    },
    tokensList: async (account) => (await store.tokens.list(account === undefined ? undefined : { account })).map((r) => tokenJson(r)),
    tokensRevoke: async (actor, id) => tokenJson(await store.tokens.revoke(id, actor)),
    async tokensRevokeBySecret(actor, secret) {
      if (!isWellFormedApiToken(secret)) {
        throw new InvalidInputError(
          `the secret read is not an API token (pcl_ and 49 characters${isWellFormedClientSecret(secret) ? '; it is a client secret: use clients revoke --secret -' : ''})`,
        );
      }
      const id = await store.tokens.idBySecretHash(hashSecret(secret));
      if (id === undefined) throw new CredentialStoreError('not_found', 'no token has this secret (in this store)');
      return tokenJson(await store.tokens.revoke(id, actor));
    },
    tokensRotate: async (actor, id, graceMs) => tokenJson(await store.tokens.rotate(id, graceMs, actor)),
    clientsCreate: async (actor, input) => clientJson(await store.clients.create(input, actor)),
    clientsList: async () => (await store.clients.list()).map((r) => clientJson(r)),
    clientsRevoke: async (actor, clientId) => clientJson(await store.clients.revoke(clientId, actor)),
    async clientsRevokeBySecret(actor, secret) {
      if (!isWellFormedClientSecret(secret)) {
        throw new InvalidInputError(
          `the secret read is not a client secret (pcs_ and 49 characters${isWellFormedApiToken(secret) ? '; it is an API token: use tokens revoke --secret -' : ''})`,
        );
      }
      const id = await store.clients.idBySecretHash(hashSecret(secret));
      if (id === undefined) throw new CredentialStoreError('not_found', 'no client has this secret (in this store)');
      return clientJson(await store.clients.revoke(id, actor));
    },
    clientsRotateSecret: async (actor, clientId, graceMs) => clientJson(await store.clients.rotateSecret(clientId, graceMs, actor)),
    async signingKeysList() {
      const at = now();
      return (await store.signingKeys.list()).map((record) => signingKeyJson(record, settings.oauth, at));
    },
    async signingKeysRotate(actor) {
      let encryption: ReturnType<typeof requireKeyProtection>;
      try {
        encryption = requireKeyProtection(settings.oauth, settings.storeUrl);
      } catch (error) {
        throw new RefusedOperationError((error as Error).message);
      }
      const { active, retired } = await store.signingKeys.rotate(protectSigningKey(await generateSigningKey(), encryption), actor);
      const at = now();
      return {
        ...signingKeyJson(active, settings.oauth, at),
        previous: retired === null ? null : signingKeyJson(retired, settings.oauth, at),
      };
    },
    async auditList(input = {}) {
      const entries = await store.listAudit({
        ...(input.since === undefined ? {} : { sinceMs: parseSince(input.since, now()) }),
        ...(input.limit === undefined ? {} : { limit: parseAuditLimit(input.limit, 'limit') }),
        ...(input.actor === undefined ? {} : { actor: input.actor }),
        ...(input.action === undefined ? {} : { action: input.action }),
      });
      return entries.map(auditEntryJson);
    },
    tokensDeprecate: async (actor, id, deprecation) => tokenJson(await store.tokens.setDeprecation(id, deprecation, actor)),
    clientsDeprecate: async (actor, clientId, deprecation) => clientJson(await store.clients.setDeprecation(clientId, deprecation, actor)),
    async deprecationsList() {
      const now = Date.now();
      const rows: DeprecatedCredentialJson[] = [];
      for (const t of await store.tokens.list()) {
        if (t.deprecation === null || t.revokedAt !== null) continue;
        rows.push({
          kind: 'token',
          id: t.id,
          name: t.label,
          owner: t.account,
          ...t.deprecation,
          lastUsedAt: t.lastUsedAt,
          pastSunset: Date.parse(t.deprecation.sunset) <= now,
        });
      }
      for (const c of await store.clients.list()) {
        if (c.deprecation === null || c.revokedAt !== null) continue;
        rows.push({
          kind: 'client',
          id: c.clientId,
          name: c.name,
          owner: c.orgId,
          ...c.deprecation,
          lastUsedAt: c.lastUsedAt,
          pastSunset: Date.parse(c.deprecation.sunset) <= now,
        });
      }
      // ISO-8601 UTC strings sort as their instants.
      return rows.sort(
        (a, b) => (b.lastUsedAt ?? '').localeCompare(a.lastUsedAt ?? '') || a.sunset.localeCompare(b.sunset) || a.id.localeCompare(b.id),
      );
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
      owner: optionalBoolean(body.owner, 'owner'),
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
