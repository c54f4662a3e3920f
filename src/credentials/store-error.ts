/**
 * Failures of credential store operations (CLI, admin API, request-path lookups).
 *
 * These are not HTTP answers: the admin API and the CLI map `reason` to their own outputs, and
 * the request path turns any store failure into `auth.store_unavailable`. Messages name ids and
 * account names (public) and never a secret.
 */

/** Why a store operation failed. */
export const STORE_ERROR_REASONS = {
  /** The token, client or account does not exist. */
  notFound: 'not_found',
  /** An account of that name already exists. */
  conflict: 'conflict',
  /** The credential is revoked: it cannot be rotated or changed (revocation is permanent). */
  revoked: 'revoked',
  /** The account is disabled: no new token can be created for it. */
  disabled: 'disabled',
  /** An input is out of its domain (empty label, unknown scope, expiry in the past…). */
  invalidArgument: 'invalid_argument',
  /** The store cannot be reached, is closed, or its file is unusable. */
  unavailable: 'unavailable',
  /** The store was written by a newer Portcullis (unknown migration). */
  incompatibleSchema: 'incompatible_schema',
  /**
   * The store was never created (`portcullis store init`): a SQLite file that does not exist or
   * holds no schema, a PostgreSQL database without the migrations table. Nothing was created.
   */
  notInitialised: 'not_initialised',
} as const;

export type StoreErrorReason = (typeof STORE_ERROR_REASONS)[keyof typeof STORE_ERROR_REASONS];

/** A coded failure of a {@link CredentialStore} operation. */
export class CredentialStoreError extends Error {
  readonly reason: StoreErrorReason;

  constructor(reason: StoreErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialStoreError';
    this.reason = reason;
  }
}

/** True when `error` is a CredentialStoreError, optionally of the given reason. */
export function isStoreError(error: unknown, reason?: StoreErrorReason): error is CredentialStoreError {
  return error instanceof CredentialStoreError && (reason === undefined || error.reason === reason);
}
