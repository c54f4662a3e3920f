#!/usr/bin/env node
// Portcullis benchmark runner.
//
//   node bench/run.mjs [--only engines|NAME[,NAME...]] [--duration 10] [--connections 50]
//                      [--rounds 3] [--warmup 2] [--threads 1] [--no-pin]
//                      [--target-cpus 0] [--upstream-cpus 0] [--load-cpus 1]
//                      [--quiet-pct 15] [--quiet-wait 120] [--disturbed-pct 30] [--retries 2]
//                      [--budget-min 30]
//   node bench/run.mjs --table bench/results/FILE.json   (reprint a saved table)
//                      [--out bench/results] [--tag NAME]
//
// Starts the HTTPS upstream and every selected target in its own child
// process, warms each up, then runs wrk against the targets interleaved
// (A B C D A B C D ...) for --rounds rounds. For every run it records req/s,
// latency percentiles (p50/p90/p99/p99.9 from a wrk Lua done() hook), errors,
// the target's CPU time per request (utime+stime from /proc/<pid>/stat) and at
// the end its peak RSS (VmHWM). Medians with min/max go to
// bench/results/<YYYY-MM-DD>-<scenario>.json and a markdown table to stdout.
// Each run first waits (bounded) for the machine to be quiet, and a run that
// other jobs disturbed is repeated (bounded); see the notes in the JSON.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync, existsSync, rmSync, mkdtempSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tmpdir, cpus, loadavg } from 'node:os';
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import { createCerts } from './lib/certs.mjs';
import { treeCpuSeconds, treePeakRssKiB, processTree, cpuSnapshot, cpuUtilisation, taskSecondsBetween, reapedChildrenCpuSeconds, CLK_TCK } from './lib/procstat.mjs';
import { TARGETS, SCENARIOS } from './targets/index.mjs';
import { findNginx, nginxVersion } from './targets/nginx.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');

// ---------------------------------------------------------------- options
const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'engines' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    'no-pin': { type: 'boolean', default: false },
    'target-cpus': { type: 'string', default: '0' },
    'upstream-cpus': { type: 'string', default: '0' },
    'load-cpus': { type: 'string', default: '1' },
    out: { type: 'string', default: join(benchDir, 'results') },
    tag: { type: 'string', default: '' },
    'quiet-pct': { type: 'string', default: '15' },
    'quiet-wait': { type: 'string', default: '120' },
    'disturbed-pct': { type: 'string', default: '30' },
    retries: { type: 'string', default: '2' },
    'budget-min': { type: 'string', default: '30' },
    table: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 24).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
  process.exit(0);
}
const intOpt = (name, min, max) => {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < min || n > max) fatal(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
};
const DURATION = intOpt('duration', 1, 600);
const CONNECTIONS = intOpt('connections', 1, 10000);
const THREADS = intOpt('threads', 1, 64);
const ROUNDS = intOpt('rounds', 1, 50);
const WARMUP = intOpt('warmup', 0, 120);
const QUIET_PCT = intOpt('quiet-pct', 0, 400);
const QUIET_WAIT_S = intOpt('quiet-wait', 0, 1800);
const DISTURBED_PCT = intOpt('disturbed-pct', 0, 400);
const RETRIES = intOpt('retries', 0, 5);
// After this many minutes of measuring, stop waiting for quiet and stop retrying.
const BUDGET_MS = intOpt('budget-min', 1, 600) * 60_000;
const runStart = Date.now();
const overBudget = () => Date.now() - runStart > BUDGET_MS;
if (CONNECTIONS < THREADS) fatal('--connections must be >= --threads');

// --------------------------------------------------------------- children
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();
const tempDirs = [];

function killTree(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // Descendants first seen now (nginx workers), then the child itself.
  const pids = processTree(child.pid).reverse();
  for (const p of pids) {
    try { process.kill(p, signal); } catch { /* already gone */ }
  }
}

async function stopAll() {
  const list = [...children];
  for (const c of list) killTree(c, 'SIGTERM');
  const deadline = Date.now() + 3000;
  for (const c of list) {
    while (c.exitCode === null && c.signalCode === null && Date.now() < deadline) await sleep(50);
    if (c.exitCode === null && c.signalCode === null) killTree(c, 'SIGKILL');
    children.delete(c);
  }
}

function cleanupSync() {
  for (const c of children) killTree(c, 'SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping children\n`);
    cleanupSync();
    process.exit(130);
  });
}

function fatal(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------- utilities
function which(bin, extra = []) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(extra)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** stdout, else stderr, of a short command; some tools (wrk -v) exit non-zero or print on stderr. */
function tryExec(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return (r.stdout?.trim() || r.stderr?.trim() || '');
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mhz = cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1];
  return {
    nproc: Number(tryExec('nproc', [])) || cpus().length,
    cpuModel: model.trim(),
    cpuMHz: mhz ? Number(mhz) : null,
    kernel: tryExec('uname', ['-r']),
    node: process.version,
    wrk: wrkBin ? tryExec(wrkBin, ['-v']).split('\n')[0].replace(/\s+\[.*$/, '').trim() : null,
    nginx: nginxBin ? nginxVersion(nginxBin) : null,
    undici: pkgVersion('undici'),
    'http-proxy-3': pkgVersion('http-proxy-3'),
    openssl: tryExec(opensslBin, ['version']),
  };
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Wrap argv in `taskset -c CPUS` when pinning is on. */
function pinned(cpusList, cmd, args) {
  return pin ? { cmd: tasksetBin, args: ['-c', cpusList, cmd, ...args] } : { cmd, args };
}

/** Start a child; resolve with its port once it prints "ready <port>". */
function startChild(name, { cmd, args, env }, { ready, cpus, timeoutMs = 15_000 }) {
  const p = pinned(cpus ?? opt['target-cpus'], cmd, args);
  const child = spawn(p.cmd, p.args, {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name}: not ready after ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`${name}: exited early (code ${code}, signal ${sig})\n${stderr}`));
    });
    child.once('error', (e) => { clearTimeout(timer); rej(e); });
    if (ready !== 'stdout') {
      // Readiness is probed by the caller; resolve once spawned.
      child.once('spawn', () => { clearTimeout(timer); res({ child, port: null, stderr: () => stderr }); });
      return;
    }
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/^ready (\d+)/m);
      if (m) {
        clearTimeout(timer);
        res({ child, port: Number(m[1]), stderr: () => stderr });
      }
    });
  }).finally(() => child.removeAllListeners('exit'));
}

/** One GET; resolves { status, body }. */
function get(url, { headers = {}, ca } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((res, rej) => {
    const req = mod.request(u, { method: 'GET', headers, ca, agent: false, timeout: 2000 }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

/** Poll the URL until it answers (bounded); returns the last answer. */
async function probe(url, opts, attempts = 100) {
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    try {
      return await get(url, opts);
    } catch (e) {
      lastErr = e;
      await sleep(100);
    }
  }
  throw new Error(`no answer from ${url}: ${lastErr?.message}`);
}

// -------------------------------------------------------------------- wrk
const DONE_LUA = `
-- appended by bench/run.mjs: one machine-readable line with the percentiles
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.2f,"stdev":%.2f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
`;

function wrkScript(target, dir) {
  const own = target.lua ? readFileSync(join(benchDir, target.lua), 'utf8') : '';
  if (/^\s*(function\s+done|done\s*=)/m.test(own)) throw new Error(`${target.name}: its lua script must not define done()`);
  const path = join(dir, `${target.name}.lua`);
  writeFileSync(path, `${own}\n${DONE_LUA}`);
  return path;
}

function runWrk(target, seconds) {
  const args = [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '--timeout', '5s', '-s', target.script];
  for (const [k, v] of Object.entries(target.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(target.urlResolved);
  const p = pinned(opt['load-cpus'], wrkBin, args);
  return new Promise((res, rej) => {
    const child = spawn(p.cmd, p.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const m = out.match(/^BENCH_RESULT (\{.*\})$/m);
      if (code !== 0 || !m) return rej(new Error(`wrk failed (code ${code}) on ${target.name}:\n${out}\n${err}`));
      const r = JSON.parse(m[1]);
      const rps = Number(out.match(/^Requests\/sec:\s+([\d.]+)/m)?.[1] ?? r.requests / (r.duration_us / 1e6));
      const non2xx = Number(out.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
      res({ ...r, rps, non2xx });
    });
  });
}

// ------------------------------------------------------------ measuring
/**
 * Wait until the machine is quiet: process CPU not spent by our own processes
 * under QUIET_PCT of one CPU over a 1 s window. Bounded by QUIET_WAIT_S.
 * @returns {{ waitedS: number, foreignPct: number, timedOut: boolean }}
 */
async function waitForQuiet(ourPids) {
  const t0 = Date.now();
  let foreignPct = 0;
  for (let i = 0; i < Math.max(1, QUIET_WAIT_S); i++) {
    const ours0 = ourPids().reduce((a, p) => a + treeCpuSeconds(p), 0) + reapedChildrenCpuSeconds();
    const self0 = process.cpuUsage();
    const s0 = cpuSnapshot();
    const w0 = Date.now();
    await sleep(1000);
    const s1 = cpuSnapshot();
    const ours1 = ourPids().reduce((a, p) => a + treeCpuSeconds(p), 0) + reapedChildrenCpuSeconds();
    const self = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(self0));
    foreignPct = Math.round(((taskSecondsBetween(s0, s1) - (ours1 - ours0) - self) / ((Date.now() - w0) / 1000)) * 1000) / 10;
    if (foreignPct <= QUIET_PCT || QUIET_WAIT_S === 0 || overBudget()) return { waitedS: (Date.now() - t0) / 1000, foreignPct, timedOut: false };
    if (i === 0) process.stderr.write(`waiting for a quiet machine (other jobs use ${foreignPct}% of a CPU; max ${QUIET_WAIT_S}s)\n`);
  }
  return { waitedS: (Date.now() - t0) / 1000, foreignPct, timedOut: true };
}

/** One wrk run against t with the CPU bookkeeping around it. */
async function measure(t, up, round) {
  await sleep(300); // let sockets from the previous run settle
  const cpu0 = treeCpuSeconds(t.pid);
  const up0 = treeCpuSeconds(up.child.pid);
  const sys0 = cpuSnapshot();
  const wrk0 = reapedChildrenCpuSeconds();
  const self0 = process.cpuUsage();
  const load0 = loadavg()[0];
  const r = await runWrk(t, DURATION);
  const cpu1 = treeCpuSeconds(t.pid);
  const up1 = treeCpuSeconds(up.child.pid);
  const sys1 = cpuSnapshot();
  const wrkCpu = reapedChildrenCpuSeconds() - wrk0;
  const selfCpu = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(self0));
  const isUpstream = t.pid === up.child.pid;
  // Process time on the machine that is none of ours (other jobs, e.g. a
  // concurrent build): a high value marks a disturbed run.
  const foreign = taskSecondsBetween(sys0, sys1) - (cpu1 - cpu0) - (isUpstream ? 0 : up1 - up0) - wrkCpu - selfCpu;
  const durationS = r.duration_us / 1e6;
  return {
    round,
    rps: r.rps,
    requests: r.requests,
    durationS,
    latency_us: r.latency_us,
    errors: r.errors,
    non2xx: r.non2xx,
    errorsTotal: r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout,
    cpuS: cpu1 - cpu0,
    cpu_us_per_req: r.requests ? ((cpu1 - cpu0) * 1e6) / r.requests : null,
    upstream_cpu_us_per_req: isUpstream || !r.requests ? null : ((up1 - up0) * 1e6) / r.requests,
    wrkCpuS: wrkCpu,
    foreignCpuPct: Math.round((foreign / durationS) * 1000) / 10,
    cpuUtilisation: cpuUtilisation(sys0, sys1),
    loadavg1: [load0, loadavg()[0]],
  };
}

// ------------------------------------------------------------ statistics
function stats(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1] };
}

const fmt = (n, d = 0) => (n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const ms = (us) => fmt(us / 1000, 2);
const range = (s, f) => (s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '–');

function markdownTable(results) {
  const lines = [
    '| target | req/s median (min–max) | p50 ms | p99 ms | p99.9 ms | CPU µs/req (min–max) | upstream CPU µs/req | peak RSS MiB | errors | disturbed runs kept |',
    '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of results) {
    if (r.skipped) {
      lines.push(`| ${r.name} | skipped: ${r.skipped} | | | | | | | | |`);
      continue;
    }
    const s = r.summary;
    const acc = r.rounds.filter((x) => x.accepted);
    const errs = acc.reduce((a, x) => a + x.errorsTotal, 0);
    const dist = acc.filter((x) => x.disturbed).length;
    lines.push(`| ${r.name} | ${range(s.rps, (x) => fmt(x))} | ${ms(s.p50_us.median)} | ${ms(s.p99_us.median)} | ${ms(s.p999_us.median)} | `
      + `${range(s.cpu_us_per_req, (x) => fmt(x, 1))} | ${r.name === 'direct' ? '(= target)' : fmt(s.upstream_cpu_us_per_req?.median, 1)} | `
      + `${fmt(r.peakRssKiB / 1024, 1)} | ${errs} | ${dist} of ${acc.length} |`);
  }
  return lines.join('\n');
}

// ------------------------------------------------------------------- main
// WRK=/path/to/wrk overrides the lookup (a path that does not exist = no wrk).
const wrkBin = process.env.WRK ? (existsSync(process.env.WRK) ? process.env.WRK : null) : which('wrk', ['/usr/local/bin', '/usr/bin']);
const opensslBin = which('openssl', ['/usr/bin']);
const tasksetBin = which('taskset', ['/usr/bin']);
const nginxBin = findNginx();
const nproc = cpus().length;
const pin = !opt['no-pin'] && Boolean(tasksetBin) && nproc >= 2;

function pinText() {
  return pin
    ? `targets on CPU ${opt['target-cpus']}, upstream on CPU ${opt['upstream-cpus']}, wrk on CPU ${opt['load-cpus']}`
    : 'off';
}

function machineLine(report) {
  const m = report.machine;
  const p = report.pinning;
  const pinT = p.enabled ? `targets on ${p.targets}, upstream on ${p.upstream}, wrk on ${p.loadGenerator}` : `no pinning (${p.reason})`;
  const q = report.params;
  return `machine: ${m.nproc} CPUs, ${m.cpuModel}, Linux ${m.kernel}, node ${m.node}, ${m.wrk}, ${m.nginx ?? 'no nginx'}; `
    + `pinning: ${pinT}; wrk -t${q.wrkThreads} -c${q.connections} -d${q.durationS}s, ${q.rounds} interleaved rounds, ${q.warmupS}s warm-up`;
}

function printSavedTable(file) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const rows = report.targets.map((t) => (t.skipped ? t : { ...t, urlResolved: t.url }));
  process.stdout.write(`${markdownTable(rows)}\n\n${machineLine(report)}\n`);
}

async function main() {
  if (opt.table) {
    printSavedTable(opt.table);
    return;
  }
  if (!wrkBin) {
    process.stdout.write('bench: wrk not found on PATH; install it (Debian/Ubuntu: apt-get install -y wrk) and re-run. Skipping.\n');
    return;
  }
  if (!opensslBin) {
    process.stdout.write('bench: openssl not found on PATH (needed for the throwaway certificates). Skipping.\n');
    return;
  }
  if (process.platform !== 'linux') {
    process.stdout.write('bench: needs Linux (/proc for CPU and RSS). Skipping.\n');
    return;
  }

  // Resolve --only into an ordered, de-duplicated list of targets.
  const names = [];
  for (const item of opt.only.split(',').map((s) => s.trim()).filter(Boolean)) {
    const group = SCENARIOS[item] ?? (TARGETS[item] ? [item] : null);
    if (!group) fatal(`unknown scenario or target "${item}" (scenarios: ${Object.keys(SCENARIOS).join(', ')}; targets: ${Object.keys(TARGETS).join(', ')})`);
    for (const n of group) if (!names.includes(n)) names.push(n);
  }
  const scenario = opt.only.replace(/[^\w.-]+/g, '+') + (opt.tag ? `-${opt.tag.replace(/[^\w.-]+/g, '-')}` : '');

  const machine = machineInfo();
  const pinning = pin
    ? { enabled: true, targets: `CPU ${opt['target-cpus']}`, upstream: `CPU ${opt['upstream-cpus']}`, loadGenerator: `CPU ${opt['load-cpus']}`, tool: 'taskset -c' }
    : { enabled: false, reason: opt['no-pin'] ? '--no-pin' : (!tasksetBin ? 'taskset not found' : 'fewer than 2 CPUs') };
  process.stderr.write(`bench: ${names.join(', ')} | ${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, ${THREADS} wrk thread(s)`
    + ` | pinning: ${pinText()}\n`);

  const certs = createCerts({ openssl: opensslBin });
  tempDirs.push(certs.dir);
  const scriptDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-lua-'));
  tempDirs.push(scriptDir);

  // Upstream first: every forwarder needs its port.
  const up = await startChild('upstream', {
    cmd: process.execPath,
    args: [join(benchDir, 'targets/upstream.mjs')],
    env: { PORT: '0', BENCH_CERT: certs.cert, BENCH_KEY: certs.key },
  }, { ready: 'stdout', cpus: opt['upstream-cpus'] });
  const upstreamPort = up.port;
  const upstreamUrl = `https://127.0.0.1:${upstreamPort}`;
  const upstreamCheck = await probe(upstreamUrl + '/', { ca: certs.ca });
  if (upstreamCheck.status !== 200) fatal(`upstream answered ${upstreamCheck.status}`);
  const expectedBody = upstreamCheck.body;

  /** @type {any[]} */
  const active = [];
  const results = [];
  for (const name of names) {
    const t = TARGETS[name];
    const ctx = { root, benchDir, certs, upstreamPort, upstreamUrl, nginxBin, node: process.execPath, port: await freePort() };
    const why = t.skip?.(ctx);
    if (why) {
      process.stderr.write(`bench: skipping ${name}: ${why}\n`);
      results.push({ name, description: t.description, skipped: why });
      continue;
    }
    const cmd = t.command(ctx);
    let pid = up.child.pid;
    if (cmd) {
      if (cmd.tmp) tempDirs.push(cmd.tmp);
      const started = await startChild(name, cmd, { ready: t.ready });
      if (started.port) ctx.port = started.port;
      pid = started.child.pid;
    }
    const url = t.url(ctx);
    let check;
    try {
      check = await probe(url, { headers: t.headers, ca: certs.ca });
    } catch (e) {
      fatal(`${name}: ${e.message}`);
    }
    if (check.status !== (t.expectStatus ?? 200)) fatal(`${name}: pre-flight GET ${url} answered ${check.status}: ${check.body.slice(0, 200)}`);
    if ((t.expectStatus ?? 200) === 200 && check.body !== expectedBody) fatal(`${name}: pre-flight body differs from the upstream's`);
    const entry = { ...t, pid, urlResolved: url, rounds: [], script: null };
    entry.script = wrkScript(entry, scriptDir);
    active.push(entry);
    results.push(entry);
  }

  // Warm-up: JIT, connection pools, TLS sessions.
  if (WARMUP > 0) {
    for (const t of active) {
      process.stderr.write(`warm-up ${t.name} ${WARMUP}s\n`);
      await runWrk(t, WARMUP);
    }
  }

  // Interleaved rounds: A B C D A B C D ...
  const ourPids = () => [up.child.pid, ...active.map((t) => t.pid)].filter((p, i, a) => a.indexOf(p) === i);
  const startedAt = new Date();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const t of active) {
      // A run disturbed by other jobs on the machine is repeated (bounded).
      for (let attempt = 0; attempt <= RETRIES; attempt++) {
        const gate = await waitForQuiet(ourPids);
        const row = await measure(t, up, round);
        row.attempt = attempt;
        row.quietGate = gate;
        row.disturbed = row.foreignCpuPct > DISTURBED_PCT;
        t.rounds.push(row);
        const u = Object.entries(row.cpuUtilisation).map(([k, v]) => `${k} ${v.busyPct}%${v.stealPct ? ` st ${v.stealPct}%` : ''}`).join(', ');
        process.stderr.write(`round ${round} ${t.name.padEnd(14)} ${fmt(row.rps).padStart(7)} req/s  p50 ${ms(row.latency_us.p50)} ms  p99 ${ms(row.latency_us.p99)} ms`
          + `  cpu ${fmt(row.cpu_us_per_req, 1)} µs/req  errors ${row.errorsTotal}  [${u}, foreign ${row.foreignCpuPct}%]`
          + `${row.disturbed ? (attempt < RETRIES ? ' DISTURBED, retrying' : ' DISTURBED, kept') : ''}\n`);
        if (!row.disturbed || overBudget()) break;
      }
    }
  }

  for (const t of active) {
    t.peakRssKiB = treePeakRssKiB(t.pid);
    // Per round: the undisturbed run, else its last attempt.
    const accepted = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const rows = t.rounds.filter((x) => x.round === round);
      accepted.push(rows.find((x) => !x.disturbed) ?? rows[rows.length - 1]);
    }
    for (const x of accepted) x.accepted = true;
    const col = (f) => stats(accepted.map(f));
    t.summary = {
      rps: col((x) => x.rps),
      p50_us: col((x) => x.latency_us.p50),
      p90_us: col((x) => x.latency_us.p90),
      p99_us: col((x) => x.latency_us.p99),
      p999_us: col((x) => x.latency_us.p999),
      cpu_us_per_req: col((x) => x.cpu_us_per_req),
      upstream_cpu_us_per_req: col((x) => x.upstream_cpu_us_per_req),
    };
  }
  await stopAll();

  const date = startedAt.toISOString().slice(0, 10);
  const report = {
    scenario,
    date: startedAt.toISOString(),
    machine,
    pinning,
    params: {
      rounds: ROUNDS, durationS: DURATION, warmupS: WARMUP, connections: CONNECTIONS, wrkThreads: THREADS, clkTck: CLK_TCK,
      quietPct: QUIET_PCT, quietWaitS: QUIET_WAIT_S, disturbedPct: DISTURBED_PCT, retries: RETRIES, budgetMin: BUDGET_MS / 60_000,
    },
    notes: [
      'cpu_us_per_req: utime+stime of the target process tree during the wrk run / requests completed',
      'peakRssKiB: VmHWM summed over the target process tree (nginx: master + worker) at the end of the run',
      'direct: the target process is the upstream itself',
      'upstream_cpu_us_per_req: CPU of the upstream process per request; req/s of a forwarder is bounded by whichever pinned CPU saturates first (see cpuUtilisation)',
      'foreignCpuPct: process CPU time on the machine not spent by the target, upstream, wrk or the runner, in % of one CPU; high values mark runs disturbed by other jobs',
      'each run waits (at most quietWaitS) until foreign CPU is under quietPct; a run whose foreignCpuPct exceeds disturbedPct is repeated up to retries times; after budgetMin minutes neither happens any more; summaries use the accepted run of each round (accepted: true)',
    ],
    upstream: { url: upstreamUrl, body_bytes: Buffer.byteLength(expectedBody) },
    targets: results.map((r) => (r.skipped
      ? { name: r.name, description: r.description, skipped: r.skipped }
      : { name: r.name, description: r.description, url: r.urlResolved, summary: r.summary, peakRssKiB: r.peakRssKiB, rounds: r.rounds })),
  };
  mkdirSync(opt.out, { recursive: true });
  const file = join(opt.out, `${date}-${scenario}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');

  const table = markdownTable(results);
  process.stdout.write(`\n${table}\n\n`);
  process.stdout.write(`${machineLine(report)}\n`);
  process.stdout.write(`results: ${relative(process.cwd(), file) || file}\n`);
}

main().then(
  () => { cleanupSync(); },
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    cleanupSync();
    process.exitCode = 1;
  },
);
