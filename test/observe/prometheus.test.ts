/**
 * A real Prometheus server (Debian package) scrapes a running gateway every second, with the
 * alerting rules of docs/observability loaded; its HTTP API must then show the series and values
 * the traffic produced, every rule must evaluate, and every query of the Grafana dashboard must run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { negotiateFormat } from '../../src/observe/metrics-handler.js';
import { dashboardQueries } from './dashboard.js';
import { PACKAGE_VERSION } from '../../src/version.js';
import { send } from '../support/client.js';
import { basic, freePort, eventually, KNOWN, startStandard } from './harness.js';
import { requireTool } from './tools.js';
import { EXPECTED_AUTH, EXPECTED_REQUESTS, EXPECTED_TOTAL_REQUESTS, type Labels, sendStandardTraffic } from './traffic.js';

const ROOT = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

interface ApiAnswer<T> {
  readonly status: 'success' | 'error';
  readonly data: T;
  readonly error?: string;
}

async function api<T>(base: string, path: string): Promise<ApiAnswer<T>> {
  const response = await fetch(`${base}${path}`);
  return (await response.json()) as ApiAnswer<T>;
}

async function query(base: string, promql: string): Promise<VectorSample[]> {
  const answer = await api<{ resultType: string; result: VectorSample[] }>(base, `/api/v1/query?query=${encodeURIComponent(promql)}`);
  assert.equal(answer.status, 'success', `${promql}: ${answer.error}`);
  return answer.data.result;
}

function matches(metric: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([key, value]) => metric[key] === value);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A running Prometheus: the child, its API base URL and what it printed so far. */
interface RunningPrometheus {
  readonly child: ChildProcess;
  readonly base: string;
  readonly output: () => string;
}

/** Whether a server on `base` answers Prometheus' readiness endpoint with 200. */
async function isReady(base: string): Promise<boolean> {
  try {
    const response = await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts Prometheus with `dir`/prometheus.yml and waits until it listens. Its port is found free
 * by listening on 0 and closing, so another process can take it first: Prometheus then exits
 * with "address already in use", and is started again on a new port (three attempts in all).
 */
async function startPrometheus(binary: string, dir: string): Promise<RunningPrometheus> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let output = '';
    const child = spawn(
      binary,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, `data-${attempt}`)}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    let closed = false;
    child.once('close', () => { closed = true; });
    try {
      await eventually(async () => closed || (await isReady(base)), 20_000, 'Prometheus to listen');
    } catch (error) {
      await stop(child);
      throw new Error(`${(error as Error).message}\nprometheus output:\n${output}`);
    }
    if (!closed) return { child, base, output: () => output };
    if (attempt < 3 && /address already in use/.test(output)) continue;
    throw new Error(`prometheus exited with ${child.exitCode}\nprometheus output:\n${output}`);
  }
}

test('a real Prometheus scrapes the gateway and its API shows the expected series, values, rules and dashboard queries', { timeout: 90_000 }, async (t) => {
  const prometheus = requireTool(t, 'prometheus');
  if (prometheus === undefined) return;

  const accepts: string[] = [];
  const setup = await startStandard(t, { onMetricsRequest: (req) => accepts.push(req.headers.accept ?? '') });
  await sendStandardTraffic(setup);
  // Real credential traffic: two access tokens from the token endpoint, eight cache hits, and
  // a revocation applied through the change feed.
  const client = await setup.services.store.clients.create({ name: 'scraped', scope: 'read-only' });
  for (let i = 0; i < 2; i++) {
    const issued = await send(setup.url, {
      method: 'POST',
      path: '/oauth2/token',
      headers: { authorization: basic(client.record.clientId, client.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(issued.status, 200);
  }
  const hitsBefore = setup.services.verifier.stats().hits;
  for (let i = 0; i < 8; i++) {
    assert.equal((await send(setup.url, { path: '/private/x', headers: { authorization: `Bearer ${KNOWN.readToken}` } })).status, 200);
  }
  await setup.services.store.tokens.revoke(KNOWN.writeId);
  setup.obs.recordReload('success');
  const stats = setup.services.verifier.stats();
  assert.equal(stats.hits - hitsBefore, 8);
  // The standard mix, plus the token endpoint's two answers and the eight cached reads.
  const expectedRequests: (readonly [Labels, number])[] = EXPECTED_REQUESTS.map(([labels, value]) =>
    [labels, labels.route === 'private' && labels.method === 'GET' && labels.status === '200' ? value + 8 : value] as const);
  expectedRequests.push([{ route: 'oauth:token', method: 'POST', status: '200' }, 2]);
  const expectedTotal = EXPECTED_TOTAL_REQUESTS + 10;
  const expectedAuth = EXPECTED_AUTH.map(([labels, value]) => [labels, labels.scheme === 'bearer' && labels.code === 'ok' ? value + 8 : value] as const);

  const dir = mkdtempSync(join(tmpdir(), 'pcl-prom-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - ${JSON.stringify(join(ROOT, 'docs', 'observability', 'alerts.yml'))}
scrape_configs:
  - job_name: portcullis
    static_configs:
      - targets: ["127.0.0.1:${setup.gateway.metricsAddress.port}"]
`,
  );
  let running: RunningPrometheus | undefined;
  t.after(async () => {
    if (running !== undefined) await stop(running.child);
    rmSync(dir, { recursive: true, force: true });
  });
  running = await startPrometheus(prometheus, dir);
  const { child, base, output } = running;

  // Wait until Prometheus has scraped the finished traffic (up to ~20 s).
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
      const result = await query(base, 'sum(portcullis_requests_total)').catch(() => []);
      return Number(result[0]?.value[1]) === expectedTotal;
    }, 20_000, 'Prometheus to scrape portcullis_requests_total');
  } catch (error) {
    throw new Error(`${(error as Error).message}\nprometheus output:\n${output()}`);
  }

  // Prometheus asked for OpenMetrics and got it.
  assert.ok(accepts.length > 0);
  assert.ok(accepts.every((accept) => negotiateFormat(accept) === 'openmetrics'), `Accept: ${accepts[0]}`);

  const up = await query(base, 'up{job="portcullis"}');
  assert.equal(up[0]?.value[1], '1');
  const targets = await api<{ activeTargets: { health: string; lastError: string }[] }>(base, '/api/v1/targets');
  assert.equal(targets.data.activeTargets[0]?.health, 'up');
  assert.equal(targets.data.activeTargets[0]?.lastError, '');

  const requests = await query(base, 'portcullis_requests_total');
  assert.equal(requests.length, expectedRequests.length, 'one series per expected label set');
  for (const [labels, value] of expectedRequests) {
    const series = requests.filter((sample) => matches(sample.metric, labels));
    assert.equal(series.length, 1, JSON.stringify(labels));
    assert.equal(Number(series[0]?.value[1]), value, JSON.stringify(labels));
    assert.equal(series[0]?.metric.job, 'portcullis');
  }
  const decisions = await query(base, 'portcullis_auth_decisions_total');
  for (const [labels, value] of expectedAuth) {
    assert.equal(Number(decisions.find((sample) => matches(sample.metric, labels))?.value[1]), value, JSON.stringify(labels));
  }
  const forbidden = await query(base, 'sum(portcullis_requests_total{status="403"})');
  assert.equal(forbidden[0]?.value[1], '1');
  const unauthorized = await query(base, 'sum(portcullis_auth_decisions_total{result="failure",code=~"auth.(missing_credentials|invalid_token)"})');
  assert.equal(unauthorized[0]?.value[1], '5');
  const upstreamErrors = await query(base, 'portcullis_upstream_errors_total > 0');
  assert.deepEqual(upstreamErrors.map((s) => [s.metric.route, s.metric.kind, s.value[1]]), [['broken', 'unavailable', '1']]);
  const latency = await query(base, 'portcullis_request_duration_seconds_count{route="public"}');
  assert.equal(latency[0]?.value[1], '4');
  const p99 = await query(base, 'histogram_quantile(0.99, sum by (le) (portcullis_upstream_duration_seconds_bucket{route="public"}))');
  assert.ok(Number(p99[0]?.value[1]) > 0, 'upstream latency quantile computable');
  assert.equal((await query(base, 'portcullis_tokens_issued_total'))[0]?.value[1], '2');
  assert.equal((await query(base, 'portcullis_config_reloads_total{result="success"}'))[0]?.value[1], '1');
  assert.equal((await query(base, 'portcullis_credential_cache_entries{cache="positive"}'))[0]?.value[1], String(setup.services.verifier.stats().positiveEntries));
  assert.equal((await query(base, 'portcullis_credential_cache_lookups_total{result="hit"}'))[0]?.value[1], String(stats.hits));
  const applied = setup.services.verifier.stats().changesApplied;
  assert.ok(applied >= 1, 'the revocation was applied');
  assert.equal((await query(base, 'portcullis_credential_change_apply_delay_seconds_count'))[0]?.value[1], String(applied));
  const build = await query(base, 'portcullis_build_info');
  assert.equal(build[0]?.metric.version, PACKAGE_VERSION);
  assert.equal(build[0]?.metric.node_version, process.version);
  assert.ok((await query(base, 'process_cpu_seconds_total')).length === 1, 'default process metrics scraped');

  // Scraped as OpenMetrics, counter families are named without `_total`; every family of the
  // registry arrives with its type.
  const metadata = await api<Record<string, { type: string }[]>>(base, '/api/v1/metadata');
  for (const metric of setup.obs.registry.getMetricsAsArray()) {
    if (!metric.name.startsWith('portcullis_')) continue;
    const type = String(metric.type);
    const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
    assert.equal(metadata.data[family]?.[0]?.type, type, family);
  }

  // Every alerting rule evaluates against real data without error.
  interface RuleGroups { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
  let rules: RuleGroups['groups'][number]['rules'] = [];
  await eventually(async () => {
    rules = (await api<RuleGroups>(base, '/api/v1/rules')).data.groups.flatMap((group) => group.rules);
    return rules.length > 0 && rules.every((rule) => rule.health !== 'unknown');
  }, 10_000, 'the rules to be evaluated');
  assert.equal(rules.length, 15);
  for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);

  // Every query of the Grafana dashboard runs; the traffic panels have data.
  await eventually(async () => (await query(base, 'rate(portcullis_requests_total[1m])')).length > 0, 10_000, 'two scrapes for rate()');
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs', 'observability', 'grafana-dashboard.json'), 'utf8')) as unknown;
  const withData: string[] = [];
  for (const { title, expr } of dashboardQueries(dashboard)) {
    const promql = expr.replaceAll('$__rate_interval', '1m').replace(/\$(job|instance|route)\b/g, '.*');
    const result = await query(base, promql);
    if (result.length > 0) withData.push(title);
  }
  // The example queries of docs/metrics.md run too.
  const doc = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  const examples = [...doc.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap((block) =>
    (block[1] ?? '').split(/\n\s*\n/).map((chunk) => chunk.split('\n').filter((line) => !line.startsWith('#')).join('\n').trim()).filter((q) => q !== ''),
  );
  assert.ok(examples.length >= 5, `${examples.length} example queries`);
  for (const example of examples) await query(base, example);

  for (const title of ['Requests per second', 'Requests by route', 'Responses by status', 'Request latency by route (p50, p95, p99)', 'Authentication decisions by code', 'Upstream errors by route and kind', 'Builds']) {
    assert.ok(withData.includes(title), `panel "${title}" shows data`);
  }
});
