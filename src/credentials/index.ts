/**
 * The credential layer's public surface: the store contract and its opener, the
 * request-path verifier, the token formats, and the JSON shapes of the CLI and admin API.
 * See docs/credentials.md.
 */
export {
  assertStoreExists,
  initStore,
  openBackend,
  openStore,
  sqlitePathOf,
  storeOptionsOf,
  type InitResult,
  type OpenStoreOptions,
} from './open-store.js';
export { describePostgres, isPostgresUrl, maskStoreUrl, parsePostgresUrl } from './postgres-location.js';
export type { ChangeNotifier } from './change-notifier.js';
export type {
  AccountChangeKind,
  AccountOperations,
  AccountRecord,
  ChangeKind,
  ChangeListener,
  ChangeRow,
  ClientOperations,
  AccessTokenOperations,
  ClientRecord,
  ClientVerificationRecord,
  CredentialChangeKind,
  CredentialStore,
  IssuedClient,
  IssuedToken,
  NewClient,
  NewSigningKey,
  NewToken,
  SigningAlgorithm,
  SigningKeyOperations,
  SigningKeyRecord,
  TokenOperations,
  TokenRecord,
  TokenVerificationRecord,
} from './store.js';
export { ACCOUNT_CHANGE_KINDS, CREDENTIAL_CHANGE_KINDS } from './store.js';
export {
  AUDIT_ACTIONS,
  AUDIT_ACTOR_KINDS,
  cliActor,
  credentialActor,
  type AuditAction,
  type AuditActor,
  type AuditActorKind,
  type AuditDetails,
  type AuditEntry,
  type AuditFilter,
  type NewAuditEntry,
} from './audit.js';
export {
  createChangeFeedFollower,
  DEFAULT_MAX_STALENESS_MS,
  type ChangeFeedConsumer,
  type ChangeFeedFollower,
  type ChangeFeedOptions,
  type FeedHealth,
} from './change-feed.js';
export { CredentialStoreError, isStoreError, STORE_ERROR_REASONS, type StoreErrorReason } from './store-error.js';
export {
  createCredentialVerifier,
  type CredentialVerifier,
  type CredentialVerifierOptions,
  type VerifierEvent,
  type VerifierStats,
} from './verify.js';
export { cacheKeyOf, isClientId, isTokenId, isWellFormedApiToken, isWellFormedClientSecret, PREFIXES } from './secrets.js';
export { isScope, narrowerScope, SCOPES, type Scope } from './scope.js';
export { clientJson, tokenJson, type ClientJson, type TokenJson } from './records-json.js';
