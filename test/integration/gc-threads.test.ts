/**
 * GC threads (docs/production.md, "CPUs and garbage collection"), on real `portcullis start`
 * processes held to CPUs with `taskset`: a gateway alone on one CPU restarts itself in place with
 * `--single-threaded-gc` on Node.js 26 and later and serves; an operator's own choice of the flag
 * is kept; a gateway started with an IPC channel or `--env-file` does not restart, and what a
 * preload sets is not passed on in its environment; with a CPU to
 * spare nothing is added; workers as many as the CPUs get the flag from the primary, and not when
 * the operator said no. What the tests read is what an operator's `ps` shows: the command line in
 * /proc.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { cgroupCpuLimit } from '../../src/cluster/cpu-limit.js';
import { sharedCerts } from '../support/certs.js';
import { CLI_PATH } from '../support/cli.js';
import { send } from '../support/client.js';
import { startGatewayProcess, type GatewayProcess, type GatewayProcessOptions } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const FLAG = '--single-threaded-gc';
/** Whether the runtime under test (the gateway's) restarts in place: Node.js 26 and later. */
const restartsInPlace = Number(process.versions.node.split('.')[0]) >= 26;

/** The CPUs this runner lets its processes use (`Cpus_allowed_list`: `0-3`, `0,2,5-7`). */
function allowedCpus(): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return from === undefined || to === undefined ? [] : Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}
const cpus = allowedCpus();
const oneCpu = String(cpus[0]);
const twoCpus = cpus.slice(0, 2).join(',');
const hasTaskset = cpus.length > 0 && spawnSync('taskset', ['-c', oneCpu, 'true']).status === 0;
/** Two CPUs for the gateway: its container's limit may hold it to fewer than its affinity. */
const twoUsable = cpus.length >= 2 && (cgroupCpuLimit() ?? Number.POSITIVE_INFINITY) >= 2;

const skipOne = hasTaskset ? false : 'taskset (util-linux) is not installed';
const skipTwo = skipOne || (twoUsable ? false : 'fewer than two usable CPUs');

function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
}

async function setup(t: TestContext): Promise<{ dir: string; configFile: string; upstream: RecordingUpstream }> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-gc-threads-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nroutes:\n  - name: a\n    match: { path: /a }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"\n`,
  );
  return { dir, configFile, upstream };
}

/** Starts the gateway with `options`, checks that it forwards one request to the HTTPS upstream, and returns it. */
async function startAndServe(
  t: TestContext,
  options: GatewayProcessOptions,
  configure?: (dir: string) => GatewayProcessOptions,
): Promise<GatewayProcess & { configFile: string }> {
  const { dir, configFile, upstream } = await setup(t);
  const gw = await startGatewayProcess(t, configFile, { ...options, ...configure?.(dir) });
  const answer = await send(gw.url, { path: '/a/hello' });
  assert.equal(answer.status, 200, answer.body);
  assert.equal(upstream.received.length, 1);
  return { ...gw, configFile };
}

test('alone on one CPU, the gateway restarts in place with its GC on the main thread, and serves', { skip: skipOne }, async (t) => {
  const gw = await startAndServe(t, { cpus: oneCpu });
  // The pid that was started is the one serving.
  const argv = commandLine(gw.child.pid as number);
  assert.equal(argv.filter((arg) => arg === FLAG).length, restartsInPlace ? 1 : 0, `command line: ${argv.join(' ')}`);
  // The same script, command and arguments as given.
  assert.deepEqual(argv.slice(-4), [CLI_PATH, 'start', '--config', gw.configFile]);
  assert.doesNotMatch(gw.logs(), /could not restart/);
});

test("an operator's own choice of GC threads is kept, in either spelling", { skip: skipOne }, async (t) => {
  for (const chosen of ['--no-single-threaded-gc', '--no_single_threaded_gc']) {
    const gw = await startAndServe(t, { cpus: oneCpu, nodeArgs: [chosen] });
    const argv = commandLine(gw.child.pid as number);
    assert.equal(argv.includes(FLAG), false, `command line: ${argv.join(' ')}`);
    assert.equal(argv.includes(chosen), true);
  }
});

test('started with an IPC channel (fork, PM2), the gateway does not restart and keeps the channel', { skip: skipOne }, async (t) => {
  const gw = await startAndServe(t, { cpus: oneCpu, ipc: true });
  assert.equal(commandLine(gw.child.pid as number).includes(FLAG), false);
  assert.equal(gw.child.connected, true, 'the channel to the parent is still open');
});

test('started with --env-file, the gateway does not restart, so the file stays out of its environment', { skip: skipOne }, async (t) => {
  const gw = await startAndServe(t, { cpus: oneCpu }, (dir) => {
    const envFile = join(dir, 'gateway.env');
    writeFileSync(envFile, 'PCL_TEST_ONLY=from-the-env-file\n');
    return { nodeArgs: [`--env-file=${envFile}`] };
  });
  const pid = gw.child.pid as number;
  assert.equal(commandLine(pid).includes(FLAG), false);
  assert.doesNotMatch(readFileSync(`/proc/${pid}/environ`, 'utf8'), /PCL_TEST_ONLY/);
});

test(
  'a variable a preload sets stays in the process: the restart passes on the environment it was started with',
  { skip: skipOne },
  async (t) => {
    const gw = await startAndServe(t, { cpus: oneCpu }, (dir) => {
      const preload = join(dir, 'agent.cjs');
      writeFileSync(preload, "process.env.PCL_TEST_PRELOADED = 'set-by-a-preload';\n");
      return { nodeArgs: ['--require', preload], env: { PCL_TEST_UTF8: 'café ☕' } };
    });
    const pid = gw.child.pid as number;
    assert.equal(commandLine(pid).includes(FLAG), restartsInPlace);
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    assert.doesNotMatch(environ, /PCL_TEST_PRELOADED/);
    // A value beyond ASCII is passed on byte for byte.
    assert.match(environ, /\0PCL_TEST_UTF8=café ☕\0/);
  },
);

test('with a CPU to spare, V8 keeps its helper threads', { skip: skipTwo }, async (t) => {
  const gw = await startAndServe(t, { cpus: twoCpus });
  assert.equal(commandLine(gw.child.pid as number).includes(FLAG), false);
});

test('workers as many as the CPUs get their GC on the main thread from the primary', { skip: skipTwo }, async (t) => {
  const gw = await startAndServe(t, { cpus: twoCpus, args: ['--workers', '2'], startedEvent: 'cluster.started' });
  const pids = gw.started.pids as number[];
  assert.equal(pids.length, 2);
  for (const pid of pids) assert.equal(commandLine(pid).includes(FLAG), true, `worker ${pid}: ${commandLine(pid).join(' ')}`);
  // On two CPUs the primary, which serves no request, keeps V8's defaults.
  assert.equal(commandLine(gw.child.pid as number).includes(FLAG), false);
});

test('workers keep the choice the operator gave the primary', { skip: skipTwo }, async (t) => {
  const gw = await startAndServe(t, {
    cpus: twoCpus,
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
