// PostgreSQL beside SQLite, in one run (bench/README.md "Fleet").
//
//   1. cached Bearer: one token, every request a cache hit (the store is not on the path);
//   2. working set: 100,000 tokens, cache.maxEntries 1, so every request is a miss (one store
//      read each): req/s, p99, store reads/s, and the largest event-loop delay of the gateway
//      during the run (nodejs_eventloop_lag_max_seconds, reset by a scrape before the run);
//   3. revocation across three instances: N revocations made by this process through the store
//      API; for each, the delay from before the revoke call until each of the three gateways
//      refuses the token (probed in a tight loop over keep-alive connections).
//
//   npm run build && node bench/fleet.mjs [--tokens 100000] [--revocations 100] [--duration 10]
//                                          [--pg URL]   (default: a throwaway cluster, .ci/pg-cluster.sh)
// wrk is required. Results are printed and written to bench/results/fleet-<date>.json.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCerts } from './lib/certs.mjs';
import { freePort } from './lib/ports.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const { values: opts } = parseArgs({
  options: {
    tokens: { type: 'string', default: '100000' },
    revocations: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    pg: { type: 'string' },
  },
});
const TOKENS = Number(opts.tokens);
const REVOCATIONS = Number(opts.revocations);
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);

const { openStore } = await import(join(root, 'dist/src/credentials/open-store.js'));
const { hashSecret } = await import(join(root, 'dist/src/credentials/secrets.js'));
const work = mkdtempSync(join(tmpdir(), 'portcullis-fleet-bench-'));
const children = [];
const cleanups = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
  rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

const log = (line) => process.stderr.write(`${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

// --- infrastructure --------------------------------------------------------------------------
let pgUrl = opts.pg;
if (pgUrl === undefined) {
  // Its own top-level directory: the postgres user cannot traverse the private work directory.
  const dir = mkdtempSync('/tmp/portcullis-pg-');
  pgUrl = execFileSync('bash', [join(root, '.ci/pg-cluster.sh'), 'start', dir], { encoding: 'utf8' }).trim();
  cleanups.push(() => execFileSync('bash', [join(root, '.ci/pg-cluster.sh'), 'stop', dir], { stdio: 'ignore' }));
}
async function pgDatabase(name) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(pgUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

mkdirSync(join(work, 'certs'));
const certs = createCerts({ dir: join(work, 'certs') });
const upstream = spawn(process.execPath, [join(benchDir, 'targets/upstream.mjs'), '0'], {
  env: { ...process.env, BENCH_CERT: certs.cert, BENCH_KEY: certs.key },
  stdio: ['ignore', 'pipe', 'inherit'],
});
children.push(upstream);
const upstreamPort = await new Promise((resolve) => {
  let out = '';
  upstream.stdout.on('data', (c) => {
    out += c;
    const m = /ready (\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});

const kek = randomBytes(32).toString('base64');
async function startGateway(name, storeUrl, cache) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'portcullis.yaml');
  // Fixed ports: at log level warn the gateway.started line (which names them) is not written.
  const port = await freePort();
  const metricsPort = await freePort();
  writeFileSync(
    file,
    `listen: "127.0.0.1:${port}"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:${metricsPort}" }
store: { url: "${storeUrl}", poolSize: 10 }
cache: ${cache}
oauth: { keyEncryptionKey: "\${PORTCULLIS_KEK}" }
log: { level: warn }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstreamPort}"
    upstreamCa: "${certs.caCert}"
`,
  );
  const child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'start', '--config', file], {
    env: { ...process.env, PORTCULLIS_KEK: kek },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    out += c;
  });
  const began = Date.now();
  for (;;) {
    const ready = await get(metricsPort, '/readyz').catch(() => undefined);
    if (ready?.status === 200) return { name, child, port, metricsPort, stop: () => child.kill('SIGKILL') };
    if (Date.now() - began > 60_000 || child.exitCode !== null) throw new Error(`${name} did not start: ${out}`);
    await sleep(100);
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
/** GET over keep-alive; a socket the server closed while idle is retried once on a new one. */
async function get(port, path, headers = {}) {
  try {
    return await getOnce(port, path, headers, agent);
  } catch (error) {
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') throw error;
    return getOnce(port, path, headers, false);
  }
}
function getOnce(port, path, headers, via) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: via }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c) => {
          body += c;
        })
        .on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
/**
 * The named series of ONE scrape. Every scrape resets the event-loop histogram behind
 * nodejs_eventloop_lag_max_seconds, so the series of interest are read from the same scrape.
 */
async function metrics(gw, ...names) {
  const { body } = await getOnce(gw.metricsPort, '/metrics', {}, false);
  return names.map((name) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(body);
    return m ? Number(m[1]) : NaN;
  });
}

function wrk(port, tokensFile) {
  const args = [
    '-t2',
    `-c${CONNECTIONS}`,
    `-d${DURATION}s`,
    '--latency',
    '-s',
    join(benchDir, 'lua/tokens-rr.lua'),
    `http://127.0.0.1:${port}/api/items`,
  ];
  const out = execFileSync('wrk', args, {
    encoding: 'utf8',
    env: { ...process.env, BENCH_TOKENS_FILE: tokensFile, BENCH_PATH: '/api/items' },
  });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p99text = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const unit = { us: 0.001, ms: 1, s: 1000 }[p99text?.[2] ?? 'ms'];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps, p99Ms: Number(p99text?.[1]) * unit, non2xx };
}

async function createTokens(store, n) {
  const tokens = [];
  let next = 0;
  const began = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        next++;
        tokens.push((await store.tokens.create({ label: `ws-${next}`, scope: 'read-only' })).token);
      }
    }),
  );
  log(`  ${n} tokens in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  return tokens;
}

// --- the run ---------------------------------------------------------------------------------
const results = {
  date: new Date().toISOString(),
  tokens: TOKENS,
  revocations: REVOCATIONS,
  durationS: DURATION,
  connections: CONNECTIONS,
  stores: {},
};
for (const kind of ['sqlite', 'postgres']) {
  log(`== ${kind}`);
  const storeUrl = kind === 'sqlite' ? `sqlite:${join(work, 'sqlite', 'store.db')}` : await pgDatabase('fleet_bench');
  mkdirSync(join(work, 'sqlite'), { recursive: true });
  const store = await openStore(storeUrl, { create: true });
  const r = (results.stores[kind] = {});

  // 1. cached Bearer.
  const one = (await store.tokens.create({ label: 'hot', scope: 'read-only' })).token;
  const hotFile = join(work, `${kind}-hot.txt`);
  writeFileSync(hotFile, `${one}\n`);
  const cachedGw = await startGateway(`${kind}-cached`, storeUrl, '{ maxEntries: 100000 }');
  wrk(cachedGw.port, hotFile); // warm-up
  r.cachedBearer = wrk(cachedGw.port, hotFile);
  log(`  cached Bearer: ${r.cachedBearer.rps.toFixed(0)} req/s, p99 ${r.cachedBearer.p99Ms.toFixed(2)} ms`);
  cachedGw.stop();

  // 2. working set: every request a miss.
  const tokens = await createTokens(store, TOKENS);
  const wsFile = join(work, `${kind}-ws.txt`);
  writeFileSync(wsFile, `${tokens.join('\n')}\n`);
  const missGw = await startGateway(`${kind}-ws`, storeUrl, '{ maxEntries: 1, negativeMaxEntries: 1 }');
  wrk(missGw.port, wsFile);
  const [readsBefore] = await metrics(missGw, 'portcullis_store_reads_total'); // also resets the event-loop histogram
  const started = Date.now();
  r.workingSet = wrk(missGw.port, wsFile);
  const elapsed = (Date.now() - started) / 1000;
  const [readsAfter, lagMax] = await metrics(missGw, 'portcullis_store_reads_total', 'nodejs_eventloop_lag_max_seconds');
  r.workingSet.storeReadsPerS = (readsAfter - readsBefore) / elapsed;
  r.workingSet.maxEventLoopDelayMs = lagMax * 1000;
  log(
    `  working set: ${r.workingSet.rps.toFixed(0)} req/s, p99 ${r.workingSet.p99Ms.toFixed(2)} ms, ${r.workingSet.storeReadsPerS.toFixed(0)} reads/s, max event-loop delay ${r.workingSet.maxEventLoopDelayMs.toFixed(1)} ms, non-2xx ${r.workingSet.non2xx}`,
  );
  missGw.stop();

  // 3. revocation across three instances.
  const fleet = [];
  for (let i = 0; i < 3; i++) fleet.push(await startGateway(`${kind}-fleet-${i}`, storeUrl, '{ maxEntries: 100000 }'));
  const victims = await createTokens(store, REVOCATIONS);
  const delays = [];
  for (const token of victims) {
    const auth = { authorization: `Bearer ${token}` };
    for (const gw of fleet) {
      const warm = await get(gw.port, '/api/warm', auth);
      if (warm.status !== 200) throw new Error(`warm-up failed: ${warm.status} ${warm.body}`);
    }
    const record = await store.findTokenByHash(hashSecret(token));
    const began = performance.now();
    await store.tokens.revoke(record.id);
    await Promise.all(
      fleet.map(async (gw) => {
        for (;;) {
          const answer = await get(gw.port, '/api/probe', auth);
          if (answer.status === 401) {
            delays.push(performance.now() - began);
            return;
          }
          if (performance.now() - began > 5000) throw new Error(`${gw.name}: revocation not seen within 5 s`);
        }
      }),
    );
    await sleep(20 + Math.random() * 80);
  }
  // One sample per instance and revocation.
  r.revocation = { count: delays.length, medianMs: pct(delays, 0.5), p99Ms: pct(delays, 0.99), maxMs: Math.max(...delays) };
  log(
    `  revocation across 3 instances: median ${r.revocation.medianMs.toFixed(1)} ms, p99 ${r.revocation.p99Ms.toFixed(1)} ms, max ${r.revocation.maxMs.toFixed(1)} ms over ${delays.length}`,
  );
  for (const gw of fleet) gw.stop();
  await store.close();
}

const s = results.stores;
results.ratios = {
  cachedBearerPgOverSqlite: s.postgres.cachedBearer.rps / s.sqlite.cachedBearer.rps,
  workingSetPgOverSqlite: s.postgres.workingSet.rps / s.sqlite.workingSet.rps,
};
log(
  `PG/SQLite: cached Bearer ${results.ratios.cachedBearerPgOverSqlite.toFixed(2)}, working set ${results.ratios.workingSetPgOverSqlite.toFixed(2)} (target ≥ 0.7)`,
);
const out = join(benchDir, 'results', `fleet-${results.date.slice(0, 10)}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
log(`written ${out}`);
process.exit(0);
