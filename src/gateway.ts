/**
 * The composition root: configuration → routing state, authentication, observation → listeners.
 * No request logic lives here: pipeline.ts has the order of stages for plain requests,
 * pipeline-upgrade.ts for upgrades and CONNECT, observe/health.ts the metrics listener's
 * /healthz and /readyz; the configuration arrives compiled (config/compile.ts).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayConfig, ListenAddress } from './config/types.js';
import { HARDENING_HEADERS } from './console/static-files.js';
import { createUpstreamPools } from './forward/upstream-pools.js';
import { newRequestId } from './listen/request-id.js';
import { MAX_HEADER_LINES } from './listen/framing-guard.js';
import { createClientLimits } from './listen/client-limits.js';
import { isClosing, sendParserError } from './listen/send-problem.js';
import { answerOwnRefusals, OWN_LISTENER_OPTIONS, requiringHost } from './listen/own-listener-refusals.js';
import { OWN_ANSWER_HEADERS } from './listen/own-answer-headers.js';
import { assertStrictParser, STRICT_PARSER } from './listen/strict-parser.js';
import { buildRouteTable } from './match/route-table.js';
import type { RateLimits } from './limit/rate-limits.js';
import { createHealthEndpoints } from './observe/health.js';
import type { Logger } from './observe/logger.js';
import { NO_OBSERVER, type RequestObserver } from './observe/observer.js';
import { createRequestHandler, timeOut, type RoutingState } from './pipeline.js';
import { createUpgradeHandlers } from './pipeline-upgrade.js';
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
  /** Rate limits per route (src/limit/rate-limits.ts); none when undefined. */
  readonly rateLimits?: RateLimits;
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
  return {
    config,
    routes: table,
    pools: createUpstreamPools(
      config.routes.map((r) => r.upstream),
      config.limits,
    ),
  };
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
    rateLimits: services.rateLimits,
    requestClosed: () => {
      inFlight--;
    },
    clientLimits: createClientLimits(
      () => state.config.limits,
      (address) => state.config.trustedProxies.has(address),
    ),
    active: new WeakMap<object, RequestContext>(),
  } as const;
  const handleRequest = createRequestHandler(deps);

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
    ? https.createServer(
        { ...serverOptions, cert: config.tls.cert, key: config.tls.key, handshakeTimeout: config.limits.headersTimeoutMs },
        onRequest,
      )
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
  const upgradeHandlers = createUpgradeHandlers(deps);
  proxy.on('connect', upgradeHandlers.connect);
  proxy.on('upgrade', upgradeHandlers.upgrade);

  const metrics = http.createServer(
    { ...listenerOptions(config.limits), ...OWN_LISTENER_OPTIONS },
    requiringHost(
      createHealthEndpoints({ readiness: services.readiness, shuttingDown: () => shuttingDown, next: services.metricsHandler }),
      OWN_ANSWER_HEADERS,
    ),
  );
  answerOwnRefusals(metrics, OWN_ANSWER_HEADERS);
  const admin = services.adminHandler
    ? config.admin.tls
      ? https.createServer(
          {
            ...listenerOptions(config.limits),
            ...OWN_LISTENER_OPTIONS,
            cert: config.admin.tls.cert,
            key: config.admin.tls.key,
            handshakeTimeout: config.limits.headersTimeoutMs,
          },
          requiringHost(services.adminHandler, HARDENING_HEADERS),
        )
      : http.createServer(
          { ...listenerOptions(config.limits), ...OWN_LISTENER_OPTIONS },
          requiringHost(services.adminHandler, HARDENING_HEADERS),
        )
    : undefined;
  if (admin) answerOwnRefusals(admin, HARDENING_HEADERS);

  const listening: http.Server[] = [];
  const bind = async (server: http.Server, address: ListenAddress): Promise<AddressInfo> => {
    const bound = await listenOn(server, address);
    listening.push(server);
    return bound;
  };
  let proxyAddress: AddressInfo;
  let metricsAddress: AddressInfo;
  let adminAddress: AddressInfo | undefined;
  try {
    proxyAddress = await bind(proxy, config.listen);
    metricsAddress = await bind(metrics, config.metrics.listen);
    adminAddress = admin ? await bind(admin, config.admin.listen) : undefined;
  } catch (error) {
    // One listener cannot bind (its address is taken): none stays open, so the process ends
    // instead of serving part of a gateway that never said it started.
    for (const server of listening) server.close();
    upgradeHandlers.close();
    await state.pools.close();
    throw error;
  }
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
      const proxyContext =
        proxy instanceof https.Server && next.tls ? tls.createSecureContext({ cert: next.tls.cert, key: next.tls.key }) : undefined;
      const adminContext =
        admin instanceof https.Server && next.admin.tls
          ? tls.createSecureContext({ cert: next.admin.tls.cert, key: next.admin.tls.key })
          : undefined;
      const previous = state;
      state = createRoutingState(next);
      if (proxyContext !== undefined && next.tls) (proxy as https.Server).setSecureContext({ cert: next.tls.cert, key: next.tls.key });
      if (adminContext !== undefined && next.admin.tls)
        (admin as https.Server).setSecureContext({ cert: next.admin.tls.cert, key: next.admin.tls.key });
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
      upgradeHandlers.close();
      await state.pools.close();
      logger.info({ event: 'gateway.stopped', abandoned: inFlight }, 'portcullis stopped');
    },
  };
}
