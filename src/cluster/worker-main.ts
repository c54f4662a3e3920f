/**
 * The entry of a worker process (forked by primary.ts). It serves like a single-process gateway,
 * but takes every configuration from the primary (read and checked there once), drains when the
 * primary says so, and answers /metrics and /readyz for the whole host by asking the primary,
 * which collects from every worker. Signals are the primary's business: a Ctrl-C reaching the
 * whole process group must not kill the workers behind the primary's back.
 */
import cluster from 'node:cluster';
import { compileChecked } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { startGateway, type RunningGateway } from '../gateway.js';
import { addressInUse } from '../listen/address-in-use.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { createMetricsHandler } from '../observe/metrics-handler.js';
import { createServices, type ServiceBundle } from '../services.js';
import { tuneV8ForRequests } from '../v8-tuning.js';
import { registryOf } from './host-metrics.js';
import { isMessage, type MetricSnapshot, type ToPrimary, type ToWorker, type ValidChecked } from './messages.js';
import { createIpcQuestions } from './ipc-questions.js';

/** How long a host-wide question (metrics, readiness) waits for the primary. */
const HOST_ANSWER_TIMEOUT_MS = 5_000;

const slot = Number(process.env.PORTCULLIS_WORKER ?? '0');

interface Running {
  readonly gateway: RunningGateway;
  readonly services: ServiceBundle;
  readonly logger: Logger;
  config: GatewayConfig;
}

let running: Running | undefined;
let stopping: Promise<void> | undefined;

function tell(message: ToPrimary): void {
  if (process.connected) process.send?.(message);
}

const metricsQuestions = createIpcQuestions<{ metrics?: MetricSnapshot; failed?: string }>(HOST_ANSWER_TIMEOUT_MS);
const readinessQuestions = createIpcQuestions<{ problem: string | undefined }>(HOST_ANSWER_TIMEOUT_MS);

function compile(checked: ValidChecked, file: string): GatewayConfig {
  const result = compileChecked(checked, file);
  if (!result.ok) throw new Error('the primary sent a configuration that does not compile');
  return result.config;
}

async function start(checked: ValidChecked, file: string): Promise<void> {
  tuneV8ForRequests();
  const config = compile(checked, file);
  // Stdout is shared with the primary and the other workers: lines are written whole (in atomic
  // writes), and a stalled reader stalls nobody. `worker` (1…N, kept across restarts) and `pid`
  // on every line, access lines included.
  const logger = createLogger(config.log.level, {
    bufferBytes: config.log.bufferBytes,
    sharedStdout: true,
    bindings: { worker: slot, pid: process.pid },
  });
  const services = await createServices(config, logger);
  const hostMetrics = createMetricsHandler(async () => {
    const answer = await metricsQuestions.ask((id) => tell({ pcl: 'ask-host-metrics', id }));
    if (answer.failed !== undefined || answer.metrics === undefined) throw new Error(answer.failed ?? 'no metrics');
    return registryOf(answer.metrics);
  }, logger);
  const gateway = await startGateway(
    config,
    {
      ...services,
      metricsHandler: hostMetrics,
      readiness: async () => (await readinessQuestions.ask((id) => tell({ pcl: 'ask-host-readiness', id }))).problem,
    },
    logger,
  );
  running = { gateway, services, logger, config };
  tell({ pcl: 'started', proxy: gateway.proxyAddress, metrics: gateway.metricsAddress, admin: gateway.adminAddress });
}

function reload(checked: ValidChecked, file: string): void {
  if (!running) return;
  const next = compile(checked, file);
  running.gateway.reload(next);
  running.services.reload?.(next);
  running.config = next;
  running.logger.info({ event: 'config.applied', routes: next.routes.length }, 'configuration from the primary applied');
  tell({ pcl: 'reloaded' });
}

function stop(): Promise<void> {
  stopping ??= (async () => {
    if (running) {
      const { gateway, services, logger, config } = running;
      logger.info({ event: 'gateway.draining', inFlight: gateway.inFlight() }, 'draining in-flight requests');
      await gateway.close(config.limits.shutdownGraceMs);
      await services.close();
      // Waits (a bounded time) for the log reader to take the last lines, as a single process does.
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    }
    process.exit(0);
  })();
  return stopping;
}

/** Start, reload and stop run one after the other, in the order the primary sent them. */
let steps: Promise<void> = Promise.resolve();
function step(work: () => Promise<void> | void): void {
  steps = steps.then(work).catch((error: unknown) => {
    // A configuration the primary accepted could not be applied here: this worker cannot serve
    // what the others serve, so it exits and the primary starts it again with the current one.
    const problem = error instanceof Error ? error.message : String(error);
    const taken = addressInUse(error);
    tell({ pcl: 'failed', problem, ...(taken === undefined ? {} : { addressInUse: taken }) });
    (running?.logger ?? createLogger('info', { sharedStdout: true, bindings: { pid: process.pid } })).error(
      { event: 'worker.failed', worker: slot, problem },
      'the worker cannot serve; exiting',
    );
    running?.logger.flush();
    process.exit(1);
  });
}

process.on('message', (message: unknown) => {
  if (!isMessage<ToWorker>(message)) return;
  switch (message.pcl) {
    case 'start':
      step(() => start(message.checked, message.file));
      return;
    case 'reload':
      step(() => reload(message.checked, message.file));
      return;
    case 'stop':
      step(() => stop());
      return;
    case 'collect-metrics':
      void (running ? running.services.observability.registry.getMetricsAsJSON() : Promise.resolve([])).then(
        (metrics) => tell({ pcl: 'metrics', id: message.id, metrics }),
        () => tell({ pcl: 'metrics', id: message.id, metrics: [] }),
      );
      return;
    case 'check-readiness': {
      const check = running?.services.readiness ?? (() => Promise.resolve('the worker is starting'));
      void check().then(
        (problem) => tell({ pcl: 'readiness', id: message.id, problem: stopping ? 'the worker is draining' : problem }),
        () => tell({ pcl: 'readiness', id: message.id, problem: 'readiness check failed' }),
      );
      return;
    }
    case 'host-metrics':
      metricsQuestions.answer(message.id, message);
      return;
    case 'host-readiness':
      readinessQuestions.answer(message.id, message);
      return;
  }
});

// The primary is gone (killed, crashed): nobody supervises this worker any more.
process.on('disconnect', () => void stop());
for (const signal of ['SIGHUP', 'SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);

if (!cluster.isWorker) throw new Error('worker-main.js runs only as a worker forked by the primary');
tell({ pcl: 'hello' });
