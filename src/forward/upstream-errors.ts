/**
 * Translation of upstream failures (undici, tls, net, http-proxy) into the codes of docs/errors.md.
 * This is the only place these foreign errors are read.
 */
import { GatewayError, type ErrorCode } from '../errors.js';

/** Kinds of upstream failure, as counted in metrics. */
/**
 * `saturated`: every connection busy and the wait for one full or too long (nothing was sent).
 * `client_stalled`: the client left the response undrained past `limits.responseStallTimeout`;
 * the gateway cut the exchange to free the upstream connection.
 */
export type UpstreamErrorKind = 'unavailable' | 'tls' | 'timeout' | 'reset' | 'saturated' | 'client_stalled';

const TLS_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
]);

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);

const RESET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

function errorCode(error: unknown): string {
  if (typeof error !== 'object' || error === null) return '';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'UND_ERR_SOCKET') return code;
  // undici wraps socket failures; the TLS or errno code is on the cause.
  const cause = (error as { cause?: unknown }).cause;
  const causeCode = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  if (typeof causeCode === 'string') return causeCode;
  return typeof code === 'string' ? code : '';
}

/**
 * Node's reason for an upstream failure, as logged (`reason` of `upstream.error`) and reported by
 * `portcullis check --probe`: one of these codes, or `other`. A fixed list, so a log pipeline can
 * count by it; the words of each are in docs/logging.md.
 */
export const UPSTREAM_FAILURE_REASONS = [
  // TLS: the certificate
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  // TLS: the handshake
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'EPROTO',
  // Connection
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'other',
] as const;
export type UpstreamFailureReason = (typeof UPSTREAM_FAILURE_REASONS)[number];

const REASON_SET: ReadonlySet<string> = new Set(UPSTREAM_FAILURE_REASONS);

/** The bounded reason of an upstream failure: Node's code when it is a known one, else `other`. */
export function upstreamFailureReason(error: unknown): UpstreamFailureReason {
  const code = errorCode(error);
  return REASON_SET.has(code) ? (code as UpstreamFailureReason) : 'other';
}

export function classifyUpstreamError(error: unknown): UpstreamErrorKind {
  const code = errorCode(error);
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (RESET_CODES.has(code)) return 'reset';
  return 'unavailable';
}

/** The error code of each kind of upstream failure. */
export const UPSTREAM_ERROR_CODES = {
  tls: 'upstream.tls_error',
  timeout: 'upstream.timeout',
  reset: 'upstream.unavailable',
  unavailable: 'upstream.unavailable',
  saturated: 'upstream.saturated',
  client_stalled: 'client.response_stalled',
} as const satisfies Record<UpstreamErrorKind, ErrorCode>;

/** The response-level error for an upstream failure; `timeoutMs` is the route's. */
export function upstreamGatewayError(kind: UpstreamErrorKind, routeName: string, timeoutMs: number): GatewayError {
  const code = UPSTREAM_ERROR_CODES[kind];
  switch (kind) {
    case 'tls':
      return new GatewayError(
        code,
        `The upstream of route "${routeName}" presented a certificate that is not trusted or does not match its name.`,
      );
    case 'timeout':
      return new GatewayError(code, `The upstream of route "${routeName}" did not answer within ${timeoutMs} ms.`);
    case 'saturated':
      return new GatewayError(code, `Every connection to the upstream of route "${routeName}" is busy; try again shortly.`, {
        'retry-after': '1',
      });
    case 'client_stalled':
      return new GatewayError(code, `The client did not read the response of route "${routeName}" in time.`);
    case 'reset':
    case 'unavailable':
      return new GatewayError(code, `The upstream of route "${routeName}" could not be reached.`);
  }
}
