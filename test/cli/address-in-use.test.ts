/**
 * `portcullis start` on an address another process holds: the address and what to change, in
 * text and as the documented JSON code `listen.address_in_use` (docs/cli.md), exit status 1, and
 * the process ends instead of serving part of its listeners. (`portcullis demo`: test/demo/.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCli } from '../support/cli.js';
import { startRecordingUpstream } from '../support/upstream.js';

test('start: a listener whose address another process holds is named, with the setting to change; exit 1', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-in-use-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const holder = net.createServer();
  await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
  t.after(() => new Promise((done) => holder.close(done)));
  const taken = `127.0.0.1:${(holder.address() as AddressInfo).port}`;
  for (const listener of ['listen', 'admin', 'metrics']) {
    const at = (name: string): string => (name === listener ? taken : '127.0.0.1:0');
    const configFile = join(dir, `${listener}.yaml`);
    writeFileSync(
      configFile,
      `listen: "${at('listen')}"
admin: { listen: "${at('admin')}" }
metrics: { listen: "${at('metrics')}" }
store: { url: "sqlite:./${listener}.db" }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-only
`,
    );
    const text = await runCli(['start', '--config', configFile]);
    assert.equal(text.code, 1, text.stderr);
    assert.ok(
      text.stderr.includes(
        `portcullis start: ${taken} is already in use by another process: stop that process, or move that listener (listen, admin.listen or metrics.listen) to a free port in ${configFile}`,
      ),
      `${listener}: ${text.stderr}`,
    );
    assert.doesNotMatch(text.stderr, /EADDRINUSE/, 'said in words, not as the system call error');
    const json = await runCli(['start', '--config', configFile, '--json']);
    assert.equal(json.code, 1, json.stderr);
    const { error } = JSON.parse(json.stderr.trim().split('\n').at(-1) ?? '') as { error: Record<string, string> };
    assert.deepEqual([error.code, error.address, error.command], ['listen.address_in_use', taken, 'portcullis start'], listener);
    // With workers the first worker that cannot bind stops the primary at once: the same words and
    // code, exit 1, and no worker restarted (docs/configuration.md, workers).
    const workers = await runCli(['start', '--config', configFile, '--workers', '2']);
    assert.equal(workers.code, 1, workers.stderr);
    assert.ok(workers.stderr.includes(`portcullis start: ${taken} is already in use by another process`), `${listener}: ${workers.stderr}`);
    assert.match(workers.stdout, /"event":"listen.address_in_use"/);
    assert.doesNotMatch(workers.stdout, /"event":"(worker\.exited|cluster\.crash_loop)"/, 'stopped at once, no restart');
    const workersJson = await runCli(['start', '--config', configFile, '--workers', '2', '--json']);
    assert.equal(workersJson.code, 1, workersJson.stderr);
    const fromPrimary = JSON.parse(workersJson.stderr.trim().split('\n').at(-1) ?? '') as { error: Record<string, string> };
    assert.deepEqual([fromPrimary.error.code, fromPrimary.error.address], ['listen.address_in_use', taken], listener);
  }
  assert.equal(upstream.arrived.length, 0);
});
