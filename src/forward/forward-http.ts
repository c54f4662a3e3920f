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
import { classifyUpstreamError, type UpstreamErrorKind, type UpstreamFailureReason, upstreamFailureReason, upstreamGatewayError } from './upstream-errors.js';

export interface ForwardCallbacks {
  /** Upstream response headers arrived (for the upstream latency histogram). */
  onUpstreamHeaders(): void;
  /** The upstream failed before any response byte reached the client. */
  onFailure(error: GatewayError, kind: UpstreamErrorKind, reason: UpstreamFailureReason): void;
  /** The upstream failed after the response started; the client connection is cut. */
  onBrokenResponse(kind: UpstreamErrorKind, reason: UpstreamFailureReason): void;
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

/** A request on its way upstream, as the caller sees it. */
export interface ForwardedExchange {
  /** The client went away: aborts the upstream exchange unless it completed. */
  clientGone(): void;
}

/**
 * undici's handler for one forwarded exchange: writes the upstream response into the client's
 * response as it arrives. A class rather than a literal of closures: one object per request.
 */
class ResponseRelay implements Dispatcher.DispatchHandler, ForwardedExchange {
  private abortUpstream: ((error?: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private finished = false;
  private waitingForDrain = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly route: RoutePolicy,
    private readonly callbacks: ForwardCallbacks,
  ) {}

  onConnect(abort: (error?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.res.destroyed) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.callbacks.onUpstreamHeaders();
    this.res.writeHead(statusCode, clientReasonPhrase(statusText), clientResponseHeaders(rawHeaders));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Registered only while the client is slower than the upstream (backpressure).
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.res.once('drain', () => {
        this.waitingForDrain = false;
        this.resumeUpstream?.();
      });
    }
    return false;
  }

  onComplete(): void {
    this.finished = true;
    this.res.end();
  }

  onError(error: Error): void {
    this.finished = true;
    const { res, route, callbacks } = this;
    if (res.destroyed) return;
    const kind = classifyUpstreamError(error);
    const reason = upstreamFailureReason(error);
    if (res.headersSent) {
      callbacks.onBrokenResponse(kind, reason);
      res.destroy();
      return;
    }
    callbacks.onFailure(upstreamGatewayError(kind, route.name, route.timeoutMs), kind, reason);
  }

  clientGone(): void {
    if (!this.finished && this.abortUpstream) this.abortUpstream(new Error('client closed the connection'));
  }
}

/**
 * Sends the request upstream and streams the response back. The caller calls `clientGone()` of
 * the exchange from the response's `close`, which it already listens to (a no-op once the
 * response completed).
 */
export function forwardHttp(pools: UpstreamPools, request: ForwardRequest, callbacks: ForwardCallbacks): ForwardedExchange {
  const { req, res, route } = request;
  const upstream = route.upstream;
  const relay = new ResponseRelay(res, route, callbacks);
  pools.get(upstream).dispatch(
    {
      path: upstream.basePath + request.pathAndQuery,
      method: req.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: hasBody(req) ? req : null,
      headersTimeout: route.timeoutMs,
      bodyTimeout: route.timeoutMs,
    },
    relay,
  );
  return relay;
}
