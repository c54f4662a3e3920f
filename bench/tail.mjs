// Where scenario 9's slow requests come from. The bare undici forwarder and one or more gateway
// builds (or node flags) are loaded in turn at a fixed rate (lib/open-loop.mjs, 2,000 req/s over
// 32 connections, after 1 s unmeasured), every process with lib/tail-probe.mjs loaded, which
// records GC pauses, stdout writes (the access log), SQLite statement bursts and event-loop
// stalls (with the main thread's CPU and run-queue wait). The generator records every request;
// each request at or above its run's p99 is then attributed to what overlapped it in the
// process that served it, first match in this order:
//   gc-minor, gc-major (mark-compact, incremental marking, weak callbacks), log-write, sqlite,
//   stall-ran (the loop was late and the main thread ran: other work), stall-waited (the main
//   thread waited for a CPU more than it ran: the machine), stall-other (neither: blocked in the
//   kernel), none (no event in the process: the network, the upstream, the generator).
//
//   node bench/tail.mjs [--dist dist --dist 'dist --max-semi-space-size=16' …] [--rounds 5]
//                       [--duration 8] [--rate 2000] [--auth bearer] [--path /api/items]
//                       [--runtime system|image] [--out bench/results] [--tag NAME]
//                       [--upstream-cpus 0]
//   --runtime image: every target on the Docker image's Node.js (bench/lib/runtime.mjs)
//   --upstream-cpus 1: the upstream beside the generator, the targets alone on CPU 0
//
// Gateways, forwarder and upstream on CPU 0, the generator on CPU 1 (as run.mjs's split A).
// Writes results/tail-<date>[-tag].json (small: per run the percentiles, the attribution and
// the event totals) and prints the tables.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCerts } from './lib/certs.mjs';
import { HAS_TASKSET, pinned, readyPort, startChild } from './lib/children.mjs';
import { probe } from './lib/http-client.mjs';
import { freePort } from './lib/ports.mjs';
import { createCredentials, writeGatewayConfig } from './lib/portcullis.mjs';
import { treeCpuSeconds } from './lib/procstat.mjs';
import { imageNodeMajor, prepareRuntime } from './lib/runtime.mjs';
import { attribute, CAUSES } from './lib/tail-attribution.mjs';

const { values: opt } = parseArgs({
  options: {
    dist: { type: 'string', multiple: true, default: [] },
    path: { type: 'string', default: '/api/items' },
    auth: { type: 'string', default: 'bearer' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '8' },
    rate: { type: 'string', default: '2000' },
    out: { type: 'string' },
    tag: { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
    runtime: { type: 'string', default: 'system' },
    'upstream-cpus': { type: 'string', default: '0' },
  },
});
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dists = opt.dist.length > 0 ? opt.dist : ['dist'];
const ROUNDS = Number(opt.rounds);
const DURATION = Number(opt.duration);
const probeFile = join(root, 'bench/lib/tail-probe.mjs');
const work = mkdtempSync(join(tmpdir(), 'portcullis-tail-'));
const children = [];
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  if (opt.keep) process.stderr.write(`tail: kept ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

const start = (cmd, args, cpus, env = {}, stdout = 'pipe') =>
  startChild(children, cmd, args, { cpus, env: { NODE_ENV: 'production', ...env }, stdout });

mkdirSync(join(work, 'certs'));
const certs = createCerts({ dir: join(work, 'certs') });
const upstream = start(process.execPath, [join(root, 'bench/targets/upstream.mjs'), '0'], opt['upstream-cpus'], {
  BENCH_CERT: certs.cert,
  BENCH_KEY: certs.key,
});
const upstreamUrl = `https://127.0.0.1:${await readyPort(upstream)}`;

const log = (m) => process.stderr.write(m);
const onImage = opt.runtime === 'image';
let node = process.execPath;
const targets = [];
{
  const events = join(work, 'undici.events');
  if (onImage)
    node = prepareRuntime({ root, dist: resolve(root, 'dist'), version: imageNodeMajor(root), into: join(work, 'rt-forwarder'), log }).node;
  const child = start(node, ['--import', probeFile, join(root, 'bench/targets/undici-forwarder.mjs')], '0', {
    PORT: '0',
    UPSTREAM_URL: upstreamUrl,
    BENCH_CA: certs.caCert,
    UNDICI_MODE: 'dispatch',
    TAIL_PROBE_FILE: events,
  });
  const port = await readyPort(child);
  targets.push({ name: 'undici (bare forwarder)', pid: child.pid, url: `http://127.0.0.1:${port}/`, headers: [], events, runs: [] });
}
for (const [i, distArg] of dists.entries()) {
  const [distDir = 'dist', ...nodeFlags] = distArg.split(/\s+/);
  let dist = resolve(root, distDir);
  mkdirSync(join(work, `gw-${i}`), { recursive: true });
  const { tokens } = await createCredentials(dist, `sqlite:${join(work, `gw-${i}`, 'store.db')}`, { tokens: 1 });
  if (onImage) dist = prepareRuntime({ root, dist, version: imageNodeMajor(root), into: join(work, `rt-${i}`), log }).dist;
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const dir = join(work, `gw-${i}`);
  const storeUrl = `sqlite:${join(dir, 'store.db')}`;
  const file = writeGatewayConfig(dir, 'main', { ports, upstreamUrl, caPath: certs.caCert, storeUrl });
  const events = join(work, `gw-${i}.events`);
  const accessLog = openSync(join(dir, 'access.log'), 'a');
  const child = start(
    node,
    [...nodeFlags, '--import', probeFile, join(dist, 'src/cli/main.js'), 'start', '--config', file],
    '0',
    { TAIL_PROBE_FILE: events },
    accessLog,
  );
  closeSync(accessLog);
  for (let n = 0; n < 600 && (await probe(`http://127.0.0.1:${ports.metrics}/readyz`)).status !== 200; n++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const headers = opt.auth === 'bearer' ? [`Authorization: Bearer ${tokens[0]}`] : [];
  targets.push({
    name: `gateway ${distArg}`,
    pid: child.pid,
    url: `http://127.0.0.1:${ports.listen}${opt.path}`,
    headers,
    events,
    runs: [],
  });
}

/** The main thread's run-queue wait so far, ms (/proc/<pid>/task/<pid>/schedstat). */
function runQueueMs(pid) {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

function openLoop(t, seconds, trace) {
  const args = [
    join(root, 'bench/lib/open-loop.mjs'),
    '--url',
    t.url,
    '--rate',
    opt.rate,
    '--duration',
    String(seconds),
    '--ca',
    certs.caCert,
  ];
  for (const h of t.headers) args.push('--header', h);
  if (trace) args.push('--trace', trace);
  const full = pinned('1', process.execPath, args);
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const line = /^BENCH_RESULT (.*)$/m.exec(r.stdout)?.[1];
  if (!line) throw new Error(`open-loop against ${t.name}: ${r.stdout}${r.stderr}`);
  const result = JSON.parse(line);
  if (result.requests === 0) throw new Error(`open-loop against ${t.name}: ${line}`);
  // A few failed requests (a keep-alive connection closed as a request went out) are kept in the
  // round's row and reported, not fatal: a round of 16,000 requests stays readable.
  const failed = Object.values(result.errors).reduce((sum, n) => sum + n, 0);
  if (failed > result.requests / 100) throw new Error(`open-loop against ${t.name}: ${line}`);
  if (failed > 0) process.stderr.write(`open-loop against ${t.name}: ${failed} failed requests ${JSON.stringify(result.errors)}\n`);
  return result;
}

const readEvents = (file) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
const readTrace = (file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').map(Number));

for (const t of targets) openLoop(t, 2); // warm-up
for (let round = 1; round <= ROUNDS; round++) {
  for (const t of targets) {
    openLoop(t, 1); // connections may have expired while the others ran
    const trace = join(work, 'trace.txt');
    const la = loadavg()[0];
    const rq0 = runQueueMs(t.pid);
    const c0 = treeCpuSeconds(t.pid);
    const r = openLoop(t, DURATION, trace);
    const cpuUsPerReq = ((treeCpuSeconds(t.pid) - c0) * 1e6) / r.requests;
    const runQueue = runQueueMs(t.pid) - rq0;
    await new Promise((res) => setTimeout(res, 2200)); // the probe appends every 2 s
    const a = attribute(readTrace(trace), readEvents(t.events));
    const row = {
      round,
      p50: r.latency_us.p50 / 1000,
      p99: r.latency_us.p99 / 1000,
      p999: r.latency_us.p999 / 1000,
      max: r.latency_us.max / 1000,
      cpuUsPerReq,
      runQueueMsPerS: runQueue / DURATION,
      loadavg1: la,
      errors: r.errors,
      ...a,
    };
    t.runs.push(row);
    process.stderr.write(
      `round ${round} ${t.name}: p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} p99.9 ${row.p999.toFixed(2)} ms, cpu ${cpuUsPerReq.toFixed(0)} µs/req, ` +
        `run queue ${row.runQueueMsPerS.toFixed(1)} ms/s, load ${la.toFixed(2)}, scavenges ${a.totals['gc-minor'].n}/${a.totals['gc-minor'].ms} ms, new space ${a.newSpaceMiB} MiB; ≥p99: ${Object.entries(
          a.counts,
        )
          .filter(([, n]) => n)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}\n`,
    );
  }
}

// ---- report
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const range = (xs, d = 2) => `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
const base = targets[0];
let md = `\n| target | p50 ms | p99 ms | p99.9 ms | p99 added over the bare forwarder, per round | p99.9 added | CPU µs/req | main thread run-queue wait ms/s |\n| --- | --: | --: | --: | --: | --: | --: | --: |\n`;
for (const t of targets) {
  const added = t.runs.map((r, i) => r.p99 - base.runs[i].p99);
  const added9 = t.runs.map((r, i) => r.p999 - base.runs[i].p999);
  md +=
    `| ${t.name} | ${range(t.runs.map((r) => r.p50))} | ${range(t.runs.map((r) => r.p99))} | ${range(t.runs.map((r) => r.p999))} | ` +
    `${t === base ? '' : `${range(added)}: ${added.map((x) => x.toFixed(2)).join(', ')}`} | ${t === base ? '' : range(added9)} | ${range(
      t.runs.map((r) => r.cpuUsPerReq),
      0,
    )} | ${range(
      t.runs.map((r) => r.runQueueMsPerS),
      1,
    )} |\n`;
}
md += `\nRequests at or above their run's p99, by what overlapped them (sum over ${ROUNDS} rounds):\n\n| target | slow | ${CAUSES.join(' | ')} |\n| --- | --: |${CAUSES.map(() => ' --: |').join('')}\n`;
for (const t of targets) {
  const tot = Object.fromEntries(CAUSES.map((c) => [c, t.runs.reduce((a, r) => a + r.counts[c], 0)]));
  const n = Object.values(tot).reduce((a, b) => a + b, 0);
  md += `| ${t.name} | ${n} | ${CAUSES.map((c) => `${Math.round((tot[c] / n) * 100)} %`).join(' | ')} |\n`;
}
md += `\nEvents per run (median over rounds: count / total ms / longest ms):\n\n| target | ${[...CAUSES.slice(0, -1), 'writesAll'].join(' | ')} |\n| --- |${CAUSES.map(() => ' --: |').join('')}\n`;
for (const t of targets) {
  md += `| ${t.name} | ${[...CAUSES.slice(0, -1), 'writesAll']
    .map((k) => {
      const xs = t.runs.map((r) => r.totals[k]);
      return `${median(xs.map((x) => x.n))} / ${median(xs.map((x) => x.ms)).toFixed(1)} / ${median(xs.map((x) => x.maxMs)).toFixed(2)}`;
    })
    .join(' | ')} |\n`;
}
for (const t of targets.slice(1)) {
  const agg = {};
  for (const r of t.runs)
    for (const [k, v] of Object.entries(r.sqliteBySql)) {
      agg[k] ??= { n: 0, maxMs: 0, statements: 0 };
      agg[k].n += v.n;
      agg[k].statements += v.statements;
      agg[k].maxMs = Math.max(agg[k].maxMs, v.maxMs);
    }
  if (Object.keys(agg).length)
    md += `\nSQLite bursts in ${t.name} (all rounds): ${Object.entries(agg)
      .map(([k, v]) => `\`${k}…\` ${v.n}× (${v.statements} statements, longest ${v.maxMs} ms)`)
      .join('; ')}\n`;
}
const uptime = readFileSync('/proc/loadavg', 'utf8').trim();
md += `\n${opt.rate} req/s over 32 connections, ${DURATION} s × ${ROUNDS} rounds after 1 s unmeasured each; ${HAS_TASKSET ? `targets on CPU 0, upstream on CPU ${opt['upstream-cpus']}, generator on CPU 1` : 'unpinned'}; /proc/loadavg at the end: ${uptime}\n`;
process.stdout.write(md);
const outDir = opt.out ?? join(root, 'bench/results');
mkdirSync(outDir, { recursive: true });
const name = `tail-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}${opt.tag ? `-${opt.tag}` : ''}.json`;
writeFileSync(
  join(outDir, name),
  `${JSON.stringify({ date: new Date().toISOString(), rate: Number(opt.rate), durationS: DURATION, rounds: ROUNDS, dists, upstreamCpus: opt['upstream-cpus'], node: spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim(), targets: targets.map((t) => ({ name: t.name, runs: t.runs })) }, null, 1)}\n`,
);
process.stdout.write(`results: ${join(outDir, name)}\n`);
process.exit(0);
