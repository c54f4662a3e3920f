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

/**
 * The operator's own choice of GC threads: the flag in any form V8 reads (one or two dashes, `-`
 * or `_`, `no`/`no-`), V8's `--single-threaded` that implies it, or a size of Node's V8 pool.
 */
function choosesGcThreads(arg: string): boolean {
  const name = arg.replace(/^--?/, '').replaceAll('_', '-');
  return /^(no-?)?single-threaded(-gc)?$/.test(name) || /^v8-pool-size(=|$)/.test(name);
}

/** The node flags that give `processes` gateway processes on `cpus` CPUs their GC threads: the flag, or none. */
export function gcThreadFlags(processes: number, cpus: number, execArgv: readonly string[] = process.execArgv): string[] {
  if (execArgv.some(choosesGcThreads)) return [];
  return processes >= cpus ? [SINGLE_THREADED_GC] : [];
}

/** What decides whether a process may restart itself in place. */
export interface RestartContext {
  readonly nodeMajor: number;
  readonly platform: NodeJS.Platform;
  /** Started by a Node.js parent with an IPC channel (`fork`, PM2): the channel would not survive. */
  readonly hasIpcChannel: boolean;
  readonly execArgv: readonly string[];
}

/**
 * Why this process must not restart itself in place, or undefined when it may:
 * - before Node.js 26 a failed `process.execve` aborts the process instead of throwing (22.15–25),
 *   and Node.js 20 has none;
 * - Windows has no execve;
 * - the IPC channel of a Node.js parent is lost across it (Node.js takes its descriptor out of
 *   the environment at start);
 * - with `--env-file` the file's variables would be passed on in the environment, where
 *   `/proc/PID/environ` shows them.
 */
export function restartRefusal(context: RestartContext): string | undefined {
  if (context.nodeMajor < 26) return 'Node.js 26 or later restarts in place';
  if (context.platform === 'win32') return 'no execve on Windows';
  if (context.hasIpcChannel) return 'started with an IPC channel';
  if (context.execArgv.some((arg) => /^--env-file(-if-exists)?(=|$)/.test(arg))) return 'started with --env-file';
  return undefined;
}

type Execve = (file: string, args: readonly string[], env?: NodeJS.ProcessEnv) => never;

/**
 * Runs this process again, in place, with `flags` added to its node flags: same pid, arguments,
 * environment and standard streams (`process.execve`). V8 reads these flags only when it starts,
 * and setting them later makes it fail at a following collection. Returns when there is nothing
 * to add, when `restartRefusal` says no, or when the call failed (then the process goes on as it
 * is, and says so on stderr).
 */
export function restartWithNodeFlags(flags: readonly string[]): void {
  if (flags.length === 0) return;
  const refusal = restartRefusal({
    nodeMajor: Number(process.versions.node.split('.')[0]),
    platform: process.platform,
    hasIpcChannel: process.channel !== undefined,
    execArgv: process.execArgv,
  });
  const execve = (process as { execve?: Execve }).execve;
  if (refusal !== undefined || execve === undefined) return;
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], process.env);
  } catch (error) {
    process.stderr.write(
      `portcullis: could not restart with ${flags.join(' ')} (${error instanceof Error ? error.message : String(error)}); going on without\n`,
    );
  }
}
