#!/usr/bin/env node
/**
 * How two processes share a listening port, measured for decision 0016: node:cluster with the
 * primary handing out connections round-robin (`rr`, Node's default on Linux), node:cluster with
 * the kernel choosing among processes sharing one socket (`none`), and independent processes with
 * SO_REUSEPORT (`reuseport`, Node ≥ 22.12 / 23.1 only), against one process (`single`).
 *
 * The server is trivial (a 2-byte answer after ~50 µs of CPU, roughly the gateway's cost of a
 * refusal), so what differs is the dispatch. wrk, in its own process, loads it; each worker counts
 * the requests it answered, to show how evenly they were spread.
 *
 *   node bench/workers-listen.mjs [seconds=8] [connections=32]
 *   (prints one JSON line per mode and load: keep-alive, and one connection per request)
 */
import cluster from 'node:cluster';
import { execFile, execFileSync, fork } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const WORK_US = 50;

function serve(port, options) {
  let served = 0;
  const server = http.createServer((_req, res) => {
    const until = process.hrtime.bigint() + BigInt(WORK_US * 1000);
    while (process.hrtime.bigint() < until);
    served++;
    res.end('ok');
  });
  server.listen({ port, host: '127.0.0.1', ...options }, () => process.send?.({ listening: true }));
  process.on('message', (m) => {
    if (m === 'count') process.send?.({ served });
    if (m === 'reset') served = 0;
  });
}

if (process.env.WL_ROLE === 'server') {
  serve(Number(process.env.WL_PORT), process.env.WL_REUSE === '1' ? { reusePort: true } : {});
} else if (cluster.isWorker) {
  serve(Number(process.env.WL_PORT), {});
} else {
  const seconds = Number(process.argv[2] ?? 8);
  const connections = Number(process.argv[3] ?? 32);
  const freePort = () =>
    new Promise((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
  const ask = (proc, message) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m && typeof m === 'object' && 'served' in m) {
          proc.off('message', on);
          resolve(m.served);
        }
      };
      proc.on('message', on);
      proc.send(message);
    });
  const listening = (proc) => new Promise((resolve) => proc.on('message', (m) => m?.listening && resolve()));

  const start = async (mode, port) => {
    if (mode === 'single' || mode === 'reuseport') {
      const n = mode === 'single' ? 1 : 2;
      const procs = Array.from({ length: n }, () =>
        fork(fileURLToPath(import.meta.url), [], {
          env: { ...process.env, WL_ROLE: 'server', WL_PORT: String(port), WL_REUSE: mode === 'reuseport' ? '1' : '0' },
        }),
      );
      await Promise.all(procs.map(listening));
      return { procs, stop: () => procs.forEach((p) => p.kill()) };
    }
    cluster.schedulingPolicy = mode === 'cluster-rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), args: [] });
    const procs = [cluster.fork({ WL_PORT: String(port) }), cluster.fork({ WL_PORT: String(port) })];
    await Promise.all(procs.map(listening));
    return { procs, stop: () => procs.forEach((p) => p.kill()) };
  };

  const modes = ['single', 'cluster-rr', 'cluster-none'];
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)) modes.push('reuseport');
  // cluster.schedulingPolicy is read once, when the first worker is forked: one mode per process.
  const only = process.env.WL_MODE;
  for (const mode of only ? [only] : modes) {
    if (!only && mode.startsWith('cluster')) {
      // A fresh primary per cluster mode (the policy cannot change after the first fork).
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), String(seconds), String(connections)], {
        env: { ...process.env, WL_MODE: mode },
      });
      process.stdout.write(out);
      continue;
    }
    const port = await freePort();
    const { procs, stop } = await start(mode, port);
    for (const load of ['keep-alive', 'new-connection']) {
      await Promise.all(
        procs.map((p) => {
          p.send('reset');
          return Promise.resolve();
        }),
      );
      const args = [
        '-t',
        '1',
        '-c',
        String(connections),
        '-d',
        `${seconds}s`,
        ...(load === 'new-connection' ? ['-H', 'Connection: close'] : []),
        `http://127.0.0.1:${port}/`,
      ];
      // Not execFileSync: with `rr` the primary accepts every connection, so it must not block.
      const { stdout: out } = await promisify(execFile)('wrk', args, { encoding: 'utf8' });
      if (process.env.WL_DEBUG) console.error(out);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
      const served = await Promise.all(procs.map((p) => ask(p, 'count')));
      const total = served.reduce((a, b) => a + b, 0);
      console.log(
        JSON.stringify({
          node: process.version,
          mode,
          load,
          connections,
          rps: Math.round(rps),
          share: served.map((s) => +(s / total).toFixed(3)),
        }),
      );
    }
    stop();
  }
  if (only) process.exit(0);
}
