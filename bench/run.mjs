#!/usr/bin/env node
// Portcullis benchmark runner (bench/README.md).
//
//   node bench/run.mjs [--only all|portcullis|post|openloop|engines|quick|NAME[,NAME...]]
//                      [--duration 8] [--rounds 3] [--warmup 2] [--connections 50] [--threads 1]
//                      [--post-connections 16] [--body-bytes 1048576]
//                      [--rate 2000] [--ol-connections 32]
//                      [--ws-tokens 100000] [--invalid-tokens 200000]
//                      [--big-bytes 1073741824] [--profile auto|always|never|TARGET[,TARGET…]] [--profile-duration 8]
//                      [--keep-profile DIR] [--keep] [--no-extras] [--snapshot] [--dist dist]
//                      [--gateway-node-flags=--max-semi-space-size=8] [--ol-warmup 1]
//                      [--no-pin] [--target-cpus 0] [--upstream-cpus 0] [--load-cpus 1]
//                      [--quiet-pct 15] [--quiet-wait 120] [--disturbed-pct 30] [--retries 2]
//                      [--budget-min 12] [--out bench/results] [--tag NAME]
//   node bench/run.mjs --table bench/results/summaries/FILE.json   (reprint a saved run, summary or raw)
//
// Starts an HTTPS upstream and every process the selected targets need (forwarders, nginx,
// Portcullis gateways with their own config, store and credentials), each in its own child
// process, warms each target up, then loads the targets interleaved (A B C … A B C …) for
// --rounds rounds: wrk (closed loop) or bench/lib/open-loop.mjs (fixed rate). Per run: req/s,
// latency percentiles, errors, CPU time per request of the target process (/proc), the
// gateway's store reads (/metrics). Then the extras: memory per cached credential, 1 GiB upload
// and download, and a --cpu-prof profile of scenario 2 when a target is missed. Writes
// bench/results/raw/<date>.json (--only all) or <date>-<scenario>.json (not tracked), its summary
// in bench/results/summaries/ (tracked, summarise.mjs) and prints markdown tables.
// Every wait and loop is bounded; children are killed on exit, error and signals.
import { spawn, spawnSync } from 'node:child_process';
import {
  writeFileSync,
  mkdirSync,
  readFileSync,
  existsSync,
  rmSync,
  mkdtempSync,
  openSync,
  closeSync,
  truncateSync,
  readdirSync,
  copyFileSync,
  statSync,
} from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { createCerts } from './lib/certs.mjs';
import {
  treeCpuSeconds,
  treeCpuSplitSeconds,
  treeSyscalls,
  treePageFaults,
  vmstatPageIns,
  treePeakRssKiB,
  treeRssKiB,
  processTree,
  cpuSnapshot,
  cpuUtilisation,
  taskSecondsBetween,
  reapedChildrenCpuSeconds,
  CLK_TCK,
} from './lib/procstat.mjs';
import { request, probe, requestEach, scrapeMetrics } from './lib/http-client.mjs';
import { freePort } from './lib/ports.mjs';
import {
  resolveDist,
  writeGatewayConfig,
  createCredentials,
  invalidTokens,
  fetchAccessToken,
  writeLines,
  memoryAfterGc,
} from './lib/portcullis.mjs';
import { evaluateChecks, fmt } from './lib/report.mjs';
import { summarise } from './lib/cpuprofile-summary.mjs';
import { renderReport, renderSaved } from './lib/summary.mjs';
import { writeSummary } from './summarise.mjs';
import { PROCESSES, TARGETS, SCENARIOS, IMAGE_NODE } from './targets/index.mjs';
import { prepareRuntime } from './lib/runtime.mjs';
import { findNginx, nginxVersion } from './targets/nginx.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(benchDir, '..');

// ---------------------------------------------------------------- options
const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'all' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '50' },
    'post-connections': { type: 'string', default: '16' },
    'body-bytes': { type: 'string', default: String(1024 * 1024) },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    rate: { type: 'string', default: '2000' },
    'ol-connections': { type: 'string', default: '32' },
    'ws-tokens': { type: 'string', default: '100000' },
    'invalid-tokens': { type: 'string', default: '200000' },
    'big-bytes': { type: 'string', default: String(2 ** 30) },
    profile: { type: 'string', default: 'auto' },
    'profile-duration': { type: 'string', default: '8' },
    'keep-profile': { type: 'string' },
    keep: { type: 'boolean', default: false },
    'no-extras': { type: 'boolean', default: false },
    'gateway-node-flags': { type: 'string', default: '' },
    'ol-warmup': { type: 'string', default: '1' },
    snapshot: { type: 'boolean', default: false },
    dist: { type: 'string', default: 'dist' },
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
    'budget-min': { type: 'string', default: '12' },
    table: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  process.stdout.write(
    text
      .slice(
        1,
        text.findIndex((l) => l.startsWith('import ')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n') + '\n',
  );
  process.exit(0);
}
const intOpt = (name, min, max) => {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < min || n > max) fatal(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
};
const DURATION = intOpt('duration', 1, 600);
const CONNECTIONS = intOpt('connections', 1, 10000);
const POST_CONNECTIONS = intOpt('post-connections', 1, 1000);
const BODY_BYTES = intOpt('body-bytes', 1, 64 * 2 ** 20);
const THREADS = intOpt('threads', 1, 64);
const ROUNDS = intOpt('rounds', 1, 50);
const WARMUP = intOpt('warmup', 0, 120);
const RATE = intOpt('rate', 1, 200_000);
const OL_CONNECTIONS = intOpt('ol-connections', 1, 4096);
const WS_TOKENS = intOpt('ws-tokens', 1, 1_000_000);
const INVALID_TOKENS = intOpt('invalid-tokens', 1, 2_000_000);
const BIG_BYTES = intOpt('big-bytes', 1, 2 ** 36);
const PROFILE_S = intOpt('profile-duration', 1, 120);
const QUIET_PCT = intOpt('quiet-pct', 0, 400);
const QUIET_WAIT_S = intOpt('quiet-wait', 0, 1800);
const DISTURBED_PCT = intOpt('disturbed-pct', 0, 400);
const RETRIES = intOpt('retries', 0, 5);
/**
 * Seconds of unmeasured load right before each open-loop run: in the interleaved suite a target
 * sits idle for minutes, its upstream connections expire, and the first half second of a run
 * would measure TLS handshakes on the shared core instead of the steady state at that rate.
 */
const OL_WARMUP = intOpt('ol-warmup', 0, 30);
/** Extra `node` flags for every gateway process (V8 tuning experiments); recorded in the JSON. */
const GATEWAY_NODE_FLAGS = opt['gateway-node-flags'].split(/\s+/).filter(Boolean);
// auto: profile when a target is missed; always: scenario 2 in any case; never; or a
// comma-separated list of Portcullis target names to profile in any case.
const PROFILE_LIST = ['auto', 'always', 'never'].includes(opt.profile)
  ? []
  : opt.profile
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
const PROFILABLE = (n) =>
  TARGETS[n] &&
  (TARGETS[n].process.startsWith('gw-') || ['undici', 'http-proxy', 'undici-stream', 'undici-request'].includes(TARGETS[n].process));
if (PROFILE_LIST.some((n) => !PROFILABLE(n)))
  fatal('--profile must be auto, always, never or a list of targets served by a gateway or a Node forwarder (pc-…, undici, http-proxy)');
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
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
}

async function stopChild(c, graceMs = 3000) {
  killTree(c, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (c.exitCode === null && c.signalCode === null && Date.now() < deadline) await sleep(50);
  if (c.exitCode === null && c.signalCode === null) killTree(c, 'SIGKILL');
  children.delete(c);
}

async function stopAll() {
  await Promise.all([...children].map((c) => stopChild(c)));
}

function cleanupSync() {
  for (const c of children) killTree(c, 'SIGKILL');
  if (opt.keep) {
    // With --gateway-node-flags=--trace-gc…, a gateway's access.log also holds V8's trace of its
    // last run (each file is truncated before a run).
    if (tempDirs.length > 0) process.stderr.write(`bench: kept ${tempDirs.join(', ')} (configs, stores, access logs)\n`);
    tempDirs.length = 0;
    return;
  }
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
const log = (s) => process.stderr.write(s);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------- utilities
function which(bin, extra = []) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(extra)) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

/** stdout, else stderr, of a short command; some tools (wrk -v) exit non-zero or print on stderr. */
function tryExec(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return r.stdout?.trim() || r.stderr?.trim() || '';
}

function pkgVersion(name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = cpuinfo.match(/^model name\s*:\s*(.*)$/m)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  const mhz = cpuinfo.match(/^cpu MHz\s*:\s*(.*)$/m)?.[1];
  return {
    nproc: Number(tryExec('nproc', [])) || cpus().length,
    cpuModel: model.trim(),
    cpuMHz: mhz ? Number(mhz) : null,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: tryExec('uname', ['-r']),
    node: process.version,
    wrk: wrkBin
      ? tryExec(wrkBin, ['-v'])
          .split('\n')[0]
          .replace(/\s+\[.*$/, '')
          .trim()
      : null,
    nginx: nginxBin ? nginxVersion(nginxBin) : null,
    undici: pkgVersion('undici'),
    'http-proxy-3': pkgVersion('http-proxy-3'),
    'better-sqlite3': pkgVersion('better-sqlite3'),
    openssl: tryExec(opensslBin, ['version']),
  };
}

function gitInfo() {
  const head = tryExec('git', ['rev-parse', '--short', 'HEAD'], root);
  const dirty = tryExec('git', ['status', '--porcelain', '--', 'src'], root).split('\n').filter(Boolean).length;
  return { commit: /^[0-9a-f]+$/.test(head) ? head : null, srcFilesChanged: dirty };
}

/** Wrap argv in `taskset -c CPUS` when pinning is on. */
function pinned(cpusList, cmd, args) {
  return pin ? { cmd: tasksetBin, args: ['-c', cpusList, cmd, ...args] } : { cmd, args };
}

/**
 * Start a child. ready 'stdout': resolve with its port once it prints "ready <port>";
 * otherwise resolve once spawned (the caller probes). stdoutFile: stdout appended to that file.
 */
function startChild(name, { cmd, args, env, stdoutFile }, { ready, cpus, timeoutMs = 15_000 }) {
  const p = pinned(cpus ?? opt['target-cpus'], cmd, args);
  const fd = stdoutFile ? openSync(stdoutFile, 'a') : null;
  const child = spawn(p.cmd, p.args, {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', fd ?? 'pipe', 'pipe'],
  });
  if (fd !== null) closeSync(fd);
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${name}: not ready after ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`${name}: exited early (code ${code}, signal ${sig})\n${stderr}`));
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      rej(e);
    });
    if (ready !== 'stdout') {
      child.once('spawn', () => {
        clearTimeout(timer);
        res({ child, port: null, stderr: () => stderr });
      });
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

// -------------------------------------------------------------------- load
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

/** Runs the target's load generator for `seconds`; resolves with the parsed BENCH_RESULT. */
function runLoad(target, seconds) {
  let cmd;
  let args;
  if (target.driver === 'openloop') {
    cmd = process.execPath;
    args = [
      join(benchDir, 'lib/open-loop.mjs'),
      '--url',
      target.urlResolved,
      '--rate',
      String(RATE),
      '--duration',
      String(seconds),
      '--connections',
      String(OL_CONNECTIONS),
      '--ca',
      caPath,
    ];
    for (const [k, v] of Object.entries(target.headersResolved)) args.push('--header', `${k}: ${v}`);
  } else {
    const c = target.post ? POST_CONNECTIONS : CONNECTIONS;
    cmd = wrkBin;
    args = [`-t${THREADS}`, `-c${Math.max(c, THREADS)}`, `-d${seconds}s`, '--latency', '--timeout', '5s', '-s', target.script];
    for (const [k, v] of Object.entries(target.headersResolved)) args.push('-H', `${k}: ${v}`);
    args.push(target.urlResolved);
  }
  const p = pinned(opt['load-cpus'], cmd, args);
  return new Promise((res, rej) => {
    // Round-robin scripts resume where the previous run of this target stopped.
    const env = { ...process.env, ...target.envResolved, BENCH_START: String(target.cursor ?? 0) };
    const child = spawn(p.cmd, p.args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      const m = out.match(/^BENCH_RESULT (\{.*\})$/m);
      if (code !== 0 || !m) return rej(new Error(`${target.driver ?? 'wrk'} failed (code ${code}) on ${target.name}:\n${out}\n${err}`));
      const r = JSON.parse(m[1]);
      target.cursor = (target.cursor ?? 0) + r.requests;
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
    if (foreignPct <= QUIET_PCT || QUIET_WAIT_S === 0 || overBudget())
      return { waitedS: (Date.now() - t0) / 1000, foreignPct, timedOut: false };
    if (i === 0) log(`waiting for a quiet machine (other jobs use ${foreignPct}% of a CPU; max ${QUIET_WAIT_S}s)\n`);
  }
  return { waitedS: (Date.now() - t0) / 1000, foreignPct, timedOut: true };
}

const METRIC_KEYS = {
  storeReads: 'portcullis_store_reads_total',
  cacheHit: 'portcullis_credential_cache_lookups_total{result="hit"}',
  cacheMiss: 'portcullis_credential_cache_lookups_total{result="miss"}',
  cacheNegativeHit: 'portcullis_credential_cache_lookups_total{result="negative_hit"}',
};

async function gatewayCounters(proc) {
  // The 10,000-route gateway's registry holds series for every route: scraping it around every
  // run would cost it time and memory that no other target pays, and it has no store reads.
  if (!proc.metricsUrl || proc.gateway === 'routes') return null;
  try {
    const m = await scrapeMetrics(proc.metricsUrl);
    const out = {};
    for (const [k, name] of Object.entries(METRIC_KEYS)) out[k] = m.get(name) ?? null;
    // GC time by kind (counters) and the event-loop delay recorded since the previous scrape
    // (prom-client resets its monitorEventLoopDelay histogram on every collect).
    for (const kind of ['major', 'minor', 'incremental']) {
      out[`gc_${kind}_s`] = m.get(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? null;
      out[`gc_${kind}_n`] = m.get(`nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? null;
    }
    out.loopDelayMaxMs = (m.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000;
    out.loopDelayP99Ms = (m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000;
    out.heapUsedMiB = (m.get('nodejs_heap_size_used_bytes') ?? NaN) / 2 ** 20;
    out.positiveEntries = m.get('portcullis_credential_cache_entries{cache="positive"}') ?? null;
    out.negativeEntries = m.get('portcullis_credential_cache_entries{cache="negative"}') ?? null;
    return out;
  } catch {
    return null;
  }
}

let upstreamStatsUrl = null;
/** The upstream's count of accepted TLS connections (GET /__stats, one new connection itself). */
async function upstreamTlsConnections() {
  if (!upstreamStatsUrl) return null;
  try {
    return JSON.parse((await request(upstreamStatsUrl, { ca: readFileSync(caPath) })).body).tlsConnections;
  } catch {
    return null;
  }
}

/** One load run against t with the CPU bookkeeping around it. */
async function measure(t, up, round) {
  const proc = t.proc;
  if (proc.accessLog) {
    try {
      truncateSync(proc.accessLog, 0);
    } catch {
      /* not there yet */
    }
  }
  await sleep(300); // let sockets from the previous run settle
  if (t.driver === 'openloop' && OL_WARMUP > 0) await runLoad(t, OL_WARMUP);
  const tls0 = await upstreamTlsConnections();
  const g0 = await gatewayCounters(proc);
  const cpu0 = treeCpuSeconds(t.pid);
  const split0 = treeCpuSplitSeconds(t.pid);
  const io0 = treeSyscalls(t.pid);
  const faults0 = treePageFaults(t.pid);
  const vm0 = vmstatPageIns();
  const up0 = treeCpuSeconds(up.child.pid);
  const sys0 = cpuSnapshot();
  const load0 = reapedChildrenCpuSeconds();
  const self0 = process.cpuUsage();
  const la0 = loadavg()[0];
  const r = await runLoad(t, DURATION);
  const cpu1 = treeCpuSeconds(t.pid);
  const split1 = treeCpuSplitSeconds(t.pid);
  const io1 = treeSyscalls(t.pid);
  const faults1 = treePageFaults(t.pid);
  const vm1 = vmstatPageIns();
  const up1 = treeCpuSeconds(up.child.pid);
  const sys1 = cpuSnapshot();
  const loadCpu = reapedChildrenCpuSeconds() - load0;
  const selfCpu = (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(self0));
  const rssKiB = treeRssKiB(t.pid);
  const g1 = await gatewayCounters(proc);
  const tls1 = await upstreamTlsConnections();
  const isUpstream = t.pid === up.child.pid;
  // Process time on the machine that is none of ours (other jobs, e.g. a concurrent build):
  // a high value marks a disturbed run.
  const foreign = taskSecondsBetween(sys0, sys1) - (cpu1 - cpu0) - (isUpstream ? 0 : up1 - up0) - loadCpu - selfCpu;
  const durationS = r.duration_us / 1e6;
  const errorsTotal = r.errors.connect + r.errors.read + r.errors.write + r.errors.status + r.errors.timeout;
  const expectError = (t.expectStatus ?? 200) >= 400;
  let gateway = null;
  if (g0 && g1) {
    gateway = {};
    for (const k of Object.keys(METRIC_KEYS)) gateway[k] = g1[k] != null && g0[k] != null ? g1[k] - g0[k] : null;
    gateway.storeReadsPerS = gateway.storeReads != null ? gateway.storeReads / durationS : null;
    gateway.storeReadsPerRequest = gateway.storeReads != null && r.requests ? gateway.storeReads / r.requests : null;
    for (const kind of ['major', 'minor', 'incremental']) {
      gateway[`gc_${kind}_ms`] =
        g1[`gc_${kind}_s`] != null && g0[`gc_${kind}_s`] != null ? (g1[`gc_${kind}_s`] - g0[`gc_${kind}_s`]) * 1000 : null;
      gateway[`gc_${kind}_count`] =
        g1[`gc_${kind}_n`] != null && g0[`gc_${kind}_n`] != null ? g1[`gc_${kind}_n`] - g0[`gc_${kind}_n`] : null;
    }
    gateway.loopDelayMaxMs = Number.isFinite(g1.loopDelayMaxMs) ? g1.loopDelayMaxMs : null;
    gateway.loopDelayP99Ms = Number.isFinite(g1.loopDelayP99Ms) ? g1.loopDelayP99Ms : null;
    gateway.heapUsedMiBAfter = Number.isFinite(g1.heapUsedMiB) ? g1.heapUsedMiB : null;
    gateway.positiveEntries = g1.positiveEntries;
    gateway.negativeEntries = g1.negativeEntries;
  }
  return {
    round,
    rps: r.rps,
    requests: r.requests,
    durationS,
    latency_us: r.latency_us,
    errors: r.errors,
    non2xx: r.non2xx,
    errorsTotal,
    // 401s are the point of an invalid-token flood; anything else still counts.
    unexpectedErrors: expectError ? errorsTotal - r.errors.status : errorsTotal,
    openLoop: r.openLoop,
    cpuS: cpu1 - cpu0,
    cpu_us_per_req: r.requests ? ((cpu1 - cpu0) * 1e6) / r.requests : null,
    // Where the target's CPU goes (user: JavaScript, TLS, parsing; system: the kernel, i.e.
    // system calls and the loopback network stack they run) and how many read/write calls it makes.
    user_us_per_req: r.requests ? ((split1.user - split0.user) * 1e6) / r.requests : null,
    system_us_per_req: r.requests ? ((split1.system - split0.system) * 1e6) / r.requests : null,
    read_calls_per_req: r.requests ? (io1.reads - io0.reads) / r.requests : null,
    write_calls_per_req: r.requests ? (io1.writes - io0.writes) / r.requests : null,
    upstream_cpu_us_per_req: isUpstream || !r.requests ? null : ((up1 - up0) * 1e6) / r.requests,
    // Pages the target had to read back during the run (each a stall of a disk read), and the
    // same machine-wide: a memory reclaimer (e.g. DAMON's pageout) evicts the pages of a target
    // that sat idle between its runs.
    targetMajorFaults: faults1.major - faults0.major,
    machineMajorFaults: vm1.majorFaults - vm0.majorFaults,
    machineFileRefaults: vm1.fileRefaults - vm0.fileRefaults,
    loadGeneratorCpuS: loadCpu,
    rssKiBAfter: rssKiB,
    // TLS connections the upstream accepted during the run (+2 for the runner's own checks):
    // a forwarder's new upstream connections (handshakes cost CPU on the shared core).
    upstreamNewTlsConnections: tls0 != null && tls1 != null ? tls1 - tls0 - 1 : null,
    gateway,
    foreignCpuPct: Math.round((foreign / durationS) * 1000) / 10,
    cpuUtilisation: cpuUtilisation(sys0, sys1),
    loadavg1: [la0, loadavg()[0]],
  };
}

function stats(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1] };
}

// ------------------------------------------------------------------- main
// WRK=/path/to/wrk overrides the lookup (a path that does not exist = no wrk).
const wrkBin = process.env.WRK ? (existsSync(process.env.WRK) ? process.env.WRK : null) : which('wrk', ['/usr/local/bin', '/usr/bin']);
const opensslBin = which('openssl', ['/usr/bin']);
const tasksetBin = which('taskset', ['/usr/bin']);
const nginxBin = findNginx();
const nproc = cpus().length;
const pin = !opt['no-pin'] && Boolean(tasksetBin) && nproc >= 2;
let caPath = '';

function printSavedTable(file) {
  // A raw report or its summary: the same tables, the checks evaluated again from the saved rounds.
  process.stdout.write(`${renderSaved(JSON.parse(readFileSync(file, 'utf8')))}\n`);
}

/** Everything started for this run, by process key. */
const procs = {};

async function startProcess(key, ctx) {
  const def = PROCESSES[key];
  const port = await freePort();
  const pctx = { ...ctx, port };
  const why = def.skip?.(pctx);
  if (why) return { key, skipped: why };
  if (def.gateway) return startGateway(key, def.gateway, pctx, { storeKind: def.store ?? def.gateway });
  const cmd = def.command(pctx);
  if (cmd.tmp) tempDirs.push(cmd.tmp);
  const started = await startChild(key, cmd, { ready: def.ready });
  const p = {
    key,
    description: def.description,
    child: started.child,
    pid: started.child.pid,
    port: started.port ?? port,
    baseUrl: `http://127.0.0.1:${started.port ?? port}`,
  };
  if (def.ready === 'probe') {
    try {
      await probe(`${p.baseUrl}/`, {}, 100);
    } catch (e) {
      const errLog = cmd.tmp && existsSync(join(cmd.tmp, 'error.log')) ? readFileSync(join(cmd.tmp, 'error.log'), 'utf8').slice(-2000) : '';
      throw new Error(`${key}: ${e.message}\n${started.stderr()}${errLog}`, { cause: e });
    }
  }
  return p;
}

/** Starts a gateway of `kind` with a fresh config (and its kind's store); waits for /readyz. */
async function startGateway(key, kind, ctx, { nodeFlags = [], storeKind = kind }) {
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const dir = join(ctx.workDir, key);
  const def = PROCESSES[key] ?? {};
  const file = writeGatewayConfig(dir, kind, {
    ports,
    upstreamUrl: ctx.upstreamUrl,
    caPath: ctx.certs.caCert,
    storeUrl: `sqlite:${join(ctx.workDir, `store-${storeKind}.db`)}`,
    workers: def.workers,
  });
  const accessLog = join(dir, 'access.log');
  // runtime 'image': the Docker image's Node.js, from its own directory (bench/lib/runtime.mjs).
  const rt = def.runtime === 'image' ? ctx.imageRuntime : { node: ctx.node, dist: ctx.dist };
  const started = await startChild(
    key,
    {
      cmd: rt.node,
      args: [...GATEWAY_NODE_FLAGS, ...(def.nodeFlags ?? []), ...nodeFlags, join(rt.dist, 'src/cli/main.js'), 'start', '--config', file],
      stdoutFile: accessLog,
    },
    { ready: 'probe', timeoutMs: 120_000 },
  );
  const p = {
    key,
    gateway: kind,
    description: PROCESSES[key]?.description ?? `Portcullis (${kind})`,
    child: started.child,
    pid: started.child.pid,
    port: ports.listen,
    ports,
    baseUrl: `http://127.0.0.1:${ports.listen}`,
    metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`,
    config: file,
    accessLog,
  };
  // Bounded: 600 × ≤ 2 s; a 10,000-route configuration takes a few seconds to validate.
  let ready = null;
  for (let i = 0; i < 600 && !ready; i++) {
    if (started.child.exitCode !== null) throw new Error(`${key} exited: ${started.stderr()}`);
    try {
      const r = await request(`http://127.0.0.1:${ports.metrics}/readyz`, { timeoutMs: 2000 });
      if (r.status === 200) ready = r;
    } catch {
      /* not listening yet */
    }
    if (!ready) await sleep(100);
  }
  if (!ready) throw new Error(`${key}: /readyz never answered 200\n${started.stderr()}`);
  p.readyPeakRssKiB = treePeakRssKiB(p.pid);
  p.readyRssKiB = treeRssKiB(p.pid);
  return p;
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
  for (const item of opt.only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const group = SCENARIOS[item] ?? (TARGETS[item] ? [item] : null);
    if (!group)
      fatal(
        `unknown scenario or target "${item}" (scenarios: ${Object.keys(SCENARIOS).join(', ')}; targets: ${Object.keys(TARGETS).join(', ')})`,
      );
    for (const n of group) if (!names.includes(n)) names.push(n);
  }
  const scenario = opt.only.replace(/[^\w.-]+/g, '+') + (opt.tag ? `-${opt.tag.replace(/[^\w.-]+/g, '-')}` : '');
  const needed = new Set(names.map((n) => TARGETS[n].process).filter((p) => p !== 'upstream'));
  const needsGateway = [...needed].some((k) => PROCESSES[k].gateway);
  const needsMainCreds = needsGateway || needed.has('nginx-map');

  const machine = machineInfo();
  const pinning = pin
    ? {
        enabled: true,
        targets: `CPU ${opt['target-cpus']}`,
        upstream: `CPU ${opt['upstream-cpus']}`,
        loadGenerator: `CPU ${opt['load-cpus']}`,
        tool: 'taskset -c',
      }
    : { enabled: false, reason: opt['no-pin'] ? '--no-pin' : !tasksetBin ? 'taskset not found' : 'fewer than 2 CPUs' };
  log(
    `bench: ${names.join(', ')}\n       ${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections (POST ${POST_CONNECTIONS}), open loop ${RATE} req/s` +
      ` | pinning: ${pin ? `targets CPU ${opt['target-cpus']}, upstream CPU ${opt['upstream-cpus']}, load CPU ${opt['load-cpus']}` : 'off'}\n`,
  );

  const workDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-'));
  tempDirs.push(workDir);
  let dist = null;
  let build = null;
  if (needsMainCreds) {
    const d = resolveDist({ root, dist: opt.dist, snapshot: opt.snapshot, log });
    if (d.tmp) tempDirs.push(d.tmp);
    dist = d.dist;
    build = {
      dist: relative(root, dist).startsWith('..') ? `snapshot of the working tree (${d.built})` : relative(root, dist),
      built: d.built,
      ...gitInfo(),
    };
    log(`bench: gateway from ${build.dist}${d.built ? ` (built: ${d.built})` : ''}\n`);
  }

  const certs = createCerts({ openssl: opensslBin });
  tempDirs.push(certs.dir);
  caPath = certs.caCert;
  const scriptDir = join(workDir, 'lua');
  mkdirSync(scriptDir);

  // Upstream first: every forwarder needs its port.
  const up = await startChild(
    'upstream',
    {
      cmd: process.execPath,
      args: [join(benchDir, 'targets/upstream.mjs')],
      env: { PORT: '0', BENCH_CERT: certs.cert, BENCH_KEY: certs.key },
    },
    { ready: 'stdout', cpus: opt['upstream-cpus'] },
  );
  const upstreamUrl = `https://127.0.0.1:${up.port}`;
  const upstreamCheck = await probe(upstreamUrl + '/', { ca: certs.ca });
  if (upstreamCheck.status !== 200) fatal(`upstream answered ${upstreamCheck.status}`);
  const expectedBody = upstreamCheck.body;
  upstreamStatsUrl = `${upstreamUrl}/__stats`;
  procs.upstream = {
    key: 'upstream',
    description: 'HTTPS upstream (node:https, keep-alive, 100 B JSON)',
    child: up.child,
    pid: up.child.pid,
    port: up.port,
    baseUrl: upstreamUrl,
  };

  const ctx = {
    root,
    benchDir,
    dist,
    certs,
    workDir,
    upstreamPort: up.port,
    upstreamUrl,
    nginxBin,
    node: process.execPath,
    bodyBytes: BODY_BYTES,
    creds: { main: {}, ws: {}, inv: {} },
  };
  const setup = {};
  // The image's Node.js for the gateways that run on it: fetched and prepared once (cached).
  if ([...needed].some((k) => PROCESSES[k].runtime === 'image')) {
    const t0 = Date.now();
    ctx.imageRuntime = prepareRuntime({ root, dist, version: IMAGE_NODE, into: join(workDir, `node${IMAGE_NODE}`), log });
    setup.imageRuntime = { version: ctx.imageRuntime.version, preparedMs: Date.now() - t0 };
    machine.imageNode = ctx.imageRuntime.version;
    log(`bench: the image's runtime: Node.js ${ctx.imageRuntime.version} (${Date.now() - t0} ms)\n`);
  }

  // ---- credentials, before the processes that need them start
  if (needsMainCreds) {
    const t0 = Date.now();
    const c = await createCredentials(dist, `sqlite:${join(workDir, 'store-main.db')}`, { tokens: 1, clients: 1, label: 'bench-main' });
    ctx.creds.main.bearer = `Bearer ${c.tokens[0]}`;
    ctx.creds.main.client = c.client;
    ctx.creds.main.basic = `Basic ${Buffer.from(`${c.client.id}:${c.client.secret}`).toString('base64')}`;
    setup.mainCredentialsMs = Date.now() - t0;
  }
  if (needed.has('gw-ws')) {
    log(`bench: creating ${WS_TOKENS} tokens for the working-set scenario\n`);
    const t0 = Date.now();
    const c = await createCredentials(dist, `sqlite:${join(workDir, 'store-ws.db')}`, { tokens: WS_TOKENS, label: 'bench-ws', log });
    ctx.creds.ws.tokens = c.tokens;
    ctx.creds.ws.file = writeLines(workDir, 'ws-tokens.txt', c.tokens);
    ctx.creds.ws.first = c.tokens[0];
    setup.wsTokens = WS_TOKENS;
    setup.wsCredentialsMs = Date.now() - t0;
    log(`bench: ${WS_TOKENS} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  if (needed.has('gw-inv')) {
    const wf = await invalidTokens(dist, INVALID_TOKENS, 'well-formed');
    const gb = await invalidTokens(dist, Math.min(INVALID_TOKENS, 20_000), 'garbage');
    Object.assign(ctx.creds.inv, {
      wellFormedFile: writeLines(workDir, 'invalid-well-formed.txt', wf.tokens),
      wellFormedFirst: wf.tokens[0],
      wellFormedHow: wf.how,
      garbageFile: writeLines(workDir, 'invalid-garbage.txt', gb.tokens),
      garbageFirst: gb.tokens[0],
      garbageHow: gb.how,
    });
    setup.invalidTokens = { wellFormed: wf.tokens.length, wellFormedHow: wf.how, garbage: gb.tokens.length, garbageHow: gb.how };
  }

  // ---- processes
  for (const key of needed) {
    log(`bench: starting ${key}\n`);
    const t0 = Date.now();
    procs[key] = await startProcess(key, ctx);
    if (procs[key].skipped) log(`bench: skipping ${key}: ${procs[key].skipped}\n`);
    else if (procs[key].gateway) procs[key].startupMs = Date.now() - t0;
  }
  if (procs['gw-main'] && !procs['gw-main'].skipped) {
    const at = await fetchAccessToken(procs['gw-main'].baseUrl, ctx.creds.main.client);
    ctx.creds.main.jwt = at.token;
    ctx.creds.main.jwtWhy = at.why;
    setup.tokenEndpoint = at.token ? 'POST /oauth2/token answered an access token' : at.why;
  }

  // ---- targets: resolve, pre-flight
  const results = [];
  const active = [];
  for (const name of names) {
    const t = TARGETS[name];
    const proc = procs[t.process];
    const base = { name, scenario: t.scenario, description: t.description, process: t.process, driver: t.driver ?? 'wrk' };
    const why = proc.skipped ? proc.skipped : t.skip?.(ctx);
    if (why) {
      results.push({ ...base, skipped: why });
      log(`bench: skipping ${name}: ${why}\n`);
      continue;
    }
    const entry = {
      ...t,
      ...base,
      proc,
      pid: proc.pid,
      urlResolved: `${proc.baseUrl}${t.path}`,
      headersResolved: t.headers?.(ctx) ?? {},
      envResolved: t.env?.(ctx) ?? {},
      rounds: [],
      script: null,
    };
    const pf = t.probe?.(ctx) ?? { path: t.path, headers: entry.headersResolved };
    const check = await probe(`${proc.baseUrl}${pf.path}`, { headers: pf.headers, ca: certs.ca });
    const want = t.expectStatus ?? 200;
    if (check.status !== want)
      fatal(`${name}: pre-flight GET ${pf.path} answered ${check.status} (expected ${want}): ${check.body.slice(0, 300)}`);
    if (want === 200 && check.body !== expectedBody) fatal(`${name}: pre-flight body differs from the upstream's`);
    if (entry.driver === 'wrk') entry.script = wrkScript(entry, scriptDir);
    active.push(entry);
    results.push(entry);
  }

  // ---- memory per cached credential (a fresh gateway with the inspector on, before any load)
  const extras = {};
  if (!opt['no-extras'] && procs['gw-ws'] && !procs['gw-ws'].skipped) {
    extras.memoryPerCredential = await measureMemoryPerCredential(ctx).catch((e) => ({ error: e.message }));
  }

  // ---- warm-up: JIT, connection pools, TLS sessions, caches
  if (WARMUP > 0) {
    for (const t of active) {
      log(`warm-up ${t.name} ${WARMUP}s\n`);
      await runLoad(t, WARMUP);
    }
  }

  // ---- interleaved rounds: A B C D A B C D ...
  const ourPids = () => [
    ...new Set(
      Object.values(procs)
        .filter((p) => p.pid)
        .map((p) => p.pid),
    ),
  ];
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
        const u = Object.entries(row.cpuUtilisation)
          .map(([k, v]) => `${k} ${v.busyPct}%${v.stealPct ? ` st ${v.stealPct}%` : ''}`)
          .join(', ');
        const g = row.gateway;
        const nt =
          (row.upstreamNewTlsConnections ? `  new upstream TLS ${row.upstreamNewTlsConnections}` : '') +
          (row.targetMajorFaults ? `  major faults ${row.targetMajorFaults}` : '');
        const sr = g
          ? `  store ${fmt(g.storeReadsPerS)}/s  gc major ${g.gc_major_count ?? '–'}×/${fmt(g.gc_major_ms, 0)} ms  loop max ${fmt(g.loopDelayMaxMs, 1)} ms`
          : '';
        log(
          `round ${round} ${t.name.padEnd(16)} ${fmt(row.rps).padStart(7)} req/s  p50 ${fmt(row.latency_us.p50 / 1000, 2)} p99 ${fmt(row.latency_us.p99 / 1000, 2)} ms` +
            `  cpu ${fmt(row.cpu_us_per_req, 1)} µs/req (usr ${fmt(row.user_us_per_req, 0)} sys ${fmt(row.system_us_per_req, 0)}; r ${fmt(row.read_calls_per_req, 2)} w ${fmt(row.write_calls_per_req, 2)} calls)${sr}${nt}  err ${row.unexpectedErrors}  [${u}, foreign ${row.foreignCpuPct}%]` +
            `${row.disturbed ? (attempt < RETRIES ? ' DISTURBED, retrying' : ' DISTURBED, kept') : ''}\n`,
        );
        if (!row.disturbed || overBudget()) break;
      }
    }
  }

  const processes = {};
  for (const [k, p] of Object.entries(procs)) {
    if (p.skipped) continue;
    processes[k] = {
      description: p.description,
      peakRssKiB: treePeakRssKiB(p.pid),
      gateway: p.gateway ?? null,
      startupMs: p.startupMs ?? null,
      readyPeakRssKiB: p.readyPeakRssKiB ?? null,
      readyRssKiB: p.readyRssKiB ?? null,
    };
  }
  for (const t of active) {
    t.peakRssKiB = processes[t.process].peakRssKiB;
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
      user_us_per_req: col((x) => x.user_us_per_req),
      system_us_per_req: col((x) => x.system_us_per_req),
      read_calls_per_req: col((x) => x.read_calls_per_req),
      write_calls_per_req: col((x) => x.write_calls_per_req),
      store_reads_per_s: t.proc.gateway ? col((x) => x.gateway?.storeReadsPerS) : null,
      store_reads_per_request: t.proc.gateway ? col((x) => x.gateway?.storeReadsPerRequest) : null,
      gc_major_ms: t.proc.gateway ? col((x) => x.gateway?.gc_major_ms) : null,
      gc_all_ms: t.proc.gateway
        ? col((x) => (x.gateway ? (x.gateway.gc_major_ms ?? 0) + (x.gateway.gc_minor_ms ?? 0) + (x.gateway.gc_incremental_ms ?? 0) : null))
        : null,
      loop_delay_max_ms: t.proc.gateway ? col((x) => x.gateway?.loopDelayMaxMs) : null,
      rss_after_run_kib: col((x) => x.rssKiBAfter),
    };
  }
  const checks = evaluateChecks(results, processes);

  // ---- extras after the rounds
  if (!opt['no-extras'] && names.includes('pc-8-post') && procs['gw-main'] && !procs['gw-main'].skipped) {
    extras.transfers = await bigTransfers(ctx).catch((e) => [{ process: 'gw-big', mode: 'both', error: e.message }]);
  }
  // Profiles: scenario 2 when any target is missed (or --profile always), plus every other
  // Portcullis target whose own check is missed (e.g. scenario 7).
  const missed = checks.filter((c) => c.pass === false);
  const toProfile = new Set();
  for (const n of PROFILE_LIST) toProfile.add(n);
  if (opt.profile === 'always' || (opt.profile === 'auto' && missed.length > 0)) {
    toProfile.add('pc-2-bearer');
    for (const c of missed) if (c.kind === 'rps' && c.num?.startsWith('pc-')) toProfile.add(c.num);
  }
  if (toProfile.size > 0) {
    extras.profiles = [];
    for (const name of toProfile) {
      const t = active.find((x) => x.name === name);
      const reason = PROFILE_LIST.includes(name)
        ? '--profile'
        : name === 'pc-2-bearer'
          ? opt.profile === 'always'
            ? '--profile always'
            : `targets missed: ${missed.map((c) => c.id).join('; ')}`
          : `missed: ${missed
              .filter((c) => c.num === name)
              .map((c) => c.id)
              .join('; ')}`;
      if (!t) {
        extras.profiles.push({ target: name, reason, error: `${name} not run` });
        continue;
      }
      const prof = await profileTarget(ctx, t).catch((e) => ({ error: e.message }));
      extras.profiles.push({ target: name, reason, ...prof });
    }
  }
  await stopAll();

  const date = startedAt.toISOString().slice(0, 10);
  const report = {
    scenario,
    date: startedAt.toISOString(),
    machine,
    pinning,
    build,
    params: {
      rounds: ROUNDS,
      durationS: DURATION,
      olWarmupS: OL_WARMUP,
      gatewayNodeFlags: GATEWAY_NODE_FLAGS,
      warmupS: WARMUP,
      connections: CONNECTIONS,
      postConnections: POST_CONNECTIONS,
      bodyBytes: BODY_BYTES,
      wrkThreads: THREADS,
      rate: RATE,
      olConnections: OL_CONNECTIONS,
      clkTck: CLK_TCK,
      quietPct: QUIET_PCT,
      quietWaitS: QUIET_WAIT_S,
      disturbedPct: DISTURBED_PCT,
      retries: RETRIES,
      budgetMin: BUDGET_MS / 60_000,
      totalMinutes: Math.round((Date.now() - runStart) / 6000) / 10,
    },
    notes: [
      'cpu_us_per_req: utime+stime of the target process tree during the run / requests completed (direct: the upstream)',
      'user_us_per_req / system_us_per_req: the same CPU split into utime and stime; read_calls_per_req / write_calls_per_req: syscr and syscw of /proc/<pid>/io per request (read/write-family system calls; epoll and sendmsg are not counted)',
      'peakRssKiB: VmHWM summed over the process tree at the end of the rounds; processes serving several targets (gw-main: scenarios 1-4, 8, 9) report one figure; rss_after_run_kib is VmRSS after each run',
      'upstream_cpu_us_per_req: CPU of the upstream process per request; with the target and the upstream pinned to one CPU, req/s is bounded by their sum (see cpuUtilisation)',
      "gateway: deltas of the gateway's own /metrics counters over the run (store reads, cache lookups, GC time by kind); loopDelayMaxMs: the largest event-loop delay prom-client recorded during the run (its histogram is reset by the scrape before the run)",
      'open loop (ol-*): bench/lib/open-loop.mjs at a fixed rate; latency from the tick at which a request became due, queueing included',
      'ratios (checks): computed per round from the runs of the same round, then median (min–max) over rounds',
      'foreignCpuPct: process CPU time on the machine not spent by the target, upstream, load generator or runner, in % of one CPU; high values mark runs disturbed by other jobs',
      'each run waits (at most quietWaitS) until foreign CPU is under quietPct; a run whose foreignCpuPct exceeds disturbedPct is repeated up to retries times; after budgetMin minutes neither happens any more; summaries use the accepted run of each round (accepted: true)',
    ],
    setup,
    upstream: { url: upstreamUrl, body_bytes: Buffer.byteLength(expectedBody) },
    processes,
    targets: results.map((r) =>
      r.skipped
        ? r
        : {
            name: r.name,
            scenario: r.scenario,
            description: r.description,
            process: r.process,
            driver: r.driver,
            url: r.urlResolved,
            lua: r.lua ?? null,
            summary: r.summary,
            peakRssKiB: r.peakRssKiB,
            rounds: r.rounds,
          },
    ),
    checks,
    extras,
  };
  // The raw report stays local (results/raw/ is ignored); git keeps its summary (summarise.mjs).
  const rawDir = join(opt.out, 'raw');
  const summariesDir = join(opt.out, 'summaries');
  mkdirSync(rawDir, { recursive: true });
  let name = opt.only === 'all' && !opt.tag ? `${date}.json` : `${date}-${scenario}.json`;
  const taken = (n) => existsSync(join(rawDir, n)) || existsSync(join(summariesDir, n));
  for (let i = 2; opt.only === 'all' && taken(name) && i < 100; i++) name = `${date}-${i}${opt.tag ? `-${opt.tag}` : ''}.json`;
  const file = join(rawDir, name);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const summaryFile = writeSummary(file, report, summariesDir);

  process.stdout.write(`\n${renderReport(report)}\n`);
  process.stdout.write(
    `results: ${relative(process.cwd(), file) || file} (raw, not tracked), ${relative(process.cwd(), summaryFile) || summaryFile} (summary) (${report.params.totalMinutes} min)\n`,
  );
}

// ---------------------------------------------------------------- extras
/**
 * Memory per cached credential: a fresh gateway on the working-set store (cache.maxEntries
 * 10,000) with the inspector on; warm it (auth-off traffic and the last 200 tokens), read its
 * memory after forced GCs, send 10,000 other tokens once each, read again.
 */
async function measureMemoryPerCredential(ctx) {
  const inspectPort = await freePort();
  log('bench: memory per cached credential (fresh gateway, inspector on)\n');
  const p = await startGateway('gw-mem', 'ws', ctx, { nodeFlags: [`--inspect=127.0.0.1:${inspectPort}`], storeKind: 'ws' });
  try {
    const tokens = ctx.creds.ws.tokens;
    const api = `${p.baseUrl}/api/items`;
    await requestEach(`${p.baseUrl}/open/items`, Array.from({ length: 2000 }), () => ({}), 16);
    const warmTokens = tokens.slice(-200);
    await requestEach(api, warmTokens, (t) => ({ authorization: `Bearer ${t}` }), 16);
    await sleep(500);
    const read = async () => {
      const m = await memoryAfterGc(inspectPort).catch(() => null);
      const metrics = await scrapeMetrics(p.metricsUrl);
      const rssKiB = treeRssKiB(p.pid);
      return {
        entries: metrics.get('portcullis_credential_cache_entries{cache="positive"}') ?? null,
        rss: rssKiB * 1024,
        heapUsed: m?.heapUsed ?? metrics.get('nodejs_heap_size_used_bytes') ?? null,
        heapTotal: m?.heapTotal ?? null,
        external: m?.external ?? metrics.get('nodejs_external_memory_bytes') ?? null,
        gc: Boolean(m),
      };
    };
    const before = await read();
    const primed = Math.min(10_000, tokens.length - 200);
    const statuses = await requestEach(api, tokens.slice(0, primed), (t) => ({ authorization: `Bearer ${t}` }), 16);
    await sleep(500);
    const after = await read();
    return {
      primed,
      statuses,
      before,
      after,
      gc: before.gc && after.gc,
      entriesAdded: (after.entries ?? 0) - (before.entries ?? 0),
      rssPerEntry: (after.rss - before.rss) / Math.max(1, (after.entries ?? 0) - (before.entries ?? 0)),
      heapPerEntry:
        after.heapUsed != null ? (after.heapUsed - before.heapUsed) / Math.max(1, (after.entries ?? 0) - (before.entries ?? 0)) : null,
    };
  } finally {
    await stopChild(p.child);
  }
}

/** 1 GiB upload and download through a fresh gateway and a fresh undici forwarder. */
async function bigTransfers(ctx) {
  const out = [];
  const c = await createCredentials(ctx.dist, `sqlite:${join(ctx.workDir, 'store-big.db')}`, { tokens: 1, label: 'bench-big' });
  const bearer = `Bearer ${c.tokens[0]}`;
  const run = async (label, p, headers, prefix) => {
    // Warm the path a little, so the "before" peak is the process at rest after real requests.
    await requestEach(`${p.baseUrl}${prefix}/items`, Array.from({ length: 200 }), () => headers, 8);
    for (const mode of ['upload', 'download']) {
      const hwmBeforeKiB = treePeakRssKiB(p.pid);
      const cpu0 = treeCpuSeconds(p.pid);
      const url = mode === 'upload' ? `${p.baseUrl}${prefix}/upload` : `${p.baseUrl}${prefix}/__bytes/${BIG_BYTES}`;
      const args = [join(benchDir, 'lib/big-transfer.mjs'), '--mode', mode, '--url', url, '--bytes', String(BIG_BYTES)];
      for (const [k, v] of Object.entries(headers)) args.push('--header', `${k}: ${v}`);
      const pp = pinned(opt['load-cpus'], process.execPath, args);
      log(`bench: ${label} ${mode} ${fmt(BIG_BYTES / 2 ** 20)} MiB\n`);
      const r = spawnSync(pp.cmd, pp.args, { encoding: 'utf8', timeout: 600_000 });
      const m = /^BENCH_TRANSFER (\{.*\})$/m.exec(r.stdout ?? '');
      if (!m) {
        out.push({ process: label, mode, error: `exit ${r.status}: ${(r.stderr ?? '').slice(0, 200)}` });
        continue;
      }
      const x = JSON.parse(m[1]);
      const cpuS = treeCpuSeconds(p.pid) - cpu0;
      out.push({
        process: label,
        mode,
        bytes: BIG_BYTES,
        status: x.status,
        seconds: x.seconds,
        mibPerS: x.mibPerS,
        received: x.body ?? null,
        bytesReceived: x.bytesReceived,
        cpuUsPerMiB: (cpuS * 1e6) / (BIG_BYTES / 2 ** 20),
        hwmBeforeKiB,
        hwmAfterKiB: treePeakRssKiB(p.pid),
        rssAfterKiB: treeRssKiB(p.pid),
      });
    }
  };
  const gw = await startGateway('gw-big', 'big', ctx, {});
  try {
    await run('gw-big (Portcullis, Bearer)', gw, { authorization: bearer }, '/api');
  } finally {
    await stopChild(gw.child);
  }
  const u = await startProcess('undici', ctx);
  try {
    await run('undici forwarder', u, {}, '');
  } finally {
    await stopChild(u.child);
  }
  return out;
}

/** A fresh gateway of the target's kind under --cpu-prof, loaded like the target; returns the profile's summary. */
async function profileTarget(ctx, t) {
  const dir = join(ctx.workDir, `profile-${t.name}`);
  mkdirSync(dir, { recursive: true });
  log(`bench: profiling ${t.name} (${PROFILE_S} s)\n`);
  const flags = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '250'];
  const kind = t.proc.gateway;
  let p;
  if (kind) {
    p = await startGateway(`prof-${t.name}`, kind, ctx, { nodeFlags: flags, storeKind: PROCESSES[t.process]?.store ?? kind });
  } else {
    // A Node forwarder (it exits on SIGTERM, which writes the profile).
    const port = await freePort();
    const cmd = PROCESSES[t.process].command({ ...ctx, port });
    const started = await startChild(`prof-${t.name}`, { ...cmd, args: [...flags, ...cmd.args] }, { ready: 'stdout' });
    p = { child: started.child, pid: started.child.pid, baseUrl: `http://127.0.0.1:${started.port}` };
  }
  const target = { ...t, proc: p, pid: p.pid, urlResolved: `${p.baseUrl}${t.path}` };
  let r;
  let cpuS;
  const window = { fromUs: 0, toUs: 0 };
  try {
    await runLoad(target, Math.max(2, WARMUP));
    const c0 = treeCpuSeconds(p.pid);
    window.fromUs = Number(process.hrtime.bigint() / 1000n);
    r = await runLoad(target, PROFILE_S);
    window.toUs = Number(process.hrtime.bigint() / 1000n);
    cpuS = treeCpuSeconds(p.pid) - c0;
  } finally {
    await stopChild(p.child, 15_000);
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return { error: 'no .cpuprofile written (the gateway did not exit cleanly?)' };
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  // The measured run only: not the start-up (config load) nor the warm-up.
  const s = summarise(profile, window);
  let kept = null;
  if (opt['keep-profile']) {
    mkdirSync(opt['keep-profile'], { recursive: true });
    kept = join(opt['keep-profile'], `${t.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
    copyFileSync(join(dir, file), kept);
  }
  return {
    seconds: PROFILE_S,
    rps: r.rps,
    cpuUsPerReq: r.requests ? (cpuS * 1e6) / r.requests : null,
    sizeBytes: statSync(join(dir, file)).size,
    kept,
    note: 'the profiler itself costs CPU (sampling every 250 µs); read shares, not absolute µs; samples of the measured run only (after a warm-up)',
    summary: { ...s, functions: s.functions.slice(0, 60), stages: s.stages.slice(0, 40), natives: s.natives.slice(0, 40) },
  };
}

main().then(
  () => {
    cleanupSync();
  },
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    cleanupSync();
    process.exitCode = 1;
  },
);
