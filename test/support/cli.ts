/**
 * Runs the real `portcullis` command (the built CLI) as a child process, as an operator would,
 * against a configuration file written to disk.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { initConfiguredTestStore } from './init-store.js';
import { repoRoot } from './repo.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const CLI_PATH = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

/**
 * The configuration file a command line names (`--config FILE`, `--config=FILE`, else
 * $PORTCULLIS_CONFIG), or undefined.
 */
function configFileOf(args: readonly string[], env: Record<string, string>): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === '--config') return args[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return env.PORTCULLIS_CONFIG ?? process.env.PORTCULLIS_CONFIG;
}

/**
 * Runs the CLI as an operator who ran `portcullis store init` once: the SQLite store the
 * configuration names is initialised first (except for the `store` commands themselves and
 * `--help`, which tests run on the store exactly as it is). `input`, when given, is written to its standard input.
 */
export async function runCli(args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  const asIs = args[0] === 'store' || args.includes('--help') || args.includes('-h');
  const file = asIs ? undefined : configFileOf(args, env);
  if (file !== undefined) await initConfiguredTestStore(file, env);
  return runCliAsIs(args, env, input);
}

/** Runs the CLI on the store as it is (no `store init` first): for tests of an uninitialised store. */
export function runCliAsIs(args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs the CLI with `--json` and parses its one JSON output. */
export async function runCliJson<T = Record<string, unknown>>(args: readonly string[], env: Record<string, string> = {}): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  if (result.code !== 0) throw new Error(`portcullis ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
