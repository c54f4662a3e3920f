/**
 * WWW-Authenticate challenges for 401 and 403 answers (RFC 6750 §3, RFC 7617 §2).
 */
import type { CredentialScheme } from '../config/types.js';

export const REALM = 'portcullis';

export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

function bearerChallenge(error?: BearerError, scope?: string): string {
  let value = `Bearer realm="${REALM}"`;
  if (error) value += `, error="${error}"`;
  if (scope) value += `, scope="${scope}"`;
  return value;
}

const BASIC_CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;

/**
 * The challenges a route advertises, one per accepted scheme, joined in one header value.
 * `error` is only attached to the Bearer challenge (RFC 6750 §3.1); with no credentials sent
 * RFC 6750 §3.1 says the error attribute SHOULD be omitted.
 */
export function challengesFor(schemes: ReadonlySet<CredentialScheme>, error?: BearerError, scope?: string): string {
  const parts: string[] = [];
  if (schemes.has('bearer')) parts.push(bearerChallenge(error, scope));
  if (schemes.has('basic')) parts.push(BASIC_CHALLENGE);
  return parts.join(', ');
}
