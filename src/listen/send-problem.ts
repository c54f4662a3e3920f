/**
 * Writes the responses Portcullis produces itself: `application/problem+json` (RFC 9457) with the
 * stable code and the request id, in the body and in `X-Request-Id`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ERROR_CODES, GatewayError, problemBody } from '../errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Any thrown value as a GatewayError; unexpected ones become internal.error (never their message). */
export function asGatewayError(error: unknown): GatewayError {
  return error instanceof GatewayError ? error : new GatewayError('internal.error');
}

export function sendProblem(req: IncomingMessage, res: ServerResponse, error: GatewayError, requestId: string): void {
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
    ...error.headers,
  };
  // An unread request body is not drained for keep-alive: a refused 1 GiB upload is cut short,
  // and a body the gateway never parsed can never be read as the next request.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(error.status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Answers a request head Node's parser refused (framing it cannot read one way), then closes
 * the connection. Nothing was routed, nothing reached an upstream.
 */
export function sendParserError(socket: Socket, errorCode: string | undefined, requestId: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code = errorCode === 'HPE_HEADER_OVERFLOW' ? 'request.headers_too_large' : 'request.malformed';
  const error = new GatewayError(code, code === 'request.malformed' ? 'The request could not be parsed unambiguously.' : undefined);
  const body = JSON.stringify(problemBody(error, requestId));
  const status = ERROR_CODES[code].status;
  socket.end(
    `HTTP/1.1 ${status} ${ERROR_CODES[code].title}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
