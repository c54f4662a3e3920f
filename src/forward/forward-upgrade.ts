/**
 * WebSocket upgrades, proxied with http-proxy-3 to the route's upstream over TLS (wss). They pass
 * the same stages as plain requests (framing, path safety, route, authentication, authorization,
 * require) and carry the same header rules; only the transport differs.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RoutePolicy } from '../config/types.js';
import { clientResponseHeaders } from './header-rules.js';
import { upgradeAgentOf } from './upstream-trust.js';
import {
  classifyUpstreamError,
  type UpstreamErrorKind,
  type UpstreamFailureReason,
  upstreamFailureReason,
  upstreamGatewayError,
} from './upstream-errors.js';
import type { GatewayError } from '../errors.js';

export interface UpgradeForwarder {
  forward(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    route: RoutePolicy,
    pathAndQuery: string,
    headers: string[],
    requestId: string,
    onFailure: (error: GatewayError, kind: UpstreamErrorKind, reason: UpstreamFailureReason) => void,
  ): void;
  close(): void;
}

/** Only WebSocket upgrades are proxied (RFC 6455 §4.1: a GET with `Upgrade: websocket`). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.upgrade?.trim().toLowerCase() === 'websocket';
}

/** How long a connection whose upgrade (or CONNECT) was refused may stay open after the answer. */
export const REFUSED_UPGRADE_LINGER_MS = 2_000;

/**
 * A ServerResponse writing to an upgrade (or CONNECT) socket, so refusals use the same
 * problem+json writer; the connection closes after the answer. Undefined when the socket still
 * belongs to the response of an earlier pipelined request (Node fires `upgrade` and `connect`
 * as soon as the head is parsed): the caller drops the connection.
 */
export function responseForUpgrade(req: IncomingMessage, socket: Duplex): ServerResponse | undefined {
  const res = new ServerResponse(req);
  try {
    res.assignSocket(socket as Socket);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_HTTP_SOCKET_ASSIGNED') return undefined;
    throw error;
  }
  res.shouldKeepAlive = false;
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    closeAfterAnswer(socket);
  });
  return res;
}

/**
 * Ends our side and discards whatever the client still sends, so its end is seen and the socket
 * closes; a client that keeps the connection open is cut after REFUSED_UPGRADE_LINGER_MS (HTTP
 * sockets are half-open: `end()` alone would wait for the client forever).
 */
function closeAfterAnswer(socket: Duplex): void {
  socket.resume();
  socket.end();
  const timer = setTimeout(() => socket.destroy(), REFUSED_UPGRADE_LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function headersObject(flat: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = (flat[i] as string).toLowerCase();
    const value = flat[i + 1] as string;
    const existing = out[name];
    if (existing === undefined) out[name] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = [existing, value];
  }
  return out;
}

/**
 * The upstream's answer to an upgrade, under the response rules of plain forwarding
 * (header-rules.ts): the gateway's `X-Request-Id`, hop-by-hop headers and those the upstream
 * named in `Connection` dropped. A 101 keeps `Connection: Upgrade` and its `Upgrade`; any other
 * answer closes the connection, so it says `Connection: close` (http-proxy-3 would relay the
 * request's `Connection: Upgrade`). Runs before http-proxy-3 writes the head: listeners added in
 * `proxyReqWs` come before its own.
 */
function applyResponseRules(proxyRes: IncomingMessage, requestId: string, switching: boolean): void {
  const headers = headersObject(clientResponseHeaders(proxyRes.rawHeaders, requestId));
  if (switching) {
    headers.connection = 'Upgrade';
    headers.upgrade = proxyRes.headers.upgrade ?? 'websocket';
  } else {
    headers.connection = 'close';
  }
  proxyRes.headers = headers;
}

export function createUpgradeForwarder(): UpgradeForwarder {
  /** The request id of each upgrade in flight, for its response (http-proxy-3 passes only `req`). */
  const requestIds = new WeakMap<IncomingMessage, string>();
  const proxy = createProxyServer({ ws: true, secure: true, xfwd: false, changeOrigin: false, prependPath: true });
  // Errors are handled per call; this keeps an unhandled 'error' from crashing the process.
  proxy.on('error', () => {});
  // http-proxy-3 applies no timeout to upgrades: the route's timeout bounds the wait for the
  // upstream's 101 (after it the socket timeout is reset to none, the tunnel may idle).
  proxy.on('proxyReqWs', (proxyReq, req, _socket, options) => {
    const requestId = requestIds.get(req) ?? '';
    proxyReq.once('upgrade', (proxyRes: IncomingMessage) => applyResponseRules(proxyRes, requestId, true));
    proxyReq.once('response', (proxyRes: IncomingMessage) => applyResponseRules(proxyRes, requestId, false));
    const timeoutMs = options.proxyTimeout;
    if (timeoutMs === undefined) return;
    proxyReq.setTimeout(timeoutMs, () => {
      proxyReq.destroy(Object.assign(new Error(`no upgrade answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
  });
  return {
    forward(req, socket, head, route, pathAndQuery, headers, requestId, onFailure) {
      const upstream = route.upstream;
      requestIds.set(req, requestId);
      const agent = upgradeAgentOf(upstream);
      req.url = pathAndQuery;
      const outgoing = headersObject(headers);
      outgoing.connection = 'Upgrade';
      outgoing.upgrade = req.headers.upgrade ?? 'websocket';
      req.headers = outgoing;
      proxy.ws(
        req,
        socket,
        head,
        {
          // The whole upstream URL is given and the request's own path ignored, so the base
          // path is kept and nothing re-joins or re-normalises the checked path.
          target: `${upstream.origin}${upstream.basePath}${pathAndQuery}`,
          ignorePath: true,
          secure: true,
          proxyTimeout: route.timeoutMs,
          // With the upstream's own CA, an agent holding its trust store (built once); without,
          // a fresh connection on Node's default context. Either way, no keep-alive.
          ...(agent !== undefined ? { agent } : {}),
        },
        (error: Error) => {
          const kind = classifyUpstreamError(error);
          onFailure(upstreamGatewayError(kind, route.name, route.timeoutMs), kind, upstreamFailureReason(error));
        },
      );
    },
    close() {
      proxy.close();
    },
  };
}
