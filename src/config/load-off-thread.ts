/**
 * `loadConfigFile` for a running gateway. Parsing and validating are the expensive stages (YAML
 * parsing alone is ~0.1 ms per route: 10,000 routes took ~1 s and ~150 MB of transient heap),
 * and on the main thread they would stop every request for that long on each SIGHUP. A worker
 * thread runs them; the main thread only compiles the validated data it gets back.
 */
import { Worker } from 'node:worker_threads';
import { compileChecked, type CheckedConfig, type ConfigResult } from './index.js';

const CHECK_WORKER = new URL('./check-worker.js', import.meta.url);

/** Read, validate (in a worker thread) and compile the configuration file. */
export function loadConfigFileOffThread(file: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHECK_WORKER, { workerData: { file }, env: { ...env } });
    let answered = false;
    worker.once('message', (checked: CheckedConfig) => {
      answered = true;
      try {
        resolve(compileChecked(checked, file));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    worker.once('error', (error) => {
      answered = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`the configuration worker exited with code ${code} without an answer`));
    });
  });
}
