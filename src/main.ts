/**
 * The process entry of `portcullis start`: load the configuration, start the gateway, reload on
 * SIGHUP (an invalid file is refused and the old configuration keeps serving), drain on SIGTERM.
 *
 * The file is parsed and validated in a worker thread (config/load-off-thread.ts), so a reload
 * does not stop the requests in flight. Reloads run one at a time: a SIGHUP that arrives during
 * one makes it drop what it read and read the file again, so the file as last written wins and
 * an intermediate version never serves. A SIGHUP during the drain is ignored.
 */
import { createCoalescingRunner } from './coalescing-runner.js';
import { formatIssue, type ConfigIssue, type ConfigResult } from './config/index.js';
import { loadConfigFileOffThread } from './config/load-off-thread.js';
import type { GatewayConfig } from './config/types.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { createLogger, type Logger } from './observe/logger.js';
import { createServices, type ServiceBundle } from './services.js';
import { assertStrictParser } from './listen/strict-parser.js';
import { tuneV8ForRequests } from './v8-tuning.js';

/** Problems listed in a refused reload's log line; `portcullis check` lists them all. */
const MAX_LOGGED_PROBLEMS = 100;

export interface StartedProcess {
  readonly gateway: RunningGateway;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/**
 * Loads and starts; returns undefined (after printing every problem) when the file is invalid.
 * `preloaded`: the file as already read and checked (cluster/start-host.ts, which read it to
 * learn `workers`), so it is not read twice.
 */
export async function startFromFile(file: string, print: (line: string) => void, preloaded?: ConfigResult): Promise<StartedProcess | undefined> {
  assertStrictParser();
  tuneV8ForRequests();
  const loaded = preloaded ?? await loadConfigFileOffThread(file);
  if (!loaded.ok) {
    for (const issue of loaded.issues) print(formatIssue(issue));
    return undefined;
  }
  const config = loaded.config;
  const logger = createLogger(config.log.level, { bufferBytes: config.log.bufferBytes });
  const services: ServiceBundle = await createServices(config, logger);
  const gateway = await startGateway(config, services, logger);
  const logWarnings = (warnings: readonly ConfigIssue[]): void => {
    for (const warning of warnings.slice(0, MAX_LOGGED_PROBLEMS)) logger.warn({ event: 'config.warning', warning: formatIssue(warning) }, 'configuration warning (portcullis check lists them all)');
  };
  logWarnings(loaded.warnings);
  let current: GatewayConfig = config;

  let stopping: Promise<void> | undefined;

  const refuseReload = (why: { problems: string[] } | { problem: string }): void => {
    services.recordReload?.('failure');
    logger.error({ event: 'config.reload_refused', ...why }, 'configuration reload refused; the previous configuration keeps serving');
  };
  const reloads = createCoalescingRunner(async (superseded) => {
    logger.info({ event: 'config.reload_started' }, 'reading the configuration file');
    let next: ConfigResult;
    try {
      next = await loadConfigFileOffThread(file);
    } catch (error) {
      if (!stopping) refuseReload({ problem: error instanceof Error ? error.message : String(error) });
      return;
    }
    if (stopping) return;
    if (superseded()) {
      // The file may have changed again since it was read: what it held then never goes live.
      logger.info({ event: 'config.reload_superseded' }, 'another SIGHUP arrived during the reload; reading the file again');
      return;
    }
    if (!next.ok) {
      const shown = next.issues.slice(0, MAX_LOGGED_PROBLEMS).map(formatIssue);
      if (next.issues.length > shown.length) shown.push(`… and ${next.issues.length - shown.length} more (portcullis check lists them all)`);
      refuseReload({ problems: shown });
      return;
    }
    try {
      gateway.reload(next.config);
      services.reload?.(next.config);
      current = next.config;
      services.recordReload?.('success');
      logger.info({ event: 'config.reloaded', routes: current.routes.length }, 'configuration reloaded');
      logWarnings(next.warnings);
    } catch (error) {
      refuseReload({ problem: (error as Error).message });
    }
  }, () => !stopping);
  const reload = (): void => {
    if (!stopping) reloads.request();
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ event: 'gateway.draining', inFlight: gateway.inFlight() }, 'draining in-flight requests');
      await gateway.close(current.limits.shutdownGraceMs);
      await services.close();
      // Waits (a bounded time) for the log reader to take the last lines before the process exits.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })();
    return stopping;
  };

  process.on('SIGHUP', reload);
  const onTerm = (): void => {
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onTerm);
  return { gateway, logger, stop };
}
