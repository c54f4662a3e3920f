/**
 * Slow clients never starve the others. One peer opens many connections to an
 * `auth: off` route and trickles large bodies at 1 byte/s; another peer's request is answered
 * (not left waiting behind them). And an upstream whose connections are all busy makes a request
 * wait a bounded time in a bounded queue, then answers 503 `upstream.saturated`.
 *
 * No tight timing is asserted (the machine is shared): the bounds below are generous, the point
 * is that the answer comes at all while the slow requests are still trickling.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { send } from '../support/client.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { problemOf, trickle, type Trickle } from '../support/trickle.js';
import WebSocket from 'ws';
import { startRecordingUpstream } from '../support/upstream.js';
import { startWsUpstream } from '../support/ws-upstream.js';

const ROUTES = `
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`;

/**
 * The attacker the limits are designed against (docs/decisions/0013-slow-clients.md): 260
 * connections, each trickling a 100 kB body at 1 byte/s.
 */
const SLOW_CONNECTIONS = 260;
const BODY_BYTES = 100_000;
/** Far above a normal answer on a loaded machine, far below "waits for the slow ones" (never, here). */
const GENEROUS_MS = 10_000;

/** A GET from another loopback address (Linux routes all of 127/8 to lo). */
function sendFrom(localAddress: string, port: number, path: string): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const chunks: Buffer[] = [];
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), raw });
    });
  });
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)),
  ]);
}

test('260 connections trickling 100 kB bodies at 1 byte/s from one peer: another peer is answered; the slow peer is limited with 429s', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  const slow: Trickle[] = [];
  t.after(() => {
    for (const s of slow) s.stop();
  });
  for (let i = 0; i < SLOW_CONNECTIONS; i++) {
    slow.push(
      trickle(
        gw.port,
        `POST /open/upload-${i} HTTP/1.1\r\nHost: gw\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`,
        'x'.repeat(BODY_BYTES),
        1_000,
      ),
    );
  }
  // Let every slow connection open and send its head.
  const settled = Date.now() + 5_000;
  while (upstream.arrived.length < 64 && Date.now() < settled) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1_000));

  // Client view of the other peer: answered, 200, while the slow bodies still trickle.
  const askedAt = performance.now();
  const other = await within(sendFrom('127.0.0.2', gw.port, '/open/other'), GENEROUS_MS, 'the other peer');
  t.diagnostic(`the other peer was answered in ${Math.round(performance.now() - askedAt)} ms`);
  assert.equal(other.status, 200);
  assert.ok(
    slow.every((s) => s.sent() < BODY_BYTES),
    'the slow bodies are still trickling',
  );
  // Upstream view: the other peer's request arrived whole; of the slow peer, at most its in-flight limit.
  assert.ok(upstream.received.some((r) => r.url === '/open/other'));
  const slowArrived = upstream.arrived.filter((r) => r.url.startsWith('/open/upload-')).length;
  assert.ok(slowArrived <= 64, `slow requests that reached the upstream: ${slowArrived} (limit 64)`);

  // The slow peer's view: refusals it can act on, beyond its limits.
  const refused = await Promise.all(
    slow.map((s) => Promise.race([s.answered, new Promise<undefined>((r) => setTimeout(() => r(undefined), 200))])),
  );
  const codes = refused.flatMap((a) => (a === undefined ? [] : [problemOf(a.raw).code]));
  assert.ok(codes.length >= SLOW_CONNECTIONS - 64, `refused slow requests: ${codes.length}`);
  assert.ok(
    codes.every((c) => c === 'client.too_many_requests' || c === 'client.too_many_connections'),
    [...new Set(codes)].join(),
  );
  assert.ok(refused.every((a) => a === undefined || /\r\nretry-after: 1\r\n/i.test(a.raw)));
});

test('every upstream connection busy: one request waits up to limits.upstreamQueueTimeout, the next finds the queue full; both 503 upstream.saturated, never sent', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  // The upstream holds every request: its 256 pool connections stay busy.
  const held: import('node:http').ServerResponse[] = [];
  upstream.handle((_req, res) => void held.push(res));
  t.after(() => {
    for (const res of held) res.destroy();
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(
      ROUTES,
      'limits: { maxInFlightPerClient: 1000, maxConnectionsPerClient: 1000, upstreamQueueSize: 1, upstreamQueueTimeout: 1s }',
    ),
    { UPSTREAM: upstream.origin },
  );
  const busy: net.Socket[] = [];
  t.after(() => {
    for (const socket of busy) socket.destroy();
  });
  for (let i = 0; i < 256; i++) {
    const socket = net.connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(`GET /open/held-${i} HTTP/1.1\r\nHost: gw\r\n\r\n`);
    busy.push(socket);
  }
  const deadline = Date.now() + GENEROUS_MS;
  while (upstream.arrived.length < 256 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(upstream.arrived.length, 256, 'all pool connections busy');

  const waiting = send(gw.url, { path: '/open/waits' });
  await new Promise((r) => setTimeout(r, 100));
  const full = await within(send(gw.url, { path: '/open/queue-full' }), GENEROUS_MS, 'the request behind a full queue');
  assert.equal(full.status, 503);
  assert.equal(full.json().code, 'upstream.saturated');
  assert.equal(full.headers['retry-after'], '1');
  const waited = await within(waiting, GENEROUS_MS, 'the queued request');
  assert.equal(waited.status, 503);
  assert.equal(waited.json().code, 'upstream.saturated');

  // Upstream view: neither was ever sent, not even once a connection frees up.
  held.splice(0, 10).forEach((res) => res.end('late'));
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!upstream.arrived.some((r) => r.url === '/open/waits' || r.url === '/open/queue-full'));

  const metrics = await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' });
  assert.match(metrics.body, /portcullis_upstream_errors_total\{route="open",kind="saturated"\} 2/);
});

test('a WebSocket session counts as a request in flight of its client: beyond the limit an upgrade is refused 429 and never reaches the upstream', async (t) => {
  const upstream = await startWsUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(
      `
  - name: chat
    match: { path: /chat }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`,
      'limits: { maxInFlightPerClient: 1 }',
    ),
    { WSS: upstream.origin.replace('https://', 'wss://') },
  );
  const open = (): Promise<{ socket?: WebSocket; status?: number; body?: string }> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${gw.port}/chat`);
      socket.on('open', () => resolve({ socket }));
      socket.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      socket.on('error', reject);
    });
  const first = await open();
  assert.ok(first.socket !== undefined, 'the first session opens');
  t.after(() => first.socket?.terminate());
  const second = await open();
  assert.equal(second.status, 429);
  assert.equal((JSON.parse(second.body ?? '{}') as { code?: string }).code, 'client.too_many_requests');
  assert.equal(upstream.upgrades.length, 1, 'only the first upgrade reached the upstream');
  // Once the first session closes, its slot is free again.
  first.socket?.close();
  await new Promise((r) => setTimeout(r, 300));
  const third = await open();
  assert.ok(third.socket !== undefined);
  third.socket?.terminate();
});

test('clients that stop reading an 8 MiB response are cut after limits.responseStallTimeout: their upstream exchanges are aborted, counted as client_stalled, and another client is served', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const CHUNK = Buffer.alloc(64 * 1024, 0x61);
  const BIG = 8 * 1024 * 1024;
  // Upstream view: the connection of each big response is closed by the gateway (kernel buffers
  // may have taken the whole response; the connection is what the staller held).
  const outcomes: Array<'closed'> = [];
  upstream.handle((req, res) => {
    if (!(req.url ?? '').includes('/big')) {
      res.end('small');
      return;
    }
    res.writeHead(200, { 'content-length': String(BIG) });
    let sent = 0;
    const pump = (): void => {
      while (sent < BIG) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    req.socket.once('close', () => outcomes.push('closed'));
    pump();
  });
  const gw = await startTestGateway(t, gatewayYaml(ROUTES, 'limits: { responseStallTimeout: 2s }'), { UPSTREAM: upstream.origin });
  const STALLERS = 8;
  const stallers: net.Socket[] = [];
  t.after(() => {
    for (const socket of stallers) socket.destroy();
  });
  for (let i = 0; i < STALLERS; i++) {
    const socket = net.connect({ port: gw.port, host: '127.0.0.1', localAddress: `127.0.0.${10 + (i % 4)}` });
    socket.on('error', () => {});
    socket.write(`GET /open/big-${i} HTTP/1.1\r\nHost: gw\r\n\r\n`);
    // Never reads: the kernel's receive window fills, then the gateway's send buffer.
    socket.pause();
    stallers.push(socket);
  }
  const deadline = Date.now() + 30_000;
  while (outcomes.length < STALLERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  // Upstream view: every staller's upstream connection was closed (the route timeout, 30 s, plays no part).
  assert.deepEqual(outcomes, new Array(STALLERS).fill('closed'));
  // Client view: reading now, each staller finds its connection closed before the whole body.
  const lengths = await Promise.all(
    stallers.map(
      (socket) =>
        new Promise<number>((resolve) => {
          let bytes = 0;
          socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
          socket.on('close', () => resolve(bytes));
          socket.resume();
        }),
    ),
  );
  assert.ok(
    lengths.every((bytes) => bytes < BIG),
    lengths.join(),
  );
  // Another client of the same upstream is served.
  const other = await within(sendFrom('127.0.0.2', gw.port, '/open/other'), GENEROUS_MS, 'the other peer');
  assert.equal(other.status, 200);
  assert.ok(upstream.arrived.some((r) => r.url === '/open/other'));
  assert.match(other.raw, /\r\n\r\nsmall$/);
  const metrics = await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' });
  assert.match(metrics.body, new RegExp(`portcullis_upstream_errors_total\\{route="open",kind="client_stalled"\\} ${STALLERS}`));
});

test('a client that reads a large response slower than the upstream sends it, but steadily, is not cut', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const CHUNK = Buffer.alloc(64 * 1024, 0x62);
  const BIG = 24 * 1024 * 1024;
  upstream.handle((_req, res) => {
    res.writeHead(200, { 'content-length': String(BIG) });
    let sent = 0;
    const pump = (): void => {
      while (sent < BIG) {
        sent += CHUNK.length;
        if (!res.write(CHUNK)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const gw = await startTestGateway(t, gatewayYaml(ROUTES, 'limits: { responseStallTimeout: 3s }'), { UPSTREAM: upstream.origin });
  const received = await new Promise<number>((resolve, reject) => {
    const socket = net.connect(gw.port, '127.0.0.1');
    let bytes = 0;
    socket.write('GET /open/slow HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      // A pause after every read: slower than loopback (the gateway's writes back up), never idle for 3 s.
      socket.pause();
      setTimeout(() => socket.resume(), 10);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(bytes));
  });
  assert.ok(received > BIG, `bytes received: ${received}`);
  const metrics = await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' });
  assert.match(metrics.body, /portcullis_upstream_errors_total\{route="open",kind="client_stalled"\} 0/);
});
