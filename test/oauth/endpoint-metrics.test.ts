/**
 * On a real `portcullis start` process: the OAuth endpoints are counted and
 * logged as themselves (`route="oauth:token"`, …, never `none`), token requests are counted by
 * result, and the access line of a token request names the authenticated client.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCliJson } from '../support/cli.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

test('token, introspection, revocation, JWKS and metadata requests have their own route label; token results are counted; the client id is logged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-oauthmetrics-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./pcl.db" }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:1"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
`,
  );
  const client = await runCliJson<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'billing',
    '--scope',
    'read-only',
    '--config',
    configFile,
  ]);
  const gw = await startGatewayProcess(t, configFile);
  const url = `http://127.0.0.1:${gw.port}`;

  const issued = await send(url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { ...form, authorization: basic(client.client_id, client.client_secret) },
    body: 'grant_type=client_credentials',
  });
  assert.equal(issued.status, 200);
  const wrongSecret = await send(url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { ...form, authorization: basic(client.client_id, 'pcs_wrong') },
    body: 'grant_type=client_credentials',
  });
  assert.equal(wrongSecret.status, 401);
  const badScope = await send(url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { ...form, authorization: basic(client.client_id, client.client_secret) },
    body: 'grant_type=client_credentials&scope=admin',
  });
  assert.equal(badScope.status, 400);
  assert.equal((await send(url, { method: 'POST', path: '/oauth2/token', headers: form, body: 'grant_type=password' })).status, 400);
  assert.equal((await send(url, { path: '/oauth2/token' })).status, 405);
  assert.equal((await send(url, { path: '/.well-known/jwks.json' })).status, 200);
  assert.equal((await send(url, { path: '/.well-known/oauth-authorization-server' })).status, 200);
  await send(url, { method: 'POST', path: '/oauth2/introspect', headers: form, body: 'token=x' });
  await send(url, { method: 'POST', path: '/oauth2/revoke', headers: form, body: 'token=x' });
  assert.equal((await send(url, { path: '/nowhere' })).status, 404);

  const scrape = (await send(`http://127.0.0.1:${gw.metricsPort}`, { path: '/metrics' })).body;
  const count = (series: string): number =>
    Number(
      scrape
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.split(' ')[1] ?? 'NaN',
    );
  assert.equal(count('portcullis_requests_total{route="oauth:token",method="POST",status="200"}'), 1);
  assert.equal(count('portcullis_requests_total{route="oauth:token",method="POST",status="401"}'), 1);
  assert.equal(count('portcullis_requests_total{route="oauth:token",method="GET",status="405"}'), 1);
  assert.equal(count('portcullis_requests_total{route="oauth:jwks",method="GET",status="200"}'), 1);
  assert.equal(count('portcullis_requests_total{route="oauth:metadata",method="GET",status="200"}'), 1);
  assert.match(scrape, /portcullis_requests_total\{route="oauth:introspect",method="POST",status="\d+"\} 1/);
  assert.match(scrape, /portcullis_requests_total\{route="oauth:revoke",method="POST",status="\d+"\} 1/);
  assert.equal(count('portcullis_requests_total{route="none",method="GET",status="404"}'), 1, 'only the unrouted request is none');
  assert.equal(count('portcullis_oauth_token_requests_total{result="issued"}'), 1);
  assert.equal(count('portcullis_oauth_token_requests_total{result="invalid_client"}'), 1);
  assert.equal(count('portcullis_oauth_token_requests_total{result="invalid_scope"}'), 1);
  assert.equal(count('portcullis_oauth_token_requests_total{result="unsupported_grant_type"}'), 1);
  assert.equal(count('portcullis_oauth_token_requests_total{result="refused"}'), 1);
  assert.equal(count('portcullis_oauth_token_requests_total{result="internal_error"}'), 0);
  assert.doesNotMatch(
    scrape,
    /portcullis_upstream_errors_total\{route="oauth:/,
    'no upstream error series for endpoints that never go upstream',
  );

  await eventually(() => gw.events('http.access').length >= 10, 5_000, 'the access lines');
  const tokenLines = gw.events('http.access').filter((line) => line.route === 'oauth:token');
  assert.equal(tokenLines.length, 5);
  const byStatus = (status: number): Record<string, unknown>[] => tokenLines.filter((line) => line.status === status);
  assert.equal(byStatus(200)[0]?.credentialId, client.client_id, 'the issued request names its client');
  assert.equal(
    byStatus(400).find((line) => line.credentialId !== null)?.credentialId,
    client.client_id,
    'an authenticated client refused its scope is named too',
  );
  assert.equal(byStatus(401)[0]?.credentialId, null, 'an id whose secret failed is not logged as the caller');
  assert.doesNotMatch(gw.logs(), new RegExp(client.client_secret), 'no secret in any line');
});
