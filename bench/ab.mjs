// A/B of gateway builds: the same configuration served by two (or more) compiled trees, loaded
// alternately A B A B … so machine noise hits every build alike. Reports CPU µs per request of
// each gateway process (median, min–max) and its ratio to the first build. For deciding whether
// a change to the request path pays; the full instrument is run.mjs.
//
//   node bench/ab.mjs --dist dist --dist /tmp/other-build/dist [--path /open/items]
//                     [--auth bearer] [--rounds 8] [--duration 3] [--connections 50]
//   node bench/ab.mjs --dist dist --dist 'dist --max-semi-space-size=8'   (same build, node flags)
//   node bench/ab.mjs --dist A --dist B --kind routes --lua lua/routes-rr.lua  (scenario 7's load)
//   --keep leaves the work directory (each gateway's stdout, e.g. with 'dist --trace-gc')
//
// A build directory is what `tsc -p tsconfig.json --outDir X` produces; it must resolve this
// repository's node_modules (e.g. lie inside the repo, or next to a node_modules symlink).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createCerts } from './lib/certs.mjs';
import { probe } from './lib/http-client.mjs';
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
    kind: { type: 'string', default: 'main' },
    lua: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
if (opt.dist.length < 2) {
  process.stderr.write('usage: node bench/ab.mjs --dist A --dist B [--path /open/items] [--auth none|bearer] [--rounds 8] [--duration 3]\n');
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

const taskset = spawnSync('taskset', ['--version']).error ? null : 'taskset';
function start(cmd, args, cpus, env = {}, stdout = 'pipe') {
  const full = taskset ? ['taskset', ['-c', cpus, cmd, ...args]] : [cmd, args];
  const child = spawn(full[0], full[1], { env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  children.push(child);
  return child;
}
function readyPort(child) {
  return new Promise((resolveReady, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('not ready within 30 s')), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveReady(Number(m[1]));
      }
    });
  });
}
async function freePort() {
  const net = await import('node:net');
  return new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => r(port));
    });
  });
}

mkdirSync(join(work, 'certs'));
const certs = createCerts({ dir: join(work, 'certs') });
const upstream = start(process.execPath, [join(root, 'bench/targets/upstream.mjs'), '0'], '0', { BENCH_CERT: certs.cert, BENCH_KEY: certs.key });
const upstreamUrl = `https://127.0.0.1:${await readyPort(upstream)}`;

const gateways = [];
for (const [i, distArg] of opt.dist.entries()) {
  const [distDir = 'dist', ...nodeFlags] = distArg.split(/\s+/);
  const dist = resolve(root, distDir);
  const ports = { listen: await freePort(), metrics: await freePort(), admin: await freePort() };
  const dir = join(work, `gw-${i}`);
  const storeUrl = `sqlite:${join(dir, 'store.db')}`;
  const file = writeGatewayConfig(dir, opt.kind, { ports, upstreamUrl, caPath: certs.caCert, storeUrl });
  const { tokens } = await createCredentials(dist, storeUrl, { tokens: 1 });
  // The access log goes to a file, as in run.mjs: a pipe would not be read while wrk runs
  // (spawnSync), and a full pipe changes what the gateway does.
  const accessLog = openSync(join(dir, 'access.log'), 'a');
  const child = start(process.execPath, [...nodeFlags, join(dist, 'src/cli/main.js'), 'start', '--config', file], '0', {}, accessLog);
  closeSync(accessLog);
  for (let i = 0; i < 600 && (await probe(`http://127.0.0.1:${ports.metrics}/readyz`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  gateways.push({ name: distArg, pid: child.pid, url: `http://127.0.0.1:${ports.listen}${opt.path}`, token: tokens[0], cpu: [] });
}

function wrk(g, seconds) {
  const args = ['-t1', `-c${opt.connections}`, `-d${seconds}s`];
  if (opt.auth === 'bearer') args.push('-H', `Authorization: Bearer ${g.token}`);
  if (opt.lua) args.push('-s', join(root, 'bench', opt.lua));
  args.push(g.url);
  const full = taskset ? ['taskset', ['-c', '1', 'wrk', ...args]] : ['wrk', args];
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
  if (requests === 0 || non2xx > 0) throw new Error(`wrk against ${g.name}: ${r.stdout}${r.stderr}`);
  return requests;
}

for (const g of gateways) wrk(g, 2); // warm-up
for (let round = 1; round <= Number(opt.rounds); round++) {
  for (const g of gateways) {
    const c0 = treeCpuSeconds(g.pid);
    const n = wrk(g, Number(opt.duration));
    g.cpu.push(((treeCpuSeconds(g.pid) - c0) * 1e6) / n);
  }
  process.stderr.write(`round ${round}: ${gateways.map((g) => `${g.name} ${g.cpu.at(-1).toFixed(1)}`).join('  ')} µs/req\n`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ratios = (g) => g.cpu.map((c, i) => c / gateways[0].cpu[i]);
process.stdout.write(`\n| build | CPU µs/req median (min–max) | ÷ first, per round: median (min–max) |\n| --- | --: | --: |\n`);
for (const g of gateways) {
  const r = ratios(g);
  process.stdout.write(`| ${g.name} | ${median(g.cpu).toFixed(1)} (${Math.min(...g.cpu).toFixed(1)}–${Math.max(...g.cpu).toFixed(1)}) | ${median(r).toFixed(3)} (${Math.min(...r).toFixed(3)}–${Math.max(...r).toFixed(3)}) |\n`);
}
process.stdout.write(`\n${opt.path}, auth ${opt.auth}, wrk -t1 -c${opt.connections} ${opt.duration} s × ${opt.rounds} rounds; ${taskset ? 'gateways and upstream on CPU 0, wrk on CPU 1' : 'no taskset: unpinned'}\n`);
process.exit(0);
