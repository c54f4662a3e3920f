/**
 * The Docker image's steps without a Docker engine (none runs on these machines): pack the
 * built package, install it with production dependencies only into an empty directory, and
 * start the gateway from there. It must validate a config and forward a request without any
 * dev dependency.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { repoRoot } from '../support/repo.js';
import { startRecordingUpstream } from '../support/upstream.js';

const run = promisify(execFile);

test('a production-only install of the packed package serves without dev dependencies', { timeout: 600_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'pcl-pack-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const root = repoRoot();
  // dist/ is already built by `npm test`; --ignore-scripts keeps pack from rebuilding it.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: root });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack produced a tarball');
  const app = join(work, 'app');
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"private":true}\n');
  await run('npm', ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball)], {
    cwd: app,
    // No prebuilt binaries can be downloaded here; compile the native addon directly.
    env: { ...process.env, npm_config_build_from_source: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const installed = readdirSync(join(app, 'node_modules'));
  for (const devOnly of ['typescript', '@types', 'ws']) assert.ok(!installed.includes(devOnly), `${devOnly} is not installed`);

  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const config = join(work, 'portcullis.yaml');
  writeFileSync(
    config,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./data/portcullis.db" }
limits: { shutdownDelay: 1s }
routes:
  - name: public
    match: { path: /public }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    auth: "off"
`,
  );
  const cli = join(app, 'node_modules', 'portcullis', 'dist', 'src', 'cli', 'main.js');
  const checked = await run('node', [cli, 'check', '--config', config], { cwd: app });
  assert.match(checked.stdout, /valid/);
  // As docs/production.md says: the store is created once, explicitly, before the first start.
  const initialised = await run('node', [cli, 'store', 'init', '--config', config], { cwd: app });
  assert.match(initialised.stdout, /created; schema at version \d+/);

  const child = spawn('node', [cli, 'start', '--config', config], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let adminPort = 0;
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"event":"gateway\.started","proxy":\{[^}]*"port":(\d+)/.exec(out);
      adminPort = Number(/"admin":\{[^}]*"port":(\d+)/.exec(out)?.[1] ?? 0);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${out}`)));
  });
  const answer = await send(`http://127.0.0.1:${port}`, { path: '/public/ping' });
  assert.equal(answer.status, 200);
  assert.equal(upstream.received[0]?.url, '/public/ping');
  // The console's static files are in the package: the admin listener serves the page and its script.
  const page = await send(`http://127.0.0.1:${adminPort}`, { path: '/' });
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/console\/app\.js">/);
  assert.equal((await send(`http://127.0.0.1:${adminPort}`, { path: '/console/app.js' })).status, 200);
  child.kill('SIGTERM');
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(exitCode, 0, 'SIGTERM drains and exits 0');
});
