/**
 * Deprecation with a sunset (docs/credentials.md "Deprecation and sunset"), end to end on a real
 * gateway, store and recording HTTPS upstream: the exact header bytes before the sunset, 401
 * auth.credential_sunset from it on (cached credentials included) with nothing upstream, the
 * scheme deprecated on a route, an upstream's own deprecation headers, shadow mode, the metrics
 * and the CLI listing of who still uses a deprecated credential.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { runCli, runCliJson } from '../support/cli.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange, type RawResponse } from '../support/raw-http.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { rawBytes } from '../support/vectors.js';

const route = (name: string, path: string, extra = ''): string => `
  - name: ${name}
    match: { path: ${path} }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
${extra}`;

const ROUTES =
  route('api', '/api') +
  route(
    'legacy',
    '/legacy',
    '    deprecated:\n      basic: { since: "2026-01-01T00:00:00Z", sunset: "2099-03-01T00:00:00Z", link: "https://wiki.example.com/bearer" }',
  ) +
  route(
    'closed-basic',
    '/closed-basic',
    '    deprecated:\n      basic: { since: "2020-01-01T00:00:00Z", sunset: "2021-01-01T00:00:00Z" }',
  ) +
  route('shadow', '/shadow', '    mode: shadow');

interface Setup {
  readonly gw: TestGateway;
  readonly upstream: RecordingUpstream;
  request(target: string, headers?: readonly string[]): Promise<RawResponse>;
  counter(labels: string): Promise<number>;
}

async function setup(t: TestContext): Promise<Setup> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  return {
    gw,
    upstream,
    async request(target, headers = []) {
      const lines = [`GET ${target} HTTP/1.1`, 'Host: gw.test', ...headers, 'Connection: close'];
      const response = (await exchange(gw.port, rawBytes(`${lines.join('\r\n')}\r\n\r\n`))).responses[0];
      assert.ok(response, `${target}: a response`);
      return response;
    },
    async counter(labels) {
      const body = (await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' })).body;
      const line = body.split('\n').find((l) => l.startsWith(`portcullis_deprecated_credential_requests_total{${labels}}`));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
  };
}

const basic = (user: string, password: string): string => `Authorization: Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('a deprecated token: exact Deprecation, Sunset and Link bytes; the upstream gets the request with identity', async (t) => {
  const s = await setup(t);
  const store = s.gw.services.store;
  const plain = await store.tokens.create({ label: 'plain', scope: 'read-write' });
  const old = await store.tokens.create({ label: 'old', scope: 'read-write' });
  await store.tokens.setDeprecation(old.record.id, {
    since: new Date('2026-12-01T00:00:00Z'),
    sunset: new Date('2099-03-01T00:00:00Z'),
    link: 'https://wiki.example.com/new-tokens',
  });
  const fresh = await s.request('/api/x', [`Authorization: Bearer ${plain.token}`]);
  assert.equal(fresh.status, 200);
  assert.deepEqual(
    fresh.headerList.filter(([n]) => /^(deprecation|sunset|link)$/i.test(n)),
    [],
    'no deprecation header for a credential that is not deprecated',
  );
  const response = await s.request('/api/y', [`Authorization: Bearer ${old.token}`]);
  assert.equal(response.status, 200);
  assert.deepEqual(
    response.headerList.filter(([n]) => /^(deprecation|sunset|link)$/i.test(n)),
    [
      ['deprecation', `@${Date.UTC(2026, 11, 1) / 1000}`],
      ['sunset', 'Sun, 01 Mar 2099 00:00:00 GMT'],
      ['link', '<https://wiki.example.com/new-tokens>; rel="deprecation"'],
    ],
  );
  const bytes = await exchange(
    s.gw.port,
    rawBytes(`GET /api/z HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${old.token}\r\nConnection: close\r\n\r\n`),
  );
  assert.ok(
    bytes.raw.includes(
      '\r\ndeprecation: @1796083200\r\nsunset: Sun, 01 Mar 2099 00:00:00 GMT\r\nlink: <https://wiki.example.com/new-tokens>; rel="deprecation"\r\n',
    ),
    bytes.raw,
  );
  const seen = s.upstream.received.at(-2);
  assert.equal(seen?.url, '/api/y');
  assert.equal(seen?.headers['x-portcullis-credential'], old.record.id);
  assert.equal(seen?.headers.deprecation, undefined, 'the announcement is for the client, not the upstream');
  assert.equal(await s.counter('route="api",kind="token",phase="announced"'), 2);
});

test('from the sunset on: 401 auth.credential_sunset, also for a credential in the cache, and nothing reaches the upstream', async (t) => {
  const s = await setup(t);
  const store = s.gw.services.store;
  const token = await store.tokens.create({ label: 'ending', scope: 'read-write' });
  const client = await store.clients.create({ name: 'ending-client', scope: 'read-write' });
  // A second or two ahead: used (and cached) before, refused after.
  const sunset = new Date(Math.ceil((Date.now() + 2_000) / 1000) * 1000);
  await store.tokens.setDeprecation(token.record.id, { sunset });
  await store.clients.setDeprecation(client.record.clientId, { sunset, link: 'https://wiki.example.com/clients' });
  const before = s.gw.services.verifier.stats().hits;
  assert.equal((await s.request('/api/1', [`Authorization: Bearer ${token.token}`])).status, 200);
  assert.equal((await s.request('/api/2', [`Authorization: Bearer ${token.token}`])).status, 200);
  assert.equal((await s.request('/api/3', [basic(client.record.clientId, client.clientSecret)])).status, 200);
  assert.equal((await s.request('/api/4', [basic(client.record.clientId, client.clientSecret)])).status, 200);
  assert.ok(s.gw.services.verifier.stats().hits >= before + 2, 'the credentials were answered from the cache');
  const forwarded = s.upstream.arrived.length;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, sunset.getTime() - Date.now()) + 50));
  const refusedToken = await s.request('/api/5', [`Authorization: Bearer ${token.token}`]);
  const problem = assertProblem(fromRaw(refusedToken), 'auth.credential_sunset', 'token at its sunset');
  assert.match(problem.detail ?? '', /This API token reached its sunset at /);
  assert.equal(refusedToken.headers.sunset, sunset.toUTCString());
  assert.match(refusedToken.headers['www-authenticate'] ?? '', /^Bearer realm="portcullis", error="invalid_token"/);
  const refusedClient = await s.request('/api/6', [basic(client.record.clientId, client.clientSecret)]);
  assertProblem(fromRaw(refusedClient), 'auth.credential_sunset', 'client at its sunset');
  assert.equal(refusedClient.headers.link, '<https://wiki.example.com/clients>; rel="deprecation"');
  assert.equal(refusedClient.headers.sunset, sunset.toUTCString());
  // After the instant too, from the negative cache and from the store.
  assertProblem(fromRaw(await s.request('/api/7', [`Authorization: Bearer ${token.token}`])), 'auth.credential_sunset', 'again');
  assert.equal(s.upstream.arrived.length, forwarded, 'nothing reached the upstream from the sunset on');
  // A past sunset set later takes effect at once through the change feed, cache or not.
  const other = await store.tokens.create({ label: 'now', scope: 'read-write' });
  assert.equal((await s.request('/api/8', [`Authorization: Bearer ${other.token}`])).status, 200);
  await store.tokens.setDeprecation(other.record.id, { sunset: new Date(Date.now() - 60_000) });
  await eventually(
    async () => (await s.request('/api/9', [`Authorization: Bearer ${other.token}`])).status === 401,
    5_000,
    'the past sunset to apply',
  );
  assert.equal(s.upstream.arrived.length, forwarded + 1);
});

test('a scheme deprecated on a route: Basic announced (or refused past its sunset), Bearer untouched', async (t) => {
  const s = await setup(t);
  const token = await s.gw.services.store.tokens.create({ label: 'both', scope: 'read-write' });
  const viaBasic = await s.request('/legacy/a', [basic('anyone', token.token)]);
  assert.equal(viaBasic.status, 200);
  assert.equal(viaBasic.headers.deprecation, '@1767225600');
  assert.equal(viaBasic.headers.sunset, 'Sun, 01 Mar 2099 00:00:00 GMT');
  assert.equal(viaBasic.headers.link, '<https://wiki.example.com/bearer>; rel="deprecation"');
  const viaBearer = await s.request('/legacy/b', [`Authorization: Bearer ${token.token}`]);
  assert.equal(viaBearer.status, 200);
  assert.equal(viaBearer.headers.deprecation, undefined);
  assert.equal(s.upstream.received.length, 2);
  const closed = await s.request('/closed-basic/c', [basic('anyone', token.token)]);
  assertProblem(fromRaw(closed), 'auth.credential_sunset', 'Basic past its sunset on this route');
  assert.match(fromRaw(closed).bodyText, /This credential scheme on this route reached its sunset at 2021-01-01T00:00:00.000Z/);
  assert.equal(closed.headers.sunset, 'Fri, 01 Jan 2021 00:00:00 GMT');
  assert.equal(s.upstream.arrived.length, 2, 'the refused request never reached the upstream');
  assert.equal((await s.request('/closed-basic/d', [`Authorization: Bearer ${token.token}`])).status, 200, 'Bearer still works there');
  assert.equal(await s.counter('route="legacy",kind="scheme",phase="announced"'), 1);
  assert.equal(await s.counter('route="closed-basic",kind="scheme",phase="sunset"'), 1);
  assert.equal(await s.counter('route="api",kind="scheme",phase="announced"'), 0, 'no series for a route without deprecation');
});

test('an upstream that announces its own deprecation: the earlier date of each wins, both links are kept', async (t) => {
  const s = await setup(t);
  const token = await s.gw.services.store.tokens.create({ label: 'x', scope: 'read-write' });
  await s.gw.services.store.tokens.setDeprecation(token.record.id, {
    since: new Date('2026-06-01T00:00:00Z'),
    sunset: new Date('2099-03-01T00:00:00Z'),
    link: 'https://gw.example.com/m',
  });
  s.upstream.handle((_req, res) => {
    res.writeHead(200, [
      'Deprecation',
      '@1700000000', // earlier than ours: kept
      'Sunset',
      'Fri, 01 Mar 2030 00:00:00 GMT', // earlier than ours: kept
      'Link',
      '<https://api.example.com/v2>; rel="successor-version"',
      'Content-Length',
      '2',
    ]);
    res.end('ok');
  });
  const earlierUpstream = await s.request('/api/a', [`Authorization: Bearer ${token.token}`]);
  assert.deepEqual(earlierUpstream.all('deprecation'), ['@1700000000']);
  assert.deepEqual(earlierUpstream.all('sunset'), ['Fri, 01 Mar 2030 00:00:00 GMT']);
  assert.deepEqual(earlierUpstream.all('link'), [
    '<https://api.example.com/v2>; rel="successor-version"',
    '<https://gw.example.com/m>; rel="deprecation"',
  ]);
  s.upstream.handle((_req, res) => {
    res.writeHead(200, ['Deprecation', '@4102444800', 'Sunset', 'not a date', 'Content-Length', '2']);
    res.end('ok');
  });
  const laterUpstream = await s.request('/api/b', [`Authorization: Bearer ${token.token}`]);
  assert.deepEqual(laterUpstream.all('deprecation'), [`@${Date.UTC(2026, 5, 1) / 1000}`], 'ours is earlier');
  assert.deepEqual(laterUpstream.all('sunset'), ['Sun, 01 Mar 2099 00:00:00 GMT'], 'an unparseable one is replaced');
});

test('shadow mode: a credential past its sunset is recorded, forwarded without identity headers', async (t) => {
  const s = await setup(t);
  const token = await s.gw.services.store.tokens.create({ label: 'gone', scope: 'read-write' });
  await s.gw.services.store.tokens.setDeprecation(token.record.id, { sunset: new Date(Date.now() - 1000) });
  const response = await s.request('/shadow/a', [`Authorization: Bearer ${token.token}`, 'X-Portcullis-Subject: mallory']);
  assert.equal(response.status, 200);
  const seen = s.upstream.received.at(-1);
  assert.equal(seen?.headers['x-portcullis-subject'], undefined, "no identity for a credential past its sunset, and not the client's");
  assert.equal(seen?.headers['x-portcullis-credential'], undefined);
});

test('the CLI deprecates a token and lists deprecated credentials with their last use, most recent first', async (t) => {
  const s = await setup(t);
  const store = s.gw.services.store;
  const used = await store.tokens.create({ label: 'billing-batch', scope: 'read-write' });
  const idle = await store.tokens.create({ label: 'never-used', scope: 'read-only' });
  const client = await store.clients.create({ name: 'reports', scope: 'read-only', orgId: 'acme' });
  const configFile = join(s.gw.dir, 'cli.yaml');
  writeFileSync(
    configFile,
    'store: { url: "sqlite:./portcullis.db" }\nroutes:\n  - name: r\n    match: { path: /r }\n    upstream: "https://backend.internal"\n',
  );
  const deprecated = await runCliJson<{ id: string; deprecation: { since: string; sunset: string; link: string | null } }>([
    'tokens',
    'deprecate',
    used.record.id,
    '--sunset',
    '2099-03-01T00:00:00Z',
    '--link',
    'https://wiki.example.com/t',
    '--config',
    configFile,
    '--json',
  ]);
  assert.equal(deprecated.id, used.record.id);
  assert.deepEqual(
    { ...deprecated.deprecation, since: 'x' },
    { since: 'x', sunset: '2099-03-01T00:00:00.000Z', link: 'https://wiki.example.com/t' },
  );
  assert.equal((await runCli(['tokens', 'deprecate', idle.record.id, '--sunset', '2099-01-01T00:00:00Z', '--config', configFile])).code, 0);
  assert.equal(
    (await runCli(['clients', 'deprecate', client.record.clientId, '--sunset', '2098-01-01T00:00:00Z', '--config', configFile])).code,
    0,
  );
  const bad = await runCli(['tokens', 'deprecate', idle.record.id, '--sunset', 'next tuesday', '--config', configFile]);
  assert.equal(bad.code, 2, 'a sunset that is not an instant is a usage error');
  assert.match(bad.stderr, /--sunset must be an RFC 3339 instant/);
  // The gateway takes the change up through the feed, then announces it.
  await eventually(
    async () => (await s.request('/api/x', [`Authorization: Bearer ${used.token}`])).headers.sunset === 'Sun, 01 Mar 2099 00:00:00 GMT',
    5_000,
    'the deprecation to apply',
  );
  assert.equal(
    (await s.request('/api/y', [basic(client.record.clientId, client.clientSecret)])).headers.sunset,
    'Wed, 01 Jan 2098 00:00:00 GMT',
  );
  type Row = {
    kind: string;
    id: string;
    name: string;
    owner: string | null;
    sunset: string;
    lastUsedAt: string | null;
    pastSunset: boolean;
  };
  let rows: Row[] = [];
  // Last use is flushed by the gateway every few seconds.
  await eventually(
    async () => {
      rows = await runCliJson<Row[]>(['deprecations', 'list', '--config', configFile, '--json']);
      return rows.filter((r) => r.lastUsedAt !== null).length === 2;
    },
    20_000,
    'the last use to be recorded',
  );
  assert.deepEqual(
    rows.map((r) => [r.kind, r.id, r.name, r.owner, r.pastSunset]).slice(2),
    [['token', idle.record.id, 'never-used', null, false]],
    'never used: last',
  );
  assert.deepEqual(new Set(rows.slice(0, 2).map((r) => r.id)), new Set([used.record.id, client.record.clientId]));
  assert.ok((rows[0]?.lastUsedAt ?? '') >= (rows[1]?.lastUsedAt ?? ''), 'most recent first');
  assert.equal(rows.find((r) => r.kind === 'client')?.owner, 'acme');
  const text = await runCli(['deprecations', 'list', '--config', configFile]);
  assert.match(text.stdout, new RegExp(`kind=token  id=${used.record.id}  name=billing-batch`));
  assert.equal((await runCli(['tokens', 'undeprecate', used.record.id, '--config', configFile])).code, 0);
  assert.equal((await runCliJson<Row[]>(['deprecations', 'list', '--config', configFile, '--json'])).length, 2);
});

test('the admin API deprecates a client; its access tokens carry the deprecation; an admin token past its sunset is refused by the admin API', async (t) => {
  const s = await setup(t);
  const store = s.gw.services.store;
  const admin = await store.tokens.create({ label: 'ops', scope: 'admin' });
  const client = await store.clients.create({ name: 'svc', scope: 'read-write' });
  const adminUrl = `http://127.0.0.1:${s.gw.gateway.adminAddress?.port ?? 0}`;
  const auth = { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' };
  const issued = await send(s.gw.url, {
    method: 'POST',
    path: '/oauth2/token',
    body: 'grant_type=client_credentials',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.record.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
  });
  assert.equal(issued.status, 200, issued.body);
  const accessToken = issued.json<{ access_token: string }>().access_token;
  assert.equal((await s.request('/api/before', [`Authorization: Bearer ${accessToken}`])).headers.deprecation, undefined);
  const bad = await send(adminUrl, {
    method: 'POST',
    path: `/v1/clients/${client.record.clientId}/deprecate`,
    headers: auth,
    body: '{"sunset":"soon"}',
  });
  assert.equal(bad.status, 400, bad.body);
  assert.equal(bad.json<{ code: string }>().code, 'admin.invalid_request');
  const deprecated = await send(adminUrl, {
    method: 'POST',
    path: `/v1/clients/${client.record.clientId}/deprecate`,
    headers: auth,
    body: '{"sunset":"2099-03-01T00:00:00Z","since":"2026-11-01T00:00:00Z","link":"https://wiki.example.com/svc"}',
  });
  assert.equal(deprecated.status, 200, deprecated.body);
  assert.deepEqual(deprecated.json<{ deprecation: unknown }>().deprecation, {
    since: '2026-11-01T00:00:00.000Z',
    sunset: '2099-03-01T00:00:00.000Z',
    link: 'https://wiki.example.com/svc',
  });
  await eventually(
    async () =>
      (await s.request('/api/after', [`Authorization: Bearer ${accessToken}`])).headers.sunset === 'Sun, 01 Mar 2099 00:00:00 GMT',
    5_000,
    "the access token to carry its client's deprecation",
  );
  assert.equal(await s.counter('route="api",kind="client",phase="announced"'), 1);
  const listed = await send(adminUrl, { path: '/v1/deprecations', headers: auth });
  assert.deepEqual(
    listed.json<{ id: string }[]>().map((r) => r.id),
    [client.record.clientId],
  );
  // The admin credential itself, past its sunset: refused by the admin API as well.
  await store.tokens.setDeprecation(admin.record.id, { sunset: new Date(Date.now() - 1000) });
  const refused = await send(adminUrl, { path: '/v1/tokens', headers: auth });
  assert.equal(refused.status, 401);
  assert.equal(refused.json<{ code: string }>().code, 'auth.credential_sunset');
});

test("an access token minted before its client's sunset: refused by the admin API and inactive at introspection after it", async (t) => {
  const s = await setup(t);
  const store = s.gw.services.store;
  const ops = await store.tokens.create({ label: 'ops', scope: 'admin' });
  const adminClient = await store.clients.create({ name: 'automation', scope: 'admin' });
  const client = await store.clients.create({ name: 'svc', scope: 'read-write' });
  const adminUrl = `http://127.0.0.1:${s.gw.gateway.adminAddress?.port ?? 0}`;
  const mint = async (id: string, secret: string): Promise<string> => {
    const issued = await send(s.gw.url, {
      method: 'POST',
      path: '/oauth2/token',
      body: 'grant_type=client_credentials',
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
    });
    assert.equal(issued.status, 200, issued.body);
    return issued.json<{ access_token: string }>().access_token;
  };
  const adminAccess = await mint(adminClient.record.clientId, adminClient.clientSecret);
  const access = await mint(client.record.clientId, client.clientSecret);
  const introspect = async (): Promise<{ active: boolean }> => {
    const answer = await send(s.gw.url, {
      method: 'POST',
      path: '/oauth2/introspect',
      body: `token=${access}`,
      headers: { authorization: `Bearer ${ops.token}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(answer.status, 200, answer.body);
    return answer.json<{ active: boolean }>();
  };
  // Before: both work (and are cached).
  assert.equal((await send(adminUrl, { path: '/v1/tokens', headers: { authorization: `Bearer ${adminAccess}` } })).status, 200);
  assert.equal((await introspect()).active, true);
  assert.equal((await s.request('/api/before', [`Authorization: Bearer ${access}`])).status, 200);
  const past = { sunset: new Date(Date.now() - 1000) };
  await store.clients.setDeprecation(adminClient.record.clientId, past);
  await store.clients.setDeprecation(client.record.clientId, past);
  await eventually(
    async () => (await s.request('/api/after', [`Authorization: Bearer ${access}`])).status === 401,
    5_000,
    'the proxy to refuse the access token of a client past its sunset',
  );
  const seen = s.upstream.arrived.length;
  const refused = await send(adminUrl, { path: '/v1/tokens', headers: { authorization: `Bearer ${adminAccess}` } });
  assert.equal(refused.status, 401, refused.body);
  assert.equal(refused.json<{ code: string }>().code, 'auth.credential_sunset');
  assert.equal((await introspect()).active, false);
  assert.equal(s.upstream.arrived.length, seen, 'nothing reached the upstream');
});
