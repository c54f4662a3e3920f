/**
 * The process entry of `portcullis start`: load the configuration, start the gateway, reload on
 * SIGHUP or on a change of the file (`--watch-config`; an invalid file is refused and the old
 * configuration keeps serving), drain on SIGTERM.
 *
 * A reload applies what it can (config/reload-plan.ts) and names, in a warning, every changed key
 * that needs a restart; those keep their running value.
 *
 * SIGTERM: /readyz turns 503 at once, requests are still served for `limits.shutdownDelay` (so
 * load balancers stop sending), then the listeners close and in-flight requests get up to
 * `limits.shutdownGrace` to finish; the process exits 0. SIGINT (Ctrl-C) skips the delay.
 *
 * The file is parsed and validated in a worker thread (config/load-off-thread.ts), so a reload
 * does not stop the requests in flight. Reloads run one at a time: a SIGHUP that arrives during
 * one makes it drop what it read and read the file again, so the file as last written wins and
 * an intermediate version never serves. A SIGHUP during the drain is ignored; one that arrives
 * while the process starts is held, and reloads once it has started (held-signal.ts).
 */
import { createCoalescingRunner } from './coalescing-runner.js';
import { type ConfigIssue, formatIssue, MAX_LOGGED_ISSUES, type ConfigResult } from './config/index.js';
import { loadConfigFileOffThread } from './config/load-off-thread.js';
import type { GatewayConfig } from './config/types.js';
import { planReload } from './config/reload-plan.js';
import { readForReload, type ReloadRefusal } from './config/reload-read.js';
import { watchConfigFiles } from './config/watch.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { createLogger, type Logger } from './observe/logger.js';
import { createServices, type ServiceBundle } from './services.js';
import { assertStrictParser } from './listen/strict-parser.js';
import { holdSignal } from './held-signal.js';
import { tuneV8ForRequests } from './v8-tuning.js';

export interface StartedProcess {
  readonly gateway: RunningGateway;
  readonly logger: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Reload when the configuration file (or a certificate it names) changes: `--watch-config`. */
  readonly watch?: boolean;
  /**
   * The file as already read and checked (cluster/start-host.ts, which read it to learn
   * `workers`), so it is not read twice.
   */
  readonly preloaded?: ConfigResult;
}

/** Loads and starts; returns undefined (after handing every problem to `invalid`) when the file is invalid. */
export async function startFromFile(
  file: string,
  invalid: (issues: readonly ConfigIssue[]) => void,
  options: StartOptions = {},
): Promise<StartedProcess | undefined> {
  // Before anything can announce the process: a SIGHUP sent once the listeners are open must
  // reload it, never end it (SIGHUP's default action). The same hold as the bin entry's, when
  // it took one (held-signal.ts).
  const heldReload = holdSignal('SIGHUP');
  let loaded: ConfigResult;
  let logger: Logger;
  let services: ServiceBundle;
  let gateway: RunningGateway;
  try {
    assertStrictParser();
    tuneV8ForRequests();
    loaded = options.preloaded ?? (await loadConfigFileOffThread(file));
    if (!loaded.ok) {
      invalid(loaded.issues);
      heldReload.drop();
      return undefined;
    }
    logger = createLogger(loaded.config.log.level, { bufferBytes: loaded.config.log.bufferBytes });
    services = await createServices(loaded.config, logger);
  } catch (error) {
    heldReload.drop();
    throw error;
  }
  const config = loaded.config;
  // From the moment the listeners may open: a SIGTERM then drains, as it does once started. Not
  // before: a start that hangs (a store that does not answer) must still end on SIGTERM.
  const heldStops = [holdSignal('SIGTERM'), holdSignal('SIGINT')] as const;
  try {
    gateway = await startGateway(config, services, logger);
  } catch (error) {
    heldReload.drop();
    for (const held of heldStops) held.drop();
    // The store's connections and timers must not keep a process that cannot serve alive.
    await services.close();
    throw error;
  }
  const logWarnings = (warnings: readonly ConfigIssue[]): void => {
    for (const warning of warnings.slice(0, MAX_LOGGED_ISSUES))
      logger.warn({ event: 'config.warning', warning: formatIssue(warning) }, 'configuration warning (portcullis check lists them all)');
  };
  logWarnings(loaded.warnings);
  let current: GatewayConfig = config;

  let stopping: Promise<void> | undefined;
  // eslint-disable-next-line prefer-const -- declared before the closures that read it, which may run before it is set
  let watcher: { close(): void } | undefined;

  const refuseReload = (why: ReloadRefusal): void => {
    services.recordReload?.('failure');
    logger.error({ event: 'config.reload_refused', ...why }, 'configuration reload refused; the previous configuration keeps serving');
  };
  const reloads = createCoalescingRunner(
    async (superseded) => {
      const next = await readForReload(() => loadConfigFileOffThread(file), {
        logger,
        stopping: () => stopping !== undefined,
        superseded,
        refuse: refuseReload,
      });
      if (next === undefined) return;
      try {
        const plan = planReload(current, next.config);
        gateway.reload(plan.effective);
        services.reload?.(plan.effective);
        current = plan.effective;
        services.recordReload?.('success');
        services.observability.setRestartRequired(plan.restartRequired.length > 0);
        if (plan.restartRequired.length > 0) {
          logger.warn(
            { event: 'config.restart_required', keys: plan.restartRequired },
            `changed keys that only a restart applies (still running with their previous values): ${plan.restartRequired.join(', ')}`,
          );
        }
        logger.info(
          { event: 'config.reloaded', routes: current.routes.length, changed: plan.applied, restartRequired: plan.restartRequired },
          'configuration reloaded',
        );
        logWarnings(next.warnings);
      } catch (error) {
        refuseReload({ problem: (error as Error).message });
      }
    },
    () => !stopping,
  );
  const reload = (): void => {
    if (!stopping) reloads.request();
  };
  const stop = (delayMs = 0): Promise<void> => {
    stopping ??= (async () => {
      watcher?.close();
      gateway.stopBeingReady();
      if (delayMs > 0) {
        logger.info({ event: 'gateway.shutdown_delay', delayMs }, 'not ready: serving on while load balancers stop sending');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
      logger.info({ event: 'gateway.draining', inFlight: gateway.inFlight() }, 'draining in-flight requests');
      await gateway.close(current.limits.shutdownGraceMs);
      await services.close();
      // Waits (a bounded time) for the log reader to take the last lines before the process exits.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })();
    return stopping;
  };

  watcher = options.watch
    ? watchConfigFiles(
        file,
        () => current,
        () => {
          logger.info({ event: 'config.file_changed' }, 'the configuration file or a certificate it names changed');
          reload();
        },
        (problem) => logger.warn({ event: 'config.watch_failed', problem }, 'cannot watch the configuration file; SIGHUP still reloads'),
      )
    : undefined;

  heldReload.release(reload);
  const [heldTerm, heldInt] = heldStops;
  heldTerm.release(
    () => {
      void stop(current.limits.shutdownDelayMs).then(() => process.exit(0));
    },
    { once: true },
  );
  heldInt.release(
    () => {
      void stop().then(() => process.exit(0));
    },
    { once: true },
  );
  return { gateway, logger, stop: () => stop() };
}
