/**
 * How many worker processes serve: the `workers` setting (or `--workers`, which overrides it)
 * turned into a number. 1 means today's single process, without a primary.
 */
import { availableParallelism } from 'node:os';

/** Most workers a host runs; the configuration schema holds the same bound. */
export const MAX_WORKERS = 256;

/** `auto` → one per core this process may use; a number is taken as it is. */
export function resolveWorkers(setting: number | 'auto', cores: () => number = availableParallelism): number {
  return setting === 'auto' ? Math.max(1, Math.min(MAX_WORKERS, cores())) : setting;
}

/** The `--workers` flag: `auto` or an integer 1…256; undefined when it is neither. */
export function parseWorkersFlag(text: string): number | 'auto' | undefined {
  if (text === 'auto') return 'auto';
  if (!/^[1-9][0-9]{0,2}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_WORKERS ? n : undefined;
}
