/**
 * The JSON shapes of docs/cli.md, shared by `portcullis … --json` and the admin API so the two
 * cannot drift: camelCase, except the OAuth names `client_id` and `client_secret` (RFC 6749
 * spelling). The secret is included only when given (create and rotate results), first after
 * the id, exactly once.
 */
import type { ClientRecord, DeprecationRecord, IssuedClient, IssuedToken, TokenRecord } from './store.js';

/** A token as JSON: `{"id","token"?,"label","scope","account","expiresAt",…}`. */
export interface TokenJson {
  readonly id: string;
  readonly token?: string;
  readonly label: string;
  readonly scope: TokenRecord['scope'];
  readonly account: string | null;
  readonly expiresAt: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly rotatedAt: string | null;
  readonly previousSecretValidUntil: string | null;
  readonly previousSecretLastUsedAt: string | null;
  /** An account owner's token (console and admin API only; docs/credentials.md "Account owners"). */
  readonly owner: boolean;
  /** `{"since","sunset","link"}` when deprecated, else null. */
  readonly deprecation: DeprecationRecord | null;
}

/** A client as JSON: `{"client_id","client_secret"?,"name","scope","orgId","technicalAccountId",…}`. */
export interface ClientJson {
  readonly client_id: string;
  readonly client_secret?: string;
  readonly name: string;
  readonly scope: ClientRecord['scope'];
  readonly orgId: string | null;
  readonly technicalAccountId: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
  readonly rotatedAt: string | null;
  readonly previousSecretValidUntil: string | null;
  readonly previousSecretLastUsedAt: string | null;
  readonly deprecation: DeprecationRecord | null;
}

function isIssuedToken(value: TokenRecord | IssuedToken): value is IssuedToken {
  return 'record' in value;
}

function isIssuedClient(value: ClientRecord | IssuedClient): value is IssuedClient {
  return 'record' in value;
}

/** A token record (or a create/rotate result, with its secret) as JSON. */
export function tokenJson(value: TokenRecord | IssuedToken): TokenJson {
  const r = isIssuedToken(value) ? value.record : value;
  return {
    id: r.id,
    ...(isIssuedToken(value) ? { token: value.token } : {}),
    label: r.label,
    scope: r.scope,
    account: r.account,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
    rotatedAt: r.rotatedAt,
    previousSecretValidUntil: r.previousSecretValidUntil,
    previousSecretLastUsedAt: r.previousSecretLastUsedAt,
    owner: r.owner,
    deprecation: r.deprecation,
  };
}

/** A client record (or a create/rotate result, with its secret) as JSON. */
export function clientJson(value: ClientRecord | IssuedClient): ClientJson {
  const r = isIssuedClient(value) ? value.record : value;
  return {
    client_id: r.clientId,
    ...(isIssuedClient(value) ? { client_secret: value.clientSecret } : {}),
    name: r.name,
    scope: r.scope,
    orgId: r.orgId,
    technicalAccountId: r.technicalAccountId,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
    rotatedAt: r.rotatedAt,
    previousSecretValidUntil: r.previousSecretValidUntil,
    previousSecretLastUsedAt: r.previousSecretLastUsedAt,
    deprecation: r.deprecation,
  };
}
