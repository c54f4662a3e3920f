/**
 * `portcullis start` (a real process) against a PostgreSQL that is down: the gateway comes up
 * unready, logs why (host and port, never the password), refuses credentials with 503
 * auth.store_unavailable without reaching the upstream, keeps trying, and serves once the
 * database is back — without being restarted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/credentials/open-store.js';
import { generateApiToken } from '../../src/credentials/secrets.js';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { freshDatabase, privateCluster } from '../support/postgres.js';
import { gatewayYaml, startGatewayProcess, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

test('start with PostgreSQL down: unready with the reason logged, 503 on credentials, serving once the database is back', async (t) => {
  const cluster = privateCluster(t);
  const password = new URL(cluster.url).password;
  cluster.stop();
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const dir = mkdtempSync(join(tmpdir(), 'pcl-pgstart-'));
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "\${STORE_URL}", queryTimeout: 1s }
oauth: { keyEncryptionKey: "\${PORTCULLIS_KEK}" }
log: { level: info }
routes:
  - name: api
    match: { path: /api }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
`,
  );
  // No `store init`: the database is down, and `start` creates the schema once it answers.
  const gw = await startGatewayProcess(t, configFile, {
    env: { STORE_URL: cluster.url, PORTCULLIS_KEK: randomBytes(32).toString('base64') },
    initStore: false,
  });
  const until = async <T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const value = await fn();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; logs:\n${gw.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const ports = { proxy: gw.port, metrics: gw.metricsPort };
  const port = new URL(cluster.url).port;
  assert.match(
    gw.logs(),
    new RegExp(
      `"event":"store\\.unreachable".*cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/portcullis \\(user \\\\"portcullis\\\\"\\) \\(ECONNREFUSED\\); retrying`,
    ),
  );
  const ready = await send(`http://127.0.0.1:${ports.metrics}`, { path: '/readyz' });
  assert.equal(ready.status, 503);
  // The change feed has never been confirmed: the reason says so, and why (never the password).
  assert.match(
    String(ready.json().reason),
    new RegExp(`^the change feed has never been confirmed .*cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/portcullis`),
  );
  assert.equal(ready.body.includes(password), false);
  // A well-formed token the gateway cannot check: refused as unavailable, not as unknown.
  const refused = await send(`http://127.0.0.1:${ports.proxy}`, {
    path: '/api',
    headers: { authorization: `Bearer ${generateApiToken()}` },
  });
  assert.equal(refused.status, 503, refused.body);
  assert.equal(refused.json().code, 'auth.store_unavailable');
  assert.equal(upstream.arrived.length, 0, 'nothing reached the upstream');
  const health = await send(`http://127.0.0.1:${ports.metrics}`, { path: '/healthz' });
  assert.equal(health.status, 200, 'alive while unready: not restarted by a liveness probe');

  cluster.start();
  await until('ready', async () =>
    (await send(`http://127.0.0.1:${ports.metrics}`, { path: '/readyz' })).status === 200 ? true : undefined,
  );
  assert.match(gw.logs(), /"event":"store\.reachable"/);
  const store = await openStore(cluster.url, { create: true });
  t.after(() => store.close());
  const issued = await store.tokens.create({ label: 'after-outage', scope: 'read-only' });
  const served = await send(`http://127.0.0.1:${ports.proxy}`, { path: '/api', headers: { authorization: `Bearer ${issued.token}` } });
  assert.equal(served.status, 200, served.body);
  assert.equal(gw.logs().includes(password), false, 'the password is never logged');
});

test('a locked database: a cache miss is refused with 503 auth.store_unavailable within store.queryTimeout, nothing reaches the upstream', async (t) => {
  const { url } = await freshDatabase(t);
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(
      `  - name: api\n    match: { path: /api }\n    upstream: "${upstream.origin}"\n    upstreamCa: "\${CA}"`,
      'oauth: { keyEncryptionKey: "${PORTCULLIS_KEK}" }',
    ).replace('store: { url: "sqlite:./portcullis.db" }', 'store: { url: "${STORE_URL}", queryTimeout: 500ms, poolSize: 2 }'),
    { STORE_URL: url, PORTCULLIS_KEK: randomBytes(32).toString('base64') },
  );
  const issued = await gw.services.store.tokens.create({ label: 'locked-out', scope: 'read-only' });
  const blocker = new pg.Client({ connectionString: url });
  blocker.on('error', () => undefined);
  await blocker.connect();
  t.after(() => blocker.end());
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE');
  const started = Date.now();
  const answers = await Promise.all(
    [0, 1, 2, 3].map(() => send(gw.url, { path: '/api', headers: { authorization: `Bearer ${issued.token}` } })),
  );
  const elapsed = Date.now() - started;
  for (const answer of answers) {
    assert.equal(answer.status, 503, answer.body);
    assert.equal(answer.json().code, 'auth.store_unavailable');
  }
  assert.ok(elapsed < 10_000, `bounded, not a hang (took ${elapsed} ms for four requests over a pool of two)`);
  assert.equal(upstream.arrived.length, 0, 'nothing reached the upstream');
  await blocker.query('ROLLBACK');
  const served = await send(gw.url, { path: '/api', headers: { authorization: `Bearer ${issued.token}` } });
  assert.equal(served.status, 200, 'served once the database answers');
  assert.equal(upstream.arrived.length, 1);
});
