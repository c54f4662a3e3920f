// The benchmark's processes, targets and scenarios, as data.
//
// A PROCESS is something the runner starts (each in its own child process) and measures:
//   description  one line
//   command(ctx) -> { cmd, args, env?, tmp? } for forwarders and nginx
//   gateway      instead of command: a Portcullis gateway of this kind (bench/lib/portcullis.mjs
//                gatewayConfig: main | nolog | ws | inv | routes); the runner writes its config and
//                credentials and starts `node dist/src/cli/main.js start --config FILE` with its
//                stdout (the access log) going to a file
//   store        the gateway kind whose store (and credentials) it shares (default: its own)
//   skip(ctx)    -> a reason string when it cannot run here, else null
//   ready        'stdout': wait for a "ready <port>" line; 'probe': poll the target's URL
//   runtime      'image': the gateway runs on the Docker image's Node.js major (bench/lib/runtime.mjs)
//   workers      the gateway's `workers` (processes behind its listener; default 1)
// The upstream is started first and is the process "upstream".
//
// A TARGET is one load pattern against one process; the runner interleaves targets:
//   process      key of PROCESSES, or 'upstream'
//   path         request path (wrk's URL); lua scripts may override it per request
//   headers(ctx) optional { name: value } sent on every request (wrk -H)
//   lua          optional wrk script (relative to bench/); must not define done()
//   env(ctx)     optional environment of the load generator (read by the Lua scripts)
//   probe(ctx)   optional { path, headers } of the pre-flight GET (default: path and headers)
//   expectStatus status of the pre-flight GET and of every request (default 200)
//   driver       'wrk' (closed loop, default) or 'openloop' (bench/lib/open-loop.mjs, fixed rate)
//   skip(ctx)    optional reason to skip
//   scenario     scenario number (bench/README.md), for the report
//
// ctx: { root, benchDir, dist, certs, upstreamPort, upstreamUrl, nginxBin, node, port (this
//        process's port), creds: { main: { bearer, basic, jwt, jwtWhy }, ws: { file, first },
//        inv: { wellFormedFile, garbageFile, ... } }, bodyBytes }
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareNginx } from './nginx.mjs';
import { imageNodeMajor } from '../lib/runtime.mjs';

const T = (ctx, file) => join(ctx.benchDir, 'targets', file);

const forwarderEnv = (ctx) => ({
  PORT: String(ctx.port),
  UPSTREAM_URL: ctx.upstreamUrl,
  BENCH_CA: ctx.certs.caCert,
});

const undiciProcess = (mode, description) => ({
  description,
  command: (ctx) => ({ cmd: ctx.node, args: [T(ctx, 'undici-forwarder.mjs')], env: { ...forwarderEnv(ctx), UNDICI_MODE: mode } }),
  ready: 'stdout',
});

const noNginx = (ctx) => (ctx.nginxBin ? null : 'nginx not found on PATH or in /usr/sbin');

/** @type {Record<string, object>} */
export const PROCESSES = {
  'http-proxy': {
    description: 'http-proxy-3 createProxyServer, keep-alive https.Agent',
    command: (ctx) => ({ cmd: ctx.node, args: [T(ctx, 'http-proxy-forwarder.mjs')], env: forwarderEnv(ctx) }),
    ready: 'stdout',
  },
  undici: undiciProcess('dispatch', 'undici Pool.dispatch, handler writes into the ServerResponse'),
  'undici-stream': undiciProcess('stream', 'undici Pool.stream, factory returns the ServerResponse'),
  'undici-request': undiciProcess('request', 'undici Pool.request, body piped into the ServerResponse'),
  nginx: {
    description: 'nginx, 1 worker, keepalive upstream block, proxy_ssl_verify on',
    skip: noNginx,
    command: (ctx) => prepareNginx({ bin: ctx.nginxBin, port: ctx.port, upstreamPort: ctx.upstreamPort, caPath: ctx.certs.caCert }),
    ready: 'probe',
  },
  'nginx-map': {
    description: 'nginx as above plus `map $http_authorization` admitting one Bearer value (401 otherwise), Authorization not forwarded',
    skip: noNginx,
    command: (ctx) =>
      prepareNginx({
        bin: ctx.nginxBin,
        port: ctx.port,
        upstreamPort: ctx.upstreamPort,
        caPath: ctx.certs.caCert,
        authorization: ctx.creds.main.bearer,
      }),
    ready: 'probe',
  },
  'gw-main': {
    description: 'Portcullis: /open (auth off) and /api (Bearer or Basic), default cache, access log to a file, metrics on',
    gateway: 'main',
    ready: 'probe',
  },
  'gw-nolog': {
    description: 'Portcullis: as gw-main with log.level warn (no access log), same store',
    gateway: 'nolog',
    store: 'main',
    ready: 'probe',
  },
  'gw-ws': { description: 'Portcullis: as gw-main, store of 100,000 tokens, cache.maxEntries 10,000', gateway: 'ws', ready: 'probe' },
  'gw-inv': { description: 'Portcullis: as gw-main, under floods of invalid tokens', gateway: 'inv', ready: 'probe' },
  'gw-routes': { description: 'Portcullis: 10,000 routes (auth off)', gateway: 'routes', ready: 'probe' },
};

const bearer = (ctx) => ({ Authorization: ctx.creds.main.bearer });

/** @type {Record<string, object>} */
export const TARGETS = {
  // ---- baselines
  direct: { description: 'wrk straight to the HTTPS upstream (no forwarder; TLS on the wrk side)', process: 'upstream', path: '/' },
  'http-proxy': { description: PROCESSES['http-proxy'].description, process: 'http-proxy', path: '/' },
  undici: { description: PROCESSES.undici.description, process: 'undici', path: '/' },
  'undici-stream': { description: PROCESSES['undici-stream'].description, process: 'undici-stream', path: '/' },
  'undici-request': { description: PROCESSES['undici-request'].description, process: 'undici-request', path: '/' },
  nginx: { description: PROCESSES.nginx.description, process: 'nginx', path: '/' },
  'nginx-map': {
    description: 'nginx with the Authorization map, a valid Bearer on every request',
    process: 'nginx-map',
    path: '/',
    headers: bearer,
  },

  // ---- Portcullis, the scenarios of bench/README.md
  'pc-1-open': { scenario: '1', description: 'auth: off route, GET, 100 B answer', process: 'gw-main', path: '/open/items' },
  'pc-2-bearer': { scenario: '2', description: 'Bearer API token, cache hit', process: 'gw-main', path: '/api/items', headers: bearer },
  'pc-2-nolog': {
    scenario: '2',
    description: 'as pc-2-bearer with the access log off (log.level warn): what the access log costs',
    process: 'gw-nolog',
    path: '/api/items',
    headers: bearer,
  },
  'pc-3-basic': {
    scenario: '3',
    description: 'Basic client_id:client_secret of an OAuth client, cache hit',
    process: 'gw-main',
    path: '/api/items',
    headers: (ctx) => ({ Authorization: ctx.creds.main.basic }),
  },
  'pc-4-jwt': {
    scenario: '4',
    description: 'Bearer access token (JWT) from POST /oauth2/token, cache hit',
    process: 'gw-main',
    path: '/api/items',
    skip: (ctx) => (ctx.creds.main.jwt ? null : `not available (${ctx.creds.main.jwtWhy})`),
    headers: (ctx) => ({ Authorization: `Bearer ${ctx.creds.main.jwt}` }),
  },
  'pc-5-workingset': {
    scenario: '5',
    description: '100,000 distinct valid tokens in round robin, cache.maxEntries 10,000 (store reads on the request path)',
    process: 'gw-ws',
    path: '/api/items',
    lua: 'lua/tokens-rr.lua',
    env: (ctx) => ({ BENCH_TOKENS_FILE: ctx.creds.ws.file, BENCH_PATH: '/api/items' }),
    probe: (ctx) => ({ path: '/api/items', headers: { Authorization: `Bearer ${ctx.creds.ws.first}` } }),
  },
  'pc-6-invalid': {
    scenario: '6',
    description: 'flood of unknown tokens with a valid checksum (each reaches the store), 401',
    process: 'gw-inv',
    path: '/api/items',
    lua: 'lua/tokens-rr.lua',
    env: (ctx) => ({ BENCH_TOKENS_FILE: ctx.creds.inv.wellFormedFile, BENCH_PATH: '/api/items' }),
    probe: (ctx) => ({ path: '/api/items', headers: { Authorization: `Bearer ${ctx.creds.inv.wellFormedFirst}` } }),
    expectStatus: 401,
  },
  'pc-6-garbage': {
    scenario: '6',
    description: 'flood of random pcl_ tokens with a wrong checksum (refused before the store), 401',
    process: 'gw-inv',
    path: '/api/items',
    lua: 'lua/tokens-rr.lua',
    env: (ctx) => ({ BENCH_TOKENS_FILE: ctx.creds.inv.garbageFile, BENCH_PATH: '/api/items' }),
    probe: (ctx) => ({ path: '/api/items', headers: { Authorization: `Bearer ${ctx.creds.inv.garbageFirst}` } }),
    expectStatus: 401,
  },
  'pc-7-routes': {
    scenario: '7',
    description: '10,000 routes in the table (auth off), requests spread over all of them',
    process: 'gw-routes',
    path: '/svc-0000/v0/items/42',
    lua: 'lua/routes-rr.lua',
    env: () => ({ BENCH_ROUTES: '10000' }),
  },

  // ---- 1 MiB POST bodies (scenario 8)
  'direct-post': {
    description: 'POST 1 MiB straight to the upstream',
    process: 'upstream',
    path: '/upload',
    lua: 'lua/post-body.lua',
    env: (ctx) => ({ BENCH_BODY_BYTES: String(ctx.bodyBytes) }),
    post: true,
  },
  'undici-post': {
    description: 'POST 1 MiB through the undici forwarder',
    process: 'undici',
    path: '/upload',
    lua: 'lua/post-body.lua',
    env: (ctx) => ({ BENCH_BODY_BYTES: String(ctx.bodyBytes) }),
    post: true,
  },
  'nginx-post': {
    description: 'POST 1 MiB through nginx (proxy_request_buffering off)',
    process: 'nginx',
    path: '/upload',
    lua: 'lua/post-body.lua',
    env: (ctx) => ({ BENCH_BODY_BYTES: String(ctx.bodyBytes) }),
    post: true,
  },
  'pc-8-post': {
    scenario: '8',
    description: 'POST 1 MiB with a Bearer token (streamed)',
    process: 'gw-main',
    path: '/api/upload',
    headers: bearer,
    lua: 'lua/post-body.lua',
    env: (ctx) => ({ BENCH_BODY_BYTES: String(ctx.bodyBytes) }),
    post: true,
  },

  // ---- fixed rate, open loop (scenario 9)
  'ol-direct': {
    description: 'fixed rate straight to the upstream (TLS on the generator side)',
    process: 'upstream',
    path: '/',
    driver: 'openloop',
  },
  'ol-undici': { description: 'fixed rate through the undici forwarder', process: 'undici', path: '/', driver: 'openloop' },
  'ol-nginx-map': {
    description: 'fixed rate through nginx with the Authorization map',
    process: 'nginx-map',
    path: '/',
    headers: bearer,
    driver: 'openloop',
  },
  'ol-pc-2-bearer': {
    scenario: '9',
    description: 'fixed rate, Bearer API token, cache hit',
    process: 'gw-main',
    path: '/api/items',
    headers: bearer,
    driver: 'openloop',
  },
};

// ---- the same gateway on the image's runtime, and with 2 workers (scenarios 1, 2 and 9)
/**
 * The Node.js major the Docker image ships, e.g. 26: targets `pc-2-bearer@node26`, `…@w2`, `…@node26-w2`,
 * and the workers again with V8's GC helper threads kept (`…@w2-gc-threads`, `…@node26-w2-gc-threads`:
 * `--no-single-threaded-gc`, which the primary passes on; by default workers as many as the CPUs
 * collect on their main thread, docs/decisions/0025, "GC threads").
 */
export const IMAGE_NODE = imageNodeMajor(resolve(dirname(fileURLToPath(import.meta.url)), '../..'));
const VARIANTS = {
  [`@node${IMAGE_NODE}`]: { runtime: 'image', what: `on Node.js ${IMAGE_NODE} (the image's)` },
  '@w2': { workers: 2, what: 'with 2 workers (node:cluster)' },
  [`@node${IMAGE_NODE}-w2`]: { runtime: 'image', workers: 2, what: `on Node.js ${IMAGE_NODE} with 2 workers` },
  '@w2-gc-threads': { workers: 2, nodeFlags: ['--no-single-threaded-gc'], what: 'with 2 workers and GC helper threads' },
  [`@node${IMAGE_NODE}-w2-gc-threads`]: {
    runtime: 'image',
    workers: 2,
    nodeFlags: ['--no-single-threaded-gc'],
    what: `on Node.js ${IMAGE_NODE} with 2 workers and GC helper threads`,
  },
};
const VARIED = ['pc-1-open', 'pc-2-bearer', 'ol-pc-2-bearer'];
for (const [suffix, v] of Object.entries(VARIANTS)) {
  PROCESSES[`gw-main${suffix}`] = {
    description: `${PROCESSES['gw-main'].description}; ${v.what}`,
    gateway: 'main',
    store: 'main',
    ready: 'probe',
    ...(v.runtime ? { runtime: v.runtime } : {}),
    ...(v.workers ? { workers: v.workers } : {}),
    ...(v.nodeFlags ? { nodeFlags: v.nodeFlags } : {}),
  };
  for (const name of VARIED) {
    TARGETS[`${name}${suffix}`] = { ...TARGETS[name], description: `${TARGETS[name].description}; ${v.what}`, process: `gw-main${suffix}` };
  }
}
/** The variants of the runtimes scenario: the runtime and the workers, not the node flags. */
const RUNTIME_VARIANTS = Object.keys(VARIANTS).filter((v) => VARIANTS[v].nodeFlags === undefined);
for (const [name, t] of Object.entries(TARGETS)) t.name = name;

const BASELINES = ['direct', 'http-proxy', 'undici', 'nginx', 'nginx-map'];
const PORTCULLIS = [
  'pc-1-open',
  'pc-2-bearer',
  'pc-2-nolog',
  'pc-3-basic',
  'pc-4-jwt',
  'pc-5-workingset',
  'pc-6-invalid',
  'pc-6-garbage',
  'pc-7-routes',
];
const POST = ['direct-post', 'undici-post', 'nginx-post', 'pc-8-post'];
// ol-undici: the engine's own added latency, the floor under scenario 9.
const OPEN_LOOP = ['ol-direct', 'ol-undici', 'ol-nginx-map', 'ol-pc-2-bearer'];

/** Named groups of targets; `--only` accepts scenario names and target names. */
export const SCENARIOS = {
  all: [...BASELINES, ...PORTCULLIS, ...POST, ...OPEN_LOOP],
  portcullis: [...BASELINES, ...PORTCULLIS],
  post: POST,
  openloop: OPEN_LOOP,
  engines: ['direct', 'http-proxy', 'undici', 'nginx'],
  'undici-modes': ['undici', 'undici-stream', 'undici-request'],
  // Scenarios 1, 2 and 9 on this machine's Node.js and on the image's, 1 and 2 workers.
  runtimes: [
    'undici',
    ...['', ...RUNTIME_VARIANTS].flatMap((v) => [`pc-1-open${v}`, `pc-2-bearer${v}`]),
    'ol-undici',
    ...['', ...RUNTIME_VARIANTS].map((v) => `ol-pc-2-bearer${v}`),
  ],
  // Two workers on the image's Node.js, GC on the main thread (the default) against helper threads.
  'gc-threads': [`@node${IMAGE_NODE}-w2`, `@node${IMAGE_NODE}-w2-gc-threads`].flatMap((v) => [`pc-2-bearer${v}`, `ol-pc-2-bearer${v}`]),
  // A short check of the gateway against its floor (handy while iterating).
  quick: ['direct', 'undici', 'nginx-map', 'pc-1-open', 'pc-2-bearer'],
};
