/**
 * Checks of administrative inputs (CLI, admin API) before they reach a store. Each failure is a
 * CredentialStoreError `invalid_argument` whose message names the field, never its value when
 * the value could be a secret pasted by mistake.
 */
import { isScope, type Scope } from './scope.js';
import { isTokenId } from './secrets.js';
import { CredentialStoreError } from './store-error.js';

const CONTROL = /[\u0000-\u001f\u007f]/;
const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
/** Longest label, client name, org id or technical account id, in characters. */
export const MAX_TEXT_LENGTH = 200;

function invalid(message: string): CredentialStoreError {
  return new CredentialStoreError('invalid_argument', message);
}

/** A required display text (label, client name): 1-200 characters, no control characters. */
export function requireText(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw invalid(`${field} is required`);
  if (value.length > MAX_TEXT_LENGTH) throw invalid(`${field} is longer than ${MAX_TEXT_LENGTH} characters`);
  if (CONTROL.test(value)) throw invalid(`${field} contains control characters`);
  return value;
}

/** An optional text: null/undefined → null, otherwise as {@link requireText}. */
export function optionalText(field: string, value: unknown): string | null {
  return value === undefined || value === null ? null : requireText(field, value);
}

export function requireScope(value: unknown): Scope {
  if (!isScope(value)) throw invalid('scope must be one of read-only, read-write, admin');
  return value;
}

export function requireAccountName(value: unknown): string {
  if (typeof value !== 'string' || !ACCOUNT_NAME.test(value)) {
    throw invalid('account name must be 1-64 characters of letters, digits, "_", ".", "@" or "-", starting with a letter or digit');
  }
  // A token without an account is known upstream by its id (X-Portcullis-Subject and
  // -Principal `api_token:tok_…`); an account of that shape could pass for such a token.
  if (isTokenId(value)) throw invalid('account name must not have the shape of a token id ("tok_" and 22 letters or digits)');
  return value;
}

/** A grace period in ms: a non-negative integer (0 = the old secret fails at once). */
export function requireGraceMs(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalid('grace must be a non-negative whole number of milliseconds');
  }
  return value;
}

/** An expiry: null/undefined → null; otherwise a valid Date strictly after `now`, as epoch ms. */
export function optionalFutureTime(value: unknown, now: number): number | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw invalid('expiresAt must be a valid date');
  const ms = value.getTime();
  if (ms <= now) throw invalid('expiresAt must be in the future');
  return ms;
}
