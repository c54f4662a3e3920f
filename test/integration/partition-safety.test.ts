/**
 * Partition safety (docs/credentials.md) on SQLite, with a real `portcullis start` process and the
 * real CLI: when the instance can no longer confirm its change feed, it refuses every credential
 * that depends on the store — cached API tokens, client credentials and its own access tokens —
 * with 503 auth.store_unavailable within cache.maxStaleness plus one feed check, reports unready
 * naming the reason, keeps serving `auth: off` routes, and sends nothing upstream for the refused
 * requests. When the feed returns, a revocation made meanwhile is applied before any cached
 * credential is accepted again.
 *
 * The partition: the directory holding the database is renamed. The gateway keeps the file open
 * and could still read it, but the path the others use is gone — exactly the case where a read
 * succeeds and is still not a re-check. The CLI writes meanwhile through the new path (same
 * file, same WAL), as an operator would on the side of the database.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCliJson } from '../support/cli.js';
import { send, type Answer } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';
import { basic, getToken } from '../oauth/helpers.js';

const MAX_STALENESS_MS = 1_000;
const POLL_MS = 250;
/** The loaded test machine's allowance on top of the bound (scheduling, the request itself). */
const MARGIN_MS = 750;

function configYaml(upstreamPort: number, storeDir: string): string {
  const ca = sharedCerts().ca.caCertPath;
  return `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./${storeDir}/pcl.db" }
cache: { maxStaleness: 1s }
oauth: { issuer: "https://portcullis.test", audience: "api" }
log: { level: info }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstreamPort}"
    upstreamCa: "${ca}"
  - name: open
    match: { path: /open }
    upstream: "https://127.0.0.1:${upstreamPort}"
    upstreamCa: "${ca}"
    auth: "off"
`;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function codeOf(answer: Answer): string | undefined {
  try {
    return answer.json<{ code?: string }>().code;
  } catch {
    return undefined;
  }
}

test('cut off from its store, an instance refuses cached credentials, goes unready, and applies what it missed before trusting its cache again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-partition-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'store'));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, configYaml(upstream.port, 'store'));
  // The same database seen through the path it has during the partition.
  const awayConfig = join(dir, 'away.yaml');
  writeFileSync(awayConfig, configYaml(upstream.port, 'store.away'));

  const cli = <T>(args: string[], config = configFile) => runCliJson<T>([...args, '--config', config]);
  const gw = await startGatewayProcess(t, configFile);
  const doomed = await cli<{ id: string; token: string }>(['tokens', 'create', '--label', 'doomed', '--scope', 'read-only']);
  const kept = await cli<{ id: string; token: string }>(['tokens', 'create', '--label', 'kept', '--scope', 'read-only']);
  const client = await cli<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', 'svc', '--scope', 'read-only']);
  const doomedClient = await cli<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'doomed-svc',
    '--scope',
    'read-only',
  ]);
  const jwt = await getToken(gw.url, { clientId: client.client_id, secret: client.client_secret });
  const doomedJwt = await getToken(gw.url, { clientId: doomedClient.client_id, secret: doomedClient.client_secret });

  // Every credential is verified once, so each is cached.
  const all = { doomed: doomed.token, kept: kept.token, jwt, doomedJwt };
  for (const [name, token] of Object.entries(all)) {
    assert.equal((await send(gw.url, { path: '/api/warm', headers: bearer(token) })).status, 200, name);
  }
  assert.equal(
    (await send(gw.url, { path: '/api/warm', headers: { authorization: basic(client.client_id, client.client_secret) } })).status,
    200,
  );
  assert.equal((await send(gw.metricsUrl, { path: '/readyz' })).status, 200);

  // Cut off.
  const cutAt = performance.now();
  renameSync(join(dir, 'store'), join(dir, 'store.away'));
  let refusedAfterMs: number;
  for (;;) {
    const answer = await send(gw.url, { path: '/api/probe', headers: bearer(kept.token) });
    if (answer.status === 503) {
      refusedAfterMs = performance.now() - cutAt;
      assert.equal(codeOf(answer), 'auth.store_unavailable');
      break;
    }
    assert.equal(answer.status, 200);
    if (performance.now() - cutAt > 10_000) assert.fail('the cached credential was never refused');
    await new Promise((r) => setTimeout(r, 10));
  }
  t.diagnostic(`cached credential refused ${Math.round(refusedAfterMs)} ms after the cut (bound ${MAX_STALENESS_MS} + ${POLL_MS} ms)`);
  assert.ok(refusedAfterMs <= MAX_STALENESS_MS + POLL_MS + MARGIN_MS, `refused after ${Math.round(refusedAfterMs)} ms`);

  // Unready, naming the reason; the metric shows the age; alive.
  const ready = await send(gw.metricsUrl, { path: '/readyz' });
  assert.equal(ready.status, 503);
  assert.match(ready.body, /change feed was last confirmed [\d.]+ s ago \(cache\.maxStaleness 1\.0 s\)/);
  assert.match(ready.body, /moved or replaced/);
  assert.equal((await send(gw.metricsUrl, { path: '/healthz' })).status, 200);
  const age = /^portcullis_store_feed_age_seconds (\S+)$/m.exec((await send(gw.metricsUrl, { path: '/metrics' })).body);
  assert.ok(age !== null && Number(age[1]) > MAX_STALENESS_MS / 1000, `feed age ${age?.[1]}`);

  // Every store-dependent credential is refused, nothing of them reaches the upstream; auth: off serves.
  const before = upstream.arrived.length;
  const presented: [string, Record<string, string>][] = [
    ['cached API token', bearer(doomed.token)],
    ['cached API token as Basic', { authorization: basic('anyone', kept.token) }],
    ['cached client credentials', { authorization: basic(client.client_id, client.client_secret) }],
    ['cached access token', bearer(jwt)],
  ];
  for (const [name, headers] of presented) {
    const answer = await send(gw.url, { path: '/api/during', headers });
    assert.equal(answer.status, 503, name);
    assert.equal(codeOf(answer), 'auth.store_unavailable', name);
    assert.ok(answer.headers['x-request-id'], name);
  }
  const tokenRequest = await send(gw.url, {
    method: 'POST',
    path: '/oauth2/token',
    body: 'grant_type=client_credentials',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.client_id, client.client_secret) },
  });
  assert.equal(tokenRequest.status, 503, 'no access token is issued on credentials it cannot re-check');
  assert.equal(upstream.arrived.length, before, 'nothing reached the upstream for the refused requests');
  assert.equal((await send(gw.url, { path: '/open/during' })).status, 200, 'auth: off keeps serving');
  assert.equal(upstream.arrived.length, before + 1);

  // Meanwhile, on the store's side: a token and a client are revoked.
  await cli(['tokens', 'revoke', doomed.id], awayConfig);
  await cli(['clients', 'revoke', doomedClient.client_id], awayConfig);

  // Reconnected: from the first moment anything is accepted again, the revoked ones are refused.
  const outcomes: { name: string; status: number; code: string | undefined }[] = [];
  renameSync(join(dir, 'store.away'), join(dir, 'store'));
  const backAt = performance.now();
  let keptAccepted = false;
  while (!keptAccepted) {
    for (const [name, token] of Object.entries(all)) {
      const answer = await send(gw.url, { path: '/api/after', headers: bearer(token) });
      outcomes.push({ name, status: answer.status, code: codeOf(answer) });
      if (name === 'kept' && answer.status === 200) keptAccepted = true;
    }
    if (performance.now() - backAt > 10_000) assert.fail('the instance never trusted its cache again');
  }
  for (const { name, status, code } of outcomes) {
    if (name === 'doomed' || name === 'doomedJwt') {
      assert.notEqual(status, 200, `${name} was accepted after the partition`);
      assert.ok(code === 'auth.store_unavailable' || code === 'auth.token_revoked', `${name}: ${code}`);
    }
  }
  // After recovery: revoked refused as revoked, the others accepted.
  assert.equal(codeOf(await send(gw.url, { path: '/api/x', headers: bearer(doomed.token) })), 'auth.token_revoked');
  assert.equal(codeOf(await send(gw.url, { path: '/api/x', headers: bearer(doomedJwt) })), 'auth.token_revoked');
  assert.equal((await send(gw.url, { path: '/api/x', headers: bearer(jwt) })).status, 200);
  await eventually(async () => (await send(gw.metricsUrl, { path: '/readyz' })).status === 200, 5_000, 'readiness to come back');
  assert.match(gw.logs(), /"event":"store\.feed_stale"/);
  assert.match(gw.logs(), /"event":"store\.feed_fresh"/);
});
