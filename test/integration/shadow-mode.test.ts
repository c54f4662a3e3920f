/**
 * Shadow mode (`mode: shadow`, docs/request-path.md "Shadow mode"): every policy decision is made,
 * logged and counted, and the request is forwarded as on an `auth: off` route — with identity
 * headers only for a valid credential, never with the client's own X-Portcullis-*. Request-safety
 * refusals still refuse. Both views in every test: what the client got, what the upstream saw.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Principal } from '../../src/types.js';
import { loadTestConfig, gatewayYaml, startTestGateway, type TestGateway } from '../support/gateway.js';
import { send } from '../support/client.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange, type RawResponse } from '../support/raw-http.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { rawBytes } from '../support/vectors.js';

const ROUTE = (name: string, path: string, extra: string): string => `
  - name: ${name}
    match: { path: ${path} }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
${extra}`;

const ROUTES = (mode: 'shadow' | 'enforce'): string =>
  ROUTE('shadow', '/shadow', `    access: read-write\n    mode: ${mode}`) +
  ROUTE('shadow-ro', '/shadow-ro', `    access: read-only\n    mode: ${mode}`) +
  ROUTE('shadow-req', '/shadow-req', `    access: read-write\n    mode: ${mode}\n    require: { headers: [x-tenant], query: [tenant] }`) +
  ROUTE('shadow-match', '/shadow-match', `    access: read-write\n    mode: ${mode}\n    require: { match: { x-account: account } }`) +
  ROUTE('shadow-basic', '/shadow-basic', `    access: read-write\n    mode: ${mode}\n    credentials: [basic]`);

/** A principal with an account, for require.match. */
const ACCOUNT_PRINCIPAL: Principal = {
  kind: 'api_token',
  scheme: 'bearer',
  subject: 'carol',
  scope: 'read-write',
  credentialId: 'tok_carol',
  account: 'carol',
};
const ADMIN_PRINCIPAL: Principal = { kind: 'api_token', scheme: 'bearer', subject: 'root', scope: 'admin', credentialId: 'tok_admin' };

interface Setup {
  readonly gw: TestGateway;
  readonly upstream: RecordingUpstream;
  readonly lines: string[];
  request(method: string, target: string, headers?: readonly string[], body?: string): Promise<RawResponse>;
  metrics(): Promise<string>;
}

async function setup(t: TestContext, mode: 'shadow' | 'enforce' = 'shadow'): Promise<Setup> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const lines: string[] = [];
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES(mode)),
    { UPSTREAM: upstream.origin },
    {
      authenticate: createStubAuthenticator({ 'carol-token': ACCOUNT_PRINCIPAL, 'admin-token': ADMIN_PRINCIPAL }),
      logLines: lines,
    },
  );
  return {
    gw,
    upstream,
    lines,
    async request(method, target, headers = [], body) {
      const head = [`${method} ${target} HTTP/1.1`, 'Host: gw.test', ...headers, 'Connection: close'];
      if (body !== undefined) head.push(`Content-Length: ${Buffer.byteLength(body)}`);
      const result = await exchange(gw.port, rawBytes(`${head.join('\r\n')}\r\n\r\n${body ?? ''}`), { method });
      const response = result.responses[0];
      assert.ok(response, `${method} ${target}: a response`);
      return response;
    },
    async metrics() {
      return (await send(`http://127.0.0.1:${gw.gateway.metricsAddress.port}`, { path: '/metrics' })).body;
    },
  };
}

/** The upstream's view of the last request: its header names (lower case) → values. */
function lastReceived(upstream: RecordingUpstream): Record<string, string[]> {
  const last = upstream.received.at(-1);
  assert.ok(last, 'the upstream received the request');
  const out: Record<string, string[]> = {};
  for (let i = 0; i < last.rawHeaders.length; i += 2)
    (out[(last.rawHeaders[i] as string).toLowerCase()] ??= []).push(last.rawHeaders[i + 1] as string);
  return out;
}

function identityHeaders(headers: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('x-portcullis-')));
}

/** The access lines of requests (parsed), in order. */
function accessLines(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.event === 'http.access');
}

function counterValue(exposition: string, name: string, labels: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const SPOOFED = [
  'X-Portcullis-Subject: mallory',
  'X-Portcullis-Scope: admin',
  'X_Portcullis_Credential: tok_forged',
  'x-portcullis-principal: api_token:mallory',
];

test('shadow: every authentication and authorization refusal kind is forwarded, recorded with its would-be code, and counted', async (t) => {
  const s = await setup(t);
  const cases: {
    what: string;
    method: string;
    target: string;
    headers: string[];
    body?: string;
    code: string | null;
    identity: string | undefined;
  }[] = [
    { what: 'no credential', method: 'GET', target: '/shadow/a', headers: [], code: 'auth.missing_credentials', identity: undefined },
    {
      what: 'unknown bearer token',
      method: 'GET',
      target: '/shadow/b',
      headers: ['Authorization: Bearer nope'],
      code: 'auth.invalid_token',
      identity: undefined,
    },
    {
      what: 'scheme the route does not accept',
      method: 'GET',
      target: '/shadow-basic/c',
      headers: ['Authorization: Bearer rw-token'],
      code: 'auth.missing_credentials',
      identity: undefined,
    },
    {
      what: 'read-only credential writing',
      method: 'POST',
      target: '/shadow/d',
      headers: ['Authorization: Bearer ro-token'],
      body: 'x',
      code: 'auth.insufficient_scope',
      identity: 'bob',
    },
    {
      what: 'write on a read-only route',
      method: 'DELETE',
      target: '/shadow-ro/e',
      headers: ['Authorization: Bearer rw-token'],
      code: 'route.read_only',
      identity: 'alice',
    },
    {
      what: 'missing required header and query',
      method: 'GET',
      target: '/shadow-req/f',
      headers: ['Authorization: Bearer rw-token'],
      code: 'request.missing_header',
      identity: 'alice',
    },
    {
      what: 'required query parameter sent twice',
      method: 'GET',
      target: '/shadow-req/g?tenant=a&tenant=',
      headers: ['Authorization: Bearer rw-token', 'X-Tenant: a'],
      code: 'request.missing_query_param',
      identity: 'alice',
    },
    {
      what: 'require.match naming another account',
      method: 'GET',
      target: '/shadow-match/h',
      headers: ['Authorization: Bearer carol-token', 'X-Account: dave'],
      code: 'auth.identity_mismatch',
      identity: 'carol',
    },
    {
      what: 'admin credential on a proxy route',
      method: 'GET',
      target: '/shadow/i',
      headers: ['Authorization: Bearer admin-token'],
      code: 'auth.admin_credential',
      identity: 'root',
    },
    {
      what: 'valid read-write credential',
      method: 'POST',
      target: '/shadow/j',
      headers: ['Authorization: Bearer rw-token'],
      body: 'y',
      code: null,
      identity: 'alice',
    },
  ];
  for (const c of cases) {
    const before = s.upstream.received.length;
    const response = await s.request(c.method, c.target, [...c.headers, ...SPOOFED], c.body);
    assert.equal(response.status, 200, `${c.what}: forwarded (${response.text().slice(0, 200)})`);
    assert.equal(s.upstream.received.length, before + 1, `${c.what}: the upstream received it`);
    const seen = lastReceived(s.upstream);
    assert.equal(s.upstream.received.at(-1)?.url, c.target, c.what);
    const identity = identityHeaders(seen);
    if (c.identity === undefined) {
      assert.deepEqual(identity, {}, `${c.what}: no identity header, and none of the client's`);
    } else {
      assert.deepEqual(identity['x-portcullis-subject'], [c.identity], `${c.what}: the credential's identity, once`);
      assert.equal(identity['x-portcullis-scope']?.length, 1, c.what);
      assert.notEqual(
        identity['x-portcullis-scope']?.[0],
        c.identity === 'root' ? undefined : 'admin',
        `${c.what}: never the spoofed scope`,
      );
    }
    assert.equal(seen['x_portcullis_credential'], undefined, `${c.what}: folded spellings dropped`);
    // As on an `auth: off` route: the client's Authorization header goes through.
    const sentAuthorization = c.headers.find((h) => h.startsWith('Authorization: '));
    assert.deepEqual(
      seen.authorization,
      sentAuthorization === undefined ? undefined : [sentAuthorization.slice(15)],
      `${c.what}: Authorization as on auth: off`,
    );
  }
  const access = accessLines(s.lines);
  assert.equal(access.length, cases.length);
  for (const [i, c] of cases.entries()) {
    assert.equal(access[i]?.shadow, c.code, `${c.what}: access line shadow`);
    assert.equal(access[i]?.decision, 'ok', `${c.what}: what happened`);
    assert.equal(access[i]?.status, 200);
  }
  const metrics = await s.metrics();
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow",code="auth.missing_credentials"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow",code="auth.invalid_token"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow",code="auth.insufficient_scope"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow-ro",code="route.read_only"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow-req",code="request.missing_header"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow-req",code="request.missing_query_param"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow-match",code="auth.identity_mismatch"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_shadow_refusals_total', 'route="shadow-basic",code="auth.missing_credentials"'), 1);
  const total = metrics
    .split('\n')
    .filter((l) => l.startsWith('portcullis_shadow_refusals_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  assert.equal(total, cases.filter((c) => c.code !== null).length, 'one count per would-be refusal, none for the valid request');
  assert.equal(counterValue(metrics, 'portcullis_route_mode', 'route="shadow",mode="shadow"'), 1);
  assert.doesNotMatch(metrics, /tok_|mallory/, 'no credential id or client value in a label');
});

test('shadow: request-safety refusals still refuse, and nothing reaches the upstream', async (t) => {
  const s = await setup(t);
  const cases: { what: string; bytes: string; code: Parameters<typeof assertProblem>[1]; method?: string }[] = [
    {
      what: 'Content-Length with Transfer-Encoding',
      bytes:
        'POST /shadow/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'chunked body on a GET',
      bytes: 'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'encoded dot segment',
      bytes: 'GET /shadow/%2e%2e/admin HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
      code: 'request.invalid_path',
    },
    {
      what: 'encoded slash',
      bytes: 'GET /shadow/a%2Fb HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
      code: 'request.invalid_path',
    },
    {
      what: 'method override on a read',
      bytes: 'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nX-HTTP-Method-Override: DELETE\r\nConnection: close\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: '_method parameter on a read',
      bytes: 'GET /shadow/x?_method=DELETE HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'two Host headers',
      bytes: 'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nHost: other.test\r\nConnection: close\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'form body on a read',
      bytes:
        'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\nConnection: close\r\n\r\n_method=DELETE',
      code: 'request.body_on_read',
    },
    {
      what: 'form body on a read, valid credential',
      bytes:
        'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer rw-token\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello',
      code: 'request.body_on_read',
    },
    {
      what: 'Connection naming a required header',
      bytes: 'GET /shadow-req/x?tenant=a HTTP/1.1\r\nHost: gw.test\r\nX-Tenant: a\r\nConnection: close, x-tenant\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'Connection naming Authorization',
      bytes: 'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer rw-token\r\nConnection: close, authorization\r\n\r\n',
      code: 'request.malformed',
    },
    {
      what: 'an upgrade to something else than WebSocket',
      bytes: 'GET /shadow/x HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n',
      code: 'request.malformed',
    },
    { what: 'no route', bytes: 'GET /elsewhere HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n', code: 'route.not_found' },
  ];
  for (const c of cases) {
    const result = await exchange(s.gw.port, rawBytes(c.bytes));
    const response = result.responses[0];
    assert.ok(response, `${c.what}: an answer`);
    assertProblem(fromRaw(response), c.code, c.what);
  }
  assert.equal(s.upstream.arrived.length, 0, 'nothing reached the upstream');
  assert.equal(s.upstream.upgrades.length, 0, 'no upgrade reached the upstream');
  const metrics = await s.metrics();
  assert.doesNotMatch(metrics, /^portcullis_shadow_refusals_total\{/m, 'request-safety refusals are not shadow refusals');
});

test('shadow: a reload switches a route to enforce and back, live; /metrics follows', async (t) => {
  const s = await setup(t);
  assert.equal((await s.request('GET', '/shadow/1')).status, 200);
  assert.equal(s.upstream.received.length, 1);
  const enforced = loadTestConfig(gatewayYaml(ROUTES('enforce')), { UPSTREAM: s.upstream.origin }, s.gw.dir);
  s.gw.gateway.reload(enforced);
  s.gw.services.reload?.(enforced);
  const refused = await s.request('GET', '/shadow/2');
  assertProblem(fromRaw(refused), 'auth.missing_credentials', 'enforced after the reload');
  const readOnly = await s.request('DELETE', '/shadow-ro/3', ['Authorization: Bearer rw-token']);
  assertProblem(fromRaw(readOnly), 'route.read_only', 'enforced after the reload');
  assert.equal(s.upstream.arrived.length, 1, 'nothing more reached the upstream');
  let metrics = await s.metrics();
  assert.equal(counterValue(metrics, 'portcullis_route_mode', 'route="shadow",mode="enforce"'), 1);
  assert.equal(counterValue(metrics, 'portcullis_route_mode', 'route="shadow",mode="shadow"'), 0, 'the old mode series is gone');
  const shadowAgain = loadTestConfig(gatewayYaml(ROUTES('shadow')), { UPSTREAM: s.upstream.origin }, s.gw.dir);
  s.gw.gateway.reload(shadowAgain);
  s.gw.services.reload?.(shadowAgain);
  assert.equal((await s.request('GET', '/shadow/4')).status, 200);
  assert.equal(s.upstream.received.length, 2);
  metrics = await s.metrics();
  assert.equal(counterValue(metrics, 'portcullis_route_mode', 'route="shadow",mode="shadow"'), 1);
});

test('enforce (the default): the same requests are refused and never reach the upstream', async (t) => {
  const s = await setup(t, 'enforce');
  assertProblem(fromRaw(await s.request('GET', '/shadow/a', SPOOFED)), 'auth.missing_credentials');
  assertProblem(fromRaw(await s.request('POST', '/shadow/d', ['Authorization: Bearer ro-token'], 'x')), 'auth.insufficient_scope');
  assertProblem(fromRaw(await s.request('GET', '/shadow-req/f', ['Authorization: Bearer rw-token'])), 'request.missing_header');
  assert.equal(s.upstream.arrived.length, 0);
  assert.ok(
    accessLines(s.lines).every((line) => line.shadow === null),
    'no shadow field on an enforcing route',
  );
});

test("shadow: an account owner's token is refused even on a shadow route, and nothing reaches the upstream", async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const owner: Principal = { ...ACCOUNT_PRINCIPAL, credentialId: 'tok_owner', owner: true };
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES('shadow')),
    { UPSTREAM: upstream.origin },
    { authenticate: createStubAuthenticator({ 'owner-token': owner }) },
  );
  const head = ['GET /shadow/o HTTP/1.1', 'Host: gw.test', 'Authorization: Bearer owner-token', 'Connection: close'];
  const result = await exchange(gw.port, rawBytes(`${head.join('\r\n')}\r\n\r\n`), { method: 'GET' });
  const response = result.responses[0];
  assert.ok(response);
  // Not a shadowed code: a leaked owner token must not reach a backend as its account, whatever the mode.
  assert.equal(response.status, 401);
  assertProblem(fromRaw(response), 'auth.owner_credential');
  assert.equal(upstream.received.length, 0, 'nothing reached the upstream');
});
