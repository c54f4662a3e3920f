import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PACKAGE_VERSION } from '../../src/version.js';
import { send } from '../support/client.js';
import { assertNotADocument } from '../support/problem.js';
import { samplesOf, scrape, valueOf } from './exposition.js';
import { eventually, observedGatewayYaml, startStandard } from './harness.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/credentials/open-store.js';
import { startTestGateway } from '../support/gateway.js';
import {
  EXPECTED_AUTH,
  EXPECTED_DURATION_COUNTS,
  EXPECTED_REQUESTS,
  EXPECTED_TOTAL_REQUESTS,
  EXPECTED_UPSTREAM_COUNTS,
  sendStandardTraffic,
} from './traffic.js';

test('after a mix of traffic, /metrics has exactly the expected request, auth, latency and upstream-error series', async (t) => {
  const setup = await startStandard(t);
  await sendStandardTraffic(setup);
  const m = await scrape(setup.metricsUrl);

  for (const [labels, value] of EXPECTED_REQUESTS) {
    assert.equal(valueOf(m, 'portcullis_requests_total', labels), value, `requests ${JSON.stringify(labels)}`);
  }
  const requestSeries = samplesOf(m, 'portcullis_requests_total');
  assert.equal(requestSeries.length, EXPECTED_REQUESTS.length, 'no other request series');
  assert.equal(
    requestSeries.reduce((sum, s) => sum + s.value, 0),
    EXPECTED_TOTAL_REQUESTS,
  );

  for (const [labels, value] of EXPECTED_AUTH) {
    assert.equal(valueOf(m, 'portcullis_auth_decisions_total', labels), value, `auth ${JSON.stringify(labels)}`);
  }
  assert.equal(
    samplesOf(m, 'portcullis_auth_decisions_total').length,
    EXPECTED_AUTH.length,
    'auth decisions only for auth: required routes',
  );

  for (const [route, count] of Object.entries(EXPECTED_DURATION_COUNTS)) {
    assert.equal(valueOf(m, 'portcullis_request_duration_seconds_count', { route }), count, `duration count ${route}`);
    assert.equal(valueOf(m, 'portcullis_request_duration_seconds_bucket', { route, le: '+Inf' }), count);
    const sum = valueOf(m, 'portcullis_request_duration_seconds_sum', { route }) ?? -1;
    assert.ok(sum > 0 && sum < 30, `duration sum ${route} is plausible: ${sum}`);
  }
  for (const route of ['public', 'private', 'docs', 'broken', 'slow', 'none']) {
    assert.equal(
      valueOf(m, 'portcullis_upstream_duration_seconds_count', { route }) ?? 0,
      EXPECTED_UPSTREAM_COUNTS[route] ?? 0,
      `upstream count ${route}`,
    );
  }
  // Buckets are cumulative and end with the count.
  const buckets = samplesOf(m, 'portcullis_upstream_duration_seconds_bucket', { route: 'public' }).map((s) => s.value);
  assert.deepEqual(
    [...buckets].sort((a, b) => a - b),
    buckets,
  );

  for (const route of ['public', 'docs', 'private', 'broken', 'slow']) {
    for (const kind of ['unavailable', 'tls', 'timeout', 'reset']) {
      const expected = route === 'broken' && kind === 'unavailable' ? 1 : 0;
      assert.equal(valueOf(m, 'portcullis_upstream_errors_total', { route, kind }), expected, `upstream errors ${route} ${kind}`);
    }
  }
  assert.equal(samplesOf(m, 'portcullis_upstream_errors_total', { route: 'none' }).length, 0);

  assert.equal(valueOf(m, 'portcullis_requests_in_flight'), 0);
  assert.equal(valueOf(m, 'portcullis_build_info', { version: PACKAGE_VERSION, node_version: process.version }), 1);
  assert.equal(valueOf(m, 'portcullis_tokens_issued_total'), 0);
  assert.equal(valueOf(m, 'portcullis_config_reloads_total', { result: 'success' }), 0);
  assert.equal(valueOf(m, 'portcullis_config_reloads_total', { result: 'failure' }), 0);
  assert.equal(valueOf(m, 'portcullis_config_last_reload_successful'), 1);
  const loaded = valueOf(m, 'portcullis_config_last_reload_success_timestamp_seconds') ?? 0;
  assert.ok(Math.abs(loaded - Date.now() / 1000) < 60, 'the startup load counts as the last successful load');
  // The real verifier's counters: the read token's second use was a hit; the two known tokens
  // were misses (the random ones fail their checksum before any lookup).
  const stats = setup.services.verifier.stats();
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'hit' }), stats.hits);
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'miss' }), stats.misses);
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'negative_hit' }), stats.negativeHits);
  assert.ok(stats.hits >= 1 && stats.misses >= 2);
  assert.equal(valueOf(m, 'portcullis_credential_cache_entries', { cache: 'positive' }), stats.positiveEntries);
  assert.equal(valueOf(m, 'portcullis_store_reads_total'), stats.storeReads);

  // The default process and Node.js metrics are there too.
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
  ]) {
    assert.ok(samplesOf(m, name).length > 0, `${name} present`);
  }
  assert.equal(m.types.get('portcullis_requests_total'), 'counter');
  assert.equal(m.types.get('portcullis_request_duration_seconds'), 'histogram');
  assert.equal(m.types.get('portcullis_requests_in_flight'), 'gauge');
});

test('the in-flight gauge counts a request while it waits for its upstream', async (t) => {
  const setup = await startStandard(t);
  const { request } = await import('node:http');
  const req = request({ host: '127.0.0.1', port: setup.port, path: '/slow/wait', agent: false });
  req.on('error', () => {});
  req.end();
  const { eventually } = await import('./harness.js');
  await eventually(() => setup.slowArrivals() === 1, 5_000, 'the upstream to receive the request');
  assert.equal(valueOf(await scrape(setup.metricsUrl), 'portcullis_requests_in_flight'), 1);
  req.destroy();
  await eventually(() => setup.gateway.inFlight() === 0);
  assert.equal(valueOf(await scrape(setup.metricsUrl), 'portcullis_requests_in_flight'), 0);
});

test('the metrics listener: /healthz 200, /readyz 200, /metrics GET and HEAD, other paths 404, other methods 405', async (t) => {
  const setup = await startStandard(t);
  const health = await send(setup.metricsUrl, { path: '/healthz' });
  assert.equal(health.status, 200);
  assert.deepEqual(health.json(), { status: 'ok' });
  const ready = await send(setup.metricsUrl, { path: '/readyz' });
  assert.equal(ready.status, 200);
  assert.deepEqual(ready.json(), { status: 'ready' });

  const text = await send(setup.metricsUrl, { path: '/metrics' });
  assert.equal(text.status, 200);
  assert.equal(text.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(text.headers['cache-control'], 'no-store');
  const head = await send(setup.metricsUrl, { method: 'HEAD', path: '/metrics' });
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await send(setup.metricsUrl, { path: '/metrics?x=1' })).status, 200, 'a query string does not change the path');

  for (const path of ['/', '/metrics/', '/metricsx', '/admin', '/metrics/../healthz']) {
    const answer = await send(setup.metricsUrl, { path });
    assert.equal(answer.status, 404, path);
    assert.equal(answer.json().status, 404);
  }
  const post = await send(setup.metricsUrl, { method: 'POST', path: '/metrics', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
  const unknown = await send(setup.metricsUrl, { path: '/nowhere' });
  for (const [name, answer] of Object.entries({ health, ready, text, head, unknown, post }))
    assertNotADocument(answer.headers, ` (${name})`);
});

test('/readyz answers 503 with the reason while readiness reports a problem, 200 once it clears', async (t) => {
  let problem: string | undefined = 'credential store unreachable';
  const setup = await startStandard(t, { readiness: () => Promise.resolve(problem) });
  const down = await send(setup.metricsUrl, { path: '/readyz' });
  assert.equal(down.status, 503);
  assert.deepEqual(down.json(), { status: 'unavailable', reason: 'credential store unreachable' });
  assert.equal(down.headers['cache-control'], 'no-store');
  problem = undefined;
  assert.equal((await send(setup.metricsUrl, { path: '/readyz' })).status, 200);
  assert.equal((await send(setup.metricsUrl, { path: '/healthz' })).status, 200, 'alive throughout');
});

test('/readyz answers 503 when the readiness check itself fails', async (t) => {
  const setup = await startStandard(t, { readiness: () => Promise.reject(new Error('boom: secret detail')) });
  const answer = await send(setup.metricsUrl, { path: '/readyz' });
  assert.equal(answer.status, 503);
  assert.deepEqual(answer.json(), { status: 'unavailable', reason: 'readiness check failed' });
});

test('portcullis_credentials_active counts the working credentials by kind, off the request path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-active-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seeded = await openStore(`sqlite:${join(dir, 'portcullis.db')}`, { create: true });
  await seeded.tokens.create({ label: 'a', scope: 'read-only' });
  await seeded.tokens.create({ label: 'b', scope: 'read-write' });
  const revoked = await seeded.tokens.create({ label: 'c', scope: 'read-only' });
  await seeded.tokens.revoke(revoked.record.id);
  await seeded.clients.create({ name: 'svc', scope: 'read-only' });
  await seeded.close();
  const yaml = observedGatewayYaml({
    routes: '  - name: r\n    match: { path: /r }\n    upstream: "https://backend.internal"\n',
    level: 'silent',
  });
  const { metricsUrl } = await startTestGateway(t, yaml, {}, { dir });
  let m = await scrape(metricsUrl);
  await eventually(
    async () => {
      m = await scrape(metricsUrl);
      return valueOf(m, 'portcullis_credentials_active', { kind: 'api_token' }) !== undefined;
    },
    5_000,
    'the first count',
  );
  assert.equal(valueOf(m, 'portcullis_credentials_active', { kind: 'api_token' }), 2);
  assert.equal(valueOf(m, 'portcullis_credentials_active', { kind: 'oauth_client' }), 1);
});
