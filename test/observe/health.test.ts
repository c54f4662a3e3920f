/**
 * The metrics listener's own endpoints (src/observe/health.ts): /healthz, /readyz and its
 * reasons, and everything else handed on (or 404). Spoken to over HTTP on a listener of its own.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { createHealthEndpoints, type HealthEndpointOptions } from '../../src/observe/health.js';
import { send } from '../support/client.js';
import { assertNotADocument } from '../support/problem.js';

async function listen(t: TestContext, options: HealthEndpointOptions): Promise<string> {
  const server = http.createServer(createHealthEndpoints(options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('/healthz answers 200 whatever readiness says; every answer carries an X-Request-Id and is not cached', async (t) => {
  const url = await listen(t, { readiness: () => Promise.resolve('the store does not answer'), shuttingDown: () => true });
  const answer = await send(url, { path: '/healthz?probe=1' });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json(), { status: 'ok' });
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.match(String(answer.headers['x-request-id']), /\S/);
});

test('/readyz: ready, the readiness reason, a failed check, and shutting down (which wins)', async (t) => {
  let reason: string | undefined;
  let failing = false;
  let shuttingDown = false;
  const url = await listen(t, {
    // eslint-disable-next-line @typescript-eslint/require-await -- a throw inside an async function is the rejection under test
    readiness: async () => {
      if (failing) throw new Error('postgres://user:VerySecret@db/x refused');
      return reason;
    },
    shuttingDown: () => shuttingDown,
  });
  const ready = await send(url, { path: '/readyz' });
  assert.deepEqual([ready.status, ready.json()], [200, { status: 'ready' }]);
  reason = 'the store does not answer';
  const notReady = await send(url, { path: '/readyz' });
  assert.deepEqual([notReady.status, notReady.json()], [503, { status: 'unavailable', reason }]);
  failing = true;
  const failed = await send(url, { path: '/readyz' });
  assert.deepEqual([failed.status, failed.json()], [503, { status: 'unavailable', reason: 'readiness check failed' }]);
  assert.doesNotMatch(failed.body, /VerySecret/, 'the error of the check is not shown');
  shuttingDown = true;
  failing = false;
  reason = undefined;
  const draining = await send(url, { path: '/readyz' });
  assert.deepEqual([draining.status, draining.json()], [503, { status: 'unavailable', reason: 'shutting down' }]);
  for (const answer of [ready, notReady, draining]) assertNotADocument(answer.headers);
});

test('other paths go to the next handler, or are 404 without one', async (t) => {
  const seen: string[] = [];
  const withNext = await listen(t, {
    shuttingDown: () => false,
    next: (req, res) => {
      seen.push(req.url ?? '');
      res.end('metrics');
    },
  });
  const metrics = await send(withNext, { path: '/metrics' });
  assert.deepEqual([metrics.status, metrics.body, seen], [200, 'metrics', ['/metrics']]);
  const alone = await listen(t, { shuttingDown: () => false });
  const missing = await send(alone, { path: '/metrics' });
  assert.deepEqual([missing.status, missing.json()], [404, { status: 404 }]);
  assertNotADocument(missing.headers, ' (404)');
  assert.equal((await send(alone, { path: '/readyz' })).status, 200, 'no readiness check: ready once listening');
});
