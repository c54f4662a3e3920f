/**
 * Operation (docs/production.md), on a real `portcullis start` child process: SIGHUP swaps a valid
 * configuration in without dropping a request and refuses an invalid one (the old keeps
 * serving); SIGTERM lets in-flight requests finish, then exits 0; readiness follows the store.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type TestContext, test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { spawnGatewayProcess, startGatewayProcess, type GatewayProcess, type SpawnedGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

function routeYaml(upstream: RecordingUpstream, names: readonly string[], scheme = 'https'): string {
  const routes = names
    .map(
      (name) =>
        `  - name: ${name}\n    match: { path: /${name} }\n    upstream: "${scheme}://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"`,
    )
    .join('\n');
  return `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nroutes:\n${routes}\n`;
}

interface Setup {
  readonly dir: string;
  readonly upstream: RecordingUpstream;
  readonly configFile: string;
  readonly gw: GatewayProcess;
  readonly url: string;
}

/** A temporary directory, a recording upstream, a configuration routing `names` to it, and a gateway started on it. */
async function startWithRoutes(t: TestContext, names: readonly string[]): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-reload-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, routeYaml(upstream, names));
  const gw = await startGatewayProcess(t, configFile);
  return { dir, upstream, configFile, gw, url: gw.url };
}

test('SIGHUP reloads a valid configuration without dropping a request, and refuses an invalid one', async (t) => {
  const { upstream, configFile, gw, url } = await startWithRoutes(t, ['a']);
  assert.equal((await send(url, { path: '/a/1' })).status, 200);
  assert.equal((await send(url, { path: '/b/1' })).status, 404);

  // Traffic keeps flowing on /a while the configuration is swapped.
  let stop = false;
  const statuses: number[] = [];
  const traffic = (async () => {
    while (!stop) statuses.push((await send(url, { path: '/a/loop' })).status);
  })();
  writeFileSync(configFile, routeYaml(upstream, ['a', 'b']));
  gw.child.kill('SIGHUP');
  await eventually(async () => (await send(url, { path: '/b/1' })).status === 200, 10_000, 'the new route to appear');
  await new Promise((r) => setTimeout(r, 200));
  while (statuses.length < 5) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await traffic;
  assert.deepEqual([...new Set(statuses)], [200], 'no request failed during the reload');

  // 152 problems: the log line lists the first 100 and says how many more there are.
  writeFileSync(configFile, routeYaml(upstream, ['a', 'b', ...Array.from({ length: 150 }, (_, i) => `c${i}`)], 'http'));
  gw.child.kill('SIGHUP');
  await eventually(() => gw.logs().includes('config.reload_refused'), 10_000, 'the refusal to be logged');
  assert.match(gw.logs(), /routes\[0\]\.upstream: upstream must be an https:\/\/ URL/);
  assert.match(gw.logs(), /routes\[99\]\.upstream: .*?","… and 52 more \(portcullis check lists them all\)"\]/);
  assert.equal((await send(url, { path: '/a/1' })).status, 200, 'the old configuration keeps serving');
  assert.equal((await send(url, { path: '/b/1' })).status, 200);

  const metrics = await send(`http://127.0.0.1:${gw.metricsPort}`, { path: '/metrics' });
  assert.match(metrics.body, /portcullis_config_reloads_total\{result="success"\} 1/);
  assert.match(metrics.body, /portcullis_config_reloads_total\{result="failure"\} 1/);
});

/** 10,000 route names: a table whose parsing takes the order of a second. */
const MANY_ROUTES = Array.from({ length: 10_000 }, (_, i) => `svc-${i}`);

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

test('the proxy keeps answering while a reload parses 10,000 routes', async (t) => {
  const { upstream, configFile, gw, url } = await startWithRoutes(t, ['a']);
  writeFileSync(configFile, routeYaml(upstream, ['a', ...MANY_ROUTES]));

  const answered: { sentAt: number; receivedAt: number; status: number }[] = [];
  let stop = false;
  const traffic = (async () => {
    while (!stop) {
      const sentAt = performance.now();
      const { status } = await send(url, { path: '/a/loop' });
      answered.push({ sentAt, receivedAt: performance.now(), status });
    }
  })();
  const hupAt = performance.now();
  gw.child.kill('SIGHUP');
  await eventually(() => gw.logs().includes('config.reloaded'), 30_000, 'the reload finished');
  const reloadedAt = performance.now();
  stop = true;
  await traffic;

  // Parsed on the main thread, the reload stopped the proxy from a few ms after the signal to
  // its end: no request sent in that span was answered before it was over.
  const during = answered.filter((a) => a.sentAt > hupAt + 100 && a.receivedAt < reloadedAt - 20);
  assert.ok(
    during.length >= 10,
    `requests answered during the reload: ${during.length} (reload took ${Math.round(reloadedAt - hupAt)} ms)`,
  );
  assert.deepEqual([...new Set(answered.map((a) => a.status))], [200]);
  assert.match(gw.logs(), /"event":"config\.reloaded","routes":10001/);
  assert.equal((await send(url, { path: '/svc-9999/x' })).status, 200);
});

test('a SIGHUP during a reload makes it read the file again: the file as last written wins, nothing older serves', async (t) => {
  const { upstream, configFile, gw, url } = await startWithRoutes(t, ['a']);
  // Replaced whole (rename), as configuration tools do: a reader never sees a half-written file.
  const replaceConfig = (yaml: string): void => {
    writeFileSync(`${configFile}.next`, yaml);
    renameSync(`${configFile}.next`, configFile);
  };

  // The first reload reads a large file (about a second to parse); the second SIGHUP arrives
  // while it runs, and the file is replaced by a small one right after.
  replaceConfig(routeYaml(upstream, ['a', ...MANY_ROUTES]));
  gw.child.kill('SIGHUP');
  await eventually(() => gw.logs().includes('config.reload_started'), 10_000, 'the first reload started');
  gw.child.kill('SIGHUP');
  replaceConfig(routeYaml(upstream, ['a', 'b']));
  await eventually(() => gw.logs().includes('config.reloaded'), 30_000, 'the reload finished');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(count(gw.logs(), 'config.reload_superseded'), 1);
  assert.equal(count(gw.logs(), 'config.reloaded'), 1, 'the superseded read never served');
  assert.match(gw.logs(), /"event":"config\.reloaded","routes":2[,}]/);
  assert.equal((await send(url, { path: '/b/1' })).status, 200);
  assert.equal((await send(url, { path: '/svc-1/x' })).status, 404);
});

test('SIGTERM drains: an in-flight request completes, then the process exits 0', async (t) => {
  const { upstream, gw, url } = await startWithRoutes(t, ['a']);
  upstream.handle((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow answer');
    }, 700);
  });
  const inFlight = send(url, { path: '/a/slow' });
  await eventually(() => upstream.arrived.length === 1, 10_000, 'the request reached the upstream');
  gw.child.kill('SIGTERM');
  const answer = await inFlight;
  assert.equal(answer.status, 200);
  assert.equal(answer.body, 'slow answer');
  assert.equal(await gw.exited, 0);
});

test('readiness drops while the store cannot be used and comes back when it can', async (t) => {
  const { dir, gw } = await startWithRoutes(t, ['a']);
  const metricsUrl = `http://127.0.0.1:${gw.metricsPort}`;
  assert.equal((await send(metricsUrl, { path: '/readyz' })).status, 200);

  // The database file is moved away (a volume unmounted, a file deleted by mistake): the
  // gateway still holds the old file open, but the CLI and other instances would now write
  // elsewhere, so revocations would never reach it. It must stop calling itself ready.
  const dbFile = join(dir, 'pcl.db');
  renameSync(dbFile, `${dbFile}.moved`);
  const down = await send(metricsUrl, { path: '/readyz' });
  assert.equal(down.status, 503);
  assert.match(down.body, /store/);
  assert.equal((await send(metricsUrl, { path: '/healthz' })).status, 200, 'still alive');
  renameSync(`${dbFile}.moved`, dbFile);
  await eventually(async () => (await send(metricsUrl, { path: '/readyz' })).status === 200, 10_000, 'readiness to come back');
});

/** A temporary directory with a configuration routing /a to a recording upstream; its path. */
async function configRoutingA(t: TestContext, extra = ''): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-early-signal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, `${routeYaml(upstream, ['a'])}${extra}`);
  return configFile;
}

/** Sends `signal` from the stdout handler the moment the started line arrives: the earliest a watching tool could. */
function signalWhenStarted(gw: SpawnedGateway, signal: NodeJS.Signals): void {
  let sent = false;
  gw.child.stdout?.on('data', (chunk: Buffer) => {
    if (!sent && chunk.toString().includes('"gateway.started"')) {
      sent = true;
      gw.child.kill(signal);
    }
  });
}

test('a SIGHUP sent the moment the gateway says it started reloads it; it never ends the process', async (t) => {
  const configFile = await configRoutingA(t);
  // Three starts: before the hold (held-signal.ts) 19 of 20 such starts died of the signal.
  for (let start = 0; start < 3; start++) {
    const gw = await spawnGatewayProcess(t, configFile, { initStore: start === 0 });
    signalWhenStarted(gw, 'SIGHUP');
    const ended = gw.exited.then((code) => `exited (${code ?? gw.child.signalCode})`);
    const reloaded = eventually(() => gw.events('config.reloaded').length === 1, 15_000, 'the reload').then(() => 'reloaded');
    assert.equal(await Promise.race([ended, reloaded]), 'reloaded', `start ${start + 1}`);
    const port = (gw.events('gateway.started')[0]?.proxy as { port: number }).port;
    assert.equal((await send(`http://127.0.0.1:${port}`, { path: '/a/1' })).status, 200);
    gw.child.kill('SIGKILL');
    await gw.exited;
  }
});

test('a SIGTERM sent the moment the gateway says it started drains it: exit 0, not an end by the signal', async (t) => {
  const configFile = await configRoutingA(t, 'limits: { shutdownDelay: 0s }\n');
  for (let start = 0; start < 3; start++) {
    const gw = await spawnGatewayProcess(t, configFile, { initStore: start === 0 });
    signalWhenStarted(gw, 'SIGTERM');
    const code = await gw.exited;
    assert.equal(gw.child.signalCode, null, `start ${start + 1}: not ended by the signal`);
    assert.equal(code, 0);
    assert.equal(gw.events('gateway.draining').length, 1);
  }
});

/**
 * A preload that, when the process starts its first worker thread (the start's check of the
 * file, config/load-off-thread.ts), says so on stderr and then holds the main thread for 400 ms:
 * a SIGHUP sent on that line lands while the file is being checked, before the listeners open.
 */
const SLOW_CHECK_PRELOAD = `data:text/javascript,${encodeURIComponent(`
  let first = true;
  process.on('worker', () => {
    if (!first) return;
    first = false;
    process.stderr.write('pcl-test: checking the configuration\\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
  });
`)}`;

for (const workers of [1, 2]) {
  test(`a SIGHUP sent while the file is checked at start reloads the gateway once it serves (workers: ${workers})`, async (t) => {
    const configFile = await configRoutingA(t);
    const gw = await spawnGatewayProcess(t, configFile, {
      nodeArgs: ['--import', SLOW_CHECK_PRELOAD],
      args: workers === 1 ? [] : ['--workers', String(workers)],
    });
    let sent = false;
    gw.child.stderr?.on('data', (chunk: Buffer) => {
      if (!sent && chunk.toString().includes('pcl-test: checking the configuration')) {
        sent = true;
        gw.child.kill('SIGHUP');
      }
    });
    const ended = gw.exited.then((code) => `exited (${code ?? gw.child.signalCode})`);
    const reloaded = eventually(() => gw.events('config.reloaded').length === 1, 20_000, 'the reload').then(() => 'reloaded');
    // Before the hold covered the check (start-host.ts), this signal ended the process.
    assert.equal(await Promise.race([ended, reloaded]), 'reloaded');
    assert.ok(sent, 'the signal was sent during the check');
    // With workers: applied by every worker, not logged before they had a configuration.
    assert.equal(gw.events('config.reloaded')[0]?.workers, workers === 1 ? undefined : workers);
    const started = gw.events(workers === 1 ? 'gateway.started' : 'cluster.started');
    assert.equal(started.length, 1);
    const lines = gw.lines();
    const index = (event: string): number => lines.findIndex((line) => line.event === event);
    assert.ok(index('config.reloaded') > index(workers === 1 ? 'gateway.started' : 'cluster.started'), 'the reload came after the start');
    const port = (started[0]?.proxy as { port: number }).port;
    assert.equal((await send(`http://127.0.0.1:${port}`, { path: '/a/1' })).status, 200);
  });
}

test('a SIGHUP sent while the commands load, before the file is read, reloads the gateway once it serves', async (t) => {
  const configFile = await configRoutingA(t);
  const dir = dirname(configFile);
  // A module loader hook that holds the load of cli/command-line.js for 400 ms and says so: the
  // bin entry (cli/main.ts) has run, nothing of the start has. Loader hooks run on a thread of
  // their own, so the marker is a file.
  const marker = join(dir, 'loading-commands');
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { writeFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.endsWith('/cli/command-line.js')) {
    writeFileSync(${JSON.stringify(marker)}, '');
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  return next(url, context);
}
`,
  );
  const preload = join(dir, 'register-hooks.mjs');
  writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const gw = await spawnGatewayProcess(t, configFile, { nodeArgs: ['--import', pathToFileURL(preload).href] });
  await eventually(() => existsSync(marker), 20_000, 'the commands to begin loading');
  gw.child.kill('SIGHUP');
  const ended = gw.exited.then((code) => `exited (${code ?? gw.child.signalCode})`);
  const reloaded = eventually(() => gw.events('config.reloaded').length === 1, 20_000, 'the reload').then(() => 'reloaded');
  // Without the bin entry's hold this signal ended the process.
  assert.equal(await Promise.race([ended, reloaded]), 'reloaded');
  const port = (gw.events('gateway.started')[0]?.proxy as { port: number }).port;
  assert.equal((await send(`http://127.0.0.1:${port}`, { path: '/a/1' })).status, 200);
});
