/**
 * The process entry of `portcullis start`: load the configuration, start the gateway, reload on
 * SIGHUP (an invalid file is refused and the old configuration keeps serving), drain on SIGTERM.
 */
import { formatIssue, loadConfigFile } from './config/index.js';
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
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    for (const issue of loaded.issues) print(formatIssue(issue));
    return undefined;
  }
  const config = loaded.config;
  const logger = createLogger(config.log.level);
  const services: ServiceBundle = await createServices(config, logger);
  const gateway = await startGateway(config, services, logger);
  let current: GatewayConfig = config;

  const reload = (): void => {
    const next = loadConfigFile(file);
    if (!next.ok) {
      services.recordReload?.('failure');
      logger.error({ event: 'config.reload_refused', problems: next.issues.map(formatIssue) }, 'configuration reload refused; the previous configuration keeps serving');
      return;
    }
    try {
      gateway.reload(next.config);
      services.reload?.(next.config);
      current = next.config;
      services.recordReload?.('success');
      logger.info({ event: 'config.reloaded', routes: current.routes.length }, 'configuration reloaded');
    } catch (error) {
      services.recordReload?.('failure');
      logger.error({ event: 'config.reload_refused', problem: (error as Error).message }, 'configuration reload refused');
    }
  };

  let stopping: Promise<void> | undefined;
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
