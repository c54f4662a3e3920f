/**
 * Restarting this process in place with more node flags (`process.execve`): same pid, arguments,
 * environment it was started with, and standard streams. V8 reads some flags only when it starts
 * (the GC threads, v8-tuning.ts), and setting them later makes it fail at a following collection.
 */
import { readFileSync } from 'node:fs';
import inspector from 'node:inspector';

/** What decides whether a process may restart itself in place. */
export interface RestartContext {
  readonly nodeMajor: number;
  readonly platform: NodeJS.Platform;
  /** Started by a Node.js parent with an IPC channel (`fork`, PM2): the channel would not survive. */
  readonly hasIpcChannel: boolean;
  /** A debugger may be attached: it would be dropped, and `--inspect-brk` would pause twice. */
  readonly hasInspector: boolean;
  /** Under `--permission` without `--allow-child-process` the call is refused. */
  readonly mayExec: boolean;
  /** The environment the process was started with, or undefined when it cannot be read. */
  readonly startEnvironment: Record<string, string> | undefined;
  readonly execArgv: readonly string[];
}

/**
 * Why this process must not restart itself in place, or undefined when it may:
 * - before Node.js 26 a failed `process.execve` aborts the process instead of throwing (22.15–25),
 *   and Node.js 20 has none;
 * - Windows has no execve;
 * - the IPC channel of a Node.js parent is lost across it (Node.js takes its descriptor out of
 *   the environment at start);
 * - an attached debugger would be dropped;
 * - the environment it was started with is unknown: passing on `process.env` would export what
 *   `--env-file` or a preload put there (secrets among it), where `/proc/PID/environ` shows it;
 *   with `--env-file` it is refused outright.
 */
export function restartRefusal(context: RestartContext): string | undefined {
  if (context.nodeMajor < 26) return 'Node.js 26 or later restarts in place';
  if (context.platform === 'win32') return 'no execve on Windows';
  if (context.hasIpcChannel) return 'started with an IPC channel';
  if (context.hasInspector) return 'started with the inspector';
  if (!context.mayExec) return 'the permission model does not allow it';
  if (context.execArgv.some((arg) => /^--env-file(-if-exists)?(=|$)/.test(arg))) return 'started with --env-file';
  if (context.startEnvironment === undefined) return 'the environment it was started with is unknown';
  return undefined;
}

/**
 * The environment in /proc/self/environ's bytes (`NAME=value` entries, each ended by a NUL);
 * undefined when they are not UTF-8. execve takes strings and writes them as UTF-8, so other
 * bytes could not be passed on as they came.
 */
export function parseEnviron(raw: Buffer): Record<string, string> | undefined {
  const text = raw.toString('utf8');
  if (Buffer.byteLength(text) !== raw.length || text.includes('\uFFFD')) return undefined;
  const environment: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) environment[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return environment;
}

/** The environment this process was started with (Linux), before anything in it set variables. */
function startEnvironment(): Record<string, string> | undefined {
  try {
    return parseEnviron(readFileSync('/proc/self/environ'));
  } catch {
    return undefined;
  }
}

type Execve = (file: string, args: readonly string[], env?: Record<string, string>) => never;
type Permission = { has(scope: string): boolean };

/**
 * Runs this process again, in place, with `flags` added to its node flags. Returns when there is
 * nothing to add, when `restartRefusal` says no, or when the call failed (then the process goes
 * on as it is, and says so on stderr).
 */
export function restartWithNodeFlags(flags: readonly string[]): void {
  if (flags.length === 0) return;
  const execve = (process as { execve?: Execve }).execve;
  if (execve === undefined) return;
  const permission = (process as { permission?: Permission }).permission;
  const environment = startEnvironment();
  const refusal = restartRefusal({
    nodeMajor: Number(process.versions.node.split('.')[0]),
    platform: process.platform,
    hasIpcChannel: process.channel !== undefined,
    hasInspector: inspector.url() !== undefined,
    mayExec: permission === undefined || permission.has('child'),
    startEnvironment: environment,
    execArgv: process.execArgv,
  });
  // restartRefusal refuses an unknown environment too; the second test is for the type.
  if (refusal !== undefined || environment === undefined) return;
  try {
    execve(process.execPath, [process.execPath, ...process.execArgv, ...flags, ...process.argv.slice(1)], environment);
  } catch (error) {
    process.stderr.write(
      `portcullis: could not restart with ${flags.join(' ')} (${error instanceof Error ? error.message : String(error)}); going on without\n`,
    );
  }
}
