/**
 * Plain HTTP forwarding through undici (chosen by measurement: docs/decisions/0001). Bodies are
 * streamed both ways with backpressure, never buffered whole. A client that goes away aborts the
 * upstream request so its socket returns to the pool or is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { Deprecation, RoutePolicy } from '../config/types.js';
import type { GatewayError } from '../errors.js';
import { withDeprecationHeaders } from '../rollout/deprecation-headers.js';
import { clientReasonPhrase, clientResponseHeaders } from './header-rules.js';
import type { UpstreamPools } from './upstream-pools.js';
import {
  classifyUpstreamError,
  type UpstreamErrorKind,
  type UpstreamFailureReason,
  upstreamFailureReason,
  upstreamGatewayError,
} from './upstream-errors.js';

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
  /** The request's id: sent back in `X-Request-Id`. */
  readonly requestId: string;
  /** The credential's deprecation: announced in the response headers (rollout/deprecation-headers.ts). */
  readonly deprecation?: Deprecation | undefined;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The headers to send with a body: a body the client framed with Content-Length goes upstream
 * with that Content-Length. Without one undici would send it chunked, the framing the guard
 * refuses on GET, HEAD, DELETE and OPTIONS (a backend that ignores bodies on reads would take
 * the chunks as a second request). The guard already refuses a `Connection` header naming
 * Content-Length; this holds whatever else could drop it.
 */
function withContentLength(req: IncomingMessage, headers: string[]): string[] {
  const length = req.headers['content-length'];
  if (length === undefined) return headers;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return headers;
  }
  headers.push('content-length', length);
  return headers;
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
  /** Gave up before a connection was free (queue deadline, client gone): never sent. */
  private abandoned = false;
  private queueTimer: NodeJS.Timeout | undefined;
  /** Runs while the client is not draining the response (backpressure): limits.responseStallTimeout. */
  private stallTimer: NodeJS.Timeout | undefined;
  /** Counted against the pool (pools.enter) until it ends or gives up. */
  private counted = true;

  constructor(
    private readonly res: ServerResponse,
    private readonly route: RoutePolicy,
    private readonly callbacks: ForwardCallbacks,
    private readonly requestId: string,
    private readonly pools: UpstreamPools,
    private readonly pool: Pool,
    private readonly deprecation: Deprecation | undefined,
  ) {
    if (pools.queued(pool)) this.queueTimer = setTimeout(() => this.giveUp(), pools.queueTimeoutMs);
  }

  /** The wait for a connection passed its deadline: 503, and the request is never sent. */
  private giveUp(): void {
    this.queueTimer = undefined;
    if (this.abortUpstream !== undefined || this.finished) return;
    this.abandon();
    if (!this.res.destroyed)
      this.callbacks.onFailure(upstreamGatewayError('saturated', this.route.name, this.route.timeoutMs), 'saturated', 'other');
  }

  private abandon(): void {
    this.abandoned = true;
    this.finished = true;
    this.ended();
  }

  private ended(): void {
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.counted) {
      this.counted = false;
      this.pools.leave(this.pool);
    }
  }

  onConnect(abort: (error?: Error) => void): void {
    if (this.queueTimer !== undefined) clearTimeout(this.queueTimer);
    this.queueTimer = undefined;
    // A request undici kept queued after it was given up is dropped before a byte is written.
    if (this.abandoned) {
      abort(new Error('given up while waiting for a connection'));
      return;
    }
    this.abortUpstream = abort;
    if (this.res.destroyed) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.callbacks.onUpstreamHeaders();
    const headers = clientResponseHeaders(rawHeaders, this.requestId);
    this.res.writeHead(
      statusCode,
      clientReasonPhrase(statusText),
      this.deprecation === undefined ? headers : withDeprecationHeaders(headers, this.deprecation),
    );
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.res.write(chunk)) return true;
    // Registered only while the client is slower than the upstream (backpressure).
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      // Paused, undici's bodyTimeout does not run: without this bound a client that stops reading
      // holds the upstream connection for ever (docs/decisions/0012, "Second review").
      this.stallTimer = setTimeout(() => this.stalled(), this.pools.responseStallTimeoutMs);
      this.res.once('drain', () => {
        this.waitingForDrain = false;
        if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
        this.stallTimer = undefined;
        this.resumeUpstream?.();
      });
    }
    return false;
  }

  /** The client read nothing for limits.responseStallTimeout: both sides are cut. */
  private stalled(): void {
    this.stallTimer = undefined;
    if (this.finished) return;
    this.finished = true;
    this.ended();
    this.callbacks.onBrokenResponse('client_stalled', 'other');
    // The response first: undici's onError then sees it destroyed and counts nothing more.
    this.res.destroy();
    this.abortUpstream?.(new Error('the client stopped reading the response'));
  }

  onComplete(): void {
    this.finished = true;
    this.ended();
    this.res.end();
  }

  onError(error: Error): void {
    this.finished = true;
    this.ended();
    const { res, route, callbacks } = this;
    // Already answered: given up in the queue, or refused by the gateway itself (request.timeout).
    if (this.abandoned || res.destroyed || res.writableEnded) return;
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
    if (this.finished) return;
    if (this.abortUpstream !== undefined) this.abortUpstream(new Error('client closed the connection'));
    // Still queued: the request must not be sent once a connection frees up.
    else this.abandon();
  }
}

/**
 * Sends the request upstream and streams the response back. The caller calls `clientGone()` of
 * the exchange from the response's `close`, which it already listens to (a no-op once the
 * response completed).
 */
export function forwardHttp(pools: UpstreamPools, request: ForwardRequest, callbacks: ForwardCallbacks): ForwardedExchange | undefined {
  const { req, res, route } = request;
  const upstream = route.upstream;
  const pool = pools.enter(upstream);
  if (pool === undefined) {
    callbacks.onFailure(upstreamGatewayError('saturated', route.name, route.timeoutMs), 'saturated', 'other');
    return undefined;
  }
  const relay = new ResponseRelay(res, route, callbacks, request.requestId, pools, pool, request.deprecation);
  const body = hasBody(req);
  pool.dispatch(
    {
      path: upstream.basePath + request.pathAndQuery,
      method: req.method as Dispatcher.HttpMethod,
      headers: body ? withContentLength(req, request.headers) : request.headers,
      body: body ? req : null,
      headersTimeout: route.timeoutMs,
      bodyTimeout: route.timeoutMs,
    },
    relay,
  );
  return relay;
}
