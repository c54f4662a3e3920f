/**
 * Management credentials stay out of the data path. An `admin` credential —
 * API token (Bearer or Basic), OAuth client (Basic), or an access token the gateway issued to an
 * admin client — is refused on proxy routes with 401 `auth.admin_credential`, and nothing reaches
 * the upstream; it still works on the admin API. `admin.allowOnProxyRoutes: true` lets it through.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCliJson } from '../support/cli.js';
import { type Answer, send } from '../support/client.js';
import { startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

interface Harness {
  readonly url: string;
  readonly adminUrl: string;
  readonly metricsUrl: string;
  readonly upstream: RecordingUpstream;
  json<T>(args: string[]): Promise<T>;
}

async function harness(t: TestContext, extra = ''): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-admincred-'));
  const upstream = await startRecordingUpstream();
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0"${extra} }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
routes:
  - name: rw
    match: { path: /rw }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-write
`,
  );
  const { gateway } = await startTestGateway(t, readFileSync(configFile, 'utf8'), {}, { dir });
  t.after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${gateway.proxyAddress.port}`,
    adminUrl: `http://127.0.0.1:${gateway.adminAddress?.port ?? 0}`,
    metricsUrl: `http://127.0.0.1:${gateway.metricsAddress.port}`,
    upstream,
    json: <T>(args: string[]) => runCliJson<T>([...args, '--config', configFile]),
  };
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function issuedAccessToken(h: Harness, clientId: string, secret: string): Promise<string> {
  const answer = await send(h.url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(answer.status, 200, answer.body);
  return answer.json<{ access_token: string }>().access_token;
}

async function adminCredentials(h: Harness): Promise<Record<string, string>> {
  const token = await h.json<{ token: string }>(['tokens', 'create', '--label', 'ops', '--scope', 'admin']);
  const client = await h.json<{ client_id: string; client_secret: string }>(['clients', 'create', '--name', 'ops-bot', '--scope', 'admin']);
  return {
    'API token, Bearer': `Bearer ${token.token}`,
    'API token, Basic': basic('ops', token.token),
    'OAuth client, Basic': basic(client.client_id, client.client_secret),
    'access token issued to an admin client': `Bearer ${await issuedAccessToken(h, client.client_id, client.client_secret)}`,
  };
}

test('an admin credential is refused on proxy routes with 401 auth.admin_credential; nothing reaches the upstream', async (t) => {
  const h = await harness(t);
  const credentials = await adminCredentials(h);
  for (const [name, authorization] of Object.entries(credentials)) {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT']) {
      const write = method === 'POST' || method === 'PUT';
      const answer: Answer = await send(h.url, {
        method,
        path: '/rw/items',
        headers: { authorization, ...(write ? { 'content-length': '1' } : {}) },
        body: write ? 'x' : undefined,
      });
      assert.equal(answer.status, 401, `${name} ${method}`);
      if (method === 'HEAD') continue;
      const problem = answer.json<{ code: string; detail: string }>();
      assert.equal(problem.code, 'auth.admin_credential', name);
      assert.match(problem.detail, /admin API only/);
      assert.match(String(answer.headers['www-authenticate']), /Bearer realm="portcullis"/);
    }
  }
  assert.equal(h.upstream.received.length, 0, 'the upstream received nothing');

  // Still a management credential where it belongs.
  const listed = await send(h.adminUrl, { path: '/v1/tokens', headers: { authorization: credentials['API token, Bearer'] ?? '' } });
  assert.equal(listed.status, 200);
  // Ordinary credentials pass as before.
  const rw = await h.json<{ token: string }>(['tokens', 'create', '--label', 'app', '--scope', 'read-write']);
  assert.equal(
    (await send(h.url, { method: 'POST', path: '/rw/items', headers: { authorization: `Bearer ${rw.token}` }, body: 'x' })).status,
    200,
  );
  assert.equal(h.upstream.received.length, 1);

  const scrape = (await send(h.metricsUrl, { path: '/metrics' })).body;
  assert.match(
    scrape,
    /portcullis_auth_decisions_total\{route="rw",scheme="bearer",result="failure",code="auth\.admin_credential"\} [1-9]/,
  );
});

test('admin.allowOnProxyRoutes: true lets admin credentials through as read-write', async (t) => {
  const h = await harness(t, ', allowOnProxyRoutes: true');
  const credentials = await adminCredentials(h);
  for (const [name, authorization] of Object.entries(credentials)) {
    const answer = await send(h.url, { method: 'POST', path: '/rw/items', headers: { authorization }, body: 'x' });
    assert.equal(answer.status, 200, name);
  }
  assert.equal(h.upstream.received.length, Object.keys(credentials).length);
});
