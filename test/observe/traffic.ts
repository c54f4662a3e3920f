/**
 * One fixed mix of traffic against STANDARD_ROUTES (passes, 401s, a 403, a 404, a 400, a 405,
 * an upstream failure, an aborted request) and the series it must produce. Shared by the
 * scrape test, the promtool test and the real-Prometheus test.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { send, sendRaw } from '../support/client.js';
import { basic, eventually, fakeApiToken, KNOWN, type StandardSetup } from './harness.js';

export type Labels = Record<string, string>;

/** `portcullis_requests_total` after the traffic: labels → value. */
export const EXPECTED_REQUESTS: ReadonlyArray<readonly [Labels, number]> = [
  [{ route: 'public', method: 'GET', status: '200' }, 2],
  [{ route: 'public', method: 'HEAD', status: '200' }, 1],
  [{ route: 'public', method: 'OTHER', status: '200' }, 1],
  [{ route: 'private', method: 'GET', status: '200' }, 1],
  [{ route: 'private', method: 'POST', status: '200' }, 1],
  [{ route: 'private', method: 'GET', status: '401' }, 5],
  [{ route: 'private', method: 'POST', status: '403' }, 1],
  [{ route: 'none', method: 'GET', status: '404' }, 1],
  [{ route: 'none', method: 'GET', status: '400' }, 1],
  [{ route: 'docs', method: 'POST', status: '405' }, 1],
  [{ route: 'broken', method: 'GET', status: '502' }, 1],
  [{ route: 'slow', method: 'GET', status: '499' }, 1],
];

export const EXPECTED_TOTAL_REQUESTS = EXPECTED_REQUESTS.reduce((sum, [, value]) => sum + value, 0);

/** `portcullis_auth_decisions_total` after the traffic. */
export const EXPECTED_AUTH: ReadonlyArray<readonly [Labels, number]> = [
  [{ route: 'private', scheme: 'bearer', result: 'success', code: 'ok' }, 1],
  [{ route: 'private', scheme: 'basic', result: 'success', code: 'ok' }, 1],
  [{ route: 'private', scheme: 'none', result: 'failure', code: 'auth.missing_credentials' }, 3],
  [{ route: 'private', scheme: 'bearer', result: 'failure', code: 'auth.invalid_token' }, 2],
  [{ route: 'private', scheme: 'bearer', result: 'failure', code: 'auth.insufficient_scope' }, 1],
];

/** `portcullis_request_duration_seconds_count` by route. */
export const EXPECTED_DURATION_COUNTS: Readonly<Record<string, number>> = { public: 4, private: 8, none: 2, docs: 1, broken: 1, slow: 1 };

/** `portcullis_upstream_duration_seconds_count` by route (only requests that got upstream headers). */
export const EXPECTED_UPSTREAM_COUNTS: Readonly<Record<string, number>> = { public: 4, private: 2 };

async function expectStatus(promise: Promise<{ status: number }>, status: number, what: string): Promise<void> {
  assert.equal((await promise).status, status, what);
}

/** Sends the mix; every answer is checked on the way. Resolves once the aborted request was counted. */
export async function sendStandardTraffic(setup: StandardSetup): Promise<void> {
  const { url, port } = setup;
  await expectStatus(send(url, { path: '/public/a?page=1' }), 200, 'public GET');
  await expectStatus(send(url, { path: '/public/b' }), 200, 'public GET');
  await expectStatus(send(url, { method: 'HEAD', path: '/public/a' }), 200, 'public HEAD');
  await expectStatus(send(url, { method: 'PROPFIND', path: '/public/a' }), 200, 'public PROPFIND');
  await expectStatus(send(url, { path: '/private/x', headers: { authorization: `Bearer ${KNOWN.readToken}` } }), 200, 'read token');
  await expectStatus(
    send(url, { method: 'POST', path: '/private/x', headers: { authorization: basic('ci', KNOWN.writeToken) }, body: 'hello' }),
    200,
    'write token (Basic)',
  );
  for (let i = 0; i < 3; i++) await expectStatus(send(url, { path: '/private/x' }), 401, 'no credentials');
  for (let i = 0; i < 2; i++) {
    await expectStatus(send(url, { path: '/private/x', headers: { authorization: `Bearer ${fakeApiToken()}` } }), 401, 'unknown token');
  }
  await expectStatus(
    send(url, { method: 'POST', path: '/private/x', headers: { authorization: `Bearer ${KNOWN.readToken}` } }),
    403,
    'read token writes',
  );
  await expectStatus(send(url, { path: '/nowhere' }), 404, 'no route');
  const invalid = await sendRaw(port, 'GET /public/%2e%2e/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  assert.equal(invalid.status, 400, 'invalid path');
  await expectStatus(send(url, { method: 'POST', path: '/docs/x', body: 'x' }), 405, 'write to read-only route');
  await expectStatus(send(url, { path: '/broken/x' }), 502, 'upstream on a closed port');
  await abortOnSlowRoute(setup);
}

/** A GET to the never-answering upstream, abandoned by the client once it reached the upstream. */
export async function abortOnSlowRoute(setup: StandardSetup): Promise<void> {
  const before = setup.slowArrivals();
  const closed = new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: setup.port, path: '/slow/x', agent: false });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end();
    void eventually(() => setup.slowArrivals() > before, 5_000, 'the slow upstream to receive the request').then(() => req.destroy());
  });
  await closed;
  await eventually(() => setup.gateway.inFlight() === 0, 5_000, 'the aborted request to end');
}
