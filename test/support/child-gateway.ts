/**
 * Starts `portcullis start` as a child process (the built CLI) on a configuration file, for
 * promises about processes: what stdout carries, what the process does when its log reader stalls
 * or when Node runs with lenient parsing. Killed when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CLI_PATH } from './cli.js';
import { initConfiguredTestStore } from './init-store.js';

export interface ChildGateway {
  readonly child: ChildProcess;
  readonly port: number;
  readonly metricsPort: number;
  /** Everything read so far from stdout and stderr. */
  readonly logs: () => string;
  /** Stops reading stdout: the pipe fills as a hung log shipper's would. */
  stopReading(): void;
  /** Reads stdout again. */
  resumeReading(): void;
  readonly exited: Promise<number | null>;
}

export async function startChildGateway(t: TestContext, configFile: string, env: Record<string, string> = {}): Promise<ChildGateway> {
  await initConfiguredTestStore(configFile, env);
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    child.kill('SIGKILL');
  });
  const started = performance.now();
  for (;;) {
    const match = /"event":"gateway\.started","proxy":\{[^}]*"port":(\d+)\},"metrics":\{[^}]*"port":(\d+)/.exec(out);
    if (match) {
      return {
        child,
        port: Number(match[1]),
        metricsPort: Number(match[2]),
        logs: () => out,
        stopReading: () => child.stdout?.pause(),
        resumeReading: () => child.stdout?.resume(),
        exited,
      };
    }
    if (child.exitCode !== null || performance.now() - started > 15_000) throw new Error(`gateway did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
