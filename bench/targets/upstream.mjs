// HTTPS upstream for the benchmark.
//   GET  -> 200, ~100-byte JSON body (fixed Content-Length)
//   POST -> body drained, 200 with a small JSON body
//   GET /__stats -> {tlsConnections, requests} (connection-reuse check)
//   GET /__bytes/N (or /any/prefix/__bytes/N) -> N bytes, streamed with backpressure (large downloads)
// Usage: node upstream.mjs [port]   (or PORT=...; 0 = any free port)
// Env:   BENCH_CERT, BENCH_KEY: PEM paths (see bench/lib/certs.mjs)
// Prints "ready <port>" on stdout once listening on 127.0.0.1.
import https from 'node:https';
import { readFileSync } from 'node:fs';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const cert = readFileSync(process.env.BENCH_CERT ?? die('BENCH_CERT not set'));
const key = readFileSync(process.env.BENCH_KEY ?? die('BENCH_KEY not set'));

function die(msg) {
  process.stderr.write(`upstream: ${msg}\n`);
  process.exit(2);
}

// 100 bytes exactly, padded so every GET answer is the same size.
const base = { ok: true, service: 'bench-upstream', items: [1, 2, 3], pad: '' };
base.pad = 'x'.repeat(100 - Buffer.byteLength(JSON.stringify(base)));
const GET_BODY = Buffer.from(JSON.stringify(base));
const GET_HEADERS = { 'content-type': 'application/json', 'content-length': GET_BODY.length };

// Counters, served on GET /__stats so the runner can check connection reuse.
const stats = { tlsConnections: 0, requests: 0 };

const server = https.createServer({ cert, key, keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
  stats.requests++;
  if (req.method === 'POST' || req.method === 'PUT') {
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
    });
    req.on('end', () => {
      const body = Buffer.from(`{"ok":true,"received":${n}}`);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
    return;
  }
  const big = /\/__bytes\/(\d+)$/.exec(req.url ?? '');
  if (big) {
    streamBytes(res, Math.min(Number(big[1]), 2 ** 36));
    return;
  }
  if (req.url === '/__stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  res.writeHead(200, GET_HEADERS);
  res.end(GET_BODY);
});
const BLOCK = Buffer.alloc(64 * 1024, 0x62);

/** Writes n bytes in 64 KiB blocks, waiting for 'drain' whenever the socket buffer is full. */
function streamBytes(res, n) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
  let left = n;
  const pump = () => {
    while (left > 0) {
      const k = Math.min(left, BLOCK.length);
      left -= k;
      if (!res.write(k === BLOCK.length ? BLOCK : BLOCK.subarray(0, k))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

server.on('secureConnection', () => {
  stats.tlsConnections++;
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.maxRequestsPerSocket = 0;

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
