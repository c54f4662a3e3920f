/**
 * Bodies are streamed, never buffered whole (docs/request-path.md "Forwarding"): 256 MiB up and 256
 * MiB down through the gateway, generated on the fly on one side and hashed on the other, while the
 * process's RSS is sampled every 100 ms. The client, the gateway and the upstream share this
 * process, so the bound on RSS growth bounds the gateway's too. (Throughput is measured in bench/,
 * not here.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
const CHUNK = 64 * 1024;
const RSS_GROWTH_LIMIT = 100 * MiB;

/** Chunk `i` of the generated body: 64 KiB of one byte value that changes with i. */
function chunk(i: number): Buffer {
  return Buffer.alloc(CHUNK, (i * 31 + 7) & 0xff);
}

/** Yields TOTAL bytes, hashing them on the way out. */
function generated(hash: ReturnType<typeof createHash>): Readable {
  let i = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (i * CHUNK >= TOTAL) {
        this.push(null);
        return;
      }
      const next = chunk(i++);
      hash.update(next);
      this.push(next);
    },
  });
}

function sampleRss(): { stop(): { baseline: number; peak: number } } {
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { baseline, peak };
    },
  };
}

test(
  '256 MiB up and 256 MiB down stream through the gateway with matching byte counts and sha256, in bounded memory',
  { timeout: 60_000 },
  async (t) => {
    const upstream = await startRecordingUpstream();
    t.after(() => upstream.close());
    let sentDown: Promise<string> | undefined;
    upstream.handle((req, res) => {
      if (req.method === 'POST') {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (c: Buffer) => {
          hash.update(c);
          bytes += c.length;
        });
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ bytes, sha256: hash.digest('hex'), te: req.headers['transfer-encoding'] ?? null }));
        });
        return;
      }
      req.resume();
      const hash = createHash('sha256');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': TOTAL });
      sentDown = new Promise((resolve) => res.once('finish', () => resolve(hash.digest('hex'))));
      generated(hash).pipe(res);
    });
    const gw = await startTestGateway(
      t,
      gatewayYaml(`
  - name: big
    match: { path: /big }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
    timeout: 30s
`),
      { UPSTREAM: upstream.origin },
    );

    // Warm up: the pooled TLS connection and the code paths, so the baseline is not a cold process.
    const warm = await fetch(`${gw.url}/big/warm`, { method: 'POST', body: Buffer.alloc(4 * MiB) });
    await warm.arrayBuffer();
    (globalThis as { gc?: () => void }).gc?.();

    const rss = sampleRss();
    const started = Date.now();

    // Up: a generated chunked body, hashed as it is produced.
    const sentUp = createHash('sha256');
    const up = await new Promise<{ status: number; body: { bytes: number; sha256: string; te: string | null } }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/big/up', agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { bytes: number; sha256: string; te: string | null },
          }),
        );
      });
      req.on('error', reject);
      generated(sentUp).pipe(req);
    });
    assert.equal(up.status, 200);
    assert.equal(up.body.bytes, TOTAL, 'the upstream received every byte');
    assert.equal(up.body.sha256, sentUp.digest('hex'), 'the upstream received the same bytes');
    assert.equal(up.body.te, 'chunked', 'streamed upstream, not buffered into a Content-Length');

    // Down: the upstream generates, the client hashes.
    const down = await new Promise<{ status: number; bytes: number; sha256: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'GET', path: '/big/down', agent: false }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          hash.update(c);
          bytes += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      });
      req.on('error', reject);
      req.end();
    });
    const { baseline, peak } = rss.stop();
    const elapsed = Date.now() - started;
    assert.equal(down.status, 200);
    assert.equal(down.bytes, TOTAL, 'the client received every byte');
    assert.equal(down.sha256, await sentDown, 'the client received the bytes the upstream sent');
    const growth = peak - baseline;
    t.diagnostic(
      `512 MiB in ${elapsed} ms; RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, growth ${(growth / MiB).toFixed(1)} MiB`,
    );
    assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MiB).toFixed(1)} MiB (limit ${RSS_GROWTH_LIMIT / MiB} MiB)`);
  },
);
