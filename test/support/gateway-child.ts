/**
 * Starts the real `portcullis start` command as a child process with extra environment (the
 * fleet and partition tests: a PostgreSQL URL, a KEK), waits for its `gateway.started` line and
 * reads the ports from it. Killed when the test ends. (gateway-process.ts is the same for
 * signal and reload tests; the two are to become one.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { CLI_PATH } from './cli.js';
import { initConfiguredTestStore } from './init-store.js';

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** `http://127.0.0.1:PORT` of the proxy listener. */
  readonly url: string;
  /** `http://127.0.0.1:PORT` of the metrics listener (/metrics, /healthz, /readyz). */
  readonly metricsUrl: string;
  /** `http://127.0.0.1:PORT` of the admin API. */
  readonly adminUrl: string;
  /** Everything the process wrote so far (stdout and stderr). */
  readonly logs: () => string;
  readonly exited: Promise<number | null>;
}

const STARTED = /"event":"gateway\.started","proxy":\{[^}]*"port":(\d+)\},"metrics":\{[^}]*"port":(\d+)\}(?:,"admin":\{[^}]*"port":(\d+)\})?/;

export async function startGatewayProcess(
  t: TestContext, configFile: string, env: Record<string, string> = {}, timeoutMs = 20_000,
): Promise<GatewayProcess> {
  await initConfiguredTestStore(configFile, env);
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.after(() => {
    child.kill('SIGKILL');
  });
  const began = performance.now();
  for (;;) {
    const match = STARTED.exec(out);
    if (match) {
      return {
        child, url: `http://127.0.0.1:${match[1]}`, metricsUrl: `http://127.0.0.1:${match[2]}`, adminUrl: `http://127.0.0.1:${match[3] ?? 0}`,
        logs: () => out, exited,
      };
    }
    if (child.exitCode !== null || performance.now() - began > timeoutMs) throw new Error(`gateway did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
