/**
 * Plain HTTP forwarding through undici (chosen by measurement: docs/decisions/0001). Bodies are
 * streamed both ways with backpressure, never buffered whole. A client that goes away aborts the
 * upstream request so its socket returns to the pool or is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { RoutePolicy } from '../config/types.js';
import type { GatewayError } from '../errors.js';
import { clientReasonPhrase, clientResponseHeaders } from './header-rules.js';
import type { UpstreamPools } from './upstream-pools.js';
import { classifyUpstreamError, type UpstreamErrorKind, upstreamGatewayError } from './upstream-errors.js';

export interface ForwardCallbacks {
  /** Upstream response headers arrived (for the upstream latency histogram). */
  onUpstreamHeaders(): void;
  /** The upstream failed before any response byte reached the client. */
  onFailure(error: GatewayError, kind: UpstreamErrorKind): void;
  /** The upstream failed after the response started; the client connection is cut. */
  onBrokenResponse(kind: UpstreamErrorKind): void;
}

export interface ForwardRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly route: RoutePolicy;
  /** Normalised path plus the raw query string. */
  readonly pathAndQuery: string;
  readonly headers: string[];
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Sends the request upstream and streams the response back. Returns a function that aborts the
 * upstream exchange when the client goes away first (a no-op once the response completed); the
 * caller calls it from the response's `close`, which it already listens to.
 */
export function forwardHttp(pools: UpstreamPools, request: ForwardRequest, callbacks: ForwardCallbacks): () => void {
  const { req, res, route } = request;
  const upstream = route.upstream;
  const pool = pools.get(upstream);
  let abortUpstream: ((error?: Error) => void) | undefined;
  let resumeUpstream: (() => void) | undefined;
  let finished = false;
  let waitingForDrain = false;
  // Registered only while the client is slower than the upstream (backpressure).
  const onDrain = (): void => {
    waitingForDrain = false;
    resumeUpstream?.();
  };

  const handler: Dispatcher.DispatchHandler = {
    onConnect(abort) {
      abortUpstream = abort;
      if (res.destroyed) abort(new Error('client closed the connection'));
    },
    onHeaders(statusCode, rawHeaders, resume, statusText) {
      if (statusCode < 200) return true;
      resumeUpstream = resume;
      callbacks.onUpstreamHeaders();
      res.writeHead(statusCode, clientReasonPhrase(statusText), clientResponseHeaders(rawHeaders));
      return true;
    },
    onData(chunk) {
      if (res.write(chunk)) return true;
      if (!waitingForDrain) {
        waitingForDrain = true;
        res.once('drain', onDrain);
      }
      return false;
    },
    onComplete() {
      finished = true;
      res.end();
    },
    onError(error) {
      finished = true;
      if (res.destroyed) return;
      const kind = classifyUpstreamError(error);
      if (res.headersSent) {
        callbacks.onBrokenResponse(kind);
        res.destroy();
        return;
      }
      callbacks.onFailure(upstreamGatewayError(kind, route.name, route.timeoutMs), kind);
    },
  };

  pool.dispatch(
    {
      path: upstream.basePath + request.pathAndQuery,
      method: req.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: hasBody(req) ? req : null,
      headersTimeout: route.timeoutMs,
      bodyTimeout: route.timeoutMs,
    },
    handler,
  );

  return () => {
    if (!finished && abortUpstream) abortUpstream(new Error('client closed the connection'));
  };
}
