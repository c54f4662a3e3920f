/**
 * WebSocket upgrades, proxied with http-proxy-3 to the route's upstream over TLS (wss). They pass
 * the same stages as plain requests (framing, path safety, route, authentication, authorization,
 * require) and carry the same header rules; only the transport differs.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { createProxyServer } from 'http-proxy-3';
import type { RoutePolicy } from '../config/types.js';
import { classifyUpstreamError, type UpstreamErrorKind, upstreamGatewayError } from './upstream-errors.js';
import type { GatewayError } from '../errors.js';

export interface UpgradeForwarder {
  forward(req: IncomingMessage, socket: Duplex, head: Buffer, route: RoutePolicy, pathAndQuery: string, headers: string[], onFailure: (error: GatewayError, kind: UpstreamErrorKind) => void): void;
  close(): void;
}

/** Only WebSocket upgrades are proxied (RFC 6455 §4.1: a GET with `Upgrade: websocket`). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.headers.upgrade?.trim().toLowerCase() === 'websocket';
}

/** A ServerResponse writing to an upgrade socket, so refusals use the same problem+json writer. */
export function responseForUpgrade(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  return res;
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

const TRUSTED_ROOTS = rootCertificates.join('\n') + '\n';

export function createUpgradeForwarder(): UpgradeForwarder {
  const proxy = createProxyServer({ ws: true, secure: true, xfwd: false, changeOrigin: false, prependPath: true });
  // Errors are handled per call; this keeps an unhandled 'error' from crashing the process.
  proxy.on('error', () => {});
  // http-proxy-3 applies no timeout to upgrades: the route's timeout bounds the wait for the
  // upstream's 101 (after it the socket timeout is reset to none, the tunnel may idle).
  proxy.on('proxyReqWs', (proxyReq, _req, _socket, options) => {
    const timeoutMs = options.proxyTimeout;
    if (timeoutMs === undefined) return;
    proxyReq.setTimeout(timeoutMs, () => {
      proxyReq.destroy(Object.assign(new Error(`no upgrade answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
  });
  return {
    forward(req, socket, head, route, pathAndQuery, headers, onFailure) {
      const upstream = route.upstream;
      req.url = pathAndQuery;
      const outgoing = headersObject(headers);
      outgoing.connection = 'Upgrade';
      outgoing.upgrade = req.headers.upgrade ?? 'websocket';
      req.headers = outgoing as IncomingMessage['headers'];
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
          ...(upstream.ca !== undefined ? { ca: TRUSTED_ROOTS + upstream.ca } : {}),
        },
        (error: Error) => {
          const kind = classifyUpstreamError(error);
          onFailure(upstreamGatewayError(kind, route.name, route.timeoutMs), kind);
        },
      );
    },
    close() {
      proxy.close();
    },
  };
}
