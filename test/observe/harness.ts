/**
 * A real gateway with observability wired in (startTestGateway, test/support/gateway.ts), for the
 * tests of src/observe: real store, real verifier, API tokens of both scopes in the store, and a
 * logger writing to a collector, so tests read every line the gateway logged.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import type { GatewayConfig } from '../../src/config/types.js';
import type { RunningGateway } from '../../src/gateway.js';
import type { Observability } from '../../src/observe/index.js';
import type { ServiceBundle } from '../../src/services.js';
import { startTestGateway } from '../support/gateway.js';
import { REFUSING_PORT } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

export { eventually } from '../support/eventually.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random base62 string (test secrets, random paths). */
export function randomBase62(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += BASE62.charAt(byte % 62);
  return out;
}

/** A string shaped like a Portcullis API token (`pcl_` + 49 base62 characters). */
export function fakeApiToken(): string {
  return `pcl_${randomBase62(49)}`;
}

/**
 * Real API tokens in the gateway's store, created by each startObservedGateway (tests in a file
 * run one after another, so the values belong to the gateway the test started).
 */
export const KNOWN = {
  /** Bearer API token of scope read-only. */
  readToken: '',
  readId: '',
  /** API token of scope read-write, presented as Basic `anything:<token>`. */
  writeToken: '',
  writeId: '',
};

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** Collects pino output: every line the gateway logged, raw and parsed. */
export interface LogCollector {
  write(chunk: string): void;
  readonly raw: string[];
  /** Parsed lines. */
  lines(): Record<string, unknown>[];
  /** Parsed access-log lines. */
  access(): Record<string, unknown>[];
}

export function createLogCollector(): LogCollector {
  const raw: string[] = [];
  const lines = (): Record<string, unknown>[] =>
    raw
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    raw,
    write(chunk) {
      raw.push(chunk);
    },
    lines,
    access: () => lines().filter((line) => line.event === 'http.access'),
  };
}

export interface ObservedGateway {
  readonly gateway: RunningGateway;
  readonly config: GatewayConfig;
  readonly obs: Observability;
  readonly services: ServiceBundle;
  readonly log: LogCollector;
  readonly port: number;
  readonly url: string;
  readonly metricsUrl: string;
}

export interface ObservedGatewayOptions {
  /** The `routes:` YAML (indented list items). */
  readonly routes: string;
  /** `${NAME}` values for the YAML; `${CA}` is always set. */
  readonly env?: Record<string, string>;
  /** `log.queryValues`. */
  readonly queryValues?: readonly string[];
  readonly level?: string;
  readonly readiness?: () => Promise<string | undefined>;
  /** Sees every request to the metrics listener's handler before it is answered. */
  readonly onMetricsRequest?: (req: IncomingMessage) => void;
}

export function observedGatewayYaml(options: ObservedGatewayOptions): string {
  return `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: ${options.level ?? 'info'}, queryValues: ${JSON.stringify(options.queryValues ?? [])} }
routes:
${options.routes}`;
}

export async function startObservedGateway(t: TestContext, options: ObservedGatewayOptions): Promise<ObservedGateway> {
  const log = createLogCollector();
  // The real stack: store, cached verifier, OAuth, observability, as `portcullis start` builds it.
  const gw = await startTestGateway(t, observedGatewayYaml(options), options.env ?? {}, {
    logDestination: log,
    dirPrefix: 'pcl-obs-',
    compose: (services) => ({
      ...services,
      metricsHandler: (req, res) => {
        options.onMetricsRequest?.(req);
        services.observability.metricsHandler(req, res);
      },
      ...(options.readiness ? { readiness: options.readiness } : {}),
    }),
  });
  const { services } = gw;
  const reader = await services.store.tokens.create({ label: 'reader', scope: 'read-only' });
  const writer = await services.store.tokens.create({ label: 'writer', scope: 'read-write' });
  Object.assign(KNOWN, { readToken: reader.token, readId: reader.record.id, writeToken: writer.token, writeId: writer.record.id });
  return {
    gateway: gw.gateway,
    config: gw.config,
    obs: services.observability,
    services,
    log,
    port: gw.port,
    url: gw.url,
    metricsUrl: gw.metricsUrl,
  };
}

/**
 * A loopback port free a moment ago (bound, then released), for a server started next. Another
 * process can take it in between; for a port that must refuse connections use REFUSING_PORT.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The routes most tests use: `public` (auth off, read-write), `docs` (auth off, read-only),
 * `private` (auth required, read-write), `broken` (upstream on a port that refuses connections), `slow`
 * (an upstream that never answers). Env: UPSTREAM, SLOW, CLOSED.
 */
export const STANDARD_ROUTES = `
  - name: public
    match: { path: /public }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: docs
    match: { path: /docs }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: broken
    match: { path: /broken }
    upstream: "https://127.0.0.1:\${CLOSED}"
    auth: "off"
  - name: slow
    match: { path: /slow }
    upstream: "\${SLOW}"
    upstreamCa: "\${CA}"
    auth: "off"
`;

export interface StandardSetup extends ObservedGateway {
  readonly upstream: RecordingUpstream;
  /** Requests that reached the never-answering upstream of route `slow`. */
  slowArrivals(): number;
}

/** Starts the recording upstream, the silent upstream and an observed gateway with STANDARD_ROUTES. */
export async function startStandard(t: TestContext, options: Partial<ObservedGatewayOptions> = {}): Promise<StandardSetup> {
  const upstream = await startRecordingUpstream();
  const slow = await startRecordingUpstream();
  let arrivals = 0;
  slow.handle(() => {
    arrivals++;
  });
  let gw: ObservedGateway;
  try {
    gw = await startObservedGateway(t, {
      routes: STANDARD_ROUTES,
      ...options,
      env: { UPSTREAM: upstream.origin, SLOW: slow.origin, CLOSED: String(REFUSING_PORT), ...options.env },
    });
  } catch (error) {
    await Promise.all([upstream.close(), slow.close()]);
    throw error;
  }
  // After the gateway (hooks run in registration order): its pools close first, so the
  // upstreams are left with no connection to wait for.
  t.after(() => Promise.all([upstream.close(), slow.close()]));
  return { ...gw, upstream, slowArrivals: () => arrivals };
}
