// A/B of gateway builds: the same configuration served by two (or more) compiled trees, loaded
// alternately A B A B … so machine noise hits every build alike. Reports CPU µs per request of
// each gateway process (median, min–max) and its ratio to the first build. For deciding whether
// a change to the request path pays; the full instrument is run.mjs.
//
//   node bench/ab.mjs --dist dist --dist /tmp/other-build/dist [--path /open/items]
//                     [--auth bearer] [--rounds 8] [--duration 3] [--connections 50]
//   node bench/ab.mjs --dist dist --dist 'dist --max-semi-space-size=8'   (same build, node flags)
//   node bench/ab.mjs --dist A --dist B --kind routes --lua lua/routes-rr.lua  (scenario 7's load)
//   node bench/ab.mjs --dist dist --dist dist --kind main --kind ratelimit --auth bearer --path /api/items
//       one --kind per --dist: the same build under two configurations (what a feature costs)
//   --out FILE writes the figures (every round) as JSON
//   --keep leaves the work directory (each gateway's stdout, e.g. with 'dist --trace-gc')
//   The last column divides each run's CPU per request by the upstream's in that run (the upstream
//   shares CPU 0 and does the same work for every build), which takes out the machine's speed swings.
//   --rate 2000 loads each gateway at a fixed rate (lib/open-loop.mjs, scenario 9's load) instead
//   of wrk, and reports p99 and the slow-request clusters too (when stalls happen, and how long)
//
// A build directory is what `tsc -p tsconfig.json --outDir X` produces; it must resolve this
// repository's node_modules (e.g. lie inside the repo, or next to a node_modules symlink).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCerts } from './lib/certs.mjs';
import { HAS_TASKSET, pinned, readyPort, startChild } from './lib/children.mjs';
import { probe } from './lib/http-client.mjs';
import { freePort } from './lib/ports.mjs';
import { createCredentials, writeGatewayConfig } from './lib/portcullis.mjs';
import { treeCpuSeconds } from './lib/procstat.mjs';

const { values: opt } = parseArgs({
  options: {
    dist: { type: 'string', multiple: true, default: [] },
    path: { type: 'string', default: '/open/items' },
    auth: { type: 'string', default: 'none' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    kind: { type: 'string', multiple: true, default: ['main'] },
    out: { type: 'string' },
    lua: { type: 'string' },
    keep: { type: 'boolean', default: false },
    rate: { type: 'string' },
  },
});
if (opt.dist.length < 2) {
  process.stderr.write(
    'usage: node bench/ab.mjs --dist A --dist B [--path /open/items] [--auth none|bearer] [--rounds 8] [--duration 3]\n',
  );
  process.exit(2);
}
if (spawnSync('wrk', ['--version']).error) {
  process.stderr.write('ab: wrk is required (apt-get install -y wrk)\n');
  process.exit(2);
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'portcullis-ab-'));
const children = [];
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  if (opt.keep) process.stderr.write(`ab: kept ${work} (gateway configs, stores, access logs)\n`);
  else rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

const start = (cmd, args, cpus, env = {}, stdout = 'pipe') => startChild(children, cmd, args, { cpus, env, stdout });

mkdirSync(join(work, 'certs'));
const certs = createCerts({ dir: join(work, 'certs') });
const upstream = start(process.execPath, [join(root, 'bench/targets/upstream.mjs'), '0'], '0', {
  BENCH_CERT: certs.cert,
  BENCH_KEY: certs.key,
});
const upstreamUrl = `https://127.0.0.1:${await readyPort(upstream)}`;

const gateways = [];
for (const [i, distArg] of opt.dist.entries()) {
  const [distDir = 'dist', ...nodeFlags] = distArg.split(/\s+/);
  const dist = resolve(root, distDir);
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const dir = join(work, `gw-${i}`);
  const storeUrl = `sqlite:${join(dir, 'store.db')}`;
  const kind = opt.kind.length === opt.dist.length ? opt.kind[i] : opt.kind[0];
  const file = writeGatewayConfig(dir, kind, { ports, upstreamUrl, caPath: certs.caCert, storeUrl });
  const { tokens } = await createCredentials(dist, storeUrl, { tokens: 1 });
  // The access log goes to a file, as in run.mjs: a pipe would not be read while wrk runs
  // (spawnSync), and a full pipe changes what the gateway does.
  const accessLog = openSync(join(dir, 'access.log'), 'a');
  const child = start(process.execPath, [...nodeFlags, join(dist, 'src/cli/main.js'), 'start', '--config', file], '0', {}, accessLog);
  closeSync(accessLog);
  for (let i = 0; i < 600 && (await probe(`http://127.0.0.1:${ports.metrics}/readyz`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  gateways.push({
    name: opt.kind.length === opt.dist.length ? `${distArg} (${kind})` : distArg,
    pid: child.pid,
    url: `http://127.0.0.1:${ports.listen}${opt.path}`,
    token: tokens[0],
    cpu: [],
    upstreamCpu: [],
    p99: [],
  });
}

function wrk(g, seconds) {
  const args = ['-t1', `-c${opt.connections}`, `-d${seconds}s`];
  if (opt.auth === 'bearer') args.push('-H', `Authorization: Bearer ${g.token}`);
  if (opt.lua) args.push('-s', join(root, 'bench', opt.lua));
  args.push(g.url);
  const full = pinned('1', 'wrk', args);
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  if (requests === 0 || non2xx > 0) throw new Error(`wrk against ${g.name}: ${r.stdout}${r.stderr}`);
  return requests;
}

/** Slow requests ([ms since start, latency ms]) grouped into stalls: start–end ms, worst latency, count. */
function stalls(slow) {
  const out = [];
  for (const [at, ms] of slow) {
    const last = out.at(-1);
    if (last && at - last.end < 20) {
      last.end = at;
      last.worst = Math.max(last.worst, ms);
      last.count++;
    } else out.push({ start: at, end: at, worst: ms, count: 1 });
  }
  return out.map((c) => `${c.start}–${c.end} ms: ${c.worst} ms ×${c.count}`).join(', ');
}

/** Scenario 9's load: requests sent at a fixed rate, latency measured from when each was due. */
function openLoop(g, seconds) {
  const args = [join(root, 'bench/lib/open-loop.mjs'), '--url', g.url, '--rate', opt.rate, '--duration', String(seconds)];
  if (opt.auth === 'bearer') args.push('--header', `Authorization: Bearer ${g.token}`);
  const full = pinned('1', process.execPath, args);
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const line = /^BENCH_RESULT (.*)$/m.exec(r.stdout)?.[1];
  if (!line) throw new Error(`open-loop against ${g.name}: ${r.stdout}${r.stderr}`);
  const result = JSON.parse(line);
  if (result.requests === 0 || Object.values(result.errors).some((n) => n > 0)) throw new Error(`open-loop against ${g.name}: ${line}`);
  return result;
}

/** One measured run: requests completed (and, open loop, the latency summary). */
function load(g, seconds) {
  if (opt.rate === undefined) return { requests: wrk(g, seconds) };
  openLoop(g, 1); // the pool's upstream connections may have expired while the other build ran
  const result = openLoop(g, seconds);
  return { requests: result.requests, latency: result.latency_us, slow: result.openLoop.slow };
}

for (const g of gateways) load(g, 2); // warm-up
for (let round = 1; round <= Number(opt.rounds); round++) {
  for (const g of gateways) {
    const c0 = treeCpuSeconds(g.pid);
    const u0 = treeCpuSeconds(upstream.pid);
    const { requests, latency, slow } = load(g, Number(opt.duration));
    g.cpu.push(((treeCpuSeconds(g.pid) - c0) * 1e6) / requests);
    // The upstream shares CPU 0 and does the same work for every build: how fast the core was.
    g.upstreamCpu.push(((treeCpuSeconds(upstream.pid) - u0) * 1e6) / requests);
    if (latency) {
      g.p99.push(latency.p99 / 1000);
      process.stderr.write(
        `  ${g.name}: p50 ${(latency.p50 / 1000).toFixed(2)} p99 ${(latency.p99 / 1000).toFixed(2)} p99.9 ${(latency.p999 / 1000).toFixed(2)} ms; stalls: ${stalls(slow) || 'none'}\n`,
      );
    }
  }
  process.stderr.write(`round ${round}: ${gateways.map((g) => `${g.name} ${g.cpu.at(-1).toFixed(1)}`).join('  ')} µs/req\n`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = (g) => g.cpu.map((c, i) => c / gateways[0].cpu[i]);
// Not where the upstream did next to nothing (nothing to read the machine's speed from).
const perUpstream = (g, i) => (g.upstreamCpu[i] >= 5 ? g.cpu[i] / g.upstreamCpu[i] : Number.NaN);
const normalisedRatios = (g) => g.cpu.map((_, i) => perUpstream(g, i) / perUpstream(gateways[0], i));
const range = (all, digits) => {
  const xs = all.filter(Number.isFinite);
  return xs.length === 0 ? '–' : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
};
const openLoopRun = opt.rate !== undefined;
process.stdout.write(
  `\n| build | CPU µs/req median (min–max) | ÷ first, per round: median (min–max) | ÷ first, each per upstream CPU/req |${openLoopRun ? ' p99 ms median (min–max) |' : ''}\n| --- | --: | --: | --: |${openLoopRun ? ' --: |' : ''}\n`,
);
for (const g of gateways) {
  process.stdout.write(
    `| ${g.name} | ${range(g.cpu, 1)} | ${range(ratios(g), 3)} | ${range(normalisedRatios(g), 3)} |${openLoopRun ? ` ${range(g.p99, 2)} |` : ''}\n`,
  );
}
const driver = openLoopRun ? `open loop ${opt.rate} req/s over 32 connections (1 s unmeasured first)` : `wrk -t1 -c${opt.connections}`;
if (opt.out) {
  const { writeFileSync } = await import('node:fs');
  const load = {
    path: opt.path,
    auth: opt.auth,
    driver,
    duration: Number(opt.duration),
    rounds: Number(opt.rounds),
    pinned: HAS_TASKSET,
  };
  const perGateway = gateways.map((g) => ({
    name: g.name,
    cpuUsPerRequest: g.cpu,
    upstreamCpuUsPerRequest: g.upstreamCpu,
    ratioToFirst: ratios(g),
    ratioToFirstPerUpstream: normalisedRatios(g),
  }));
  writeFileSync(opt.out, `${JSON.stringify({ date: new Date().toISOString(), load, gateways: perGateway }, null, 1)}\n`);
}
process.stdout.write(
  `\n${opt.path}, auth ${opt.auth}, ${driver}, ${opt.duration} s × ${opt.rounds} rounds; ${HAS_TASKSET ? 'gateways and upstream on CPU 0, load generator on CPU 1' : 'no taskset: unpinned'}\n`,
);
process.exit(0);
