/**
 * V8 settings for a process that serves requests: pretenuring, set when the gateway starts, and
 * the GC threads, which V8 reads only from the command line (below; restart-in-place.ts).
 *
 * Allocation-site pretenuring is turned off. V8 makes an object or array literal allocate
 * straight into the old generation once most of its objects have survived scavenges while the
 * young generation was at its largest. In a gateway that happens to the per-request literals
 * whenever requests live long for a while (1 MiB uploads, a slow upstream), and the decision
 * sticks: afterwards every request's objects start old and keep what they point to alive through
 * every scavenge, so each scavenge promotes a lot and takes several times longer, and the tail
 * latency rises with it (figures in docs/decisions/0008-no-allocation-site-pretenuring.md). A
 * process started with either form of the flag keeps what it was given.
 */
import { setFlagsFromString } from 'node:v8';
import { splitNodeOptions } from './node-options.js';

const PRETENURING_FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/** Applies the settings unless the command line chose otherwise; returns whether it did. */
export function tuneV8ForRequests(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => PRETENURING_FLAG.test(arg))) return false;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return true;
}

/**
 * Garbage collection on the main thread (`--single-threaded-gc`) where a gateway process has no
 * CPU to spare for V8's helper threads: when the gateway's processes are at least as many as the
 * CPUs they may use. There, the helpers that mark and scavenge in parallel only take turns with
 * a main thread on the same CPU, and the requests behind it wait: the tail grows
 * (docs/decisions/0025-tail-latency.md, "GC threads"). With CPUs to spare the helpers shorten
 * each pause, so they stay.
 */
export const SINGLE_THREADED_GC = '--single-threaded-gc';

/**
 * The operator's own choice of GC threads: the flag in any form V8 reads (one or two dashes, `-`
 * or `_`, `no`/`no-`), V8's `--single-threaded` that implies it, or a size of Node's V8 pool.
 */
function choosesGcThreads(arg: string): boolean {
  const name = arg.replace(/^--?/, '').replaceAll('_', '-');
  return /^(no-?)?single-threaded(-gc)?$/.test(name) || /^v8-pool-size(=|$)/.test(name);
}

/**
 * The node flags that give `processes` gateway processes on `cpus` CPUs their GC threads: the
 * flag, or none. `NODE_OPTIONS` counts too (Node takes `--v8-pool-size` from there, not the GC flags).
 */
export function gcThreadFlags(
  processes: number,
  cpus: number,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env['NODE_OPTIONS'],
): string[] {
  if ([...execArgv, ...splitNodeOptions(nodeOptions)].some(choosesGcThreads)) return [];
  return processes >= cpus ? [SINGLE_THREADED_GC] : [];
}
