/**
 * V8 settings for a process that serves requests: pretenuring, set when the gateway starts, and
 * the GC threads, which V8 reads only from the command line (below).
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

/** Either form of the flag, or V8's `--single-threaded` that implies it: the operator chose. */
const GC_THREADS_FLAG = /^--(no-?)?single[-_]threaded([-_]gc)?(=|$)/;

/** The node flags that give `processes` gateway processes on `cpus` CPUs their GC threads: the flag, or none. */
export function gcThreadFlags(processes: number, cpus: number, execArgv: readonly string[] = process.execArgv): string[] {
  if (execArgv.some((arg) => GC_THREADS_FLAG.test(arg))) return [];
  return processes >= cpus ? [SINGLE_THREADED_GC] : [];
}

type Execve = (file: string, args: readonly string[], env?: NodeJS.ProcessEnv) => never;

/**
 * Runs this process again, in place, with `flags` added to its node flags: same pid, arguments,
 * environment and standard streams (`process.execve`, Node.js 22.15 and later). V8 reads these
 * flags only when it starts, and setting them later makes it fail at a following collection.
 * Returns when there is nothing to add, when the runtime has no `process.execve` (Node.js 20),
 * or when the call failed (then the process goes on as it is, and says so on stderr).
 */
export function restartWithNodeFlags(flags: readonly string[]): void {
  const execve = (process as { execve?: Execve }).execve;
  if (flags.length === 0 || execve === undefined) return;
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], process.env);
  } catch (error) {
    process.stderr.write(
      `portcullis: could not restart with ${flags.join(' ')} (${error instanceof Error ? error.message : String(error)}); going on without\n`,
    );
  }
}
