/**
 * On a real `portcullis start` process: a rolling update drops nothing. On
 * SIGTERM /readyz answers 503 at once while the proxy keeps serving for `limits.shutdownDelay`;
 * then the listener closes, the request in flight finishes, and the process exits 0. A client
 * keeps sending through the whole sequence.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

interface Outcome {
  readonly sentAt: number;
  readonly status: number | string;
}

test('SIGTERM: readyz 503 at once, every request served during limits.shutdownDelay, the slow one drained, exit 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-rolling-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  upstream.handle((req, res) => {
    const wait = req.url?.includes('slow') ? 2_500 : 0;
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    }, wait);
  });
  const configFile = join(dir, 'portcullis.yaml');
  const delayMs = 2_000;
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./pcl.db" }
limits: { shutdownDelay: ${delayMs}ms, shutdownGrace: 10s }
routes:
  - name: a
    match: { path: /a }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    auth: "off"
`,
  );
  const gw = await startGatewayProcess(t, configFile);
  const url = `http://127.0.0.1:${gw.port}`;
  const metricsUrl = `http://127.0.0.1:${gw.metricsPort}`;
  assert.equal((await send(metricsUrl, { path: '/readyz' })).status, 200);

  // A client that keeps sending, each request on a new connection, until the port is closed.
  const outcomes: Outcome[] = [];
  let stop = false;
  const traffic = (async () => {
    while (!stop) {
      const sentAt = performance.now();
      try {
        outcomes.push({ sentAt, status: (await send(url, { path: '/a/loop' })).status });
      } catch (error) {
        outcomes.push({ sentAt, status: (error as NodeJS.ErrnoException).code ?? 'error' });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();
  await eventually(() => outcomes.length >= 5, 10_000, 'traffic before the signal');

  const termAt = performance.now();
  gw.child.kill('SIGTERM');
  await eventually(async () => (await send(metricsUrl, { path: '/readyz' })).status === 503, 1_500, '/readyz to turn 503');
  const notReadyAt = performance.now();
  const readyz = await send(metricsUrl, { path: '/readyz' });
  assert.equal(readyz.json().reason, 'shutting down');
  // Sent during the delay: answered in full, and after it the connection will not be reused.
  const slow = send(url, { path: '/a/slow' });
  const during = await send(url, { path: '/a/during' });
  assert.equal(during.status, 200);
  assert.equal(during.headers.connection, 'close');

  assert.equal(await gw.exited, 0);
  stop = true;
  await traffic;
  const slowAnswer = await slow;
  assert.equal(slowAnswer.status, 200, 'the request in flight when the listener closed was drained');
  assert.equal(slowAnswer.body, 'ok');

  assert.ok(notReadyAt - termAt < delayMs, `readyz turned 503 ${Math.round(notReadyAt - termAt)} ms after SIGTERM`);
  t.diagnostic(
    `readyz 503 ${Math.round(notReadyAt - termAt)} ms after SIGTERM; ${outcomes.filter((o) => o.sentAt > termAt && o.status === 200).length} requests answered 200 after SIGTERM`,
  );
  // Everything sent before the delay was over (with a margin for the loaded machine) was served.
  const inDelay = outcomes.filter((o) => o.sentAt < termAt + delayMs - 500);
  assert.ok(inDelay.filter((o) => o.sentAt > notReadyAt).length >= 3, 'requests were sent while /readyz said 503');
  assert.deepEqual([...new Set(inDelay.map((o) => o.status))], [200], 'no request failed during the delay');
  const events = gw.logs();
  assert.ok(events.indexOf('gateway.shutdown_delay') < events.indexOf('"gateway.draining"'));
  assert.match(events, /"event":"gateway\.stopped","abandoned":0/);
});
