/**
 * On a real `portcullis start` process: a reload says what it applied and names
 * every changed key that only a restart applies (those keep running as they were); with
 * --watch-config a Kubernetes-style ConfigMap update (the `..data` symlink swapped) reloads
 * without a signal, with the same checks as SIGHUP.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

function configYaml(upstream: RecordingUpstream, names: readonly string[], extra = ''): string {
  const routes = names
    .map(
      (name) =>
        `  - name: ${name}\n    match: { path: /${name} }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"`,
    )
    .join('\n');
  return `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\n${extra}\nroutes:\n${routes}\n`;
}

test('a reload applies what it can, and names each changed key that needs a restart (kept as it runs)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-honest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, configYaml(upstream, ['a'], 'store: { url: "sqlite:./one.db" }'));
  const gw = await startGatewayProcess(t, configFile);
  const url = `http://127.0.0.1:${gw.port}`;
  const metricsUrl = `http://127.0.0.1:${gw.metricsPort}`;

  writeFileSync(
    configFile,
    configYaml(upstream, ['a', 'b'], 'store: { url: "sqlite:./two.db" }\ncache: { ttl: 5s }\nlimits: { shutdownGrace: 3s }').replace(
      'listen: "127.0.0.1:0"',
      'listen: "127.0.0.1:1"',
    ),
  );
  gw.child.kill('SIGHUP');
  await eventually(() => gw.events('config.reloaded').length === 1, 15_000, 'the reload');
  const warning = gw.events('config.restart_required')[0];
  assert.deepEqual(warning?.keys, ['listen', 'store.url', 'cache.ttl']);
  assert.equal(warning?.level, 40, 'a warning');
  assert.match(String(warning?.msg), /listen, store\.url, cache\.ttl/);
  const reloaded = gw.events('config.reloaded')[0];
  assert.deepEqual(reloaded?.changed, ['limits.shutdownGrace', 'routes']);
  assert.deepEqual(reloaded?.restartRequired, ['listen', 'store.url', 'cache.ttl']);
  assert.doesNotMatch(gw.logs(), /two\.db/, 'keys are named, values are not logged');

  // The rest took effect; the listener and the store stay as they run.
  assert.equal((await send(url, { path: '/b/1' })).status, 200);
  assert.equal((await send(metricsUrl, { path: '/readyz' })).status, 200);
  const scrape = (await send(metricsUrl, { path: '/metrics' })).body;
  assert.match(scrape, /^portcullis_config_restart_required 1$/m);

  // A file back at the running values: nothing waits for a restart any more.
  writeFileSync(configFile, configYaml(upstream, ['a', 'b'], 'store: { url: "sqlite:./one.db" }'));
  gw.child.kill('SIGHUP');
  await eventually(() => gw.events('config.reloaded').length === 2, 15_000, 'the second reload');
  assert.deepEqual(gw.events('config.reloaded')[1]?.restartRequired, []);
  assert.deepEqual(gw.events('config.reloaded')[1]?.changed, ['limits.shutdownGrace']);
  assert.equal(gw.events('config.restart_required').length, 1);
  assert.match((await send(metricsUrl, { path: '/metrics' })).body, /^portcullis_config_restart_required 0$/m);
});

test('--watch-config follows a Kubernetes ConfigMap update (the ..data symlink swap), and refuses an invalid version like SIGHUP does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  // What the kubelet lays out: a timestamped directory, `..data` pointing at it, and the file
  // itself a symlink through `..data`.
  let version = 0;
  const publish = (yaml: string): void => {
    version++;
    const versionDir = join(dir, `..2026_12_06_${version}`);
    mkdirSync(versionDir);
    writeFileSync(join(versionDir, 'portcullis.yaml'), yaml);
    symlinkSync(`..2026_12_06_${version}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  const store = `store: { url: "sqlite:${join(tmpdir(), `pcl-watch-${process.pid}-${Date.now()}.db`)}" }`;
  publish(configYaml(upstream, ['a'], store));
  symlinkSync('..data/portcullis.yaml', join(dir, 'portcullis.yaml'));
  const gw = await startGatewayProcess(t, join(dir, 'portcullis.yaml'), { args: ['--watch-config'] });
  const url = `http://127.0.0.1:${gw.port}`;
  assert.equal((await send(url, { path: '/b/1' })).status, 404);

  publish(configYaml(upstream, ['a', 'b'], store));
  await eventually(async () => (await send(url, { path: '/b/1' })).status === 200, 15_000, 'route b after the ConfigMap update');
  assert.equal(gw.events('config.reloaded').length, 1, 'one burst of events, one reload');

  publish(configYaml(upstream, ['a', 'b'], store).replace('auth: "off"', 'auth: "of"'));
  await eventually(() => gw.events('config.reload_refused').length === 1, 15_000, 'the invalid version refused');
  assert.match(gw.logs(), /routes\[0\]\.auth/);
  assert.equal((await send(url, { path: '/b/1' })).status, 200, 'the running configuration keeps serving');
});
