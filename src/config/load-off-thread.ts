/**
 * `loadConfigFile` for a running gateway. Parsing and validating are the expensive stages (about
 * a second for 10,000 routes: docs/decisions/0005-config-loading-off-thread.md), and on the main
 * thread they would stop every request for that long on each SIGHUP. A worker
 * thread runs them; the main thread only compiles the validated data it gets back.
 */
import { Worker } from 'node:worker_threads';
import { compileChecked, type CheckedConfig, type ConfigResult } from './index.js';

const CHECK_WORKER = new URL('./check-worker.js', import.meta.url);

/** Longest a load may take before it is given up: a file on a stalled network mount never answers. */
export const CONFIG_LOAD_TIMEOUT_MS = 60_000;

/** The environment as a worker takes it: it would turn an `undefined` value into "undefined". */
function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return out;
}

/** Read, validate (in a worker thread) and compile the configuration file. */
export async function loadConfigFileOffThread(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = CONFIG_LOAD_TIMEOUT_MS,
): Promise<ConfigResult> {
  return compileChecked(await checkConfigFileOffThread(file, env, timeoutMs), file);
}

/**
 * Read and validate (in a worker thread) the configuration file, without compiling it: the
 * checked data is plain, so a primary process can hand it to its workers (src/cluster).
 */
export function checkConfigFileOffThread(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = CONFIG_LOAD_TIMEOUT_MS,
): Promise<CheckedConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECK_WORKER, { workerData: { file }, env: definedOnly(env) });
    let settled = false;
    const finish = (outcome: CheckedConfig | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(new Error(`reading and checking the configuration file took more than ${timeoutMs / 1000} s`));
      // A thread blocked in a read may never stop: it must not keep the process alive either.
      worker.unref();
      void worker.terminate();
    }, timeoutMs);
    worker.once('message', (checked: CheckedConfig) => finish(checked));
    worker.once('error', finish);
    worker.once('exit', (code) => finish(new Error(`the configuration worker exited with code ${code} without an answer`)));
  });
}
