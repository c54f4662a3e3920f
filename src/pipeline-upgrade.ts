/**
 * The request path of the two requests that take over their connection: an `Upgrade` (only
 * WebSocket is forwarded) and `CONNECT` (never served). Node hands them to the listener's
 * `upgrade` and `connect` events with a bare socket instead of a response; here each gets a
 * response writing to that socket, is observed like any other request, and goes through the
 * same stages (`admit` in pipeline.ts) before http-proxy-3 forwards it (forward/forward-upgrade.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createContext } from './context.js';
import { GatewayError } from './errors.js';
import { createUpgradeForwarder, isWebSocketUpgrade, responseForUpgrade } from './forward/forward-upgrade.js';
import { isClosing } from './listen/send-problem.js';
import { requestIdOf } from './listen/request-id.js';
import { admit, refuse, type PipelineDeps } from './pipeline.js';
import type { RequestContext } from './types.js';

export interface UpgradeHandlers {
  /** The listener's `connect` event. */
  readonly connect: (req: IncomingMessage, socket: Duplex) => void;
  /** The listener's `upgrade` event. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Closes the upstream connections of the WebSocket sessions still open. */
  close(): void;
}

export function createUpgradeHandlers(deps: PipelineDeps): UpgradeHandlers {
  const { observer, clientLimits } = deps;
  const upgrades = createUpgradeForwarder();

  /**
   * An upgrade or CONNECT request, observed like any other, with a response writing to its
   * socket. Undefined when the connection is dropped instead: behind a refusal that closes it,
   * or behind a pipelined request still being answered (see responseForUpgrade).
   */
  const socketRequest = (req: IncomingMessage, socket: Duplex, statusIfUnanswered: number): RequestContext | undefined => {
    socket.on('error', () => socket.destroy());
    if (isClosing(socket)) {
      socket.end();
      return undefined;
    }
    const res = responseForUpgrade(req, socket);
    if (res === undefined) {
      socket.destroy();
      return undefined;
    }
    const ctx = createContext(requestIdOf(req), req, res);
    observer.requestStarted(ctx);
    socket.once('close', () => observer.requestEnded(ctx, res.headersSent ? res.statusCode : statusIfUnanswered));
    return ctx;
  };

  return {
    // CONNECT asks for a tunnel: Portcullis forwards requests, it never opens one. Answered,
    // logged and counted like any refusal; the connection closes (what follows would be tunnel
    // bytes, not HTTP).
    connect(req, socket) {
      const ctx = socketRequest(req, socket, 499);
      if (ctx === undefined) return;
      refuse(ctx, new GatewayError('request.malformed', 'CONNECT is not served: Portcullis forwards requests, it does not open tunnels.'));
    },
    upgrade(req, socket, head) {
      const ctx = socketRequest(req, socket, 101);
      if (ctx === undefined) return;
      const { res } = ctx;
      // A WebSocket session is a request in flight for as long as it lasts (each one opens its own
      // upstream connection): counted against its client's limits.
      const address = req.socket.remoteAddress ?? '';
      const refusal = clientLimits?.admit(address);
      if (refusal !== undefined) {
        refuse(ctx, refusal);
        return;
      }
      if (clientLimits !== undefined) socket.once('close', () => clientLimits.release(address));
      if (!isWebSocketUpgrade(req)) {
        // h2c and other protocols would turn the connection into a tunnel past every policy.
        refuse(ctx, new GatewayError('request.malformed', 'Only WebSocket upgrades (GET with "Upgrade: websocket") are proxied.'));
        return;
      }
      admit(deps, ctx, ({ ctx: admitted, route, headers }) => {
        res.detachSocket(socket as Socket);
        upgrades.forward(req, socket, head, route, admitted.path + admitted.search, headers, admitted.id, (error, kind, reason) => {
          observer.upstreamFailed(admitted, kind, reason);
          // The upstream failed before answering: the request's own response takes the socket
          // back, so the refusal is what the access line and the metrics record.
          res.assignSocket(socket as Socket);
          refuse(admitted, error);
        });
      });
    },
    close: () => upgrades.close(),
  };
}
