#!/usr/bin/env node
// Open-loop (fixed-rate) HTTP/1.1 load generator, the part of wrk2 that Debian lacks.
//
//   node bench/lib/open-loop.mjs --url URL [--rate 2000] [--duration 10] [--connections 32]
//        [--header 'Name: value' ...] [--ca FILE] [--timeout 5] [--slow-ms 10] [--trace FILE]
//
// Requests are scheduled at a fixed rate, whatever the target does: request i is due at
// t0 + i/rate. A timer wakes up about every millisecond and sends every request that has become
// due on a free keep-alive connection (one request in flight per connection, no pipelining).
// When every connection is busy, due requests wait in a queue, and that wait counts as latency
// (no coordinated omission). Latency is measured from the tick at which the request was found
// due, so the generator's timer granularity (~1 ms in Node) is not charged to the target, but
// queueing behind a slow target is. The lag of the ticks behind the schedule is reported
// separately (`openLoop.tickLag*`).
//
// Prints one line `BENCH_RESULT {json}` shaped like bench/run.mjs's wrk line (requests,
// duration_us, errors, latency_us percentiles) plus an `openLoop` object, which lists the first
// 200 requests slower than --slow-ms as [ms since start, latency ms] (to see whether stalls are
// periodic). Every wait is bounded. --trace FILE writes every request as a line
// `<due, ms of CLOCK_MONOTONIC> <latency ms>` (bench/tail.mjs lays them over the target's events).
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createHistogram } from './histogram.mjs';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    rate: { type: 'string', default: '2000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    header: { type: 'string', multiple: true, default: [] },
    ca: { type: 'string' },
    timeout: { type: 'string', default: '5' },
    'slow-ms': { type: 'string', default: '10' },
    trace: { type: 'string' },
  },
});
if (!o.url) {
  process.stderr.write('open-loop: --url is required\n');
  process.exit(2);
}
const url = new URL(o.url);
const RATE = Number(o.rate);
const DURATION_MS = Number(o.duration) * 1000;
const CONNECTIONS = Number(o.connections);
const TIMEOUT_MS = Number(o.timeout) * 1000;
const SLOW_MS = Number(o['slow-ms']);
/** With --trace: [due, latency] of every request, ms (due in performance.now() time). */
const trace = o.trace ? [] : null;
/** @type {number[][]} [ms since t0, latency ms] of slow requests (at most 200) */
const slow = [];
let t0 = 0;
/** CLOCK_MONOTONIC at t0, in µs: lines the slow requests up with other tools' traces (perf -k CLOCK_MONOTONIC). */
let t0MonotonicUs = 0;
if (!(RATE > 0 && RATE <= 200_000 && DURATION_MS > 0 && DURATION_MS <= 600_000 && CONNECTIONS >= 1 && CONNECTIONS <= 4096)) {
  process.stderr.write('open-loop: --rate (1..200000), --duration (s, <= 600) and --connections (1..4096) out of range\n');
  process.exit(2);
}
const secure = url.protocol === 'https:';
const ca = o.ca ? readFileSync(o.ca) : undefined;
const port = Number(url.port || (secure ? 443 : 80));

const head = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
for (const h of o.header) head.push(h);
const REQUEST = Buffer.from(`${head.join('\r\n')}\r\n\r\n`);
const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

const hist = createHistogram();
const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
let bytes = 0;
let completed = 0;
let sent = 0;
let scheduled = 0;
let dropped = 0;
let reconnects = 0;
let queueMax = 0;
let tickLagMax = 0;
let tickLagSum = 0;
let ticks = 0;
const MAX_RECONNECTS = 1000;
const MAX_QUEUE = Math.ceil(RATE * 5);

/** @type {number[]} start times of due requests waiting for a connection */
const queue = [];
let queueHead = 0;
/** @type {Conn[]} */
const free = [];
const all = new Set();

/**
 * @typedef {{ socket: net.Socket, busy: boolean, start: number, chunks: Buffer[], length: number,
 *             need: number, chunked: boolean, status: number, headerLen: number }} Conn
 */

function connect() {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host: url.hostname, port, ca, servername: /^[\d.]+$/.test(url.hostname) ? 'localhost' : url.hostname })
      : net.connect({ host: url.hostname, port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timeout'));
    }, 5000);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      /** @type {Conn} */
      const c = { socket, busy: false, start: 0, chunks: [], length: 0, need: -1, chunked: false, status: 0, headerLen: 0 };
      socket.on('data', (d) => onData(c, d));
      socket.on('error', () => {});
      socket.on('close', () => onClose(c));
      all.add(c);
      resolve(c);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function onData(c, d) {
  bytes += d.length;
  c.chunks.push(d);
  c.length += d.length;
  const buf = c.chunks.length === 1 ? c.chunks[0] : Buffer.concat(c.chunks, c.length);
  c.chunks = [buf];
  if (c.need < 0) {
    const end = buf.indexOf(HEADER_END);
    if (end < 0) return;
    c.headerLen = end + 4;
    const headText = buf.subarray(0, end).toString('latin1');
    c.status = Number(headText.slice(9, 12));
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
    c.chunked = !cl && /\r\ntransfer-encoding:\s*chunked/i.test(headText);
    c.need = cl ? Number(cl[1]) : 0;
  }
  const done = c.chunked
    ? buf.length >= c.headerLen + 5 && buf.subarray(buf.length - 5).equals(CHUNKED_END)
    : buf.length >= c.headerLen + c.need;
  if (!done) return;
  const now = performance.now();
  hist.record((now - c.start) * 1000);
  trace?.push(c.start, now - c.start);
  if (now - c.start >= SLOW_MS && slow.length < 200) slow.push([Math.round(c.start - t0), Math.round((now - c.start) * 10) / 10]);
  completed++;
  if (c.status >= 400 || c.status < 200) errors.status++;
  c.chunks = [];
  c.length = 0;
  c.need = -1;
  c.busy = false;
  release(c);
}

function onClose(c) {
  all.delete(c);
  const idx = free.indexOf(c);
  if (idx >= 0) free.splice(idx, 1);
  if (c.busy) errors.read++;
  c.busy = false;
  if (!stopping && reconnects < MAX_RECONNECTS) {
    reconnects++;
    connect().then(release, () => {
      errors.connect++;
    });
  }
}

function send(c, start) {
  c.busy = true;
  c.start = start;
  sent++;
  c.socket.write(REQUEST);
}

function release(c) {
  if (queueHead < queue.length) {
    const start = queue[queueHead++];
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
    send(c, start);
    return;
  }
  free.push(c);
}

function dispatch(start) {
  const c = free.pop();
  if (c) return send(c, start);
  if (queue.length - queueHead >= MAX_QUEUE) {
    dropped++;
    errors.timeout++;
    return;
  }
  queue.push(start);
  queueMax = Math.max(queueMax, queue.length - queueHead);
}

let stopping = false;

async function main() {
  const conns = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      connect().catch(() => {
        errors.connect++;
        return null;
      }),
    ),
  );
  for (const c of conns) if (c) free.push(c);
  if (free.length === 0) {
    process.stderr.write(`open-loop: no connection to ${url.host}\n`);
    process.exit(1);
  }
  const total = Math.floor((DURATION_MS / 1000) * RATE);
  t0 = performance.now();
  t0MonotonicUs = Number(process.hrtime.bigint() / 1000n);
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) * RATE) / 1000));
      if (due > scheduled) {
        const lag = now - (t0 + (scheduled * 1000) / RATE);
        ticks++;
        tickLagSum += lag;
        if (lag > tickLagMax) tickLagMax = lag;
      }
      while (scheduled < due) {
        scheduled++;
        dispatch(now);
      }
      // Requests stuck longer than the timeout: counted, and their connection replaced.
      for (const c of all) {
        if (c.busy && now - c.start > TIMEOUT_MS) {
          errors.timeout++;
          c.busy = false;
          c.socket.destroy();
        }
      }
      if (scheduled >= total) return resolve();
      setTimeout(tick, 0);
    };
    tick();
  });
  const sendEnd = performance.now();
  // Drain: wait (bounded) for the requests still in flight or queued.
  const deadline = performance.now() + TIMEOUT_MS;
  while (completed + errors.read + errors.timeout - dropped < scheduled - dropped && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  stopping = true;
  const elapsed = sendEnd - t0;
  const s = hist.summary();
  const result = {
    requests: completed,
    duration_us: Math.round(elapsed * 1000),
    bytes,
    errors,
    latency_us: { mean: s.mean, stdev: 0, max: s.max, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999 },
    openLoop: {
      rate: RATE,
      scheduled,
      sent,
      dropped,
      connections: CONNECTIONS,
      queueMax,
      reconnects,
      tickLagMeanMs: ticks ? tickLagSum / ticks : 0,
      tickLagMaxMs: tickLagMax,
      slowMs: SLOW_MS,
      t0MonotonicUs,
      slow,
    },
  };
  if (trace) {
    // performance.now() and process.hrtime() are both CLOCK_MONOTONIC: a constant offset.
    const toMono = t0MonotonicUs / 1000 - t0;
    const lines = [];
    for (let i = 0; i < trace.length; i += 2) lines.push(`${(trace[i] + toMono).toFixed(3)} ${trace[i + 1].toFixed(3)}`);
    writeFileSync(o.trace, `${lines.join('\n')}\n`);
  }
  process.stdout.write(`Requests/sec: ${(completed / (elapsed / 1000)).toFixed(2)}\n`);
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  for (const c of all) c.socket.destroy();
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write(`open-loop: ${e?.stack ?? e}\n`);
  process.exit(1);
});
