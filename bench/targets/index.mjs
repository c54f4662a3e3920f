// The benchmark's targets and scenarios, as data.
//
// A target is what wrk is pointed at. Fields:
//   name         unique id, used by --only and in the results
//   description  one line for the README/table
//   command(ctx) -> { cmd, args, env? } to start it in its own child process,
//                or null when it measures an already running process (see pidOf)
//   skip(ctx)    -> a reason string when it cannot run here, else null
//   ready        'stdout': wait for a "ready <port>" line; 'probe': poll the URL
//   pidOf        'self' (default): CPU/RSS of the target's own process tree;
//                'upstream': of the upstream (for "direct")
//   url(ctx)     the URL wrk loads
//   headers      optional { name: value } sent by wrk (-H)
//   lua          optional wrk script path (relative to bench/); it must not
//                define done(), which the runner appends to report percentiles
//   expectStatus status the pre-flight probe must see (default 200)
//
// ctx: { root, benchDir, certs, upstreamPort, upstreamUrl, port (this target's),
//        nginxBin, node (process.execPath) }
//
// To add Portcullis later: a target whose command is
//   { cmd: ctx.node, args: ['dist/src/cli/main.js', 'start', '--config', FILE] }
// with ready: 'probe', plus the headers (credentials) its route needs, and a
// scenario that lists it next to "undici".
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { prepareNginx } from './nginx.mjs';

const T = (ctx, file) => join(ctx.benchDir, 'targets', file);

const forwarderEnv = (ctx) => ({
  PORT: String(ctx.port),
  UPSTREAM_URL: ctx.upstreamUrl,
  BENCH_CA: ctx.certs.caCert,
});

const undiciTarget = (name, mode, description) => ({
  name,
  description,
  command: (ctx) => ({ cmd: ctx.node, args: [T(ctx, 'undici-forwarder.mjs')], env: { ...forwarderEnv(ctx), UNDICI_MODE: mode } }),
  ready: 'stdout',
  url: (ctx) => `http://127.0.0.1:${ctx.port}/`,
});

/** @type {Record<string, object>} */
export const TARGETS = {
  direct: {
    name: 'direct',
    description: 'wrk straight to the HTTPS upstream (no forwarder; TLS on the wrk side)',
    command: () => null,
    pidOf: 'upstream',
    ready: 'probe',
    url: (ctx) => ctx.upstreamUrl + '/',
  },
  'http-proxy': {
    name: 'http-proxy',
    description: 'http-proxy-3 createProxyServer, keep-alive https.Agent',
    command: (ctx) => ({ cmd: ctx.node, args: [T(ctx, 'http-proxy-forwarder.mjs')], env: forwarderEnv(ctx) }),
    ready: 'stdout',
    url: (ctx) => `http://127.0.0.1:${ctx.port}/`,
  },
  undici: undiciTarget('undici', 'dispatch', 'undici Pool.dispatch, handler writes into the ServerResponse'),
  'undici-stream': undiciTarget('undici-stream', 'stream', 'undici Pool.stream, factory returns the ServerResponse'),
  'undici-request': undiciTarget('undici-request', 'request', 'undici Pool.request, body piped into the ServerResponse'),
  nginx: {
    name: 'nginx',
    description: 'nginx, 1 worker, keepalive upstream block, proxy_ssl_verify on',
    skip: (ctx) => (ctx.nginxBin ? null : 'nginx not found on PATH or in /usr/sbin'),
    command: (ctx) => {
      const n = prepareNginx({ bin: ctx.nginxBin, port: ctx.port, upstreamPort: ctx.upstreamPort, caPath: ctx.certs.caCert });
      return { cmd: n.cmd, args: n.args, tmp: n.tmp };
    },
    ready: 'probe',
    url: (ctx) => `http://127.0.0.1:${ctx.port}/`,
  },
  // Placeholder for the gateway itself; skipped until the build and a bench
  // config exist.
  portcullis: {
    name: 'portcullis',
    description: 'Portcullis gateway (node dist/src/cli/main.js start --config bench/config/portcullis.yaml)',
    skip: (ctx) => (existsSync(join(ctx.root, 'dist/src/cli/main.js')) && existsSync(join(ctx.benchDir, 'config/portcullis.yaml'))
      ? 'portcullis target not wired yet (config templating for the upstream port is still to do)'
      : 'dist/src/cli/main.js or bench/config/portcullis.yaml missing'),
    command: (ctx) => ({ cmd: ctx.node, args: [join(ctx.root, 'dist/src/cli/main.js'), 'start', '--config', join(ctx.benchDir, 'config/portcullis.yaml')] }),
    ready: 'probe',
    url: (ctx) => `http://127.0.0.1:${ctx.port}/`,
  },
};

/** Named groups of targets; `--only` accepts scenario names and target names. */
export const SCENARIOS = {
  engines: ['direct', 'http-proxy', 'undici', 'nginx'],
  'undici-modes': ['undici', 'undici-stream', 'undici-request'],
};
