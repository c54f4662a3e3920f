/**
 * The answers of the OAuth endpoints: JSON bodies with `Cache-Control: no-store` and
 * `Pragma: no-cache` (RFC 6749 §5.1), and the RFC 6749 §5.2 error form
 * `{"error","error_description"}` — not problem+json, which OAuth clients cannot read.
 *
 * Descriptions are fixed strings: they never echo a parameter, so a secret sent in the wrong
 * field cannot come back in an answer or a log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REALM } from '../authenticate/challenges.js';
import { OWN_ANSWER_HEADERS } from '../listen/own-answer-headers.js';

/** Error codes of RFC 6749 §5.2, RFC 7009 §2.2.1, and RFC 6750 §3.1 (Bearer on introspection). */
export const OAUTH_ERRORS = {
  invalid_request: 400,
  invalid_client: 401,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  /** RFC 7009 §2.2.1: an API token sent to the revocation endpoint. */
  unsupported_token_type: 400,
  /** The credential store cannot be reached (RFC 6749 §4.1.2.1 spelling, with 503 and Retry-After). */
  temporarily_unavailable: 503,
  /** RFC 6750 §3.1: a Bearer caller of the introspection endpoint presented a bad token. */
  invalid_token: 401,
  /** RFC 6750 §3.1: a Bearer caller of the introspection endpoint is not `admin`. */
  insufficient_scope: 403,
} as const;

/** An OAuth error code. */
export type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

/** The challenge sent with every `invalid_client` (RFC 6749 §5.2; RFC 9110 §15.5.2 needs one on 401). */
export const BASIC_CLIENT_CHALLENGE = `Basic realm="${REALM}", charset="UTF-8"`;

/**
 * A refusal of an OAuth endpoint. `description` must be printable ASCII without `"` and `\`
 * (RFC 6749 §5.2) and must never contain request data.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(error: OAuthErrorCode, description: string, headers: Readonly<Record<string, string>> = {}) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
    this.error = error;
    this.status = OAUTH_ERRORS[error];
    this.description = description;
    this.headers = error === 'invalid_client' ? { 'www-authenticate': BASIC_CLIENT_CHALLENGE, ...headers } : headers;
  }
}

/** The request framed a body that was not read to its end: the connection cannot be reused. */
function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Writes a JSON answer that no cache may keep (RFC 6749 §5.1), with the request id. */
export function sendOAuthJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  requestId: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = body === undefined ? '' : JSON.stringify(body);
  const all: Record<string, string | number> = {
    ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'x-request-id': requestId,
    ...OWN_ANSWER_HEADERS,
    ...headers,
  };
  // A refused upload is not drained: the client learns at once and the connection closes.
  if (hasUnreadBody(req)) all.connection = 'close';
  res.writeHead(status, all);
  res.end(req.method === 'HEAD' ? undefined : text);
}

/** Writes an RFC 6749 §5.2 error. */
export function sendOAuthError(req: IncomingMessage, res: ServerResponse, error: OAuthError, requestId: string): void {
  const headers: Record<string, string> = { ...error.headers };
  if (error.status === 503) headers['retry-after'] = '1';
  sendOAuthJson(req, res, error.status, { error: error.error, error_description: error.description }, requestId, headers);
}
