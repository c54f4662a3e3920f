// Minimal forwarder on an undici Pool: plain HTTP in, HTTPS to the upstream
// over one keep-alive Pool that trusts the bench CA.
// Usage: node undici-forwarder.mjs [port]   (or PORT=...)
// Env:   UPSTREAM_URL (https://127.0.0.1:PORT), BENCH_CA (CA PEM path)
//        UNDICI_MODE  dispatch (default) | stream | request: which undici API
//                     carries the response back (all three are kept so the
//                     choice can be re-measured).
//        UNDICI_CONNECTIONS  Pool size (default 128)
// Prints "ready <port>" on stdout once listening on 127.0.0.1.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const target = process.env.UPSTREAM_URL;
if (!target || !process.env.BENCH_CA) {
  process.stderr.write('undici-forwarder: UPSTREAM_URL and BENCH_CA are required\n');
  process.exit(2);
}
const mode = process.env.UNDICI_MODE ?? 'dispatch';
const upstream = new URL(target);
const ca = readFileSync(process.env.BENCH_CA);
// SNI may not carry an IP address; verification still checks the IP SAN.
const servername = /^[\d.]+$|:/.test(upstream.hostname) ? undefined : upstream.hostname;

const pool = new Pool(upstream.origin, {
  connections: Number(process.env.UNDICI_CONNECTIONS ?? 128),
  pipelining: 1,
  keepAliveTimeout: 30_000,
  // One SecureContext for every connection, as the gateway does (src/forward/upstream-pools.ts):
  // passing `ca` would rebuild the trust store (~20 ms of CPU) on each new upstream connection,
  // which shows as p99 spikes whenever the pool grows or reconnects after an idle period.
  connect: { secureContext: createSecureContext({ ca }), servername, rejectUnauthorized: true },
});

// Hop-by-hop headers (RFC 9110 §7.6.1), Host (the Pool sets it from the
// origin, i.e. changeOrigin) and Expect (node's server already answered
// 100-continue) are not forwarded; undici refuses several of them.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
]);

function requestHeaders(raw) {
  const out = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has(raw[i].toLowerCase())) out.push(raw[i], raw[i + 1]);
  }
  return out;
}

function responseHeaders(headers) {
  for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']) {
    if (h in headers) delete headers[h];
  }
  return headers;
}

function fail(res, err) {
  if (process.env.BENCH_DEBUG) process.stderr.write(`undici-forwarder: ${err?.code ?? ''} ${err?.message}\n`);
  if (!res.headersSent) {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('bad gateway\n');
  } else {
    res.destroy(err);
  }
}

function hasBody(req) {
  return req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
}

function opts(req) {
  return {
    path: req.url,
    method: req.method,
    headers: requestHeaders(req.rawHeaders),
    body: hasBody(req) ? req : null,
  };
}

// dispatch: the lowest-level API; the handler writes straight into `res`
// and applies backpressure through controller.pause()/resume().
function viaDispatch(req, res) {
  pool.dispatch(opts(req), {
    onRequestStart() {},
    onResponseStart(controller, statusCode, headers) {
      res.writeHead(statusCode, responseHeaders(headers));
    },
    onResponseData(controller, chunk) {
      if (!res.write(chunk)) {
        controller.pause();
        res.once('drain', () => controller.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError(_controller, err) {
      fail(res, err);
    },
  });
}

// stream: undici writes the body into the Writable the factory returns.
function viaStream(req, res) {
  pool
    .stream(opts(req), ({ statusCode, headers }) => {
      res.writeHead(statusCode, responseHeaders(headers));
      return res;
    })
    .catch((err) => fail(res, err));
}

// request: a Readable body piped into res.
function viaRequest(req, res) {
  pool.request(opts(req)).then(
    ({ statusCode, headers, body }) => {
      res.writeHead(statusCode, responseHeaders(headers));
      body.on('error', (err) => fail(res, err));
      body.pipe(res);
    },
    (err) => fail(res, err),
  );
}

const handlers = { dispatch: viaDispatch, stream: viaStream, request: viaRequest };
const handle = handlers[mode];
if (!handle) {
  process.stderr.write(`undici-forwarder: unknown UNDICI_MODE ${mode}\n`);
  process.exit(2);
}

const server = http.createServer(handle);
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port} ${mode}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
