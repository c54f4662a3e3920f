/**
 * The bounded sets every metric label takes its values from (docs/metrics.md "Label values": route
 * names, a fixed method list, codes — never a raw path, a token or anything else a client chose).
 */
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import type { UpstreamErrorKind } from '../forward/upstream-errors.js';

/** Route label of requests that matched no route (404s, refused paths, framing refusals). */
export const NO_ROUTE = 'none';

/**
 * Route label of the endpoints Portcullis serves itself on the proxy listener (OAuth). The `:`
 * cannot appear in a configured route name, so these never collide with one.
 */
export const OWN_ENDPOINT_ROUTES = ['oauth:token', 'oauth:introspect', 'oauth:revoke', 'oauth:jwks', 'oauth:metadata'] as const;

/** The token endpoint's route name: its requests, and its rate limit (`oauth.rateLimit`), are counted under it. */
export const TOKEN_ENDPOINT_ROUTE = 'oauth:token' satisfies (typeof OWN_ENDPOINT_ROUTES)[number];
export type OwnEndpointRoute = (typeof OWN_ENDPOINT_ROUTES)[number];

/**
 * Result label of `portcullis_oauth_token_requests_total`: `issued`, an RFC 6749 §5.2 error
 * code, `refused` (answered as problem+json: wrong method, malformed framing) or `internal_error`.
 */
export const TOKEN_RESULTS = [
  'issued',
  'invalid_request',
  'invalid_client',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'temporarily_unavailable',
  'refused',
  'internal_error',
] as const;
export type TokenResult = (typeof TOKEN_RESULTS)[number];

/** Method label values: the methods APIs use, everything else counted as `OTHER`. */
export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const;
export type MethodLabel = (typeof METHOD_LABELS)[number];

/** Index of a request method in METHOD_LABELS (OTHER for anything not listed). */
export function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'PATCH':
      return 4;
    case 'DELETE':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return 7;
  }
}

/** Authorization scheme a caller presented; `none` when absent or not Bearer/Basic. */
export const AUTH_SCHEMES = ['bearer', 'basic', 'none'] as const;
export type AuthScheme = (typeof AUTH_SCHEMES)[number];

/** The scheme of an Authorization header value, read from its first token only (never the credentials). */
export function schemeOf(authorization: string | undefined): AuthScheme {
  if (authorization === undefined) return 'none';
  let start = 0;
  while (authorization.charCodeAt(start) === 0x20 || authorization.charCodeAt(start) === 0x09) start++;
  const end = start + 6;
  const sep = authorization.charCodeAt(end);
  if ((sep === 0x20 || sep === 0x09 || Number.isNaN(sep)) && authorization.slice(start, end).toLowerCase() === 'bearer') return 'bearer';
  const basicSep = authorization.charCodeAt(start + 5);
  if ((basicSep === 0x20 || basicSep === 0x09 || Number.isNaN(basicSep)) && authorization.slice(start, start + 5).toLowerCase() === 'basic')
    return 'basic';
  return 'none';
}

/** Error codes (docs/errors.md) of the authentication and authorization stages. */
export type AuthErrorCode = Extract<ErrorCode, `auth.${string}`>;

/** Code label values of the authentication decisions: `ok` and every `auth.*` code of errors.ts. */
export type AuthOutcomeCode = 'ok' | AuthErrorCode;

export const AUTH_OUTCOME_CODES: readonly AuthOutcomeCode[] = [
  'ok',
  ...(Object.keys(ERROR_CODES).filter((code) => code.startsWith('auth.')) as AuthErrorCode[]),
];

const AUTH_OUTCOME_SET: ReadonlySet<string> = new Set(AUTH_OUTCOME_CODES);

export function isAuthOutcomeCode(code: string): code is AuthOutcomeCode {
  return AUTH_OUTCOME_SET.has(code);
}

export const UPSTREAM_ERROR_KINDS: readonly UpstreamErrorKind[] = ['unavailable', 'tls', 'timeout', 'reset', 'saturated', 'client_stalled'];

/** Result of a credential cache lookup. */
export const CACHE_LOOKUP_RESULTS = ['hit', 'miss', 'negative_hit'] as const;
export type CacheLookupResult = (typeof CACHE_LOOKUP_RESULTS)[number];

/** Why an entry left the credential cache: LRU capacity, TTL, or a store change (revoke, rotate, account). */
export const EVICTION_REASONS = ['capacity', 'expired', 'change'] as const;
export type EvictionReason = (typeof EVICTION_REASONS)[number];

/** The two credential caches (positive: verified credentials; negative: refused ones). */
export const CACHE_KINDS = ['positive', 'negative'] as const;

export const RELOAD_RESULTS = ['success', 'failure'] as const;
export type ReloadResult = (typeof RELOAD_RESULTS)[number];

export const JWKS_RESULTS = ['ok', 'error'] as const;
export type JwksResult = (typeof JWKS_RESULTS)[number];

/** Issuer label of a JWKS refresh for an issuer that is not in `jwt.issuers`. */
export const OTHER_ISSUER = 'other';
