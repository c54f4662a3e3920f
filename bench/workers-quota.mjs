#!/usr/bin/env node
/**
 * CPU per request with workers on a host where each worker has a CPU of its own, measured on a
 * machine too small to give it one. Every gateway process serving requests gets the same slice
 * of a CPU — a cgroup `cpu` quota of --share CPU each — so a worker competes with no other
 * worker for it, as on a host with a core per worker; the primary, the upstream and wrk run
 * outside any quota, on what the machine has left. Three targets under wrk (scenario 2's load:
 * Bearer, cache hit), one wrk of --connections per serving process, in turn, in a different order
 * each round:
 *
 *   w1                  one process in one slice
 *   wN                  N workers in N slices
 *   N × w1 side by side N single-process gateways, a slice each, loaded at once: the control,
 *                       the same traffic and busy processes as wN without node:cluster
 *
 * Each process is saturated on its slice (the cgroup's throttled periods say so). If workers add
 * no work per request, wN costs what the control costs per request. The machine's idle share is
 * printed: if it reaches zero, the machine and not the quota was the limit, and the run says
 * nothing.
 *
 *   node bench/workers-quota.mjs [--share 0.4] [--workers 2] [--rounds 5] [--duration 6]
 *                                [--connections 25] [--runtime system|image]
 *                                [--flags=--single-threaded-gc] [--kind main|nolog] [--out FILE]
 *   Needs root and the `cpu` controller (cgroup v1 at /sys/fs/cgroup/cpu, or v2 with `cpu` in
 *   /sys/fs/cgroup/cgroup.subtree_control). --flags: node flags of both gateways (the primary
 *   passes them to its workers); the same for both, since a process on a slice of one CPU
 *   collects garbage on its main thread (docs/decisions/0025, "GC threads") and the single
 *   process, started on the whole machine, would not choose it by itself. --kind: the gateways'
 *   configuration (lib/portcullis.mjs; `nolog`: the access log off).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenOf, startChild } from './lib/children.mjs';
import { prepareBenchHost, resolveDist, startBenchGateway, wrkRequests } from './lib/portcullis.mjs';
import { cpuSnapshot, cpuTicks, CLK_TCK, reapedChildrenCpuSeconds, treeCpuSeconds } from './lib/procstat.mjs';

const { values: opt } = parseArgs({
  options: {
    share: { type: 'string', default: '0.4' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '25' },
    runtime: { type: 'string', default: 'system' },
    flags: { type: 'string', default: '--single-threaded-gc' },
    kind: { type: 'string', default: 'main' },
    out: { type: 'string' },
  },
});
const SHARE = Number(opt.share);
const WORKERS = Number(opt.workers);
const DURATION = Number(opt.duration);
const PERIOD_US = 100_000;
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(m);
const { dist } = resolveDist({ root, dist: 'dist', snapshot: false, log });

// ------------------------------------------------------------ cgroups

/** The cpu controller's hierarchy and how a quota is written there. */
function cpuHierarchy() {
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') || existsSync('/sys/fs/cgroup/cpu/cgroup.procs')) {
    return {
      base: '/sys/fs/cgroup/cpu',
      limit: (dir) => {
        writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(Math.round(SHARE * PERIOD_US)));
      },
    };
  }
  const controllers = existsSync('/sys/fs/cgroup/cgroup.subtree_control')
    ? readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8')
    : '';
  if (controllers.split(/\s+/).includes('cpu')) {
    return {
      base: '/sys/fs/cgroup',
      // v2: a group's children get the controller only when the group hands it down.
      prepare: (dir) => writeFileSync(join(dir, 'cgroup.subtree_control'), '+cpu'),
      limit: (dir) => writeFileSync(join(dir, 'cpu.max'), `${Math.round(SHARE * PERIOD_US)} ${PERIOD_US}`),
    };
  }
  throw new Error('no cgroup cpu controller to write a quota to (needs root and cgroup v1 cpu, or v2 with cpu enabled)');
}

const hierarchy = cpuHierarchy();
const groupRoot = join(hierarchy.base, `portcullis-bench-${process.pid}`);
const groups = [];

/** A cgroup of its own for `pid` (every thread of it), limited to SHARE of a CPU. */
function confine(name, pid) {
  const dir = join(groupRoot, name);
  mkdirSync(dir);
  groups.push(dir);
  hierarchy.limit(dir);
  writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  return dir;
}

/** Periods in which the group used up its quota, and all periods, from its cpu.stat. */
function throttling(dir) {
  const stat = Object.fromEntries(
    readFileSync(join(dir, 'cpu.stat'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ')),
  );
  return { periods: Number(stat.nr_periods), throttled: Number(stat.nr_throttled) };
}

// ------------------------------------------------------------ processes

const work = mkdtempSync(join(tmpdir(), 'portcullis-workers-quota-'));
const children = [];
/** Every process still in one of our cgroups (the workers are not our children). */
function confinedPids() {
  return groups.flatMap((dir) => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}
function cleanUp() {
  for (const child of children) child.kill('SIGKILL');
  for (const pid of confinedPids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  // A cgroup can be removed once its processes are gone; SIGKILL'd processes go within moments.
  let left = [];
  for (let attempt = 0; attempt < 50; attempt++) {
    left = [...groups, groupRoot].filter((dir) => existsSync(dir));
    try {
      for (const dir of left) rmdirSync(dir);
      left = [];
      break;
    } catch {
      spawnSync('sleep', ['0.1']);
    }
  }
  if (left.length > 0) process.stderr.write(`could not remove ${left.join(', ')}: remove it by hand (rmdir) once empty\n`);
  spawnSync('rm', ['-rf', work]);
}
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(1));
// After the exit hook: a failure from here on still removes the groups.
mkdirSync(groupRoot);
hierarchy.prepare?.(groupRoot);

const start = (cmd, args, { env = {}, stdout = 'pipe' } = {}) =>
  startChild(children, cmd, args, { env: { NODE_ENV: 'production', ...env }, stdout });

const { certs, upstream, upstreamUrl, gatewayRuntime, nodeVersion } = await prepareBenchHost(start, {
  root,
  dist,
  work,
  runtime: opt.runtime,
  log,
});
const flags = opt.flags.split(/\s+/).filter(Boolean);

async function startGateway(name, workers) {
  const gateway = await startBenchGateway(start, {
    dir: join(work, name),
    dist,
    runtime: gatewayRuntime,
    kind: opt.kind,
    workers,
    upstreamUrl,
    caPath: certs.caCert,
    flags,
    stdout: 'ignore',
  });
  const { child } = gateway;
  // The processes that serve: the single process itself, or each worker (not the primary).
  const serving = workers === 1 ? [child.pid] : childrenOf(child.pid);
  if (serving.length !== workers) throw new Error(`${name}: ${serving.length} serving processes, expected ${workers}`);
  const slices = serving.map((pid, i) => confine(`${name}-${i + 1}`, pid));
  return { ...gateway, serving, slices };
}

const single = await startGateway('w1', 1);
const host = await startGateway(`w${WORKERS}`, WORKERS);
const neighbours = [];
for (let i = 1; i <= WORKERS; i++) neighbours.push(await startGateway(`alone${i}`, 1));
const connections = Number(opt.connections);
// Each target: one wrk per serving process, each with the same connections, run at once. Two
// wrk against the host of workers, as against the two gateways side by side: node:cluster hands
// the connections to the workers in turn, so each gets its share.
const targets = [
  { name: `w1, one slice of ${SHARE} CPU`, load: [{ gateway: single, connections }], runs: [] },
  {
    name: `w${WORKERS}, ${WORKERS} slices of ${SHARE} CPU`,
    load: Array.from({ length: WORKERS }, () => ({ gateway: host, connections })),
    runs: [],
  },
  {
    name: `${WORKERS} × w1 side by side, a slice each`,
    load: neighbours.map((gateway) => ({ gateway, connections })),
    runs: [],
  },
];

// ------------------------------------------------------------ load

/** Every gateway of the target loaded at once; resolves to the requests of all of them. */
async function loadAll(t, seconds) {
  const counts = await Promise.all(
    t.load.map(({ gateway, connections: c }) => wrkRequests(gateway, { seconds, connections: c, label: t.name })),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Established client connections held by each serving process of the target, counted with ss:
 * whether node:cluster gave each worker its share of wrk's connections (each wrk holds
 * --connections), or one worker most of them.
 */
function connectionsPerProcess(t) {
  const ports = gatewaysOf(t).map((g) => new URL(g.url).port);
  const filter = ports.map((port) => `sport = :${port}`).join(' or ');
  const out = spawnSync('ss', ['-tnpH', 'state', 'established', `( ${filter} )`], { encoding: 'utf8' }).stdout ?? '';
  const byPid = new Map();
  for (const match of out.matchAll(/pid=(\d+)/g)) byPid.set(Number(match[1]), (byPid.get(Number(match[1])) ?? 0) + 1);
  return gatewaysOf(t)
    .flatMap((g) => g.serving)
    .map((pid) => byPid.get(pid) ?? 0);
}

const sumThrottling = (slices) =>
  slices
    .map(throttling)
    .reduce((a, b) => ({ periods: a.periods + b.periods, throttled: a.throttled + b.throttled }), { periods: 0, throttled: 0 });
const idleJiffies = (snap) => Object.values(snap).reduce((a, c) => a + c.idle, 0);
const totalJiffies = (snap) => Object.values(snap).reduce((a, c) => a + c.total, 0);
const gatewaysOf = (t) => [...new Set(t.load.map((one) => one.gateway))];
const treeCpu = (t) => gatewaysOf(t).reduce((a, g) => a + treeCpuSeconds(g.pid), 0);
const slicesOf = (t) => gatewaysOf(t).flatMap((g) => g.slices);

for (const t of targets) await loadAll(t, 2); // warm-up: JIT, upstream connections
for (let round = 1; round <= Number(opt.rounds); round++) {
  // A different order each round: none always runs first, after the same one, or last.
  const order = targets.map((_, i) => targets[(i + round - 1) % targets.length]);
  for (const t of order) {
    const cpu0 = treeCpu(t);
    const primary0 = t === targets[1] ? cpuTicks(host.pid) : 0;
    const up0 = cpuTicks(upstream.pid);
    const wrk0 = reapedChildrenCpuSeconds();
    const thr0 = sumThrottling(slicesOf(t));
    const snap0 = cpuSnapshot();
    const loading = loadAll(t, DURATION);
    await new Promise((resolveWait) => setTimeout(resolveWait, (DURATION * 1000) / 2));
    const held = connectionsPerProcess(t);
    const requests = await loading;
    const snap1 = cpuSnapshot();
    const thr1 = sumThrottling(slicesOf(t));
    const run = {
      round,
      reqPerSec: requests / DURATION,
      cpuUsPerReq: ((treeCpu(t) - cpu0) * 1e6) / requests,
      // The primary's part of that: it serves nothing.
      primaryUsPerReq: t === targets[1] ? ((cpuTicks(host.pid) - primary0) / CLK_TCK / requests) * 1e6 : null,
      throttledPct: (100 * (thr1.throttled - thr0.throttled)) / Math.max(1, thr1.periods - thr0.periods),
      wrkPctOfCpu: (100 * (reapedChildrenCpuSeconds() - wrk0)) / DURATION,
      upstreamPctOfCpu: (100 * (cpuTicks(upstream.pid) - up0)) / CLK_TCK / DURATION,
      machineIdlePct: (100 * (idleJiffies(snap1) - idleJiffies(snap0))) / Math.max(1, totalJiffies(snap1) - totalJiffies(snap0)),
      connectionsPerProcess: held,
    };
    t.runs.push(run);
    const primary = run.primaryUsPerReq === null ? '' : ` (the primary ${run.primaryUsPerReq.toFixed(1)})`;
    log(
      `round ${round} ${t.name}: ${run.reqPerSec.toFixed(0)} req/s, ${run.cpuUsPerReq.toFixed(1)} µs/req${primary}, throttled ${run.throttledPct.toFixed(0)} % of periods, wrk ${run.wrkPctOfCpu.toFixed(0)} %, upstream ${run.upstreamPctOfCpu.toFixed(0)} %, machine idle ${run.machineIdlePct.toFixed(0)} %, connections per process ${held.join('/')}\n`,
    );
  }
}

// ------------------------------------------------------------ report

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const [alone, workers, sideBySide] = targets;
const ratiosTo = (t, base) => t.runs.map((r, i) => r.cpuUsPerReq / base.runs[i].cpuUsPerReq);
console.log(
  '\n| gateway | req/s median (per round) | CPU µs/req median (per round) | ÷ w1 alone, per round | ÷ side by side, per round | throttled periods | wrk, % of a CPU | upstream, % of a CPU | machine idle |',
);
console.log('| --- | --- | --- | --- | --- | --: | --: | --: | --: |');
for (const t of targets) {
  const rps = t.runs.map((r) => r.reqPerSec);
  const cpu = t.runs.map((r) => r.cpuUsPerReq);
  const list = (xs) => xs.map((x) => x.toFixed(2)).join(', ');
  const pct = (key) => `${median(t.runs.map((r) => r[key])).toFixed(0)} %`;
  console.log(
    `| ${t.name} | ${median(rps).toFixed(0)} (${rps.map((x) => x.toFixed(0)).join(', ')}) | ${median(cpu).toFixed(1)} (${cpu.map((x) => x.toFixed(0)).join(', ')}) | ${t === alone ? '' : list(ratiosTo(t, alone))} | ${t === workers ? list(ratiosTo(t, sideBySide)) : ''} | ${pct('throttledPct')} | ${pct('wrkPctOfCpu')} | ${pct('upstreamPctOfCpu')} | ${pct('machineIdlePct')} |`,
  );
}
const summary = {
  workersOverAlone: median(ratiosTo(workers, alone)),
  workersOverSideBySide: median(ratiosTo(workers, sideBySide)),
  sideBySideOverAlone: median(ratiosTo(sideBySide, alone)),
  workersReqPerSecOverAlone: median(workers.runs.map((r, i) => r.reqPerSec / alone.runs[i].reqPerSec)),
};
console.log(
  `\nCPU per request, medians of the per-round ratios: w${WORKERS} ÷ w1 alone ${summary.workersOverAlone.toFixed(2)}×, w${WORKERS} ÷ ${WORKERS} × w1 side by side ${summary.workersOverSideBySide.toFixed(2)}×, side by side ÷ alone ${summary.sideBySideOverAlone.toFixed(2)}×; req/s w${WORKERS} ÷ w1 ${summary.workersReqPerSecOverAlone.toFixed(2)}×.`,
);
console.log(
  `${opt.rounds} rounds × ${DURATION} s, in turn (a different order each round), one wrk -t1 -c${connections} per serving process, unpinned; gateways on node ${nodeVersion} ${flags.join(' ')}; the primary, the upstream and wrk outside any quota.`,
);
if (opt.out) {
  const report = {
    date: new Date().toISOString(),
    node: nodeVersion,
    flags,
    kind: opt.kind,
    share: SHARE,
    workers: WORKERS,
    connections,
  };
  writeFileSync(
    opt.out,
    `${JSON.stringify({ ...report, ...summary, targets: targets.map(({ name, runs }) => ({ name, runs })) }, null, 1)}\n`,
  );
}
process.exit(0); // the upstream and the gateways would keep the event loop alive
