/**
 * Route selection end to end (docs/configuration.md): each route forwards under its own base path
 * on one recording upstream, so the upstream's view of the request target names the route chosen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream } from '../support/upstream.js';

const route = (name: string, match: string, extra = ''): string => `
  - name: ${name}
    match: { ${match} }
    upstream: "\${UPSTREAM}/r-${name}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write${extra}`;

const ROUTES = [
  route('exact', 'host: api.example.com, path: /items'),
  route('wildcard', 'host: "*.example.com", path: /items'),
  route('any', 'path: /items'),
  route('exact-long', 'host: api.example.com, path: /items/special'),
  route('any-deeper', 'path: /items/special/deeper'),
  route('m-get', 'path: /m, methods: [GET]'),
  route('m-any', 'path: /m'),
  route('m-post-exact', 'host: api.example.com, path: /m, methods: [POST]'),
  route('profiles', 'path: /profiles'),
  route('upper-host', 'host: UPPER.Example.ORG, path: /u'),
].join('');

test('route selection: host specificity, then prefix length on segment boundaries, then methods', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  const cases: readonly (readonly [string, string, string, string | undefined])[] = [
    ['api.example.com', 'GET', '/items', 'exact'],
    ['API.EXAMPLE.COM', 'GET', '/items', 'exact'],
    ['Api.Example.Com', 'GET', '/items/1', 'exact'],
    [`api.example.com:${gw.port}`, 'GET', '/items', 'exact'],
    ['api.example.com:8443', 'GET', '/items', 'exact'],
    ['api.example.com.', 'GET', '/items', 'exact'],
    ['api.example.com.:8443', 'GET', '/items', 'exact'],
    ['www.example.com', 'GET', '/items', 'wildcard'],
    ['WWW.EXAMPLE.COM:443', 'GET', '/items', 'wildcard'],
    ['www.example.com.', 'GET', '/items', 'wildcard'],
    ['a.b.example.com', 'GET', '/items', 'any'],
    ['example.com', 'GET', '/items', 'any'],
    ['evil-example.com', 'GET', '/items', 'any'],
    ['api.example.com.evil.test', 'GET', '/items', 'any'],
    ['127.0.0.1', 'GET', '/items', 'any'],
    [`127.0.0.1:${gw.port}`, 'GET', '/items', 'any'],
    ['[::1]:8443', 'GET', '/items', 'any'],
    ['api.example.com', 'GET', '/items/special/x', 'exact-long'],
    ['api.example.com', 'GET', '/items/special/deeper/x', 'exact-long'],
    ['other.test', 'GET', '/items/special/deeper/x', 'any-deeper'],
    ['other.test', 'GET', '/items/specialx', 'any'],
    ['other.test', 'GET', '/profiles', 'profiles'],
    ['other.test', 'GET', '/profiles/', 'profiles'],
    ['other.test', 'GET', '/profiles/x', 'profiles'],
    ['other.test', 'GET', '/profilesx', undefined],
    ['other.test', 'GET', '/m', 'm-get'],
    ['other.test', 'HEAD', '/m', 'm-get'],
    ['other.test', 'OPTIONS', '/m', 'm-any'],
    ['other.test', 'POST', '/m', 'm-any'],
    ['api.example.com', 'POST', '/m', 'm-post-exact'],
    ['api.example.com', 'GET', '/m', 'm-get'],
    ['upper.example.org', 'GET', '/u', 'upper-host'],
    ['UPPER.EXAMPLE.ORG', 'GET', '/u', 'upper-host'],
    ['other.test', 'GET', '/', undefined],
  ];
  for (const [host, method, path, expected] of cases) {
    const before = upstream.arrived.length;
    const result = await exchange(gw.port, rawBytes(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`), {
      method,
    });
    const response = result.responses[0];
    assert.ok(response, `${method} ${host}${path}`);
    if (expected === undefined) {
      if (method !== 'HEAD') assertProblem(fromRaw(response), 'route.not_found', `${method} ${host}${path}`);
      assert.equal(upstream.arrived.length, before, `${method} ${host}${path}: nothing upstream`);
      continue;
    }
    assert.equal(response.status, 200, `${method} ${host}${path}`);
    assert.equal(upstream.arrived.length, before + 1);
    assert.equal(upstream.arrived.at(-1)?.url, `/r-${expected}${path}`, `${method} ${host}${path}`);
  }
});

test('HEAD cannot reach a GET-only authenticated resource through a methodless auth: off route', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: reports-read
    match: { path: /reports, methods: [GET] }
    upstream: "\${UPSTREAM}/read"
    upstreamCa: "\${CA}"
    auth: required
  - name: reports-webhook
    match: { path: /reports }
    upstream: "\${UPSTREAM}/hook"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`),
    { UPSTREAM: upstream.origin },
  );
  for (const method of ['GET', 'HEAD']) {
    const result = await exchange(gw.port, rawBytes(`${method} /reports/q3 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`), {
      method,
    });
    const response = result.responses[0];
    assert.ok(response, method);
    assert.equal(response.status, 401, method);
    assert.equal(response.headers['content-type'], 'application/problem+json');
  }
  assert.equal(upstream.arrived.length, 0, 'neither reached the upstream');
  const post = await exchange(
    gw.port,
    rawBytes('POST /reports/q3 HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'),
  );
  assert.equal(post.responses[0]?.status, 200);
  assert.equal(upstream.arrived.at(-1)?.url, '/hook/reports/q3');
});
