/**
 * The observer on hand-made contexts: the cases a live gateway produces rarely or slowly
 * (WebSocket sessions, a client gone during verification, broken responses, a failing logger).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { createObservability, type Observability } from '../../src/observe/index.js';
import { createLogger } from '../../src/observe/logger.js';
import type { Socket } from 'node:net';
import type { Principal, RequestContext } from '../../src/types.js';
import { parseExposition, samplesOf, valueOf } from './exposition.js';
import { minimalConfig } from './fixtures.js';
import { createLogCollector } from './harness.js';

const config = minimalConfig({ routes: ['alpha', 'open'] });
const [alpha, openRoute] = config.routes;
const open = openRoute === undefined ? undefined : { ...openRoute, auth: 'off' as const };

function context(overrides: Partial<RequestContext> & { method?: string; authorization?: string } = {}): RequestContext {
  const { method = 'GET', authorization, ...rest } = overrides;
  const socket = { bytesRead: 120, bytesWritten: 300 } as unknown as Socket;
  const req = {
    method,
    url: '/alpha/x',
    headers: authorization === undefined ? {} : { authorization },
    socket,
  } as unknown as IncomingMessage;
  return {
    id: 'r-1',
    startedAt: process.hrtime.bigint() - 2_000_000n,
    req,
    res: {} as ServerResponse,
    socket,
    path: '/alpha/x',
    search: '',
    route: alpha,
    principal: undefined,
    decision: 'ok',
    upstreamStartedAt: undefined,
    upstreamHeadersAt: undefined,
    ...rest,
  };
}

function end(obs: Observability, ctx: RequestContext, status: number): void {
  obs.observer.requestStarted(ctx);
  obs.observer.requestEnded(ctx, status);
}

const PRINCIPAL: Principal = { kind: 'external_jwt', scheme: 'bearer', subject: 'svc', scope: 'read-write', credentialId: 'jti-1' };

test('a WebSocket session (101) is counted but not observed as latency', async () => {
  const obs = createObservability({ config, logger: createLogger('silent'), version: 'x' });
  end(obs, context({ principal: PRINCIPAL }), 101);
  const m = parseExposition(await obs.registry.metrics());
  assert.equal(valueOf(m, 'portcullis_requests_total', { route: 'alpha', method: 'GET', status: '101' }), 1);
  assert.equal(valueOf(m, 'portcullis_request_duration_seconds_count', { route: 'alpha' }), undefined);
  assert.equal(valueOf(m, 'portcullis_auth_decisions_total', { route: 'alpha', scheme: 'bearer', result: 'success', code: 'ok' }), 1);
});

test('auth decisions: none for auth: off routes, none when the client left during verification, none for unknown codes', async () => {
  const obs = createObservability({ config, logger: createLogger('silent'), version: 'x' });
  end(obs, context({ route: open }), 200);
  end(obs, context({ authorization: 'Bearer abc' }), 499);
  end(obs, context({ decision: 'auth.some_future_code', authorization: 'Basic abc' }), 401);
  end(obs, context({ decision: 'route.read_only', principal: PRINCIPAL, method: 'POST' }), 405);
  end(obs, context({ decision: 'auth.malformed_credentials', authorization: 'Digest x' }), 400);
  end(obs, context({ decision: 'auth.invalid_credentials', authorization: '  basic   Zm9v' }), 401);
  const m = parseExposition(await obs.registry.metrics());
  const decisions = samplesOf(m, 'portcullis_auth_decisions_total')
    .map((s) => `${s.labels.scheme} ${s.labels.code} ${s.value}`)
    .sort();
  assert.deepEqual(decisions, ['basic auth.invalid_credentials 1', 'bearer ok 1', 'none auth.malformed_credentials 1']);
});

test('upstream latency is observed from the upstream timestamps; a broken response counts an upstream error', async () => {
  const obs = createObservability({ config, logger: createLogger('silent'), version: 'x' });
  const ctx = context({ route: open, upstreamStartedAt: 1_000_000_000n, upstreamHeadersAt: 1_250_000_000n });
  obs.observer.requestStarted(ctx);
  obs.observer.upstreamFailed(ctx, 'reset');
  obs.observer.requestEnded(ctx, 200);
  const m = parseExposition(await obs.registry.metrics());
  assert.equal(valueOf(m, 'portcullis_upstream_duration_seconds_sum', { route: 'open' }), 0.25);
  assert.equal(valueOf(m, 'portcullis_upstream_duration_seconds_bucket', { route: 'open', le: '0.1' }), 0);
  assert.equal(valueOf(m, 'portcullis_upstream_duration_seconds_bucket', { route: 'open', le: '0.25' }), 1);
  assert.equal(valueOf(m, 'portcullis_upstream_errors_total', { route: 'open', kind: 'reset' }), 1);
});

test('an observation failure never reaches the request path: logged once, metrics still counted', async () => {
  const log = createLogCollector();
  const logger = createLogger('info', { destination: log });
  const obs = createObservability({ config, logger, version: 'x' });
  const broken = context();
  Object.defineProperty(broken.socket, 'bytesRead', {
    get: () => {
      throw new Error('socket gone');
    },
  });
  assert.doesNotThrow(() => end(obs, broken, 200));
  assert.doesNotThrow(() => end(obs, broken, 200));
  const failures = log.lines().filter((line) => line.event === 'observe.failed');
  assert.equal(failures.length, 1);
  const m = parseExposition(await obs.registry.metrics());
  assert.equal(valueOf(m, 'portcullis_requests_total', { route: 'alpha', method: 'GET', status: '200' }), 2);
  assert.equal(valueOf(m, 'portcullis_requests_in_flight'), 0);
});
