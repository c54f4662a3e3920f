/**
 * The primary of a host of workers (`workers` > 1; docs/decisions/0016-workers.md). It serves no
 * request itself: it forks the workers, which share the proxy, admin and metrics listeners
 * through node:cluster; restarts a worker that exits, with backoff, and gives up on a crash loop
 * (exit 1, the reason logged); reads and checks the configuration once per SIGHUP and hands the
 * checked data to every worker (an invalid file reaches none); drains every worker on SIGTERM,
 * then exits 0; and assembles the host-wide /metrics and /readyz the workers serve.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { createCoalescingRunner } from '../coalescing-runner.js';
import { compileChecked } from '../config/index.js';
import { readForReload, type ReloadRefusal } from '../config/reload-read.js';
import { watchConfigFiles } from '../config/watch.js';
import { checkConfigFileOffThread } from '../config/load-off-thread.js';
import type { GatewayConfig } from '../config/types.js';
import { holdSignal } from '../held-signal.js';
import { buildRouteTable } from '../match/route-table.js';
import { createLogger, logLinesDropped } from '../observe/logger.js';
import { gcThreadFlags } from '../v8-tuning.js';
import { createCrashBudget, CRASH_LOOP } from './crash-budget.js';
import { createHostMetrics } from './host-metrics.js';
import { createIpcQuestions } from './ipc-questions.js';
import { usableCpus, WORKERS_ENV } from './workers-count.js';
import { isMessage, type MetricSnapshot, type ToPrimary, type ToWorker, type ValidChecked } from './messages.js';

/** How long the primary waits for one worker's metrics or readiness. */
const WORKER_ANSWER_TIMEOUT_MS = 2_000;
/** How long a reload waits for every worker to say it applied the configuration. */
const RELOAD_ACK_TIMEOUT_MS = 10_000;
/** Beyond `limits.shutdownGrace`: time for a worker to close its store and exit after draining. */
const EXIT_MARGIN_MS = 5_000;

export interface PrimaryOptions {
  readonly file: string;
  readonly checked: ValidChecked;
  readonly config: GatewayConfig;
  readonly workers: number;
  /** Reload when the configuration file (or a certificate it names) changes: `--watch-config`. */
  readonly watch?: boolean;
  /**
   * A worker could not bind a listener because another process holds its address, before the
   * host ever served: the primary stops at once (exit 1) instead of restarting workers that
   * cannot bind either. Called first, to say so (the start command's message).
   */
  readonly onAddressInUse?: ((address: string) => void) | undefined;
}

interface Slot {
  /** 1…N: the `worker` field of log lines, kept across restarts. */
  readonly index: number;
  worker: Worker | undefined;
  /**
   * The worker was sent its configuration (`start`). A reload goes only to these: one sent
   * before `start` would find nothing to reload and never answer, and a worker that has not had
   * its `start` yet gets the configuration in force then, the new one included.
   */
  startSent: boolean;
  started: boolean;
  /** The last metrics collected from this worker, kept in the totals when it exits. */
  last: MetricSnapshot | undefined;
  problem: string | undefined;
  restart: NodeJS.Timeout | undefined;
}

/** Route conflicts make a worker's reload throw; the primary finds them before any worker sees the file. */
function conflictOf(config: GatewayConfig): string | undefined {
  const first = buildRouteTable(config.routes).conflicts[0];
  return first ? `routes "${first.first.name}" and "${first.second.name}" match the same requests` : undefined;
}

export function startPrimary(options: PrimaryOptions): void {
  const { file, workers } = options;
  let current = { checked: options.checked, config: options.config };
  // Stdout is shared with the workers: lines are written whole, in atomic writes.
  const logger = createLogger(current.config.log.level, {
    bufferBytes: current.config.log.bufferBytes,
    sharedStdout: true,
    bindings: { role: 'primary', pid: process.pid },
  });
  cluster.setupPrimary({
    exec: fileURLToPath(new URL('./worker-main.js', import.meta.url)),
    args: [],
    execArgv: [...process.execArgv, ...gcThreadFlags(workers, usableCpus())],
    serialization: 'advanced',
  });

  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({
    index: i + 1,
    worker: undefined,
    startSent: false,
    started: false,
    last: undefined,
    problem: undefined,
    restart: undefined,
  }));
  const serving = (): Slot[] => slots.filter((s) => s.started && s.worker?.isConnected());
  const budget = createCrashBudget();
  const host = createHostMetrics(
    () => serving().length,
    () => logLinesDropped(logger),
  );
  const metricsQuestions = createIpcQuestions<MetricSnapshot>(WORKER_ANSWER_TIMEOUT_MS);
  const readinessQuestions = createIpcQuestions<string | undefined>(WORKER_ANSWER_TIMEOUT_MS);
  let announced = false;
  let stopping = false;
  let reloadAcks: { readonly waiting: Set<Slot>; readonly done: () => void } | undefined;

  const send = (worker: Worker, message: ToWorker): void => {
    if (worker.isConnected()) worker.send(message);
  };

  const collectHostMetrics = async (): Promise<MetricSnapshot> => {
    const snapshots = await Promise.all(
      serving().map(async (slot) => {
        const worker = slot.worker as Worker;
        const snapshot = await metricsQuestions
          .ask((id) => send(worker, { pcl: 'collect-metrics', id }))
          .catch(() => {
            throw new Error(`worker ${slot.index} did not send its metrics`);
          });
        slot.last = snapshot;
        return snapshot;
      }),
    );
    return host.merge(snapshots);
  };

  const hostReadiness = async (): Promise<string | undefined> => {
    if (stopping) return 'the host is draining';
    const missing = slots.find((s) => !s.started || !s.worker?.isConnected());
    if (missing) return `worker ${missing.index} is not serving (starting or restarting)`;
    const problems = await Promise.all(
      slots.map(async (slot) => {
        const worker = slot.worker as Worker;
        const problem = await readinessQuestions.ask((id) => send(worker, { pcl: 'check-readiness', id })).catch(() => 'did not answer');
        return problem === undefined ? undefined : `worker ${slot.index}: ${problem}`;
      }),
    );
    return problems.find((p) => p !== undefined);
  };

  const onMessage = (slot: Slot, worker: Worker, message: unknown): void => {
    if (!isMessage<ToPrimary>(message) || slot.worker !== worker) return;
    switch (message.pcl) {
      case 'hello':
        send(worker, { pcl: 'start', checked: current.checked, file });
        slot.startSent = true;
        return;
      case 'started':
        slot.started = true;
        slot.problem = undefined;
        if (!announced && slots.every((s) => s.started)) {
          announced = true;
          logger.info(
            {
              event: 'cluster.started',
              workers,
              proxy: message.proxy,
              metrics: message.metrics,
              admin: message.admin,
              pids: slots.map((s) => s.worker?.process.pid),
            },
            `portcullis is serving with ${workers} workers`,
          );
          // From now on a SIGHUP reloads; one held since the start (cli/main.ts, start-host.ts)
          // reloads now, as the file may have changed after it was read.
          holdSignal('SIGHUP').release(() => {
            if (!stopping) reloads.request();
          });
        }
        return;
      case 'failed':
        slot.problem = message.problem;
        if (message.addressInUse !== undefined && !announced && !stopping) {
          logger.fatal(
            { event: 'listen.address_in_use', address: message.addressInUse },
            `${message.addressInUse} is already in use by another process; stopping`,
          );
          options.onAddressInUse?.(message.addressInUse);
          void shutdown(1);
        }
        return;
      case 'reloaded':
        reloadAcks?.waiting.delete(slot);
        if (reloadAcks?.waiting.size === 0) reloadAcks.done();
        return;
      case 'metrics':
        metricsQuestions.answer(message.id, message.metrics);
        return;
      case 'readiness':
        readinessQuestions.answer(message.id, message.problem);
        return;
      case 'ask-host-metrics':
        collectHostMetrics().then(
          (metrics) => send(worker, { pcl: 'host-metrics', id: message.id, metrics }),
          (error: unknown) => {
            const failed = error instanceof Error ? error.message : String(error);
            logger.error({ event: 'metrics.collect_failed', error: { name: 'Error', message: failed } }, 'host metrics collection failed');
            send(worker, { pcl: 'host-metrics', id: message.id, failed });
          },
        );
        return;
      case 'ask-host-readiness':
        hostReadiness().then(
          (problem) => send(worker, { pcl: 'host-readiness', id: message.id, problem }),
          () => send(worker, { pcl: 'host-readiness', id: message.id, problem: 'readiness check failed' }),
        );
        return;
    }
  };

  const fork = (slot: Slot): void => {
    slot.restart = undefined;
    const worker = cluster.fork({ PORTCULLIS_WORKER: String(slot.index), [WORKERS_ENV]: String(workers) });
    slot.worker = worker;
    slot.startSent = false;
    slot.started = false;
    worker.on('message', (message: unknown) => onMessage(slot, worker, message));
    worker.on('exit', (code, signal) => onExit(slot, worker, code, signal));
  };

  let allExited: (() => void) | undefined;
  const onExit = (slot: Slot, worker: Worker, code: number | null, signal: string | null): void => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.started = false;
    host.retire(slot.last);
    slot.last = undefined;
    if (reloadAcks?.waiting.delete(slot) && reloadAcks.waiting.size === 0) reloadAcks.done();
    if (stopping) {
      if (slots.every((s) => s.worker === undefined)) allExited?.();
      return;
    }
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const reason = `worker ${slot.index} (pid ${worker.process.pid}) exited with ${how}${slot.problem ? `: ${slot.problem}` : ''}`;
    const verdict = budget.crashed();
    if (verdict.loop) {
      logger.fatal(
        { event: 'cluster.crash_loop', reason, crashes: verdict.recent, windowS: CRASH_LOOP.windowMs / 1000 },
        `${verdict.recent} worker crashes within ${CRASH_LOOP.windowMs / 1000} s; the last: ${reason}. Stopping.`,
      );
      void shutdown(1);
      return;
    }
    logger.error(
      {
        event: 'worker.exited',
        worker: slot.index,
        pid: worker.process.pid,
        code,
        signal,
        problem: slot.problem,
        restartInMs: verdict.delayMs,
      },
      `${reason}; restarting it`,
    );
    slot.restart = setTimeout(() => {
      host.workerRestarted();
      fork(slot);
    }, verdict.delayMs);
  };

  const broadcastReload = (checked: ValidChecked): Promise<number> => {
    const targets = slots.filter((s) => s.startSent && s.worker?.isConnected());
    return new Promise((resolve) => {
      const waiting = new Set(targets);
      const finish = (): void => {
        clearTimeout(timer);
        reloadAcks = undefined;
        resolve(targets.length - waiting.size);
      };
      const timer = setTimeout(finish, RELOAD_ACK_TIMEOUT_MS);
      reloadAcks = { waiting, done: finish };
      for (const slot of targets) send(slot.worker as Worker, { pcl: 'reload', checked, file });
      if (waiting.size === 0) finish();
    });
  };

  const refuseReload = (why: ReloadRefusal): void => {
    host.recordReload('failure');
    logger.error(
      { event: 'config.reload_refused', ...why },
      'configuration reload refused; no worker changed, the previous configuration keeps serving',
    );
  };
  const reloads = createCoalescingRunner(
    async (superseded) => {
      const next = await readForReload(() => checkConfigFileOffThread(file), {
        logger,
        stopping: () => stopping,
        superseded,
        refuse: refuseReload,
      });
      if (next === undefined) return;
      let config: GatewayConfig;
      try {
        const compiled = compileChecked(next, file);
        if (!compiled.ok) throw new Error('the configuration does not compile');
        const conflict = conflictOf(compiled.config);
        if (conflict) throw new Error(conflict);
        config = compiled.config;
      } catch (error) {
        refuseReload({ problem: error instanceof Error ? error.message : String(error) });
        return;
      }
      if (config.workers !== current.config.workers) {
        logger.warn({ event: 'config.workers_unchanged' }, '`workers` changed: it applies at the next start, not on reload');
      }
      // Workers started from now on (restarts) get the new configuration too.
      current = { checked: next, config };
      const applied = await broadcastReload(next);
      host.recordReload('success');
      logger.info({ event: 'config.reloaded', routes: config.routes.length, workers: applied }, 'configuration reloaded');
    },
    () => !stopping,
  );

  const shutdown = async (exitCode: number, delayMs = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    if (delayMs > 0) {
      // /readyz answers 503 from now on (stopping); the workers keep serving while the load
      // balancer notices, as a single process does (main.ts).
      logger.info({ event: 'gateway.shutdown_delay', delayMs }, 'unready; serving on for limits.shutdownDelay before draining');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    logger.info({ event: 'gateway.draining', workers: serving().length }, 'draining every worker');
    for (const slot of slots) {
      if (slot.restart) clearTimeout(slot.restart);
      slot.restart = undefined;
    }
    const exited = new Promise<void>((resolve) => {
      allExited = resolve;
      if (slots.every((s) => s.worker === undefined)) resolve();
    });
    for (const slot of slots) if (slot.worker) send(slot.worker, { pcl: 'stop' });
    const deadline = new Promise<'late'>((resolve) =>
      setTimeout(() => resolve('late'), current.config.limits.shutdownGraceMs + EXIT_MARGIN_MS).unref(),
    );
    if ((await Promise.race([exited, deadline])) === 'late') {
      for (const slot of slots) slot.worker?.process.kill('SIGKILL');
      logger.error(
        { event: 'cluster.kill', workers: slots.filter((s) => s.worker).map((s) => s.index) },
        'workers still running after the grace period were killed',
      );
    }
    logger.info({ event: 'gateway.stopped' }, 'portcullis stopped');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    process.exit(exitCode);
  };

  const watcher =
    options.watch === true
      ? watchConfigFiles(
          file,
          () => current.config,
          () => {
            logger.info({ event: 'config.file_changed' }, 'the configuration file or a certificate it names changed');
            if (!stopping) reloads.request();
          },
          (problem) => logger.warn({ event: 'config.watch_failed', problem }, 'cannot watch the configuration file; SIGHUP still reloads'),
        )
      : undefined;
  process.once('SIGTERM', () => void shutdown(0, current.config.limits.shutdownDelayMs));
  process.once('SIGINT', () => void shutdown(0));
  for (const slot of slots) fork(slot);
}
