/**
 * Workers, on a real `portcullis start --workers 2` process tree: both workers serve
 * (told apart by the `pid` of their access lines), a SIGKILLed worker comes back while the other
 * keeps serving, a reload reaches every worker or none, SIGTERM drains every worker and the
 * primary exits 0, one /metrics counts the traffic of the whole host, /readyz is ready only when
 * every worker is, a crash loop stops the primary with the reason, a revocation reaches every
 * worker within the second docs/credentials.md promises.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCli, runCliJson } from '../support/cli.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { spawnGatewayProcess, startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { withinOneSecond } from '../support/within-one-second.js';
import { initConfiguredTestStore } from '../support/init-store.js';

type LogLine = Record<string, unknown> & { event?: string; pid?: number; worker?: number; role?: string };

interface Host {
  readonly child: ChildProcess;
  readonly url: string;
  readonly metricsUrl: string;
  /** Every JSON line written so far, by the primary and the workers. */
  readonly lines: () => LogLine[];
  readonly text: () => string;
  readonly exited: Promise<number | null>;
  /** The worker pids announced by the primary at start. */
  readonly pids: readonly number[];
}

interface Setup {
  readonly dir: string;
  readonly configFile: string;
  readonly upstream: RecordingUpstream;
}

function configYaml(upstream: RecordingUpstream, routes: readonly string[], extra = '', scheme = 'https'): string {
  const list = routes
    .map(
      (name) =>
        `  - name: ${name}\n    match: { path: /${name} }\n    upstream: "${scheme}://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    auth: "off"`,
    )
    .join('\n');
  const auth = `  - name: private\n    match: { path: /private }\n    upstream: "https://127.0.0.1:${upstream.port}"\n    upstreamCa: "${sharedCerts().ca.caCertPath}"\n    access: read-only`;
  return `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nlimits: { shutdownGrace: 10s }\n${extra}routes:\n${list}\n${auth}\n`;
}

async function setup(t: TestContext, routes: readonly string[] = ['a'], extra = ''): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-workers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, configYaml(upstream, routes, extra));
  await initConfiguredTestStore(configFile);
  return { dir, configFile, upstream };
}

async function startHost(t: TestContext, configFile: string, workers = 2): Promise<Host> {
  const gw = await startGatewayProcess(t, configFile, { args: ['--workers', String(workers)], startedEvent: 'cluster.started' });
  return {
    child: gw.child,
    url: gw.url,
    metricsUrl: gw.metricsUrl,
    lines: () => gw.lines(),
    text: gw.logs,
    exited: gw.exited,
    pids: (gw.started.pids as number[] | undefined) ?? [],
  };
}

/** The value of one series in a Prometheus text exposition (0 when absent). */
function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Access lines are written in batches (at least every second): waits until `n` of them for `path` arrived. */
async function accessLines(host: Host, pathPrefix: string, n: number): Promise<LogLine[]> {
  let found: LogLine[] = [];
  await eventually(
    () => (found = host.lines().filter((l) => l.event === 'http.access' && String(l.path).startsWith(pathPrefix))).length >= n,
    10_000,
    `${n} access lines for ${pathPrefix}`,
  );
  return found;
}

test('two workers serve the traffic; one /metrics counts all of it; /readyz is ready', async (t) => {
  const { configFile, upstream } = await setup(t);
  const host = await startHost(t, configFile);
  assert.equal(host.pids.length, 2);
  assert.equal((await send(host.metricsUrl, { path: '/readyz' })).status, 200);

  const SENT = 40;
  for (let i = 0; i < SENT; i++) assert.equal((await send(host.url, { path: `/a/${i}` })).status, 200);
  // Refusals count too (no route: 404, nothing upstream).
  for (let i = 0; i < 6; i++) assert.equal((await send(host.url, { path: '/nowhere' })).status, 404);
  assert.equal(upstream.received.length, SENT);

  const lines = await accessLines(host, '/a/', SENT);
  const servedBy = new Set(lines.map((l) => l.pid));
  assert.deepEqual([...servedBy].sort(), [...host.pids].sort(), 'both workers answered requests');
  assert.deepEqual(new Set(lines.map((l) => l.worker)), new Set([1, 2]));

  const metrics = (await send(host.metricsUrl, { path: '/metrics' })).body;
  assert.equal(sample(metrics, 'portcullis_requests_total{route="a",method="GET",status="200"}'), SENT);
  assert.equal(sample(metrics, 'portcullis_requests_total{route="none",method="GET",status="404"}'), 6);
  assert.equal(sample(metrics, 'portcullis_request_duration_seconds_count{route="a"}'), SENT);
  assert.equal(sample(metrics, 'portcullis_request_duration_seconds_bucket{le="+Inf",route="a"}'), SENT);
  assert.equal(sample(metrics, 'portcullis_upstream_duration_seconds_count{route="a"}'), SENT);
  assert.equal(sample(metrics, 'portcullis_workers'), 2);
  assert.equal(
    sample(metrics, 'portcullis_build_info{version="0.1.0",node_version="' + process.version + '"}'),
    1,
    'one build, not one per worker',
  );
  assert.equal(
    metrics.split('\n').filter((l) => l.startsWith('# TYPE portcullis_requests_total ')).length,
    1,
    'one family, not one per worker',
  );
  const open = await send(host.metricsUrl, { path: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.match(open.body, /^portcullis_requests_total\{route="a",method="GET",status="200"\} 40$/m);
  assert.match(open.body, /# EOF\n$/);
});

test('a SIGKILLed worker comes back; the other serves meanwhile; counters do not fall; ready again once it serves', async (t) => {
  const { configFile, upstream } = await setup(t);
  const host = await startHost(t, configFile);
  for (let i = 0; i < 10; i++) assert.equal((await send(host.url, { path: `/a/${i}` })).status, 200);
  const before = sample(
    (await send(host.metricsUrl, { path: '/metrics' })).body,
    'portcullis_requests_total{route="a",method="GET",status="200"}',
  );
  assert.equal(before, 10);

  const [victim, survivor] = host.pids;
  process.kill(victim ?? 0, 'SIGKILL');
  // Until it is back the host is not ready, and the survivor answers every request.
  await eventually(() => host.lines().some((l) => l.event === 'worker.exited' && l.pid === victim), 10_000, 'the exit to be logged');
  for (let i = 0; i < 6; i++) assert.equal((await send(host.url, { path: `/a/during-${i}` })).status, 200);
  let restarted: LogLine | undefined;
  await eventually(
    () =>
      (restarted = host.lines().find((l) => l.event === 'gateway.started' && typeof l.pid === 'number' && !host.pids.includes(l.pid))) !==
      undefined,
    30_000,
    'a new worker to start',
  );
  assert.equal(restarted?.worker, host.lines().find((l) => l.pid === victim)?.worker, 'it takes the place of the one killed');
  await eventually(async () => (await send(host.metricsUrl, { path: '/readyz' })).status === 200, 10_000, 'ready again');

  for (let i = 0; i < 10; i++) assert.equal((await send(host.url, { path: `/a/after-${i}` })).status, 200);
  const after = await accessLines(host, '/a/after-', 10);
  assert.deepEqual(new Set(after.map((l) => l.pid)), new Set([survivor, restarted?.pid]), 'the new worker serves too');
  const metrics = (await send(host.metricsUrl, { path: '/metrics' })).body;
  // The killed worker's 10 (or fewer, if it served fewer of them) stay in the total, scraped before it died.
  assert.equal(sample(metrics, 'portcullis_requests_total{route="a",method="GET",status="200"}'), upstream.received.length);
  assert.equal(sample(metrics, 'portcullis_worker_restarts_total'), 1);
});

test('SIGHUP: a valid file reaches every worker, an invalid one none (refused once, by the primary)', async (t) => {
  const { configFile, upstream } = await setup(t, ['a']);
  const host = await startHost(t, configFile);
  writeFileSync(configFile, configYaml(upstream, ['a', 'b']));
  host.child.kill('SIGHUP');
  await eventually(() => host.lines().some((l) => l.event === 'config.reloaded'), 20_000, 'the reload');
  const applied = host.lines().filter((l) => l.event === 'config.applied');
  assert.deepEqual(new Set(applied.map((l) => l.pid)), new Set(host.pids), 'every worker applied it');
  assert.equal(host.lines().find((l) => l.event === 'config.reloaded')?.workers, 2);
  for (let i = 0; i < 8; i++) assert.equal((await send(host.url, { path: `/b/${i}` })).status, 200, 'every worker serves the new route');
  assert.deepEqual(new Set((await accessLines(host, '/b/', 8)).map((l) => l.pid)), new Set(host.pids));

  writeFileSync(configFile, configYaml(upstream, ['a', 'c'], '', 'http'));
  host.child.kill('SIGHUP');
  await eventually(() => host.lines().some((l) => l.event === 'config.reload_refused'), 20_000, 'the refusal');
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(host.lines().filter((l) => l.event === 'config.reload_refused').length, 1, 'logged once, by the primary');
  assert.equal(host.lines().find((l) => l.event === 'config.reload_refused')?.role, 'primary');
  assert.equal(host.lines().filter((l) => l.event === 'config.applied').length, 2, 'no worker applied the invalid file');
  const arrivedBefore = upstream.arrived.length;
  for (let i = 0; i < 6; i++) {
    assert.equal((await send(host.url, { path: `/c/${i}` })).status, 404, 'the refused route serves nowhere');
    assert.equal((await send(host.url, { path: `/b/${i}` })).status, 200, 'the previous configuration keeps serving');
  }
  assert.equal(upstream.arrived.length, arrivedBefore + 6, 'nothing for /c reached the upstream');
  const metrics = (await send(host.metricsUrl, { path: '/metrics' })).body;
  assert.equal(sample(metrics, 'portcullis_config_reloads_total{result="success"}'), 1);
  assert.equal(sample(metrics, 'portcullis_config_reloads_total{result="failure"}'), 1);
  assert.equal(sample(metrics, 'portcullis_config_last_reload_successful'), 0);
});

test('SIGTERM drains every worker: requests in flight on both complete, then the primary exits 0', async (t) => {
  const { configFile, upstream } = await setup(t);
  const host = await startHost(t, configFile);
  upstream.handle((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow answer');
    }, 1_000);
  });
  const inFlight = Array.from({ length: 4 }, (_, i) => send(host.url, { path: `/a/slow-${i}` }));
  await eventually(() => upstream.arrived.length === 4, 10_000, 'the requests to reach the upstream');
  host.child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  assert.deepEqual(
    answers.map((a) => `${a.status} ${a.body}`),
    Array(4).fill('200 slow answer'),
  );
  assert.equal(await host.exited, 0);
  const drained = host.lines().filter((l) => l.event === 'gateway.stopped' && l.role !== 'primary');
  assert.deepEqual(new Set(drained.map((l) => l.pid)), new Set(host.pids), 'both workers drained and stopped');
  assert.equal(
    drained.reduce((n, l) => n + Number(l.abandoned), 0),
    0,
    'no request abandoned',
  );
  const served = host.lines().filter((l) => l.event === 'http.access' && String(l.path).startsWith('/a/slow-'));
  assert.equal(new Set(served.map((l) => l.pid)).size, 2, 'the slow requests were in flight on both workers');
  for (const pid of host.pids) assert.throws(() => process.kill(pid, 0), 'no worker outlives the primary');
});

test('a crash loop makes the primary exit 1 with the reason', async (t) => {
  // Workers that keep dying: each new one is killed as soon as it serves, five times.
  const { configFile } = await setup(t);
  const host = await startHost(t, configFile);
  const killed = new Set<number>();
  const kill = (pid: number): void => {
    killed.add(pid);
    process.kill(pid, 'SIGKILL');
  };
  for (const pid of host.pids) kill(pid);
  while (killed.size < 5) {
    let fresh: number | undefined;
    await eventually(
      () => {
        fresh = host
          .lines()
          .map((l) => (l.event === 'gateway.started' && typeof l.pid === 'number' ? l.pid : undefined))
          .find((pid) => pid !== undefined && !killed.has(pid));
        return fresh !== undefined || host.lines().some((l) => l.event === 'cluster.crash_loop');
      },
      30_000,
      'a restarted worker',
    );
    if (fresh === undefined) break;
    kill(fresh);
  }
  const code = await Promise.race([host.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000))]);
  assert.equal(code, 1, host.text());
  const loop = host.lines().find((l) => l.event === 'cluster.crash_loop');
  assert.ok(loop, 'the crash loop is logged');
  assert.match(String(loop.reason), /exited with signal SIGKILL/);
  assert.equal(loop.crashes, 5);
});

test('a worker that cannot bind (the address is taken) stops the primary at once, exit 1, no worker restarted', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const taken = (blocker.address() as net.AddressInfo).port;
  const { configFile, upstream } = await setup(t);
  writeFileSync(configFile, configYaml(upstream, ['a']).replace('listen: "127.0.0.1:0"', `listen: "127.0.0.1:${taken}"`));
  const host = await spawnGatewayProcess(t, configFile, { args: ['--workers', '2'] });
  const code = await Promise.race([host.exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000))]);
  assert.equal(code, 1, host.logs());
  const [event] = host.events('listen.address_in_use');
  assert.equal(event?.address, `127.0.0.1:${taken}`);
  assert.equal(event?.level, 60, 'fatal');
  assert.deepEqual(host.events('worker.exited'), [], 'no worker was restarted');
  assert.deepEqual(host.events('cluster.crash_loop'), []);
});

test('a revocation reaches every worker within 1 second (each follows the store change feed)', async (t) => {
  const { configFile } = await setup(t);
  const host = await startHost(t, configFile);
  interface TokenOut {
    readonly id: string;
    readonly token?: string;
  }
  await withinOneSecond(t, 'from the revoking CLI process exit to the refusal by both workers', async (run) => {
    const created = await runCliJson<TokenOut>(['tokens', 'create', '--label', `w-${run}`, '--scope', 'read-only', '--config', configFile]);
    const call = () => send(host.url, { path: '/private/x', headers: { authorization: `Bearer ${created.token ?? ''}` } });
    // Cached as valid on both workers first (round robin: consecutive connections alternate).
    for (let i = 0; i < 6; i++) assert.equal((await call()).status, 200);
    const cachedOn = (await accessLines(host, '/private/', 6 * (run + 1))).filter((l) => l.credentialId === created.id);
    assert.equal(new Set(cachedOn.map((l) => l.pid)).size, 2, 'both workers hold the token');
    const revoke = await runCliJson(['tokens', 'revoke', created.id, '--config', configFile]);
    assert.ok(revoke);
    const since = performance.now();
    // Refused by both: four refusals in a row alternate over both workers.
    let refusedInARow = 0;
    while (refusedInARow < 4) {
      const answer = await call();
      refusedInARow = answer.status === 401 ? refusedInARow + 1 : 0;
      assert.ok(performance.now() - since < 10_000, 'the revocation never reached every worker');
    }
    return performance.now() - since;
  });
  const refusedBy = (): Set<unknown> =>
    new Set(
      host
        .lines()
        .filter((l) => l.event === 'http.access' && l.decision === 'auth.token_revoked')
        .map((l) => l.pid),
    );
  await eventually(() => refusedBy().size === 2, 5_000, 'refusals logged by both workers');
});

test('--workers takes "auto" or 1…256; anything else is a usage error (exit 2) before anything starts', async (t) => {
  const { configFile } = await setup(t);
  for (const bad of ['0', '257', 'two', '1.5', '']) {
    const result = await runCli(['start', '--config', configFile, '--workers', bad]);
    assert.equal(result.code, 2, bad);
    // An empty value is refused by the option parser itself ("needs a non-empty value").
    assert.match(
      result.stderr,
      bad === '' ? /"--workers" needs a non-empty value/ : /--workers expects "auto" or a whole number from 1 to 256/,
      bad,
    );
  }
  // The file's key is checked like every other: a bad value is located, exit 2.
  writeFileSync(configFile, `workers: 0\n${configYaml(await startRecordingUpstream().then((u) => (t.after(() => u.close()), u)), ['a'])}`);
  const fromFile = await runCli(['start', '--config', configFile]);
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.stderr, /workers/);
});

/** GET with a deadline: a connection handed to a stopped worker never answers. */
function probe(url: string, timeoutMs: number): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.on('error', () => resolve(undefined));
  });
}

test('/readyz is ready only when every worker is: a stopped (SIGSTOP) worker makes the host unready, naming it', async (t) => {
  const { configFile } = await setup(t);
  const host = await startHost(t, configFile);
  assert.equal((await send(host.metricsUrl, { path: '/readyz' })).status, 200);
  const [stuck] = host.pids;
  const slot = host.lines().find((l) => l.pid === stuck && l.event === 'gateway.started')?.worker;
  process.kill(stuck ?? 0, 'SIGSTOP');
  t.after(() => {
    try {
      process.kill(stuck ?? 0, 'SIGCONT');
    } catch {
      /* gone */
    }
  });
  // Probes handed to the stopped worker hang; the others are answered by the live one, which
  // asks the primary, which gets no answer from the stopped worker within 2 s.
  let answer: { status: number; body: string } | undefined;
  for (let i = 0; i < 6 && answer === undefined; i++) answer = await probe(`${host.metricsUrl}/readyz`, 5_000);
  assert.ok(answer, 'the live worker answered a probe');
  assert.equal(answer.status, 503);
  assert.equal((JSON.parse(answer.body) as { reason: string }).reason, `worker ${String(slot)}: did not answer`);
  process.kill(stuck ?? 0, 'SIGCONT');
  await eventually(async () => (await send(host.metricsUrl, { path: '/readyz' })).status === 200, 10_000, 'ready again');
});
