#!/usr/bin/env node
// One large transfer through a forwarder, for its streaming memory (peak RSS of the
// gateway during a 1 GiB upload and a 1 GiB download: bodies are streamed, never buffered whole).
//
//   node bench/lib/big-transfer.mjs --mode upload|download --url URL --bytes N
//        [--header 'Name: value' ...] [--timeout 300]
//
// upload:   POST of N bytes (Content-Length, 1 MiB writes with backpressure); the bench
//           upstream drains the body and answers {"received": n}.
// download: GET of URL; the body is read and discarded (the bench upstream serves
//           GET /__bytes/N with N bytes).
// Prints `BENCH_TRANSFER {json}`: status, bytes sent/received, seconds, MiB/s.
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    bytes: { type: 'string', default: String(2 ** 30) },
    header: { type: 'string', multiple: true, default: [] },
    timeout: { type: 'string', default: '300' },
  },
});
const url = new URL(o.url ?? 'http://127.0.0.1/');
const BYTES = Number(o.bytes);
if (!['upload', 'download'].includes(o.mode ?? '') || !(BYTES > 0 && BYTES <= 2 ** 36) || url.protocol !== 'http:') {
  process.stderr.write('big-transfer: --mode upload|download, --url http://…, --bytes 1..2^36 required\n');
  process.exit(2);
}
const headers = {};
for (const h of o.header) {
  const i = h.indexOf(':');
  headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
}
const CHUNK = Buffer.alloc(1024 * 1024, 0x61);
const t0 = process.hrtime.bigint();
const timer = setTimeout(
  () => {
    process.stderr.write('big-transfer: timed out\n');
    process.exit(1);
  },
  Number(o.timeout) * 1000,
);

function finish(status, sentBytes, receivedBytes, body) {
  clearTimeout(timer);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const moved = o.mode === 'upload' ? sentBytes : receivedBytes;
  const result = {
    mode: o.mode,
    status,
    bytesSent: sentBytes,
    bytesReceived: receivedBytes,
    seconds,
    mibPerS: moved / 2 ** 20 / seconds,
    body,
  };
  process.stdout.write(`BENCH_TRANSFER ${JSON.stringify(result)}\n`);
  process.exit(status === 200 ? 0 : 1);
}

const req = http.request(
  url,
  {
    method: o.mode === 'upload' ? 'POST' : 'GET',
    agent: false,
    headers: o.mode === 'upload' ? { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(BYTES) } : headers,
  },
  (res) => {
    let received = 0;
    const keep = [];
    res.on('data', (d) => {
      received += d.length;
      if (o.mode === 'upload' && received < 4096) keep.push(d);
    });
    res.on('end', () =>
      finish(
        res.statusCode,
        o.mode === 'upload' ? sent : 0,
        received,
        o.mode === 'upload' ? Buffer.concat(keep).toString('utf8') : undefined,
      ),
    );
    res.on('error', (e) => {
      process.stderr.write(`big-transfer: ${e.message}\n`);
      process.exit(1);
    });
  },
);
req.on('error', (e) => {
  process.stderr.write(`big-transfer: ${e.message}\n`);
  process.exit(1);
});

let sent = 0;
if (o.mode === 'upload') {
  const pump = () => {
    while (sent < BYTES) {
      const n = Math.min(CHUNK.length, BYTES - sent);
      sent += n;
      if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
} else {
  req.end();
}
