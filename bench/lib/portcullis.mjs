// Everything the runner needs to put Portcullis itself under load: find or build dist/, write a
// gateway configuration per kind of run, create the credentials each needs in its own SQLite
// store (through the store API, not the CLI: 100,000 tokens take seconds, not hours), fetch an
// access token from the token endpoint, and read the gateway's memory after a forced GC (through
// the inspector protocol).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, symlinkSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createCerts } from './certs.mjs';
import { readyPort } from './children.mjs';
import { probe, request } from './http-client.mjs';
import { imageNodeMajor, prepareRuntime } from './runtime.mjs';
import { freePort } from './ports.mjs';

/**
 * Where the compiled gateway is. `snapshot`: compile the working tree into a temp dir, so that
 * other people rebuilding dist/ during a long run cannot change the code under test halfway.
 * Otherwise `dist` (relative to the repo root), built with tsc when it is missing.
 * @returns {{ dist: string, tmp: string | null, built: string | null }}
 */
export function resolveDist({ root, dist, snapshot, log }) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const compile = (outDir) => {
    if (!existsSync(tsc)) throw new Error('typescript is not installed: run `npm ci` first');
    const args = [tsc, '-p', join(root, 'tsconfig.json')];
    if (outDir) args.push('--outDir', outDir);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0)
      log(
        `bench: tsc exited ${r.status}${r.signal ? ` (${r.signal})` : ''}; using what it emitted\n${(r.stdout ?? '').split('\n').slice(0, 10).join('\n')}\n`,
      );
    return Date.now() - t0;
  };
  if (snapshot) {
    const tmp = mkdtempSync(join(tmpdir(), 'portcullis-bench-build-'));
    const out = join(tmp, 'dist');
    const ms = compile(out);
    // dist/src/version.js reads ../../package.json; ESM needs "type": "module"; packages resolve
    // from the nearest node_modules up the tree.
    copyFileSync(join(root, 'package.json'), join(tmp, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(tmp, 'node_modules'), 'dir');
    if (!existsSync(join(out, 'src/cli/main.js'))) throw new Error('snapshot build produced no src/cli/main.js');
    return { dist: out, tmp, built: `snapshot in ${ms} ms` };
  }
  const dir = join(root, dist);
  if (existsSync(join(dir, 'src/cli/main.js'))) return { dist: dir, tmp: null, built: null };
  if (dist !== 'dist') throw new Error(`${dir}/src/cli/main.js not found`);
  log('bench: dist/ is missing, building it (tsc -p tsconfig.json)\n');
  const ms = compile(null);
  if (!existsSync(join(dir, 'src/cli/main.js'))) throw new Error('the build produced no dist/src/cli/main.js');
  return { dist: dir, tmp: null, built: `dist/ in ${ms} ms` };
}

const importDist = (dist, file) => import(pathToFileURL(join(dist, file)).href);

/** Number of routes in the large route table (scenario 7). */
export const MANY_ROUTES = 10_000;
/** Path of route i in the large table; requests go to `${routePath(i)}/items/42`. */
export const routePath = (i) => `/svc-${String(i).padStart(4, '0')}/v${i % 7}`;

/**
 * The configuration of one gateway kind, as JSON (a subset of YAML 1.2).
 *   main    /open (auth off) and /api (Bearer or Basic, read-write); default cache
 *   ws      the same routes; cache.maxEntries 10,000 for a working set of 100,000 tokens
 *   inv     the same routes; invalid-token floods
 *   nolog   as main with log.level warn: the access log off (to measure what it costs)
 *   routes  10,000 routes, auth off
 *   big     as main, a fresh process for the 1 GiB transfers
 *   ratelimit          as main, both routes with a rate limit too high to refuse anything
 *   ratelimit-throttle as ratelimit, with the failed-attempt throttle on as well
 * `workers` (optional) is written as the `workers` key.
 */
export function gatewayConfig(kind, { ports, upstreamUrl, caPath, storeUrl, workers }) {
  const base = {
    // workers: N processes behind one listener (a primary and its workers); default 1, no primary.
    ...(workers === undefined ? {} : { workers }),
    listen: `127.0.0.1:${ports.listen}`,
    admin: { listen: `127.0.0.1:${ports.admin}` },
    metrics: { listen: `127.0.0.1:${ports.metrics}` },
    store: { url: storeUrl },
    // The load generator is one client address: per-client limits (docs/configuration.md `limits`) are lifted so a run
    // with more than 64 connections measures the gateway, not its refusals (the checks still run).
    limits: { shutdownGrace: '2s', maxInFlightPerClient: 1_000_000, maxConnectionsPerClient: 1_000_000, requestTimeout: '10m' },
    // info: the access log is on (one JSON line per request, to a file); metrics are always on.
    log: { level: 'info' },
  };
  const route = (name, path, auth, extra = {}) => ({
    name,
    match: { path },
    upstream: upstreamUrl,
    upstreamCa: caPath,
    auth,
    access: 'read-write',
    ...extra,
  });
  const standard = [route('open', '/open', 'off'), route('api', '/api', 'required', { credentials: ['bearer', 'basic'] })];
  switch (kind) {
    case 'main':
    case 'big':
    case 'inv':
      return { ...base, routes: standard };
    case 'ratelimit':
    case 'ratelimit-throttle': {
      // A billion requests a second: every request is counted, none is refused.
      const rateLimit = { requests: 1_000_000_000, per: '1s' };
      const limited = standard.map((r) => ({ ...r, rateLimit }));
      return kind === 'ratelimit' ? { ...base, routes: limited } : { ...base, throttle: { failures: 20, window: '1m' }, routes: limited };
    }
    case 'nolog':
      return { ...base, log: { level: 'warn' }, routes: standard };
    case 'ws':
      return { ...base, cache: { maxEntries: 10_000, ttl: '60s', negativeTtl: '5s', negativeMaxEntries: 10_000 }, routes: standard };
    case 'routes': {
      const routes = [];
      for (let i = 0; i < MANY_ROUTES; i++) routes.push(route(`svc-${i}`, routePath(i), 'off'));
      return { ...base, routes };
    }
    default:
      throw new TypeError(`unknown gateway kind ${kind}`);
  }
}

/** Writes the config file into dir; returns its path. */
export function writeGatewayConfig(dir, kind, o) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `portcullis-${kind}.yaml`);
  writeFileSync(file, `# written by bench/run.mjs (JSON is YAML)\n${JSON.stringify(gatewayConfig(kind, o), null, 1)}\n`);
  return file;
}

/**
 * What a bench script that compares gateway processes (workers-rate.mjs, workers-quota.mjs) runs
 * them against, in `work`: certificates, the HTTPS upstream (bench/targets/upstream.mjs, started
 * with the script's `start` on `cpus`), and the gateways' runtime: this Node.js, or with
 * `runtime: 'image'` the Docker image's (lib/runtime.mjs).
 */
export async function prepareBenchHost(start, { root, dist, work, runtime, cpus, log }) {
  mkdirSync(join(work, 'certs'));
  const certs = createCerts({ dir: join(work, 'certs') });
  const upstream = start(process.execPath, [join(root, 'bench/targets/upstream.mjs'), '0'], {
    cpus,
    env: { BENCH_CERT: certs.cert, BENCH_KEY: certs.key },
  });
  const upstreamUrl = `https://127.0.0.1:${await readyPort(upstream)}`;
  // Credentials are still created with this Node.js: the store file is the same.
  const gatewayRuntime =
    runtime === 'image'
      ? prepareRuntime({ root, dist, version: imageNodeMajor(root), into: join(work, 'rt'), log })
      : { node: process.execPath, dist };
  const nodeVersion = spawnSync(gatewayRuntime.node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { certs, upstream, upstreamUrl, gatewayRuntime, nodeVersion };
}

/**
 * A gateway of its own for a bench script that compares processes (workers-rate.mjs,
 * workers-quota.mjs): in `dir`, a SQLite store with one token, a configuration of `kind` on free
 * ports routing /api to `upstreamUrl`, started with `start(node, args, { cpus, stdout })` (the
 * script's own child starter) on `runtime` ({ node, dist }) with node `flags`. Resolves once
 * /readyz answers 200; throws after 60 s.
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, pid: number, url: string, token: string }>}
 */
export async function startBenchGateway(
  start,
  { dir, dist, runtime, kind = 'main', workers, upstreamUrl, caPath, flags = [], cpus, stdout },
) {
  mkdirSync(dir);
  const storeUrl = `sqlite:${join(dir, 'store.db')}`;
  const { tokens } = await createCredentials(dist, storeUrl, { tokens: 1 });
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const file = writeGatewayConfig(dir, kind, { ports, upstreamUrl, caPath, storeUrl, workers });
  const child = start(runtime.node, [...flags, join(runtime.dist, 'src/cli/main.js'), 'start', '--config', file], { cpus, stdout });
  for (let n = 0; (await probe(`http://127.0.0.1:${ports.metrics}/readyz`)).status !== 200; n++) {
    if (n === 600) throw new Error(`the gateway in ${dir} was not ready within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, pid: child.pid, url: `http://127.0.0.1:${ports.listen}/api/items`, token: tokens[0] };
}

/**
 * wrk against a bench gateway (its `url`, with its Bearer `token`) for `seconds` with
 * `connections`, one thread; resolves to the requests it completed, and fails on any non-2xx
 * answer or socket error, naming `label`.
 */
export function wrkRequests(gateway, { seconds, connections = 25, label = gateway.url }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-H', `Authorization: Bearer ${gateway.token}`, gateway.url];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolveRun, reject) => {
    // 'close', not 'exit': the output may still be arriving when the process has exited.
    child.on('close', () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
      if (!Number.isFinite(requests) || requests === 0 || /Non-2xx|Socket errors/.test(out))
        reject(new Error(`wrk against ${label}: ${out}`));
      else resolveRun(requests);
    });
  });
}

/**
 * Creates credentials in the store at storeUrl.
 * @returns {Promise<{ tokens: string[], client: { id: string, secret: string } | null }>}
 */
export async function createCredentials(dist, storeUrl, { tokens = 1, clients = 0, label = 'bench', log = () => {} }) {
  const { openStore } = await importDist(dist, 'src/credentials/index.js');
  const store = await openStore(storeUrl, { create: true });
  try {
    const out = { tokens: [], client: null };
    const t0 = Date.now();
    for (let i = 0; i < tokens; i++) {
      const issued = await store.tokens.create({ label: `${label}-${i}`, scope: 'read-write' });
      out.tokens.push(issued.token);
      if (i > 0 && i % 20_000 === 0) log(`  ${i} tokens (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    }
    if (clients > 0) {
      const c = await store.clients.create({ name: `${label}-client`, scope: 'read-write' });
      out.client = { id: c.record.clientId ?? c.record.client_id ?? c.record.id, secret: c.clientSecret };
    }
    return out;
  } finally {
    await store.close();
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
function randomBase62(n) {
  const bytes = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += BASE62[bytes[i] % 62];
  return s;
}

/**
 * `count` API tokens the store has never seen. kind 'well-formed': valid checksum (generated by
 * the gateway's own secrets module), so each one reaches the store; 'garbage': the same shape
 * with a wrong checksum, refused before the store. Returns { tokens, how }.
 */
export async function invalidTokens(dist, count, kind) {
  let secrets = null;
  try {
    secrets = await importDist(dist, 'src/credentials/secrets.js');
  } catch {
    /* older layout */
  }
  const wellFormed = secrets?.isWellFormedApiToken;
  const tokens = [];
  if (kind === 'well-formed' && typeof secrets?.generateApiToken === 'function') {
    for (let i = 0; i < count; i++) tokens.push(secrets.generateApiToken());
    return { tokens, how: 'generateApiToken() of dist/src/credentials/secrets.js (valid checksum, unknown to the store)' };
  }
  for (let i = 0; tokens.length < count && i < count * 2; i++) {
    const t = `pcl_${randomBase62(49)}`;
    if (!wellFormed || !wellFormed(t)) tokens.push(t);
  }
  return {
    tokens,
    how:
      kind === 'well-formed'
        ? 'random pcl_ strings (generateApiToken not exported: checksums invalid)'
        : 'random pcl_ strings with an invalid checksum',
  };
}

/** POST /oauth2/token with client credentials; the access token, or null when unavailable. */
export async function fetchAccessToken(baseUrl, client) {
  try {
    const r = await request(`${baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      },
      body: 'grant_type=client_credentials',
    });
    if (r.status !== 200) return { token: null, why: `POST /oauth2/token answered ${r.status}` };
    const token = JSON.parse(r.body).access_token;
    return typeof token === 'string' ? { token, why: null } : { token: null, why: 'no access_token in the answer' };
  } catch (e) {
    return { token: null, why: `POST /oauth2/token failed: ${e.message}` };
  }
}

/** Writes one token per line (read by lua/tokens-rr.lua); returns the path. */
export function writeLines(dir, name, lines) {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  chmodSync(file, 0o644);
  return file;
}

/**
 * Forces two full GCs in the process listening for the inspector on `port`, then returns its
 * process.memoryUsage(). Needs the `ws` package (a devDependency); null without it.
 */
export async function memoryAfterGc(port) {
  let WebSocket;
  try {
    ({ default: WebSocket } = await import('ws'));
  } catch {
    return null;
  }
  const list = JSON.parse((await request(`http://127.0.0.1:${port}/json/list`)).body);
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
    setTimeout(() => rej(new Error('inspector: no connection')), 5000);
  });
  let id = 0;
  const call = (method, params = {}) =>
    new Promise((res, rej) => {
      const my = ++id;
      const timer = setTimeout(() => rej(new Error(`inspector: ${method} timed out`)), 30_000);
      const onMsg = (m) => {
        const msg = JSON.parse(String(m));
        if (msg.id !== my) return;
        clearTimeout(timer);
        ws.off('message', onMsg);
        if (msg.error) rej(new Error(`inspector: ${msg.error.message}`));
        else res(msg.result);
      };
      ws.on('message', onMsg);
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  try {
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const r = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(r.result.value);
  } finally {
    ws.close();
  }
}
