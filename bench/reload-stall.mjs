// What a configuration reload costs the requests in flight, and what start-up costs in time and
// memory, against the number of routes (scenario 7's table size and smaller ones).
//
// For each route count and each --dist, a gateway child is started on a generated file (routes
// with `auth: off`, log level warn) and probed with one request every 2 ms to a path no route
// matches (a 404 the gateway answers alone, so no upstream is involved): 1 s without a reload,
// then 3 s with a SIGHUP after 0.5 s. Reported: the time to the first answer, RSS and heap after
// start, the longest probe latency without and with the reload, probes slower than 50 ms, and
// the peak RSS over the whole run. Targets interleave per round (A B A B …).
//
// Usage: npm run build && node bench/reload-stall.mjs [--routes 100,1000,10000] [--rounds 2]
//          [--dist dist] [--dist .exp-base/dist] [--pin 0] [--out bench/results] [--tag NAME]
// --pin CPU runs the gateway (and its worker thread) on one CPU with taskset, as bench/run.mjs
// pins its targets.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, scrapeMetrics } from './lib/http-client.mjs';
import { freePort } from './lib/ports.mjs';
import { treePeakRssKiB, treeRssKiB } from './lib/procstat.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function options(argv) {
  const o = { routes: [100, 1000, 10_000], rounds: 2, dists: [], pin: null, out: join(ROOT, 'bench/results'), tag: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--routes') o.routes = value.split(',').map(Number);
    else if (flag === '--rounds') o.rounds = Number(value);
    else if (flag === '--dist') o.dists.push(value);
    else if (flag === '--pin') o.pin = value;
    else if (flag === '--out') o.out = value;
    else if (flag === '--tag') o.tag = value;
    else throw new Error(`unknown option ${flag}`);
    i++;
  }
  if (o.dists.length === 0) o.dists.push('dist');
  return o;
}

/** One GET without keep-alive; resolves with its latency in ms, or NaN when it failed. */
function timedGet(port, path) {
  const started = performance.now();
  return request(`http://127.0.0.1:${port}${path}`, { timeoutMs: 10_000 }).then(
    () => performance.now() - started,
    () => Number.NaN,
  );
}

/** Latencies of probes sent every 2 ms for `ms`, sorted; `during` runs once after `atMs`. */
async function probe(port, ms, during) {
  const latencies = [];
  const pending = [];
  const started = performance.now();
  let fired = false;
  while (performance.now() - started < ms) {
    if (during && !fired && performance.now() - started >= during.atMs) {
      fired = true;
      during.run();
    }
    pending.push(timedGet(port, '/no/route/here').then((l) => latencies.push(l)));
    await sleep(2);
  }
  await Promise.all(pending);
  // Failed probes (NaN) kept apart: they would leave the sort's order undefined.
  return [...latencies.filter(Number.isFinite).sort((a, b) => a - b), ...latencies.filter((l) => !Number.isFinite(l))];
}

function configText(routes, ports, dir) {
  const lines = [
    `listen: 127.0.0.1:${ports.listen}`,
    'metrics:',
    `  listen: 127.0.0.1:${ports.metrics}`,
    'admin:',
    `  listen: 127.0.0.1:${ports.admin}`,
    'store:',
    `  url: sqlite:${dir}/store.db`,
    'log:',
    '  level: warn',
    'routes:',
  ];
  for (let i = 0; i < routes; i++) {
    lines.push(
      `  - name: svc-${i}`,
      '    match:',
      `      path: /svc-${i}/v${i % 7}`,
      `    upstream: https://backend-${i % 20}.internal:8443`,
      '    auth: off',
      '    access: read-write',
    );
  }
  return `${lines.join('\n')}\n`;
}

async function measure(dist, routes, pin) {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-reload-bench-'));
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(file, configText(routes, ports, dir));
  const main = resolve(ROOT, dist, 'src/cli/main.js');
  // `start` never creates a store (a build older than `store init` creates it itself and
  // answers this with an unknown-command error, which is fine).
  spawnSync(process.execPath, [main, 'store', 'init', '--config', file], { stdio: 'ignore' });
  const argv = [process.execPath, main, 'start', '--config', file];
  const child =
    pin === null
      ? spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn('taskset', ['-c', pin, ...argv], { stdio: ['ignore', 'ignore', 'inherit'] });
  let spawnError = null;
  child.once('error', (error) => (spawnError = error));
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  try {
    const spawned = performance.now();
    while (!Number.isFinite(await timedGet(ports.listen, '/'))) {
      if (spawnError) throw new Error(`${dist}: cannot start: ${spawnError.message}`);
      if (exited()) throw new Error(`${dist}: the gateway exited before answering (code ${child.exitCode}, signal ${child.signalCode})`);
      if (performance.now() - spawned > 60_000) throw new Error(`${dist}: no answer 60 s after start`);
      await sleep(10);
    }
    const readyMs = performance.now() - spawned;
    await sleep(500);
    const metrics = await scrapeMetrics(`http://127.0.0.1:${ports.metrics}/metrics`);
    const afterStart = {
      rssMiB: treeRssKiB(child.pid) / 1024,
      heapUsedMiB: (metrics.get('nodejs_heap_size_used_bytes') ?? Number.NaN) / 2 ** 20,
      peakRssMiB: treePeakRssKiB(child.pid) / 1024,
    };
    const quiet = await probe(ports.listen, 1000);
    const reloading = await probe(ports.listen, 3000, { atMs: 500, run: () => child.kill('SIGHUP') });
    const reloaded = (await scrapeMetrics(`http://127.0.0.1:${ports.metrics}/metrics`)).get(
      'portcullis_config_reloads_total{result="success"}',
    );
    if (reloaded !== 1) throw new Error(`${dist}: the reload did not succeed within the run (reloads ${reloaded})`);
    const max = (xs) => Math.max(...xs.filter(Number.isFinite));
    return {
      dist,
      routes,
      readyMs,
      ...afterStart,
      maxQuietMs: max(quiet),
      maxDuringReloadMs: max(reloading),
      probesOver50ms: reloading.filter((l) => l > 50).length,
      failedProbes: reloading.filter((l) => !Number.isFinite(l)).length,
      peakRssAfterReloadMiB: treePeakRssKiB(child.pid) / 1024,
    };
  } finally {
    if (!exited() && !spawnError) {
      child.kill('SIGKILL');
      await new Promise((r) => (exited() ? r() : child.once('exit', r)));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const o = options(process.argv.slice(2));
const rows = [];
for (let round = 1; round <= o.rounds; round++) {
  for (const routes of o.routes) {
    for (const dist of o.dists) {
      let r;
      try {
        r = await measure(dist, routes, o.pin);
      } catch (error) {
        process.stderr.write(`reload-stall: ${error.message}\nmeasured so far: ${JSON.stringify(rows)}\n`);
        process.exit(1);
      }
      rows.push({ round, ...r });
      process.stderr.write(
        `round ${round} ${dist} ${routes} routes: ready ${r.readyMs.toFixed(0)} ms, reload stall ${r.maxDuringReloadMs.toFixed(1)} ms (quiet ${r.maxQuietMs.toFixed(1)}), RSS ${r.rssMiB.toFixed(0)} MiB, heap ${r.heapUsedMiB.toFixed(1)} MiB, peak ${r.peakRssAfterReloadMiB.toFixed(0)} MiB\n`,
      );
    }
  }
}

const table = [
  '| build | routes | ready ms | longest probe, quiet ms | longest probe, reload ms | probes > 50 ms | RSS after start MiB | heap after start MiB | peak RSS at start MiB | peak RSS after reload MiB |',
  '| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
];
for (const routes of o.routes) {
  for (const dist of o.dists) {
    const mine = rows.filter((r) => r.routes === routes && r.dist === dist);
    const m = (k, digits = 0) => median(mine.map((r) => r[k])).toFixed(digits);
    table.push(
      `| ${dist} | ${routes} | ${m('readyMs')} | ${m('maxQuietMs', 1)} | ${m('maxDuringReloadMs', 1)} | ${m('probesOver50ms')} | ${m('rssMiB')} | ${m('heapUsedMiB', 1)} | ${m('peakRssMiB')} | ${m('peakRssAfterReloadMiB')} |`,
    );
  }
}
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const machine = `${cpus().length} CPUs, node ${process.version}; gateway ${o.pin === null ? 'not pinned' : `pinned to CPU ${o.pin}`}; medians of ${o.rounds} rounds; code ${commit}`;
console.log(`${table.join('\n')}\n\n${machine}`);
mkdirSync(o.out, { recursive: true });
const out = join(o.out, `${new Date().toISOString().slice(0, 10)}-reload${o.tag ? `-${o.tag}` : ''}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), machine, options: o, rows }, null, 1)}\n`);
console.log(`results: ${out}`);
