/**
 * Real Prometheus tools (Debian package `prometheus`: /usr/bin/prometheus, /usr/bin/promtool).
 * Missing binaries skip the test with a message on a workstation, and FAIL it when `CI` is set:
 * the proof with real tools must not silently disappear from the pipeline.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The binary's path; skips the test (or fails it under CI) when it is not installed. */
export function requireTool(t: TestContext, name: 'prometheus' | 'promtool'): string | undefined {
  const path = findOnPath(name);
  if (path !== undefined) return path;
  const hint = `${name} is not installed (apt-get install -y prometheus)`;
  if (process.env.CI) assert.fail(`${hint}; CI is set, so this test fails instead of skipping`);
  t.skip(`${hint}; skipped because CI is not set`);
  return undefined;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, with `input` on stdin. */
export function run(command: string, args: readonly string[], input?: string, cwd?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}
