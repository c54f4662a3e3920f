/**
 * The one way a test starts a gateway, in two forms (test/README.md says which to use when):
 *
 *   - `startTestGateway`: in this process, from YAML text, built by createServices as
 *     `portcullis start` builds it. Fast; the test can reach the services (the store) directly.
 *   - `startGatewayProcess`: the real `portcullis start` command (the built CLI) as a child
 *     process, for promises about processes: signals, reloads, file watching, workers, stdout,
 *     shutdown. Its ports are read from its `gateway.started` (or `cluster.started`) log line.
 *
 * Both listen on ephemeral loopback ports and are stopped when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfigFile, loadConfigText } from '../../src/config/index.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { startGateway, type GatewayServices, type RunningGateway } from '../../src/gateway.js';
import { createLogger, type Logger } from '../../src/observe/logger.js';
import { createServices, type ServiceBundle } from '../../src/services.js';
import type { Authenticate } from '../../src/types.js';
import { sharedCerts } from './certs.js';
import { CLI_PATH } from './cli.js';
import { initConfiguredTestStore, initTestStore } from './init-store.js';

// ---------------------------------------------------------------------------------------------
// In this process

export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly config: GatewayConfig;
  readonly services: ServiceBundle;
  /** The gateway's logger (`flush()` writes out the lines it still holds). */
  readonly logger: Logger;
  readonly port: number;
  readonly url: string;
  /** `http://127.0.0.1:PORT` of the metrics listener (/metrics, /healthz, /readyz). */
  readonly metricsUrl: string;
  /** The temporary directory the configuration's relative paths (the SQLite store) resolve in. */
  readonly dir: string;
}

export function loadTestConfig(yaml: string, env: Record<string, string>, dir: string): GatewayConfig {
  const result = loadConfigText(yaml, join(dir, 'portcullis.yaml'), { ...env, CA: sharedCerts().ca.caCertPath });
  if (!result.ok)
    throw new Error(`test configuration invalid:\n${result.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`);
  return result.config;
}

/** Wraps route YAML in a gateway config on ephemeral loopback ports with a temp store. */
export function gatewayYaml(routes: string, extra = ''): string {
  return `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
${extra}
routes:
${routes}`;
}

export interface TestGatewayOptions {
  /** Replaces the authenticate stage (see stub-auth.ts), for tests of the layers around it. */
  readonly authenticate?: Authenticate;
  /** Collects every log line (access and events) at level info, whatever `log.level` the YAML sets. */
  readonly logLines?: string[];
  /** Receives the log as pino writes it, at the YAML's `log.level` (test/observe/harness.ts reads it back). */
  readonly logDestination?: { write(chunk: string): void };
  /** Changes what the gateway is started with, given what createServices built (a wrapped metrics handler, a readiness check). */
  readonly compose?: (services: ServiceBundle) => GatewayServices;
  /** The directory to run in, when the test prepared it (a store filled before the start); left in place at the end. */
  readonly dir?: string;
  /** Prefix of the temporary directory's name (when `dir` is not given). */
  readonly dirPrefix?: string;
}

/**
 * Starts a gateway in this process from `yaml`, with `${NAME}` taken from `env` and `${CA}` the
 * shared test CA's certificate file. The SQLite store is initialised first, as an operator would.
 */
export async function startTestGateway(
  t: TestContext,
  yaml: string,
  env: Record<string, string> = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'pcl-gw-'));
  const config = loadTestConfig(yaml, env, dir);
  const lines = options.logLines;
  const logger =
    lines !== undefined
      ? createLogger('info', { destination: { write: (line: string) => void lines.push(line) } })
      : options.logDestination !== undefined
        ? createLogger(config.log.level, { destination: options.logDestination })
        : createLogger(config.log.level);
  await initTestStore(config);
  const services = await createServices(config, logger);
  let composed: GatewayServices = options.compose ? options.compose(services) : services;
  if (options.authenticate !== undefined) composed = { ...composed, authenticate: options.authenticate };
  const gateway = await startGateway(config, composed, logger);
  t.after(async () => {
    await gateway.close(1_000);
    await services.close();
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  });
  const port = gateway.proxyAddress.port;
  const scheme = config.tls ? 'https' : 'http';
  return {
    gateway,
    config,
    services,
    logger,
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${gateway.metricsAddress.port}`,
    dir,
  };
}

// ---------------------------------------------------------------------------------------------
// As a real process

export interface GatewayProcessOptions {
  /** Extra environment of the process (a PostgreSQL URL, a key-encryption key); `store init` sees it too. */
  readonly env?: Record<string, string>;
  /** Arguments after `start --config FILE`, such as `--watch-config` or `--workers 2`. */
  readonly args?: readonly string[];
  /** Node.js flags before the script, such as `--no-single-threaded-gc`. */
  readonly nodeArgs?: readonly string[];
  /** The CPUs the process may run on (`taskset -c LIST`, which execs node under the same pid); default all. */
  readonly cpus?: string;
  /** Start it with an IPC channel, as `child_process.fork` and PM2 do. */
  readonly ipc?: boolean;
  /**
   * The log event that says the listeners are open: `gateway.started` (default) or, with
   * `--workers`, `cluster.started` (every worker serving).
   */
  readonly startedEvent?: 'gateway.started' | 'cluster.started';
  /** Longest wait for that line (default 30 s: the machine may be loaded). */
  readonly timeoutMs?: number;
  /** Run `store init` on the configuration first, as an operator does once (default true). */
  readonly initStore?: boolean;
}

/** A `portcullis start` process that may or may not have started. */
export interface SpawnedGateway {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  logs(): string;
  /** Every complete JSON log line so far, parsed. */
  lines(): Record<string, unknown>[];
  /** The parsed log lines with this `event`. */
  events(event: string): Record<string, unknown>[];
  /** Stops reading stdout: the pipe fills as a hung log shipper's would. */
  stopReading(): void;
  /** Reads stdout again. */
  resumeReading(): void;
  /** The exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

/** A `portcullis start` process whose listeners are open. */
export interface GatewayProcess extends SpawnedGateway {
  /** The started line (`gateway.started` or `cluster.started`): addresses, and the workers' `pids`. */
  readonly started: Record<string, unknown>;
  readonly port: number;
  readonly metricsPort: number;
  readonly adminPort: number | undefined;
  /** `https://127.0.0.1:PORT` of the proxy listener, `http://` when it serves plain HTTP. */
  readonly url: string;
  /** `http://127.0.0.1:PORT` of the metrics listener (/metrics, /healthz, /readyz). */
  readonly metricsUrl: string;
  /** `https://127.0.0.1:PORT` of the admin API (`http://` without `admin.tls`), when it listens. */
  readonly adminUrl: string | undefined;
}

function parseLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  // The last piece is a line still being written.
  for (const raw of text.split('\n').slice(0, -1)) {
    if (!raw.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(raw) as Record<string, unknown>);
    } catch {
      // not a log line (a warning Node printed)
    }
  }
  return lines;
}

/**
 * Spawns `portcullis start --config FILE` without waiting for it to listen, for tests of a start
 * that must fail. Killed when the test ends, with every worker it logged.
 */
export async function spawnGatewayProcess(
  t: TestContext,
  configFile: string,
  options: GatewayProcessOptions = {},
): Promise<SpawnedGateway> {
  const env = options.env ?? {};
  if (options.initStore !== false) await initConfiguredTestStore(configFile, env);
  const command = [process.execPath, ...(options.nodeArgs ?? []), CLI_PATH, 'start', '--config', configFile, ...(options.args ?? [])];
  const [file, ...args] = options.cpus === undefined ? command : ['taskset', '-c', options.cpus, ...command];
  const child = spawn(file as string, args, {
    stdio: options.ipc === true ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = (): Record<string, unknown>[] => parseLines(out);
  t.after(() => {
    // The whole tree: a worker left behind would keep the port.
    const pids = new Set<number>();
    for (const line of lines()) {
      if (typeof line.pid === 'number') pids.add(line.pid);
      if (Array.isArray(line.pids)) for (const pid of line.pids) if (typeof pid === 'number') pids.add(pid);
    }
    pids.delete(child.pid ?? -1);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
  });
  return {
    child,
    logs: () => out,
    lines,
    events: (event) => lines().filter((line) => line.event === event),
    stopReading: () => child.stdout?.pause(),
    resumeReading: () => child.stdout?.resume(),
    exited,
  };
}

/** Which listeners of the configuration file serve HTTPS (as the process read it, with the same environment). */
function listenersWithTls(configFile: string, env: Record<string, string>): { proxy: boolean; admin: boolean } {
  try {
    const loaded = loadConfigFile(configFile, { ...process.env, ...env });
    if (loaded.ok) return { proxy: loaded.config.tls !== undefined, admin: loaded.config.admin.tls !== undefined };
  } catch {
    // unreadable now: the process read it when it started
  }
  return { proxy: false, admin: false };
}

/** Starts `portcullis start --config FILE` and waits until its listeners are open. */
export async function startGatewayProcess(
  t: TestContext,
  configFile: string,
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const spawned = await spawnGatewayProcess(t, configFile, options);
  const startedEvent = options.startedEvent ?? 'gateway.started';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const began = performance.now();
  for (;;) {
    const started = spawned.events(startedEvent)[0];
    if (started !== undefined) {
      const portOf = (key: string): number | undefined => (started[key] as { port?: number } | undefined)?.port;
      const port = portOf('proxy') ?? 0;
      const adminPort = portOf('admin');
      const tls = listenersWithTls(configFile, options.env ?? {});
      return {
        ...spawned,
        started,
        port,
        metricsPort: portOf('metrics') ?? 0,
        adminPort,
        url: `${tls.proxy ? 'https' : 'http'}://127.0.0.1:${port}`,
        metricsUrl: `http://127.0.0.1:${portOf('metrics') ?? 0}`,
        adminUrl: adminPort === undefined ? undefined : `${tls.admin ? 'https' : 'http'}://127.0.0.1:${adminPort}`,
      };
    }
    if (spawned.child.exitCode !== null || performance.now() - began > timeoutMs)
      throw new Error(`gateway did not start: ${spawned.logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
