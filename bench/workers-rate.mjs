#!/usr/bin/env node
/**
 * Does a gateway with workers do more work per request, or does each process just see fewer
 * requests? Gateways with `workers: 1` and `workers: N` are loaded at fixed rates (scenario 9's
 * load: lib/open-loop.mjs, Bearer, cache hit), interleaved round by round:
 *
 *   w1 at R/N   one process at the rate each worker of the host gets
 *   wN at R     N workers sharing the rate R
 *   w1 at R     one process at the whole rate
 *
 * If workers added work per request (IPC, a slower log, host-wide bookkeeping), wN at R would cost
 * more per request than w1 at R/N. If they cost the same, what rises from w1 at R to wN at R is
 * the per-process rate: each process wakes up for fewer requests at a time and finds its caches
 * cold (docs/decisions/0016-workers.md). Per run: CPU µs per request of the process tree (/proc),
 * and per request its context switches, migrations and page faults (`perf stat`, when present).
 *
 *   node bench/workers-rate.mjs [--rate 2000] [--workers 2] [--rounds 3] [--duration 6]
 *                               [--pin-gateways 0,1] [--load-cpus 1] [--runtime system|image]
 *                               [--also-flags=--no-single-threaded-gc] [--out FILE]
 *   The gateways and the upstream are unpinned unless --pin-gateways is given; the generator is
 *   pinned to --load-cpus (taskset), as in run.mjs. --runtime image: the gateways on the Docker
 *   image's Node.js (lib/runtime.mjs). --also-flags: the three targets again, on gateways started
 *   with these node flags (the primary passes them to its workers).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pinned, startChild } from './lib/children.mjs';
import { prepareBenchHost, resolveDist, startBenchGateway } from './lib/portcullis.mjs';
import { processTree, treeCpuSeconds } from './lib/procstat.mjs';

const { values: opt } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    'pin-gateways': { type: 'string' },
    'load-cpus': { type: 'string', default: '1' },
    runtime: { type: 'string', default: 'system' },
    'also-flags': { type: 'string' },
    out: { type: 'string' },
  },
});
const RATE = Number(opt.rate);
const WORKERS = Number(opt.workers);
const DURATION = Number(opt.duration);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (m) => process.stderr.write(m);
const { dist } = resolveDist({ root, dist: 'dist', snapshot: false, log });
const hasPerf = !spawnSync('perf', ['--version']).error;

const work = mkdtempSync(join(tmpdir(), 'portcullis-workers-rate-'));
const children = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

const start = (cmd, args, { cpus, env = {}, stdout = 'pipe' } = {}) =>
  startChild(children, cmd, args, { cpus, env: { NODE_ENV: 'production', ...env }, stdout });

const { certs, upstreamUrl, gatewayRuntime, nodeVersion } = await prepareBenchHost(start, {
  root,
  dist,
  work,
  runtime: opt.runtime,
  cpus: opt['pin-gateways'],
  log,
});

async function startGateway(name, workers, flags = []) {
  const dir = join(work, name);
  const accessLog = openSync(join(work, `${name}-access.log`), 'a');
  try {
    return await startBenchGateway(start, {
      dir,
      dist,
      runtime: gatewayRuntime,
      workers,
      upstreamUrl,
      caPath: certs.caCert,
      flags,
      cpus: opt['pin-gateways'],
      stdout: accessLog,
    });
  } finally {
    closeSync(accessLog);
  }
}

const targets = [];
for (const flags of opt['also-flags'] === undefined ? [[]] : [[], opt['also-flags'].split(/\s+/).filter(Boolean)]) {
  const label = flags.length === 0 ? '' : ` ${flags.join(' ')}`;
  const single = await startGateway(`w1${targets.length}`, 1, flags);
  const host = await startGateway(`w${WORKERS}-${targets.length}`, WORKERS, flags);
  targets.push(
    { name: `w1${label} at ${RATE / WORKERS} req/s`, gateway: single, rate: RATE / WORKERS, runs: [] },
    { name: `w${WORKERS}${label} at ${RATE} req/s`, gateway: host, rate: RATE, runs: [] },
    { name: `w1${label} at ${RATE} req/s`, gateway: single, rate: RATE, runs: [] },
  );
}

function openLoop(t, seconds) {
  const args = [join(root, 'bench/lib/open-loop.mjs'), '--url', t.gateway.url, '--rate', String(t.rate), '--duration', String(seconds)];
  args.push('--ca', certs.caCert, '--header', `Authorization: Bearer ${t.gateway.token}`);
  const [file, argv] = pinned(opt['load-cpus'], process.execPath, args);
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const line = /^BENCH_RESULT (.*)$/m.exec(r.stdout)?.[1];
  if (!line) throw new Error(`open-loop against ${t.name}: ${r.stdout}${r.stderr}`);
  const result = JSON.parse(line);
  if (result.requests === 0 || Object.values(result.errors).some((n) => n > 0)) throw new Error(`open-loop against ${t.name}: ${line}`);
  return result;
}

/** `perf stat` over the process tree for `seconds`; resolves to counts per event (empty without perf). */
function perfStat(pid, seconds) {
  if (!hasPerf) return Promise.resolve({});
  const events = 'task-clock,context-switches,cpu-migrations,page-faults';
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', processTree(pid).join(','), '--', 'sleep', String(seconds)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  perf.stderr.on('data', (d) => (text += d));
  return new Promise((resolveStat) => {
    perf.on('close', () => {
      const counts = {};
      for (const fields of text.split('\n').map((l) => l.split(','))) {
        if (fields.length > 3 && Number.isFinite(Number(fields[0]))) counts[fields[2]] = Number(fields[0]);
      }
      resolveStat(counts);
    });
  });
}

for (const t of targets) openLoop(t, 2); // warm-up: JIT, upstream connections
for (let round = 1; round <= Number(opt.rounds); round++) {
  for (const t of targets) {
    openLoop(t, 1); // connections may have expired while the others ran
    const stat = perfStat(t.gateway.pid, DURATION - 0.5); // counted inside the measured run
    const cpu0 = treeCpuSeconds(t.gateway.pid);
    const r = openLoop(t, DURATION);
    const cpuUsPerReq = ((treeCpuSeconds(t.gateway.pid) - cpu0) * 1e6) / r.requests;
    const counts = await stat;
    const perReq = (event) => (counts[event] === undefined ? null : counts[event] / (t.rate * (DURATION - 0.5)));
    const run = {
      round,
      cpuUsPerReq,
      contextSwitchesPerReq: perReq('context-switches'),
      migrationsPerReq: perReq('cpu-migrations'),
      pageFaultsPerReq: perReq('page-faults'),
      p99Ms: r.latency_us.p99 / 1000,
      p999Ms: r.latency_us.p999 / 1000,
      load: loadavg()[0],
    };
    t.runs.push(run);
    log(
      `round ${round} ${t.name}: ${cpuUsPerReq.toFixed(1)} µs/req, p99 ${run.p99Ms.toFixed(2)} ms, context switches ${run.contextSwitchesPerReq?.toFixed(2) ?? '–'}/req\n`,
    );
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, digits) => (x === null ? '–' : x.toFixed(digits));
// Each round's ratio to the run of the same round (minutes apart at most) of the first target
// started with the same flags.
console.log(
  '\n| gateway and rate | CPU µs/req median | per round | ÷ w1 at R/N, per round | p99 ms median | p99.9 ms median | context switches/req | migrations/req |',
);
console.log('| --- | --: | --- | --- | --: | --: | --: | --: |');
for (const [i, t] of targets.entries()) {
  const base = targets[i - (i % 3)];
  const cpu = t.runs.map((r) => r.cpuUsPerReq);
  const ratios = t === base ? '' : t.runs.map((r, i) => (r.cpuUsPerReq / base.runs[i].cpuUsPerReq).toFixed(2)).join(', ');
  const cs = median(t.runs.map((r) => r.contextSwitchesPerReq));
  const mig = median(t.runs.map((r) => r.migrationsPerReq));
  console.log(
    `| ${t.name} | ${fmt(median(cpu), 0)} | ${cpu.map((x) => x.toFixed(0)).join(', ')} | ${ratios} | ${fmt(median(t.runs.map((r) => r.p99Ms)), 2)} | ${fmt(median(t.runs.map((r) => r.p999Ms)), 2)} | ${fmt(cs, 2)} | ${fmt(mig, 3)} |`,
  );
}
const pin = opt['pin-gateways'] ? `gateways and upstream on CPU ${opt['pin-gateways']}` : 'gateways and upstream unpinned';
console.log(`\n${opt.rounds} rounds × ${DURATION} s, ${pin}, generator on CPU ${opt['load-cpus']}; gateways on node ${nodeVersion}`);
if (opt.out) {
  const report = { date: new Date().toISOString(), node: nodeVersion, rate: RATE, workers: WORKERS, pin: opt['pin-gateways'] ?? null };
  writeFileSync(
    opt.out,
    `${JSON.stringify({ ...report, targets: targets.map(({ name, rate, runs }) => ({ name, rate, runs })) }, null, 1)}\n`,
  );
}
