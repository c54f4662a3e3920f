/**
 * The composition root: configuration → routing state, authentication, observation → listeners.
 * No request logic lives here; see pipeline.ts for the order of stages.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { BlockList, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayConfig, ListenAddress } from './config/types.js';
import { createContext } from './context.js';
import { GatewayError } from './errors.js';
import { createUpgradeForwarder, isWebSocketUpgrade, responseForUpgrade } from './forward/forward-upgrade.js';
import { createUpstreamPools } from './forward/upstream-pools.js';
import { newRequestId, requestIdOf } from './listen/request-id.js';
import { MAX_HEADER_LINES } from './listen/framing-guard.js';
import { createClientLimits } from './listen/client-limits.js';
import { isClosing, sendParserError } from './listen/send-problem.js';
import { assertStrictParser, STRICT_PARSER } from './listen/strict-parser.js';
import { buildRouteTable } from './match/route-table.js';
import type { Logger } from './observe/logger.js';
import { NO_OBSERVER, type RequestObserver } from './observe/observer.js';
import { admit, createRequestHandler, refuse, timeOut, type RoutingState } from './pipeline.js';
import type { Authenticate, RequestContext } from './types.js';

export interface GatewayServices {
  readonly authenticate: Authenticate;
  readonly observer?: RequestObserver;
  /** Handles every request on the metrics listener that is not /healthz or /readyz. */
  readonly metricsHandler?: http.RequestListener;
  /** Readiness beyond "configuration loaded": e.g. the store answers. */
  readonly readiness?: () => Promise<string | undefined>;
  /** The admin API, when the gateway serves one. */
  readonly adminHandler?: http.RequestListener;
  /**
   * Endpoints served on the proxy listener ahead of routing (OAuth token endpoint, JWKS). They
   * set `ctx.route` to their own route (`oauth:token`, …) for metrics and the access log.
   */
  readonly ownEndpoints?: (req: http.IncomingMessage, res: http.ServerResponse, requestId: string, ctx: RequestContext) => boolean;
}

export interface RunningGateway {
  readonly proxyAddress: AddressInfo;
  readonly metricsAddress: AddressInfo;
  readonly adminAddress: AddressInfo | undefined;
  /**
   * Swaps in a new configuration without dropping a request: routes, upstreams, trusted
   * proxies, and the certificates of the TLS listeners (for new connections).
   */
  reload(config: GatewayConfig): void;
  /**
   * The first step of a shutdown: /readyz answers 503 from now on, and responses close their
   * connection, while requests are still served (the load balancer stops sending first).
   */
  stopBeingReady(): void;
  /** Stops accepting, drains in-flight requests up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
  /** Requests currently being served. */
  inFlight(): number;
}

/** Builds everything a configuration needs on the request path. Throws on conflicting routes. */
export function createRoutingState(config: GatewayConfig): RoutingState {
  const { table, conflicts } = buildRouteTable(config.routes);
  if (conflicts.length > 0) {
    const first = conflicts[0];
    throw new TypeError(`routes "${first?.first.name}" and "${first?.second.name}" match the same requests`);
  }
  let trusted: BlockList | undefined;
  if (config.trustedProxies.length > 0) {
    trusted = new BlockList();
    for (const entry of config.trustedProxies) {
      const [address = '', prefix] = entry.split('/');
      const type = address.includes(':') ? 'ipv6' : 'ipv4';
      if (prefix === undefined) trusted.addAddress(address, type);
      else trusted.addSubnet(address, Number(prefix), type);
    }
  }
  return { config, routes: table, pools: createUpstreamPools(config.routes.map((r) => r.upstream), config.limits), trustedProxies: trusted };
}

function isTrusted(list: BlockList | undefined, address: string): boolean {
  return list !== undefined && list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}

/** How often Node checks `headersTimeout` and `requestTimeout` (its default, 30 s, would let a 10 s limit run to 40 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * Time limits and parser strictness shared by every listener: a whole request must arrive within
 * `limits.requestTimeout` (Node requires it to be at least `headersTimeout`).
 */
function listenerOptions(limits: GatewayConfig['limits']): http.ServerOptions {
  return {
    ...STRICT_PARSER,
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  };
}

/** Answers what Node's parser refused or timed out on a listener without a request pipeline. */
function answerClientErrors(server: http.Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const res = (socket as Socket & { _httpMessage?: http.ServerResponse })._httpMessage;
    // A response already under way cannot be followed by another: cut the connection.
    if (res?.headersSent === true) {
      socket.destroy();
      return;
    }
    sendParserError(socket as Socket, error.code, newRequestId());
  });
}

function listenOn(server: http.Server, address: ListenAddress): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startGateway(config: GatewayConfig, services: GatewayServices, logger: Logger): Promise<RunningGateway> {
  assertStrictParser();
  let state = createRoutingState(config);
  const observer = services.observer ?? NO_OBSERVER;
  const proto = config.tls ? 'https' : 'http';
  let inFlight = 0;
  const deps = {
    state: () => state,
    authenticate: services.authenticate,
    observer,
    proto,
    ownEndpoints: services.ownEndpoints,
    requestClosed: () => {
      inFlight--;
    },
    clientLimits: createClientLimits(
      () => state.config.limits,
      (address) => isTrusted(state.trustedProxies, address),
    ),
    active: new WeakMap<object, RequestContext>(),
  } as const;
  const handleRequest = createRequestHandler(deps);
  const upgrades = createUpgradeForwarder();

  let shuttingDown = false;
  const onRequest: http.RequestListener = (req, res) => {
    // Pipelined behind a refusal that closes the connection: never processed.
    if (isClosing(req.socket)) return;
    // Shutting down: each connection ends after its response, so clients reconnect elsewhere
    // instead of finding their keep-alive connection closed under a request.
    if (shuttingDown) res.shouldKeepAlive = false;
    inFlight++;
    handleRequest(req, res);
  };

  const serverOptions: http.ServerOptions = {
    // A slow client holds an upstream connection while its body trickles in: the whole request
    // is bounded (limits.requestTimeout; docs/decisions/0013-slow-clients.md).
    ...listenerOptions(config.limits),
    keepAliveTimeout: 5_000,
    requireHostHeader: false, // checked by the framing guard, answered as problem+json
    joinDuplicateHeaders: false,
  };
  const proxy = config.tls
    ? https.createServer({ ...serverOptions, cert: config.tls.cert, key: config.tls.key, handshakeTimeout: config.limits.headersTimeoutMs }, onRequest)
    : http.createServer(serverOptions, onRequest);
  // Counted on the TCP connection, before any TLS handshake.
  proxy.on('connection', (socket: Socket) => deps.clientLimits.connectionOpened(socket));
  proxy.maxHeadersCount = MAX_HEADER_LINES;
  proxy.on('checkContinue', onRequest);
  // Other expectations reach the pipeline, which answers 417 as problem+json.
  proxy.on('checkExpectation', onRequest);
  proxy.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A request whose head arrived but whose body did not in time is answered as that request.
    const active = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? deps.active.get(socket) : undefined;
    if (active !== undefined) {
      timeOut(active);
      return;
    }
    sendParserError(socket as Socket, error.code, newRequestId());
  });
  /**
   * An upgrade or CONNECT request, observed like any other, with a response writing to its
   * socket. Undefined when the connection is dropped instead: behind a refusal that closes it,
   * or behind a pipelined request still being answered (see responseForUpgrade).
   */
  const socketRequest = (req: http.IncomingMessage, socket: Duplex, statusIfUnanswered: number): RequestContext | undefined => {
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
  // CONNECT asks for a tunnel: Portcullis forwards requests, it never opens one. Answered,
  // logged and counted like any refusal; the connection closes (what follows would be tunnel
  // bytes, not HTTP).
  proxy.on('connect', (req: http.IncomingMessage, socket: Duplex) => {
    const ctx = socketRequest(req, socket, 499);
    if (ctx === undefined) return;
    refuse(ctx, new GatewayError('request.malformed', 'CONNECT is not served: Portcullis forwards requests, it does not open tunnels.'));
  });
  proxy.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const ctx = socketRequest(req, socket, 101);
    if (ctx === undefined) return;
    const { res } = ctx;
    // A WebSocket session is a request in flight for as long as it lasts (each one opens its own
    // upstream connection): counted against its client's limits.
    const address = req.socket.remoteAddress ?? '';
    const refusal = deps.clientLimits.admit(address);
    if (refusal !== undefined) {
      refuse(ctx, refusal);
      return;
    }
    socket.once('close', () => deps.clientLimits.release(address));
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
  });

  // A throw in here (a readiness check that throws instead of rejecting) must not become an
  // unhandled rejection, which would stop the process: the connection is dropped instead.
  const metrics = http.createServer(listenerOptions(config.limits), (req, res) => void (async () => {
    res.setHeader('x-request-id', requestIdOf(req));
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const problem = shuttingDown
        ? 'shutting down'
        : services.readiness ? await services.readiness().catch(() => 'readiness check failed') : undefined;
      res.writeHead(problem ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(problem ? { status: 'unavailable', reason: problem } : { status: 'ready' }));
      return;
    }
    if (services.metricsHandler) {
      services.metricsHandler(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"status":404}');
  })().catch(() => res.destroy()));

  answerClientErrors(metrics);
  const admin = services.adminHandler
    ? config.admin.tls
      ? https.createServer({ ...listenerOptions(config.limits), cert: config.admin.tls.cert, key: config.admin.tls.key, handshakeTimeout: config.limits.headersTimeoutMs }, services.adminHandler)
      : http.createServer(listenerOptions(config.limits), services.adminHandler)
    : undefined;
  if (admin) answerClientErrors(admin);

  const proxyAddress = await listenOn(proxy, config.listen);
  const metricsAddress = await listenOn(metrics, config.metrics.listen);
  const adminAddress = admin ? await listenOn(admin, config.admin.listen) : undefined;
  if (!config.tls) {
    logger.warn({ event: 'listen.plaintext' }, 'the proxy listener serves plain HTTP: terminate TLS in front of Portcullis');
  }
  logger.info(
    { event: 'gateway.started', proxy: proxyAddress, metrics: metricsAddress, admin: adminAddress, routes: config.routes.length },
    'portcullis is serving',
  );

  return {
    proxyAddress,
    metricsAddress,
    adminAddress,
    inFlight: () => inFlight,
    stopBeingReady() {
      shuttingDown = true;
    },
    reload(next) {
      // Certificates first: a key that does not fit throws here, before anything was swapped.
      // A listener's kind (http or https) is fixed at start; reload-plan.ts keeps `tls` as it
      // runs when it is added or removed.
      const proxyContext = proxy instanceof https.Server && next.tls ? tls.createSecureContext({ cert: next.tls.cert, key: next.tls.key }) : undefined;
      const adminContext = admin instanceof https.Server && next.admin.tls ? tls.createSecureContext({ cert: next.admin.tls.cert, key: next.admin.tls.key }) : undefined;
      const previous = state;
      state = createRoutingState(next);
      if (proxyContext !== undefined && next.tls) (proxy as https.Server).setSecureContext({ cert: next.tls.cert, key: next.tls.key });
      if (adminContext !== undefined && next.admin.tls) (admin as https.Server).setSecureContext({ cert: next.admin.tls.cert, key: next.admin.tls.key });
      // Requests already sent keep their pool; close() waits for them before closing sockets.
      void previous.pools.close();
    },
    async close(graceMs = config.limits.shutdownGraceMs) {
      const servers = [proxy, metrics, ...(admin ? [admin] : [])];
      for (const server of servers) server.close();
      proxy.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (inFlight > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        proxy.closeIdleConnections();
      }
      for (const server of servers) server.closeAllConnections();
      upgrades.close();
      await state.pools.close();
      logger.info({ event: 'gateway.stopped', abandoned: inFlight }, 'portcullis stopped');
    },
  };
}
