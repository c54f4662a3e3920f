/**
 * The refusals Node would otherwise write itself on the metrics and admin listeners (those
 * without a request pipeline): a head its parser refused or that timed out, an HTTP/1.1 request
 * without `Host`, an `Expect` other than 100-continue. Each is answered as problem+json with the
 * listener's hardening headers (docs/http.md), like every other answer of that listener; Node's
 * own answers carry neither.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { GatewayError } from '../errors.js';
import { newRequestId, requestIdOf } from './request-id.js';
import { sendParserError, sendProblem } from './send-problem.js';

/** Options of such a listener: `Host` is checked by `requiringHost`, which answers as problem+json. */
export const OWN_LISTENER_OPTIONS: Pick<http.ServerOptions, 'requireHostHeader'> = { requireHostHeader: false };

/** `handler`, behind the `Host` check Node makes when `requireHostHeader` is on (RFC 9112 §3.2). */
export function requiringHost(handler: http.RequestListener, hardening: Readonly<Record<string, string>>): http.RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
      sendProblem(req, res, new GatewayError('request.malformed', 'An HTTP/1.1 request needs a Host header.'), requestIdOf(req), hardening);
      return;
    }
    handler(req, res);
  };
}

/** Answers the parser's refusals and unmet expectations of `server` (see the module comment). */
export function answerOwnRefusals(server: http.Server, hardening: Readonly<Record<string, string>>): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const res = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
    // A response already under way cannot be followed by another: cut the connection.
    if (res?.headersSent === true) {
      socket.destroy();
      return;
    }
    sendParserError(socket as Socket, error.code, newRequestId(), hardening);
  });
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const error = new GatewayError('request.expectation_failed', 'Only "Expect: 100-continue" is understood.');
    sendProblem(req, res, error, requestIdOf(req), hardening);
  });
}
