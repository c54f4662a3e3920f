/**
 * Policy on the proxy layer: read-only routes, authentication challenges per route,
 * and required headers and query parameters (docs/request-path.md "Authorize and require"). Every
 * refusal is checked from both sides: the problem+json the client got and an upstream that saw nothing.
 */
import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { test, type TestContext } from 'node:test';
import { assertProblem, fromRaw } from '../support/problem.js';
import { methodsTheParserAccepts } from '../support/parsed-methods.js';
import { exchange, type RawResponse } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const ROUTES = `
  - name: readonly-open
    match: { path: /ro-open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
  - name: readonly-auth
    match: { path: /ro-auth }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-only
  - name: readwrite-open
    match: { path: /rw-open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: readwrite-auth
    match: { path: /rw-auth }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: bearer-only
    match: { path: /bearer-only }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    credentials: [bearer]
  - name: basic-only
    match: { path: /basic-only }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    credentials: [basic]
  - name: both-schemes
    match: { path: /both }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    credentials: [bearer, basic]
  - name: profiles-flow
    match: { path: /profiles-flow }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
    require: { headers: [x-correlation-id, X-Api-Version], query: [serviceProvider, code] }
  - name: search
    match: { path: /search }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    readsWithBody: true
  - name: traced
    match: { path: /traced }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    require: { headers: [x-request-id] }
`;

interface Setup {
  readonly upstream: RecordingUpstream;
  request(method: string, target: string, headers?: readonly string[], body?: string): Promise<RawResponse>;
}

async function setup(t: TestContext): Promise<Setup> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin }, { authenticate: createStubAuthenticator() });
  return {
    upstream,
    async request(method, target, headers = [], body) {
      const lines = [`${method} ${target} HTTP/1.1`, 'Host: gw.test', ...headers, 'Connection: close'];
      if (body !== undefined) lines.push(`Content-Length: ${body.length}`);
      const result = await exchange(gw.port, rawBytes(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`), { method });
      const response = result.responses[0];
      assert.ok(response, `${method} ${target}: a response`);
      return response;
    },
  };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every method this runtime's parser accepts, but CONNECT (never tunnelled, see framing.json).
 * A method it refuses is refused as malformed before any policy, as the test below shows.
 */
const PARSED_METHODS = await methodsTheParserAccepts();

test('read-only route (auth: off): every write method Node can parse gets 405 route.read_only with Allow, reads pass', async (t) => {
  const gw = await setup(t);
  for (const method of PARSED_METHODS) {
    const before = gw.upstream.arrived.length;
    const response = await gw.request(method, '/ro-open/item', [], READS.has(method) ? undefined : 'data');
    if (READS.has(method)) {
      assert.equal(response.status, 200, method);
      assert.equal(gw.upstream.arrived.length, before + 1, method);
      assert.equal(gw.upstream.arrived.at(-1)?.method, method);
      continue;
    }
    assert.equal(response.status, 405, method);
    assert.equal(response.headers.allow, 'GET, HEAD, OPTIONS', method);
    if (method !== 'HEAD') assertProblem(fromRaw(response), 'route.read_only', method);
    assert.equal(gw.upstream.arrived.length, before, `${method} never reached the upstream`);
  }
});

test("a method Node's parser does not know (FOO, PROPFIND in lower case) is refused as malformed before any policy", async (t) => {
  const gw = await setup(t);
  // Listed in http.METHODS but refused by this runtime's parser (QUERY on Node 20.19.2): the same.
  const unparsed = METHODS.filter((m) => m !== 'CONNECT' && !PARSED_METHODS.includes(m));
  for (const method of ['FOO', 'propfind', 'GET2', 'BREW', ...unparsed]) {
    for (const path of ['/ro-open/x', '/rw-open/x']) {
      const response = await gw.request(method, path);
      assertProblem(fromRaw(response), 'request.malformed', `${method} ${path}`);
    }
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('read-write route (auth: off): every method Node can parse is forwarded as sent', async (t) => {
  const gw = await setup(t);
  for (const method of PARSED_METHODS) {
    const response = await gw.request(method, '/rw-open/item', [], READS.has(method) ? undefined : 'data');
    assert.equal(response.status, 200, method);
    const seen = gw.upstream.received.at(-1);
    assert.equal(seen?.method, method);
    assert.equal(seen?.body, READS.has(method) ? '' : 'data', method);
  }
});

test('read-only route with auth: a read-write credential still cannot write (405), and can read', async (t) => {
  const gw = await setup(t);
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
    const response = await gw.request(method, '/ro-auth/x', ['Authorization: Bearer rw-token'], 'data');
    assertProblem(fromRaw(response), 'route.read_only', method);
    assert.equal(response.headers.allow, 'GET, HEAD, OPTIONS');
  }
  assert.equal(gw.upstream.arrived.length, 0);
  const read = await gw.request('GET', '/ro-auth/x', ['Authorization: Bearer rw-token']);
  assert.equal(read.status, 200);
  assert.equal(gw.upstream.received.at(-1)?.method, 'GET');
});

test('a read-only credential cannot write to a read-write route: 403 auth.insufficient_scope with an RFC 6750 challenge', async (t) => {
  const gw = await setup(t);
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'MKCOL']) {
    const response = await gw.request(method, '/rw-auth/x', ['Authorization: Bearer ro-token'], 'data');
    assertProblem(fromRaw(response), 'auth.insufficient_scope', method);
    assert.equal(
      response.headers['www-authenticate'],
      'Bearer realm="portcullis", error="insufficient_scope", scope="read-write", Basic realm="portcullis", charset="UTF-8"',
    );
  }
  assert.equal(gw.upstream.arrived.length, 0);
  const read = await gw.request('GET', '/rw-auth/x', ['Authorization: Bearer ro-token']);
  assert.equal(read.status, 200);
  const write = await gw.request('PUT', '/rw-auth/x', ['Authorization: Bearer rw-token'], 'data');
  assert.equal(write.status, 200);
  assert.deepEqual(
    gw.upstream.received.map((r) => r.method),
    ['GET', 'PUT'],
  );
});

test("auth: required without credentials: 401 auth.missing_credentials challenging with exactly the route's schemes", async (t) => {
  const gw = await setup(t);
  const cases = [
    ['/bearer-only/x', 'Bearer realm="portcullis"'],
    ['/basic-only/x', 'Basic realm="portcullis", charset="UTF-8"'],
    ['/both/x', 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"'],
    ['/ro-auth/x', 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"'],
  ] as const;
  for (const [path, challenge] of cases) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const response = await gw.request(method, path, [], method === 'GET' ? undefined : 'data');
      assertProblem(fromRaw(response), 'auth.missing_credentials', `${method} ${path}`);
      assert.equal(response.headers['www-authenticate'], challenge, `${method} ${path}`);
    }
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('a bearer token sent to a basic-only route counts as no credentials for it', async (t) => {
  const gw = await setup(t);
  const response = await gw.request('GET', '/basic-only/x', ['Authorization: Bearer rw-token']);
  assertProblem(fromRaw(response), 'auth.missing_credentials');
  assert.equal(response.headers['www-authenticate'], 'Basic realm="portcullis", charset="UTF-8"');
  assert.equal(gw.upstream.arrived.length, 0);
});

const GOOD_HEADERS = ['X-Correlation-Id: c-1', 'x-api-version: 2'];

test('require.headers: 400 request.missing_header naming every missing or empty header; nothing upstream', async (t) => {
  const gw = await setup(t);
  const cases = [
    { headers: [], missing: 'x-correlation-id, x-api-version' },
    { headers: ['X-Correlation-Id: c-1'], missing: 'x-api-version' },
    { headers: ['X-API-VERSION: 2'], missing: 'x-correlation-id' },
    { headers: ['X-Correlation-Id:', 'X-Api-Version: 2'], missing: 'x-correlation-id' },
    { headers: ['X-Correlation-Id:    ', 'X-Api-Version:\t'], missing: 'x-correlation-id, x-api-version' },
  ];
  for (const { headers, missing } of cases) {
    const response = await gw.request('GET', '/profiles-flow/check?serviceProvider=sp&code=42', headers);
    const body = assertProblem(fromRaw(response), 'request.missing_header', headers.join());
    for (const name of missing.split(', ')) assert.ok(body.detail?.includes(name), `${body.detail} names ${name}`);
    assert.equal(
      body.detail?.includes('x-correlation-id'),
      missing.includes('x-correlation-id'),
      `${body.detail} names only what is missing`,
    );
    assert.equal(body.detail?.includes('x-api-version'), missing.includes('x-api-version'), `${body.detail} names only what is missing`);
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('require.query: 400 request.missing_query_param naming every missing or empty parameter; nothing upstream', async (t) => {
  const gw = await setup(t);
  const cases = [
    { query: '', missing: ['serviceProvider', 'code'] },
    { query: '?code=42', missing: ['serviceProvider'] },
    { query: '?serviceProvider=sp', missing: ['code'] },
    { query: '?serviceProvider=&code=42', missing: ['serviceProvider'] },
    { query: '?serviceProvider&code', missing: ['serviceProvider', 'code'] },
    { query: '?serviceprovider=sp&CODE=42', missing: ['serviceProvider', 'code'] },
    { query: '?x=serviceProvider%3Dsp&code=1', missing: ['serviceProvider'] },
    { query: '?+serviceProvider=sp&code=1', missing: ['serviceProvider'] },
  ];
  for (const { query, missing } of cases) {
    const response = await gw.request('GET', `/profiles-flow/check${query}`, GOOD_HEADERS);
    const body = assertProblem(fromRaw(response), 'request.missing_query_param', query);
    for (const name of ['serviceProvider', 'code']) {
      assert.equal(new RegExp(`\\b${name}\\b`).test(body.detail ?? ''), missing.includes(name), `${query}: ${body.detail}`);
    }
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('require: headers are checked before the query, and a request meeting both is forwarded as sent', async (t) => {
  const gw = await setup(t);
  const both = await gw.request('GET', '/profiles-flow/check');
  assertProblem(fromRaw(both), 'request.missing_header');
  assert.equal(gw.upstream.arrived.length, 0);
  for (const query of ['?serviceProvider=sp&code=42', '?code=42&serviceProvider=s%20p', '?service%50rovider=sp&code=0']) {
    const response = await gw.request('POST', `/profiles-flow/check${query}`, GOOD_HEADERS, 'payload');
    assert.equal(response.status, 200, query);
    const seen = gw.upstream.received.at(-1);
    assert.equal(seen?.url, `/profiles-flow/check${query}`);
    assert.equal(seen?.headers['x-correlation-id'], 'c-1');
    assert.equal(seen?.body, 'payload');
  }
});

test('require refuses ambiguity: a required header or parameter sent twice (or as a folded spelling) is refused naming it; nothing upstream', async (t) => {
  const gw = await setup(t);
  const headerCases: readonly (readonly [readonly string[], string])[] = [
    [['X-Correlation-Id:', 'X-Correlation-Id: c-1', 'X-Api-Version: 2'], 'x-correlation-id'],
    [['X-Correlation-Id: c-1', 'X-Correlation-Id: c-2', 'X-Api-Version: 2'], 'x-correlation-id'],
    [['X-Correlation-Id: c-1', 'X_Correlation_Id: c-2', 'X-Api-Version: 2'], 'x-correlation-id'],
    [['X-Correlation-Id: c-1', 'X.Correlation.Id: c-2', 'X-Api-Version: 2'], 'x-correlation-id'],
    [['X-Correlation-Id: c-1', 'x-api-version: 2', 'X-API-VERSION: 3'], 'x-api-version'],
  ];
  for (const [headers, name] of headerCases) {
    const response = await gw.request('GET', '/profiles-flow/check?serviceProvider=sp&code=42', headers);
    const body = assertProblem(fromRaw(response), 'request.missing_header', headers.join());
    assert.match(body.detail ?? '', new RegExp(`more than once: ${name}`), headers.join());
  }
  for (const query of [
    '?serviceProvider=&serviceProvider=acme&code=1',
    '?serviceProvider=acme&service%50rovider=x&code=1',
    '?serviceProvider=a&code=1&code=1',
    // Spellings a backend merges into the name (PHP, case-insensitive, [], ;).
    '?serviceProvider=acme&+serviceProvider=&code=1',
    '?serviceProvider=acme&ServiceProvider=evil&code=1',
    '?serviceProvider=acme&serviceProvider[]=evil&code=1',
    '?serviceProvider=acme;serviceProvider=&code=1',
  ]) {
    const response = await gw.request('GET', `/profiles-flow/check${query}`, GOOD_HEADERS);
    const body = assertProblem(fromRaw(response), 'request.missing_query_param', query);
    assert.match(body.detail ?? '', /more than once: (serviceProvider|code)/, query);
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('a required header can never be dropped on the way upstream: naming it in Connection is refused; nothing upstream', async (t) => {
  const gw = await setup(t);
  for (const connection of ['X-Correlation-Id', 'keep-alive, x-api-version', 'X_Correlation_Id']) {
    const response = await gw.request('GET', '/profiles-flow/check?serviceProvider=sp&code=42', [
      ...GOOD_HEADERS,
      `Connection: ${connection}`,
    ]);
    const body = assertProblem(fromRaw(response), 'request.malformed', connection);
    assert.match(body.detail ?? '', /x-correlation-id|x-api-version/);
  }
  assert.equal(gw.upstream.arrived.length, 0);
  const fine = await gw.request('GET', '/profiles-flow/check?serviceProvider=sp&code=42', [...GOOD_HEADERS, 'Connection: keep-alive']);
  assert.equal(fine.status, 200);
  assert.equal(gw.upstream.received.at(-1)?.headers['x-correlation-id'], 'c-1');
});

test("require.headers: [x-request-id] is met by the client's header, and the id is the one forwarded", async (t) => {
  const gw = await setup(t);
  const missing = await gw.request('GET', '/traced/x');
  const body = assertProblem(fromRaw(missing), 'request.missing_header');
  assert.match(body.detail ?? '', /x-request-id/);
  assert.equal(gw.upstream.arrived.length, 0);
  const present = await gw.request('GET', '/traced/x', ['X-Request-Id: abc-123']);
  assert.equal(present.status, 200);
  assert.equal(gw.upstream.received.at(-1)?.headers['x-request-id'], 'abc-123');
});

test("with the shipped authenticator too, a request without credentials gets the route's exact challenges and reaches nothing", async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { UPSTREAM: upstream.origin });
  const cases = [
    ['/bearer-only/x', 'Bearer realm="portcullis"'],
    ['/basic-only/x', 'Basic realm="portcullis", charset="UTF-8"'],
    ['/both/x', 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"'],
  ] as const;
  for (const [path, challenge] of cases) {
    const result = await exchange(gw.port, rawBytes(`GET ${path} HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n`));
    const response = result.responses[0];
    assert.ok(response, path);
    assertProblem(fromRaw(response), 'auth.missing_credentials', path);
    assert.equal(response.headers['www-authenticate'], challenge, path);
  }
  assert.equal(upstream.arrived.length, 0);
});

test('a body on a read: refused on a read-only route or with a read-only credential (request.body_on_read), unless readsWithBody; nothing upstream', async (t) => {
  const gw = await setup(t);
  const refused: readonly (readonly [string, string, readonly string[]])[] = [
    ['GET', '/ro-open/x', []],
    ['OPTIONS', '/ro-open/x', []],
    ['HEAD', '/ro-open/x', []],
    ['GET', '/ro-auth/x', ['Authorization: Bearer rw-token']],
    ['GET', '/rw-auth/x', ['Authorization: Bearer ro-token']],
    ['GET', '/rw-open/x', ['Content-Type: application/x-www-form-urlencoded']],
    ['GET', '/search/x', ['Authorization: Bearer ro-token', 'Content-Type: multipart/form-data; boundary=b']],
  ];
  for (const [method, target, headers] of refused) {
    const response = await gw.request(method, target, headers, '_method=DELETE');
    assert.equal(response.status, 400, `${method} ${target} ${headers.join()}`);
    if (method !== 'HEAD') assertProblem(fromRaw(response), 'request.body_on_read', `${method} ${target}`);
  }
  assert.equal(gw.upstream.arrived.length, 0);
  const allowed: readonly (readonly [string, string, readonly string[]])[] = [
    ['GET', '/rw-auth/x', ['Authorization: Bearer rw-token']],
    ['GET', '/rw-open/x', ['Content-Type: application/json']],
    ['GET', '/search/x', ['Authorization: Bearer ro-token', 'Content-Type: application/json']],
  ];
  for (const [method, target, headers] of allowed) {
    const response = await gw.request(method, target, headers, '{"q":1}');
    assert.equal(response.status, 200, `${method} ${target}`);
    assert.equal(gw.upstream.received.at(-1)?.body, '{"q":1}');
    assert.equal(gw.upstream.received.at(-1)?.headers['content-length'], '7');
  }
  const empty = await gw.request('GET', '/ro-open/x', [], '');
  assert.equal(empty.status, 200, 'Content-Length: 0 is no body');
});

test('_method (and kin) in the query of a read is refused like the override headers; on a write it is forwarded', async (t) => {
  const gw = await setup(t);
  for (const query of [
    '?_method=DELETE',
    '?a=1&_METHOD=put',
    '?%5fmethod=PATCH',
    '?_HttpMethod=PATCH',
    '?x-http-method-override=DELETE',
    '?_method',
    // Spellings PHP registers as _method: leading space (+, %20), cut at NUL, [] suffix, and after a `;`.
    '?+_method=DELETE',
    '?%20_method=DELETE',
    '?%20%20_method=DELETE',
    '?_method%00=DELETE',
    '?_method%00x=DELETE',
    '?_method[]=DELETE',
    '?a=1;_method=DELETE',
  ]) {
    for (const method of ['GET', 'OPTIONS']) {
      const response = await gw.request(method, `/rw-open/x${query}`);
      assertProblem(fromRaw(response), 'request.malformed', `${method} ${query}`);
    }
  }
  assert.equal(gw.upstream.arrived.length, 0);
  const write = await gw.request('POST', '/rw-open/x?_method=PUT', [], 'x');
  assert.equal(write.status, 200);
  assert.equal(gw.upstream.received.at(-1)?.url, '/rw-open/x?_method=PUT');
});

test('a method override on a write that names a method another route takes is refused; one the same route takes is forwarded', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: items-create
    match: { path: /items, methods: [POST] }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: items-delete
    match: { path: /items, methods: [DELETE] }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: notes
    match: { path: /notes }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`),
    { UPSTREAM: upstream.origin },
    { authenticate: createStubAuthenticator() },
  );
  const post = async (target: string, headers: readonly string[]): Promise<RawResponse> => {
    const result = await exchange(
      gw.port,
      rawBytes(
        `POST ${target} HTTP/1.1\r\nHost: gw.test\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Length: 1\r\nConnection: close\r\n\r\nx`,
      ),
    );
    const response = result.responses[0];
    assert.ok(response, target);
    return response;
  };
  for (const [target, headers] of [
    ['/items/7', ['X-HTTP-Method-Override: DELETE']],
    ['/items/7', ['x_http_method: delete']],
    ['/items/7', ['X.Method.Override: DELETE']],
    ['/items/7?_method=DELETE', []],
    ['/items/7?_METHOD=delete', []],
    ['/items/7', ['X-HTTP-Method-Override: PUT']],
    ['/items/7', ['X-HTTP-Method-Override: POST', 'X-HTTP-Method: DELETE']],
    ['/items/7?_method=POST&_method=DELETE', []],
    // Spellings PHP registers as _method (docs/request-path.md "Framing").
    ['/items/7?+_method=DELETE', []],
    ['/items/7?%20_method=DELETE', []],
    ['/items/7?_method%00=DELETE', []],
    ['/items/7?_method[]=DELETE', []],
    ['/items/7?x=1;_method=DELETE', []],
  ] as const) {
    assertProblem(fromRaw(await post(target, headers)), 'request.malformed', `${target} ${headers.join()}`);
  }
  assert.equal(upstream.arrived.length, 0);
  const same = await post('/notes/1?_method=PUT', ['X-HTTP-Method-Override: DELETE']);
  assert.equal(same.status, 200, 'every method of /notes goes to the same route');
  const own = await post('/items/7', ['X-HTTP-Method-Override: POST']);
  assert.equal(own.status, 200);
  assert.equal(upstream.received.length, 2);
  assert.equal(upstream.received[0]?.headers['x-http-method-override'], 'DELETE');
});

test("a format suffix does not reach a protected route through a laxer one: /admin.json is /admin's (auth required), raw bytes both views", async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: admin
    match: { path: /admin }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: admin-public
    match: { path: /admin.public }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-only
  - name: site
    match: { path: / }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`),
    { UPSTREAM: upstream.origin },
    { authenticate: createStubAuthenticator() },
  );
  const get = async (target: string, headers: readonly string[] = []): Promise<RawResponse> => {
    const result = await exchange(
      gw.port,
      rawBytes(`GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${headers.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`),
    );
    const response = result.responses[0];
    assert.ok(response, target);
    return response;
  };
  for (const target of ['/admin.json', '/admin.xml', '/admin.json/users', '/admin.', '/adm%69n.json', '/admin.tar.gz?x=1']) {
    assertProblem(fromRaw(await get(target)), 'auth.missing_credentials', target);
  }
  // Upstream view: none of them arrived.
  assert.equal(upstream.arrived.length, 0);
  // With credentials, the protected route forwards it; a longer declared prefix and an unrelated name keep their routes.
  assert.equal((await get('/admin.json', ['Authorization: Bearer rw-token'])).status, 200);
  assert.equal((await get('/admin.public.json')).status, 200);
  assert.equal((await get('/adminx.json')).status, 200);
  assert.deepEqual(
    upstream.received.map((r) => [r.url, r.headers['x-portcullis-subject'] ?? null]),
    [
      ['/admin.json', 'alice'],
      ['/admin.public.json', null],
      ['/adminx.json', null],
    ],
  );
});
