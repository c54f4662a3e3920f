/**
 * Writes the responses Portcullis produces itself: `application/problem+json` (RFC 9457) with the
 * stable code and the request id, in the body and in `X-Request-Id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_CODES, GatewayError, problemBody } from '../errors.js';
import { headerLines, OWN_ANSWER_HEADERS } from './own-answer-headers.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Connections Portcullis answered with `Connection: close`. Node's parser has often read
 * further pipelined requests from them already; those are not processed (RFC 9112 §9.6: the
 * server "MUST NOT process any further requests received on that connection").
 */
const CLOSING = new WeakSet();

/** Whether a refusal on this connection announced that it closes: ignore what follows. */
export function isClosing(socket: object): boolean {
  return CLOSING.has(socket);
}

/**
 * Refusals after which nothing more is read from the connection: a head that could be framed
 * two ways, a request that took too long, a connection over its client's limit.
 */
const CLOSES_CONNECTION: ReadonlySet<string> = new Set([
  'request.malformed',
  'request.headers_too_large',
  'request.timeout',
  'client.too_many_connections',
]);

/** The request framed a body (RFC 9112 §6.3) that has not been read to its end. */
function hasUnreadBody(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Any thrown value as a GatewayError; unexpected ones become internal.error, which keeps the
 * original as its `cause` for the log (never in the response).
 */
export function asGatewayError(error: unknown): GatewayError {
  return error instanceof GatewayError ? error : new GatewayError('internal.error', undefined, undefined, error);
}

/** `hardening`: the listener's headers for its own answers (the admin listener has a wider set). */
export function sendProblem(
  req: IncomingMessage,
  res: ServerResponse,
  error: GatewayError,
  requestId: string,
  hardening: Readonly<Record<string, string>> = OWN_ANSWER_HEADERS,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problemBody(error, requestId));
  const headers: Record<string, string | number> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...hardening,
    ...error.headers,
  };
  // An unread request body is not drained for keep-alive: a refused 1 GiB upload is cut short,
  // and a body the gateway never parsed can never be read as the next request. Neither is
  // anything after a head the smuggling guard refused. Other refusals keep the connection.
  if (hasUnreadBody(req) || CLOSES_CONNECTION.has(error.code)) {
    headers.connection = 'close';
    CLOSING.add(req.socket);
  }
  res.writeHead(error.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Node's `clientError` codes that are not a malformed request. */
const PARSER_ERROR_CODES: Readonly<Record<string, 'request.headers_too_large' | 'request.timeout'>> = {
  HPE_HEADER_OVERFLOW: 'request.headers_too_large',
  // limits.headersTimeout or limits.requestTimeout passed (Node's connection checker).
  ERR_HTTP_REQUEST_TIMEOUT: 'request.timeout',
};

const PARSER_ERROR_DETAILS: Partial<Record<string, string>> = {
  'request.malformed': 'The request could not be parsed unambiguously.',
  'request.timeout': "The request did not arrive within the listener's time limit.",
};

/**
 * Answers a request head Node's parser refused (framing it cannot read one way), then closes
 * the connection. Nothing was routed, nothing reached an upstream.
 */
export function sendParserError(
  socket: Socket,
  errorCode: string | undefined,
  requestId: string,
  hardening: Readonly<Record<string, string>> = OWN_ANSWER_HEADERS,
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  if (CLOSING.has(socket)) {
    // The bytes after a refused request's unread body: the client already has its answer, and
    // one response per request keeps its response queue in step. Flush that answer and close.
    socket.end();
    return;
  }
  const code = PARSER_ERROR_CODES[errorCode ?? ''] ?? 'request.malformed';
  const error = new GatewayError(code, PARSER_ERROR_DETAILS[code]);
  const body = JSON.stringify(problemBody(error, requestId));
  const status = ERROR_CODES[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${ERROR_CODES[code].title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\n${headerLines(hardening)}x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
