/**
 * A real `portcullis start` child process, for promises about processes: signals, reloads, file
 * watching, shutdown. Its log lines are collected; the listeners' ports are read from the
 * `gateway.started` line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CLI_PATH } from './cli.js';
import { initConfiguredTestStore } from './init-store.js';

export interface GatewayProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly metricsPort: number;
  readonly adminPort: number | undefined;
  /** Everything written to stdout and stderr so far. */
  logs(): string;
  /** Parsed JSON log lines with this `event`. */
  events(event: string): Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

export async function startGatewayProcess(t: TestContext, configFile: string, extraArgs: readonly string[] = []): Promise<GatewayProcess> {
  await initConfiguredTestStore(configFile);
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', configFile, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    child.kill('SIGKILL');
  });
  const events = (event: string): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((line) => line.includes(`"event":"${event}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const started = performance.now();
  for (;;) {
    const line = events('gateway.started')[0];
    if (line !== undefined) {
      const portOf = (key: string): number | undefined => (line[key] as { port?: number } | undefined)?.port;
      return { child, port: portOf('proxy') ?? 0, metricsPort: portOf('metrics') ?? 0, adminPort: portOf('admin'), logs: () => out, events, exited };
    }
    if (child.exitCode !== null || performance.now() - started > 15_000) throw new Error(`gateway did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
