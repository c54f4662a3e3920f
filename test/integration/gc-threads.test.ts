/**
 * GC threads (docs/production.md, "CPUs and garbage collection"), on real `portcullis start`
 * processes held to CPUs with `taskset`: a gateway alone on one CPU restarts itself in place with
 * `--single-threaded-gc` where the runtime has `process.execve` (Node.js 22.15 and later) and
 * serves; an operator's own choice of the flag is kept; with a CPU to spare nothing is added;
 * workers as many as the CPUs get the flag from the primary, and not when the operator said no.
 * What the test reads is what an operator's `ps` shows: the command line in /proc.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { cgroupCpuLimit } from '../../src/cluster/cpu-limit.js';
import { sharedCerts } from '../support/certs.js';
import { CLI_PATH } from '../support/cli.js';
import { send } from '../support/client.js';
import { startGatewayProcess, type GatewayProcessOptions, type GatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const FLAG = '--single-threaded-gc';
/** Whether this runtime (the one the gateway runs on) can restart a process in place. */
const canRestartInPlace = typeof (process as { execve?: unknown }).execve === 'function';
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Two CPUs, as the gateway would count them under `taskset -c 0,1`: its container's limit may hold it to fewer. */
const twoUsable = availableParallelism() >= 2 && (cgroupCpuLimit() ?? Number.POSITIVE_INFINITY) >= 2;

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

async function setup(t: TestContext): Promise<{ configFile: string; upstream: RecordingUpstream }> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-gc-threads-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nroutes:\n  - name: a\n    match: { path: /a }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"\n`,
  );
  return { configFile, upstream };
}

/** Starts the gateway with `options`, checks it forwards one request to the HTTPS upstream, and returns it. */
async function startAndServe(t: TestContext, options: GatewayProcessOptions): Promise<GatewayProcess & { configFile: string }> {
  const { configFile, upstream } = await setup(t);
  const gw = await startGatewayProcess(t, configFile, options);
  const answer = await send(gw.url, { path: '/a/hello' });
  assert.equal(answer.status, 200, answer.body);
  assert.equal(upstream.received.length, 1);
  return { ...gw, configFile };
}

const skip = hasTaskset ? false : 'taskset (util-linux) is not installed';

test('alone on one CPU, the gateway restarts in place with its GC on the main thread, and serves', { skip }, async (t) => {
  const gw = await startAndServe(t, { cpus: '0' });
  const argv = commandLine(gw.child.pid as number);
  // Same pid: the process the supervisor started is the one serving.
  assert.equal(argv.includes(FLAG), canRestartInPlace, `command line: ${argv.join(' ')}`);
  assert.equal(argv.filter((arg) => arg === FLAG).length, canRestartInPlace ? 1 : 0);
  // The same script, command and arguments as given.
  assert.deepEqual(argv.slice(-4), [CLI_PATH, 'start', '--config', gw.configFile]);
  assert.doesNotMatch(gw.logs(), /could not restart/);
});

test("an operator's own choice of GC threads is kept", { skip }, async (t) => {
  const gw = await startAndServe(t, { cpus: '0', nodeArgs: ['--no-single-threaded-gc'] });
  const argv = commandLine(gw.child.pid as number);
  assert.equal(argv.includes(FLAG), false, `command line: ${argv.join(' ')}`);
  assert.equal(argv.includes('--no-single-threaded-gc'), true);
});

test('with a CPU to spare, V8 keeps its helper threads', { skip: skip || (!twoUsable && 'fewer than two usable CPUs') }, async (t) => {
  const gw = await startAndServe(t, { cpus: '0,1' });
  assert.equal(commandLine(gw.child.pid as number).includes(FLAG), false);
});

test(
  'workers as many as the CPUs get their GC on the main thread from the primary',
  { skip: skip || (!twoUsable && 'fewer than two usable CPUs') },
  async (t) => {
    const gw = await startAndServe(t, { cpus: '0,1', args: ['--workers', '2'], startedEvent: 'cluster.started' });
    const pids = gw.started.pids as number[];
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(commandLine(pid).includes(FLAG), true, `worker ${pid}: ${commandLine(pid).join(' ')}`);
    // The primary serves no request: it keeps V8's defaults.
    assert.equal(commandLine(gw.child.pid as number).includes(FLAG), false);
  },
);

test('workers keep the choice the operator gave the primary', { skip: skip || (!twoUsable && 'fewer than two usable CPUs') }, async (t) => {
  const gw = await startAndServe(t, {
    cpus: '0,1',
    nodeArgs: ['--no-single-threaded-gc'],
    args: ['--workers', '2'],
    startedEvent: 'cluster.started',
  });
  for (const pid of gw.started.pids as number[]) {
    const argv = commandLine(pid);
    assert.equal(argv.includes(FLAG), false, `worker ${pid}: ${argv.join(' ')}`);
    assert.equal(argv.includes('--no-single-threaded-gc'), true);
  }
});
