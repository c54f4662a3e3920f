/**
 * The reload plan (src/config/reload-plan.ts): which changed keys a reload applies, which keep
 * their running value until a restart, and that keys are named, never their values.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planReload } from '../../src/config/reload-plan.js';
import { sharedCerts } from '../support/certs.js';
import { loadTestConfig } from '../support/gateway.js';

const ROUTE = `routes:\n  - name: a\n    match: { path: /a }\n    upstream: "https://127.0.0.1:1"\n`;

/** One directory for every file: relative paths (the default store) resolve alike. */
const DIR = mkdtempSync(join(tmpdir(), 'pcl-plan-'));
process.once('exit', () => rmSync(DIR, { recursive: true, force: true }));

function load(extra: string, routes = ROUTE): ReturnType<typeof loadTestConfig> {
  return loadTestConfig(`${extra}\n${routes}`, {}, DIR);
}

test('an unchanged file changes nothing', () => {
  const plan = planReload(load('listen: "127.0.0.1:0"'), load('listen: "127.0.0.1:0"'));
  assert.deepEqual([plan.applied, plan.restartRequired], [[], []]);
  const proxies = 'trustedProxies: [10.0.0.0/8, "fd00::/8"]';
  assert.deepEqual(planReload(load(proxies), load(proxies)).applied, [], 'two compilations of the same trusted proxies are the same value');
});

test('restart-only keys keep their running value; the rest applies', () => {
  const running = load('listen: "127.0.0.1:8001"\nstore: { url: "sqlite:./a.db" }\ncache: { ttl: 60s }\nlog: { level: info }');
  const next = load(
    'listen: "127.0.0.1:8002"\nstore: { url: "postgres://u:VerySecret@db/x?sslmode=require" }\ncache: { ttl: 5s }\nlog: { level: debug, queryValues: [page] }\ntrustedProxies: [10.0.0.0/8]\nlimits: { shutdownDelay: 1s }\nadmin: { allowOnProxyRoutes: true }',
    `${ROUTE}  - name: b\n    match: { path: /b }\n    upstream: "https://127.0.0.1:2"\n`,
  );
  const plan = planReload(running, next);
  assert.deepEqual([...plan.restartRequired].sort(), ['cache.ttl', 'listen', 'log.level', 'store.url']);
  assert.deepEqual([...plan.applied].sort(), [
    'admin.allowOnProxyRoutes',
    'limits.shutdownDelay',
    'log.queryValues',
    'routes',
    'trustedProxies',
  ]);
  assert.deepEqual(plan.effective.listen, running.listen);
  assert.equal(plan.effective.store.url, running.store.url);
  assert.equal(plan.effective.cache.ttlMs, running.cache.ttlMs);
  assert.equal(plan.effective.log.level, 'info');
  assert.deepEqual(plan.effective.log.queryValues, ['page']);
  assert.equal(plan.effective.routes.length, 2);
  assert.equal(plan.effective.limits.shutdownDelayMs, 1_000);
  assert.doesNotMatch(JSON.stringify([plan.applied, plan.restartRequired]), /VerySecret|postgres/);
});

test('tls: new files apply; adding or removing tls (HTTP ↔ HTTPS) needs a restart', () => {
  const { leaf } = sharedCerts();
  const plain = load('');
  const https = load(`tls: { cert: "${leaf.certPath}", key: "${leaf.keyPath}" }`);
  assert.deepEqual(planReload(plain, https).restartRequired, ['tls']);
  assert.equal(planReload(plain, https).effective.tls, undefined, 'the listener stays plain');
  assert.deepEqual(planReload(https, plain).restartRequired, ['tls']);
  const renewed = { ...https, tls: { cert: `${https.tls?.cert ?? ''}\n`, key: https.tls?.key ?? '' } };
  assert.deepEqual(planReload(https, renewed).applied, ['tls']);
});
