/**
 * A log reader that stops reading (a hung log shipper) never stalls the
 * gateway. A real `portcullis start` child whose stdout pipe is not read keeps answering the
 * proxy, /healthz and /metrics; lines that do not fit are dropped and counted, and one warning
 * says so once the pipe is read again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { startGatewayProcess } from '../support/gateway.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startRecordingUpstream } from '../support/upstream.js';

/** Requests sent while nobody reads stdout: with 1.5 kB paths, ~1 MB of access lines. */
const REQUESTS = 600;
const CONCURRENCY = 8;

for (const workers of [1, 2]) {
  test(
    `with its stdout pipe unread, the gateway keeps answering; dropped lines are counted and reported once read again (workers: ${workers})`,
    { timeout: 90_000 },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'pcl-stalled-log-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const upstream = await startRecordingUpstream();
      t.after(() => upstream.close());
      const configFile = join(dir, 'portcullis.yaml');
      writeFileSync(
        configFile,
        `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\n` +
          `log: { level: info, bufferBytes: 16384 }\nworkers: ${workers}\n` +
          `routes:\n  - name: open\n    match: { path: /open }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"\n`,
      );
      const gw = await startGatewayProcess(t, configFile, workers === 1 ? {} : { startedEvent: 'cluster.started' });
      const url = `http://127.0.0.1:${gw.port}`;
      const metricsUrl = `http://127.0.0.1:${gw.metricsPort}`;
      gw.stopReading();

      const longPath = `/open/${'a'.repeat(1500)}`;
      const statuses: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < REQUESTS) {
            next++;
            statuses.push((await send(url, { path: longPath })).status);
          }
        }),
      );
      // Client view: every request answered; upstream view: every one reached it.
      assert.equal(statuses.length, REQUESTS);
      assert.deepEqual([...new Set(statuses)], [200]);
      assert.equal(upstream.received.length, REQUESTS);

      // Still nobody reads: health, metrics and the proxy answer.
      assert.equal((await send(metricsUrl, { path: '/healthz' })).status, 200);
      const during = await send(metricsUrl, { path: '/metrics' });
      assert.equal(during.status, 200);
      const droppedDuring = Number(/^portcullis_log_lines_dropped_total (\d+)/m.exec(during.body)?.[1]);
      assert.ok(droppedDuring > 0, `lines dropped while the pipe was full: ${droppedDuring}`);
      assert.equal((await send(url, { path: '/open/after' })).status, 200);
      assert.ok(!gw.logs().includes('log.lines_dropped'), 'no warning while the reader is still stalled');

      gw.resumeReading();
      await eventually(() => gw.logs().includes('"event":"log.lines_dropped"'), 10_000, 'the recovery warning');
      // One warning per stall from each process whose lines were dropped: with workers, each
      // worker holds its own backlog and says so for itself.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const warnings = gw
        .logs()
        .split('\n')
        .filter((line) => line.includes('"event":"log.lines_dropped"'))
        .map((line) => JSON.parse(line) as { level: number; dropped: number; worker?: number });
      assert.ok(warnings.length >= 1 && warnings.length <= workers, `one warning per process at most: ${warnings.length}`);
      if (workers > 1)
        assert.equal(new Set(warnings.map((w) => w.worker)).size, warnings.length, `each from another worker: ${JSON.stringify(warnings)}`);
      for (const warning of warnings) {
        assert.equal(warning.level, 40);
        assert.ok(warning.dropped > 0 && warning.dropped <= REQUESTS + 1);
      }
      const reported = warnings.reduce((sum, w) => sum + w.dropped, 0);
      const after = await send(metricsUrl, { path: '/metrics' });
      assert.ok(Number(/^portcullis_log_lines_dropped_total (\d+)/m.exec(after.body)?.[1]) >= reported);
      // Lines written after the recovery arrive again.
      assert.equal((await send(url, { path: '/open/recovered' })).status, 200);
      await eventually(() => gw.logs().includes('"path":"/open/recovered"'), 10_000, 'a new access line');
      // What arrived arrived whole: no line was cut by another process's write.
      for (const line of gw
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))) {
        assert.doesNotThrow(() => JSON.parse(line), `a whole line: ${line.slice(0, 120)}`);
      }
    },
  );
}
