#!/usr/bin/env node
/**
 * Where a worker's CPU goes, next to a single process's: both gateways loaded in turn by wrk
 * (scenario 2's load: Bearer, cache hit; one wrk of 25 connections per serving process) while
 * `perf record -e cpu-clock` samples the serving processes (the single process, or each worker),
 * with `--perf-basic-prof` naming the JavaScript functions. The event counts CPU time only, so a
 * process waiting for a CPU is not sampled (V8's --cpu-prof samples wall time, and put a
 * worker's waits on whatever function it was preempted in, `nextTick` above all).
 *
 * Printed: CPU µs per request; the share of the scheduler's context-switch path (a cost of
 * processes sharing CPUs, not of the work a request causes); the shares of kernel, Node.js and V8
 * (the `node` binary), JIT-compiled JavaScript, libc; and the symbols whose share of the rest
 * moved most. A cost only workers have shows as a share only they have.
 *
 *   node bench/workers-profile.mjs [--rounds 2] [--duration 15] [--runtime system|image]
 *                                  [--kind main|nolog] [--frequency 1999]
 *   Needs perf (linux-perf) and the right to sample these processes (root, or
 *   kernel.perf_event_paranoid ≤ 1).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenOf, startChild } from './lib/children.mjs';
import { prepareBenchHost, resolveDist, startBenchGateway, wrkRequests } from './lib/portcullis.mjs';

const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '15' },
    runtime: { type: 'string', default: 'system' },
    kind: { type: 'string', default: 'main' },
    frequency: { type: 'string', default: '1999' },
  },
});
if (spawnSync('perf', ['--version']).error) {
  process.stderr.write('workers-profile: perf is required (apt-get install -y linux-perf)\n');
  process.exit(2);
}
const DURATION = Number(opt.duration);
const HZ = Number(opt.frequency);
/** The scheduler's switch path: time a process spends being switched, not serving. */
const SCHEDULER = /finish_task_switch|irqentry_exit_to_user_mode|__schedule|_raw_spin_unlock_irqrestore/;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (line) => process.stderr.write(line);
const { dist } = resolveDist({ root, dist: 'dist', snapshot: false, log });
const work = mkdtempSync(join(tmpdir(), 'portcullis-workers-profile-'));
const children = [];
const servingPids = []; // every gateway process started with --perf-basic-prof
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const pid of servingPids) rmSync(`/tmp/perf-${pid}.map`, { force: true }); // --perf-basic-prof's symbol maps
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
const start = (cmd, args, { env = {}, stdout = 'pipe', cpus } = {}) =>
  startChild(children, cmd, args, { env: { NODE_ENV: 'production', ...env }, stdout, cpus });

const { certs, upstreamUrl, gatewayRuntime, nodeVersion } = await prepareBenchHost(start, { root, dist, work, runtime: opt.runtime, log });

const targets = [
  { name: 'w1', workers: 1, samples: new Map(), total: 0, requests: 0 },
  { name: 'w2', workers: 2, samples: new Map(), total: 0, requests: 0 },
];
for (const t of targets) {
  // Both with the flag the workers get on a host whose processes fill its CPUs.
  t.gateway = await startBenchGateway(start, {
    dir: join(work, t.name),
    dist,
    runtime: gatewayRuntime,
    kind: opt.kind,
    workers: t.workers,
    upstreamUrl,
    caPath: certs.caCert,
    flags: ['--single-threaded-gc', '--perf-basic-prof'],
    stdout: 'ignore',
  });
  t.pids = t.workers === 1 ? [t.gateway.pid] : childrenOf(t.gateway.pid);
  servingPids.push(t.gateway.pid, ...t.pids); // the primary writes a map too
  await Promise.all(t.pids.map(() => wrkRequests(t.gateway, { seconds: 3 }))); // warm-up: JIT, upstream connections
}

/** Samples by symbol of a perf.data file: `kind symbol` → count. */
function samplesBySymbol(file) {
  const report = spawnSync('perf', ['report', '-i', file, '--stdio', '--sort', 'sym', '-n', '--percent-limit', '0'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  }).stdout;
  const counts = new Map();
  for (const line of report.split('\n')) {
    const m = /^\s+[\d.]+%\s+(\d+)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    // One key per function, whichever tier or worker compiled it.
    const symbol = m[3]
      .replace(/^JS:[*~^'+]*/, '')
      .replace(/-(turbofan|maglev|sparkplug|liftoff)$/, '')
      .replace(/:\d+:\d+$/, '')
      .trim();
    const key = `${m[2]} ${symbol}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[1]));
  }
  return counts;
}

for (let round = 1; round <= Number(opt.rounds); round++) {
  for (const t of round % 2 === 1 ? targets : [...targets].reverse()) {
    const file = join(work, `${t.name}-${round}.data`);
    // Sampling stops a second before the load does: every sample falls under load.
    const perf = spawn(
      'perf',
      ['record', '-e', 'cpu-clock', '-F', String(HZ), '-o', file, '-p', t.pids.join(','), '--', 'sleep', String(DURATION - 1)],
      {
        stdio: 'ignore',
      },
    );
    const counts = await Promise.all(t.pids.map(() => wrkRequests(t.gateway, { seconds: DURATION })));
    await new Promise((resolveExit) => perf.once('close', resolveExit));
    const requests = (counts.reduce((a, b) => a + b, 0) * (DURATION - 1)) / DURATION;
    t.requests += requests;
    for (const [key, n] of samplesBySymbol(file)) {
      t.samples.set(key, (t.samples.get(key) ?? 0) + n);
      t.total += n;
    }
    log(`round ${round} ${t.name}: ${Math.round(requests)} requests sampled\n`);
  }
}

const share = (t, test) => {
  let n = 0;
  for (const [key, count] of t.samples) if (test(key)) n += count;
  return n;
};
console.log(
  `\nCPU samples (perf cpu-clock, ${HZ} Hz) of the serving processes, node ${nodeVersion}, ${opt.rounds} rounds × ${DURATION} s, one wrk -c25 per serving process:\n`,
);
console.log('| | w1 | w2 (both workers) |');
console.log('| --- | --: | --: |');
const row = (label, f) => console.log(`| ${label} | ${f(targets[0])} | ${f(targets[1])} |`);
row('CPU µs per request', (t) => ((t.total / HZ / t.requests) * 1e6).toFixed(1));
row('scheduler (context switches), % of samples', (t) => ((100 * share(t, (k) => SCHEDULER.test(k))) / t.total).toFixed(2));
row('CPU µs per request without it', (t) => (((t.total - share(t, (k) => SCHEDULER.test(k))) / HZ / t.requests) * 1e6).toFixed(1));
const rest = (t) => t.total - share(t, (k) => SCHEDULER.test(k));
const of = (re) => (t) => ((100 * share(t, (k) => !SCHEDULER.test(k) && re.test(k))) / rest(t)).toFixed(2);
console.log('\nShares of the samples outside the scheduler:\n');
console.log('| | w1 | w2 |');
console.log('| --- | --: | --: |');
row('kernel', of(/^k /));
row('JavaScript (JIT)', of(/^\. .*(\.js|\.mjs|node:|wasm-function)/));
row('the cluster module and its IPC', of(/cluster|child_process|serdes|\bipc\b/i));
row('the log path', of(/line-batcher|shared-stdout|log-sink|sonic-boom/));
const [alone, workers] = targets;
const keys = [...new Set([...alone.samples.keys(), ...workers.samples.keys()])].filter((k) => !SCHEDULER.test(k));
const moved = keys
  .map((k) => ({ k, a: (100 * (alone.samples.get(k) ?? 0)) / rest(alone), w: (100 * (workers.samples.get(k) ?? 0)) / rest(workers) }))
  .sort((x, y) => y.w - y.a - (x.w - x.a));
console.log('\nSymbols whose share moved most (w2 − w1, points; w1 %, w2 %):\n');
for (const m of [...moved.slice(0, 8), ...moved.slice(-5)]) {
  console.log(
    `  ${(m.w - m.a).toFixed(2).padStart(6)}  ${m.a.toFixed(2).padStart(5)}  ${m.w.toFixed(2).padStart(5)}  ${m.k.slice(0, 100)}`,
  );
}
