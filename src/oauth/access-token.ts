/**
 * Access tokens issued by the token endpoint: JWTs in the RFC 9068 profile (`typ: at+jwt`),
 * signed with the key ring's active key.
 *
 *   header   { alg: "ES256", kid, typ: "at+jwt" }
 *   claims   { iss, sub, aud, exp, iat, jti, client_id, scope, org_id?, technical_account_id? }
 *
 * `sub` and `client_id` are the client id (RFC 9068 §2.2: no resource owner in the client
 * credentials grant); `scope` is one Portcullis scope; `org_id` and `technical_account_id` are
 * the client's (`clients create --org-id`, `--technical-account-id`), present only when set.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Scope } from '../credentials/index.js';
import type { ActiveSigningKey } from './signing-keys.js';

/** The `typ` header of access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** The claims of a Portcullis access token. Times in seconds since the epoch. */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope: Scope;
  readonly org_id?: string;
  readonly technical_account_id?: string;
}

/** What a token is issued for. */
export interface AccessTokenSubject {
  readonly clientId: string;
  readonly scope: Scope;
  readonly orgId: string | null;
  readonly technicalAccountId: string | null;
}

/** Settings of issued tokens. */
export interface IssueSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly tokenTtlMs: number;
}

/** `jti` values: 128 random bits, base64url (22 characters). */
export function newJti(): string {
  return randomBytes(16).toString('base64url');
}

/** An issued token. */
export interface IssuedAccessToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
  /** Lifetime in whole seconds (the `expires_in` of the answer). */
  readonly expiresIn: number;
}

/** Signs a new access token for `subject` with `signer`, valid from `nowMs` for tokenTtl. */
export async function issueAccessToken(
  signer: ActiveSigningKey,
  subject: AccessTokenSubject,
  settings: IssueSettings,
  nowMs: number,
): Promise<IssuedAccessToken> {
  const iat = Math.floor(nowMs / 1000);
  const expiresIn = Math.max(1, Math.floor(settings.tokenTtlMs / 1000));
  const claims: AccessTokenClaims = {
    iss: settings.issuer,
    sub: subject.clientId,
    aud: settings.audience,
    exp: iat + expiresIn,
    iat,
    jti: newJti(),
    client_id: subject.clientId,
    scope: subject.scope,
    ...(subject.orgId === null ? {} : { org_id: subject.orgId }),
    ...(subject.technicalAccountId === null ? {} : { technical_account_id: subject.technicalAccountId }),
  };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: ACCESS_TOKEN_TYP })
    .sign(signer.key);
  return { token, claims, expiresIn };
}
