/**
 * The hooks other services report through (credential events, reloads, token endpoint, JWKS,
 * out-of-pipeline auth decisions), and the exposition itself: formats, isolation, failure.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import type { VerifierEvent } from '../../src/credentials/index.js';
import { createObservability, verifierEventListener, type Observability } from '../../src/observe/index.js';
import { createLogger } from '../../src/observe/logger.js';
import { negotiateFormat, renderOpenMetrics } from '../../src/observe/metrics-handler.js';
import { send } from '../support/client.js';
import { parseExposition, valueOf, type Exposition } from './exposition.js';
import { minimalConfig } from './fixtures.js';
import { createLogCollector } from './harness.js';

function create(options: Parameters<typeof minimalConfig>[0] = {}): Observability {
  return createObservability({ config: minimalConfig(options), logger: createLogger('silent'), version: '9.9.9' });
}

async function read(obs: Observability): Promise<Exposition> {
  return parseExposition(await obs.registry.metrics());
}

test('credential events: cache lookups, evictions, entries, store reads and errors, change apply delay', async () => {
  const obs = create();
  const events = obs.credentialEvents;
  for (let i = 0; i < 3; i++) events.cacheHit();
  events.cacheMiss();
  events.cacheMiss();
  events.negativeHit();
  events.eviction();
  events.eviction('expired');
  events.eviction('change', 4);
  events.eviction('change', 0);
  events.storeRead();
  events.storeError();
  events.changeApplied(250);
  events.changeApplied(-20);
  events.changeApplied(Number.NaN);
  events.changeApplied(1_500);
  let positive = 7;
  events.setEntriesSource({ positiveSize: () => positive, negativeSize: () => 2 });

  let m = await read(obs);
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'hit' }), 3);
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'miss' }), 2);
  assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result: 'negative_hit' }), 1);
  assert.equal(valueOf(m, 'portcullis_credential_cache_evictions_total', { reason: 'capacity' }), 1);
  assert.equal(valueOf(m, 'portcullis_credential_cache_evictions_total', { reason: 'expired' }), 1);
  assert.equal(valueOf(m, 'portcullis_credential_cache_evictions_total', { reason: 'change' }), 4);
  assert.equal(valueOf(m, 'portcullis_credential_cache_entries', { cache: 'positive' }), 7);
  assert.equal(valueOf(m, 'portcullis_credential_cache_entries', { cache: 'negative' }), 2);
  assert.equal(valueOf(m, 'portcullis_store_reads_total'), 1);
  assert.equal(valueOf(m, 'portcullis_store_errors_total'), 1);
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_count'), 3, 'NaN is ignored, a negative delay counts as 0');
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_sum'), 1.75);
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_bucket', { le: '0.01' }), 1);
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_bucket', { le: '1' }), 2);
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_bucket', { le: '2.5' }), 3);

  positive = 8;
  m = await read(obs);
  assert.equal(valueOf(m, 'portcullis_credential_cache_entries', { cache: 'positive' }), 8, 'entries are read at scrape time');
  assert.throws(() => events.eviction('bogus' as never), TypeError);
});

test('verifierEventListener maps every verifier event onto the sink', async () => {
  const obs = create();
  const listen = verifierEventListener(obs.credentialEvents);
  const events: VerifierEvent[] = [
    { type: 'cache_hit' },
    { type: 'cache_miss' },
    { type: 'negative_hit' },
    { type: 'eviction', reason: 'change', count: 3 },
    { type: 'store_read', op: 'token', durationMs: 2 },
    { type: 'store_error', op: 'changes' },
    { type: 'change_applied', change: { seq: 1, at: 0, kind: 'token.revoked', credentialId: 'tok_x' } as never, delayMs: 120, evicted: 3 },
  ];
  for (const event of events) listen(event);
  const m = await read(obs);
  for (const result of ['hit', 'miss', 'negative_hit'])
    assert.equal(valueOf(m, 'portcullis_credential_cache_lookups_total', { result }), 1);
  assert.equal(valueOf(m, 'portcullis_credential_cache_evictions_total', { reason: 'change' }), 3);
  assert.equal(valueOf(m, 'portcullis_store_reads_total'), 1);
  assert.equal(valueOf(m, 'portcullis_store_errors_total'), 1);
  assert.equal(valueOf(m, 'portcullis_credential_change_apply_delay_seconds_sum'), 0.12);
});

test('reloads: counted by result, last success time and last result gauges', async () => {
  const obs = create();
  let m = await read(obs);
  const startup = valueOf(m, 'portcullis_config_last_reload_success_timestamp_seconds') ?? 0;
  assert.equal(valueOf(m, 'portcullis_config_last_reload_successful'), 1);
  obs.recordReload('failure');
  m = await read(obs);
  assert.equal(valueOf(m, 'portcullis_config_reloads_total', { result: 'failure' }), 1);
  assert.equal(valueOf(m, 'portcullis_config_last_reload_successful'), 0);
  assert.equal(valueOf(m, 'portcullis_config_last_reload_success_timestamp_seconds'), startup, 'a failure keeps the last success time');
  await new Promise((resolve) => setTimeout(resolve, 5));
  obs.recordReload('success');
  m = await read(obs);
  assert.equal(valueOf(m, 'portcullis_config_reloads_total', { result: 'success' }), 1);
  assert.equal(valueOf(m, 'portcullis_config_last_reload_successful'), 1);
  assert.ok((valueOf(m, 'portcullis_config_last_reload_success_timestamp_seconds') ?? 0) > startup);
  assert.throws(() => obs.recordReload('maybe' as never), TypeError);
});

test('tokens issued, JWKS refreshes by configured issuer, out-of-pipeline auth decisions', async () => {
  const obs = create({ routes: ['alpha', 'beta'], issuers: ['https://idp.example.com'] });
  obs.tokenIssued();
  obs.tokenIssued();
  obs.jwksRefresh('https://idp.example.com', 'ok');
  obs.jwksRefresh('https://idp.example.com', 'error');
  obs.jwksRefresh('https://attacker.example/?x=1', 'error');
  obs.authOutcome('alpha', 'basic', 'auth.invalid_credentials');
  obs.authOutcome('/some/raw/path', 'bearer', 'ok');
  const m = await read(obs);
  assert.equal(valueOf(m, 'portcullis_tokens_issued_total'), 2);
  assert.equal(valueOf(m, 'portcullis_jwks_refreshes_total', { issuer: 'https://idp.example.com', result: 'ok' }), 1);
  assert.equal(valueOf(m, 'portcullis_jwks_refreshes_total', { issuer: 'https://idp.example.com', result: 'error' }), 1);
  assert.equal(
    valueOf(m, 'portcullis_jwks_refreshes_total', { issuer: 'other', result: 'error' }),
    1,
    'an unconfigured issuer is never a label value',
  );
  assert.equal(
    valueOf(m, 'portcullis_auth_decisions_total', { route: 'alpha', scheme: 'basic', result: 'failure', code: 'auth.invalid_credentials' }),
    1,
  );
  assert.equal(
    valueOf(m, 'portcullis_auth_decisions_total', { route: 'none', scheme: 'bearer', result: 'success', code: 'ok' }),
    1,
    'an unknown route name counts as none',
  );
  assert.ok(!m.text.includes('/some/raw/path') && !m.text.includes('attacker'));
  assert.throws(() => obs.authOutcome('alpha', 'bearer', 'route.not_found' as never), TypeError);
  assert.throws(() => obs.authOutcome('alpha', 'digest' as never, 'ok'), TypeError);
  assert.throws(() => obs.jwksRefresh('https://idp.example.com', 'maybe' as never), TypeError);
});

test('updateRoutes: routes of a reloaded configuration get their zeroed upstream-error series; old ones stay', async () => {
  const obs = create({ routes: ['alpha'] });
  obs.updateRoutes(minimalConfig({ routes: ['beta'] }));
  const m = await read(obs);
  for (const route of ['alpha', 'beta']) assert.equal(valueOf(m, 'portcullis_upstream_errors_total', { route, kind: 'tls' }), 0);
});

test('each instance has its own registry; the global prom-client registry stays empty', async () => {
  const a = create();
  const b = create();
  a.tokenIssued();
  assert.equal(valueOf(await read(a), 'portcullis_tokens_issued_total'), 1);
  assert.equal(valueOf(await read(b), 'portcullis_tokens_issued_total'), 0);
  assert.notEqual(a.registry, b.registry);
  assert.equal(globalRegistry.getMetricsAsArray().length, 0);
});

test('Accept negotiation: OpenMetrics only when preferred', () => {
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat(''), 'prometheus');
  assert.equal(negotiateFormat('*/*'), 'prometheus');
  assert.equal(negotiateFormat('text/plain'), 'prometheus');
  // What Prometheus 2.x sends.
  assert.equal(
    negotiateFormat(
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
    ),
    'openmetrics',
  );
  assert.equal(negotiateFormat('application/openmetrics-text'), 'openmetrics');
  assert.equal(negotiateFormat('Application/OpenMetrics-Text; version="1.0.0"'), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0.5, text/plain'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;version=2.0.0'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=abc'), 'prometheus');
});

test('OpenMetrics rendering leaves the registry intact: a text scrape after (or during) it keeps counter names', async () => {
  const obs = create();
  obs.tokenIssued();
  const [om, text] = await Promise.all([renderOpenMetrics(obs.registry), obs.registry.metrics()]);
  assert.ok(om.endsWith('# EOF\n'));
  assert.match(om, /^# TYPE portcullis_tokens_issued counter$/m);
  assert.match(om, /^portcullis_tokens_issued_total 1$/m);
  assert.match(om, /^# TYPE portcullis_request_duration_seconds histogram$/m);
  for (const body of [text, await obs.registry.metrics()]) {
    assert.match(body, /^# TYPE portcullis_tokens_issued_total counter$/m);
    assert.match(body, /^portcullis_tokens_issued_total 1$/m);
    assert.doesNotMatch(body, /_total_total/);
  }
  assert.doesNotMatch(om, /_total_total/);
});

test('GET /metrics with an OpenMetrics Accept header answers OpenMetrics', async (t) => {
  const obs = create();
  const server = http.createServer(obs.metricsHandler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const answer = await send(url, { path: '/metrics', headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.equal(answer.headers.vary, 'Accept');
  assert.ok(answer.body.endsWith('# EOF\n'));
});

test('a collect() that throws fails the scrape with 500 and a logged event, not the process', async (t) => {
  const log = createLogCollector();
  const obs = createObservability({ config: minimalConfig(), logger: createLogger('info', { destination: log }), version: 'x' });
  obs.credentialEvents.setEntriesSource({
    positiveSize: () => {
      throw new Error('cache gone');
    },
    negativeSize: () => 0,
  });
  const server = http.createServer(obs.metricsHandler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const answer = await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { path: '/metrics' });
  assert.equal(answer.status, 500);
  assert.ok(!answer.body.includes('cache gone'), 'the error message stays in the log');
  const event = log.lines().find((line) => line.event === 'metrics.collect_failed');
  assert.equal(event?.level, 50);
});
