/**
 * Runs the real `portcullis` command (the built CLI) as a child process, as an operator would,
 * against a configuration file written to disk.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './repo.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export const CLI_PATH = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');

/** Runs the CLI; `input`, when given, is written to its standard input (which is then closed). */
export function runCli(args: readonly string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
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
