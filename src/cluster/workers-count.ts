/**
 * How many worker processes serve: the `workers` setting (or `--workers`, which overrides it)
 * turned into a number. 1 means today's single process, without a primary.
 */
import { availableParallelism } from 'node:os';
import { cgroupCpuLimit } from './cpu-limit.js';

/** Most workers a host runs; the configuration schema holds the same bound. */
export const MAX_WORKERS = 256;

/** The CPUs this process may run on (its affinity), no more than its container's CPU limit (cpu-limit.ts); at least 1. */
export function usableCpus(cores: () => number = availableParallelism, cpuLimit: () => number | undefined = cgroupCpuLimit): number {
  return Math.max(1, Math.min(cores(), cpuLimit() ?? Number.POSITIVE_INFINITY));
}

/** `auto` → one per usable CPU, at most MAX_WORKERS; a number is taken as it is. */
export function resolveWorkers(
  setting: number | 'auto',
  cores: () => number = availableParallelism,
  cpuLimit: () => number | undefined = cgroupCpuLimit,
): number {
  if (setting !== 'auto') return setting;
  return Math.min(MAX_WORKERS, usableCpus(cores, cpuLimit));
}

/** The `--workers` flag: `auto` or an integer 1…256; undefined when it is neither. */
export function parseWorkersFlag(text: string): number | 'auto' | undefined {
  if (text === 'auto') return 'auto';
  if (!/^[1-9][0-9]{0,2}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_WORKERS ? n : undefined;
}

/** The environment variable through which the primary tells each worker how many serve the host. */
export const WORKERS_ENV = 'PORTCULLIS_WORKERS';

/**
 * How many workers serve this host, as the primary told this process (1 without a primary).
 * Per-process limits (rate limits, the failure throttle) take their share from it.
 */
export function workersOfThisHost(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[WORKERS_ENV] ?? '1');
  return Number.isInteger(n) && n >= 1 && n <= MAX_WORKERS ? n : 1;
}
