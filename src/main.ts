/**
 * The process entry of `portcullis start`: load the configuration, start the gateway, reload on
 * SIGHUP (an invalid file is refused and the old configuration keeps serving), drain on SIGTERM.
 *
 * The file is parsed and validated in a worker thread (config/load-off-thread.ts), so a reload
 * does not stop the requests in flight; reloads run one at a time, and a SIGHUP that arrives
 * during one is served by another reload right after it, which reads the file as it is then.
 */
import { formatIssue, type ConfigResult } from './config/index.js';
import { loadConfigFileOffThread } from './config/load-off-thread.js';
import type { GatewayConfig } from './config/types.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { createLogger, type Logger } from './observe/logger.js';
import { createServices, type ServiceBundle } from './services.js';

export interface StartedProcess {
  readonly gateway: RunningGateway;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/** Loads and starts; returns undefined (after printing every problem) when the file is invalid. */
export async function startFromFile(file: string, print: (line: string) => void): Promise<StartedProcess | undefined> {
  const loaded = await loadConfigFileOffThread(file);
  if (!loaded.ok) {
    for (const issue of loaded.issues) print(formatIssue(issue));
    return undefined;
  }
  const config = loaded.config;
  const logger = createLogger(config.log.level);
  const services: ServiceBundle = await createServices(config, logger);
  const gateway = await startGateway(config, services, logger);
  let current: GatewayConfig = config;

  let stopping: Promise<void> | undefined;

  const refuseReload = (why: { problems: string[] } | { problem: string }): void => {
    services.recordReload?.('failure');
    logger.error({ event: 'config.reload_refused', ...why }, 'configuration reload refused; the previous configuration keeps serving');
  };
  const reloadOnce = async (): Promise<void> => {
    let next: ConfigResult;
    try {
      next = await loadConfigFileOffThread(file);
    } catch (error) {
      refuseReload({ problem: (error as Error).message });
      return;
    }
    if (stopping) return;
    if (!next.ok) {
      refuseReload({ problems: next.issues.map(formatIssue) });
      return;
    }
    try {
      gateway.reload(next.config);
      services.reload?.(next.config);
      current = next.config;
      services.recordReload?.('success');
      logger.info({ event: 'config.reloaded', routes: current.routes.length }, 'configuration reloaded');
    } catch (error) {
      refuseReload({ problem: (error as Error).message });
    }
  };
  let reloading = false;
  let reloadAgain = false;
  const reload = (): void => {
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = true;
    void (async () => {
      do {
        reloadAgain = false;
        await reloadOnce();
      } while (reloadAgain && !stopping);
      reloading = false;
    })();
  };
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ event: 'gateway.draining', inFlight: gateway.inFlight() }, 'draining in-flight requests');
      await gateway.close(current.limits.shutdownGraceMs);
      await services.close();
      logger.flush();
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
