/**
 * Header rules (docs/request-path.md "Forwarding", src/forward/header-rules.ts), each forwarded or
 * identity header with paired trust tests: from an untrusted peer the value is dropped or replaced,
 * from a configured trusted proxy it is kept or appended to. Requests are raw bytes, so header
 * spellings and duplicates arrive exactly as written; the upstream's raw header list is checked.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange, type RawResponse } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { rawBytes } from '../support/vectors.js';
import { PROXY_CLAIM_HEADERS, PROXY_CLAIM_PREFIXES } from '../../src/forward/proxy-claim-headers.js';
import { startRecordingUpstream, type ReceivedRequest, type RecordingUpstream } from '../support/upstream.js';

const ROUTES = `
  - name: open
    match: { path: /open }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private
    match: { path: /private }
    upstream: "\${UPSTREAM}"
    upstreamCa: "\${CA}"
    access: read-write
`;

interface Setup {
  readonly upstream: RecordingUpstream;
  readonly port: number;
  send(
    requestLine: string,
    headers: readonly string[],
    body?: string,
  ): Promise<{ response: RawResponse; seen: ReceivedRequest | undefined }>;
}

async function setup(t: TestContext, options: { trusted?: boolean } = {}): Promise<Setup> {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const extra = options.trusted ? 'trustedProxies: ["127.0.0.1"]' : '';
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES, extra),
    { UPSTREAM: upstream.origin },
    { authenticate: createStubAuthenticator() },
  );
  return {
    upstream,
    port: gw.port,
    async send(requestLine, headers, body = '') {
      const before = upstream.received.length;
      const lines = [requestLine, ...headers, 'Connection: close'];
      if (body !== '') lines.push(`Content-Length: ${body.length}`);
      const result = await exchange(gw.port, rawBytes(`${lines.join('\r\n')}\r\n\r\n${body}`));
      const response = result.responses[0];
      assert.ok(response, 'a response');
      return { response, seen: upstream.received.length > before ? upstream.received.at(-1) : undefined };
    },
  };
}

/** Every value of a header in a raw header list, in order. */
function values(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) out.push(rawHeaders[i + 1] ?? '');
  return out;
}

function names(rawHeaders: readonly string[]): string[] {
  return rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

test('hop-by-hop headers, and every header the client names in Connection, never reach the upstream', async (t) => {
  const gw = await setup(t);
  const { response, seen } = await gw.send(
    'POST /open/hop HTTP/1.1',
    [
      'Host: gw.test',
      'Keep-Alive: timeout=5, max=100',
      'TE: trailers',
      'Trailer: X-Checksum',
      'Upgrade: websocket',
      'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
      'Proxy-Connection: keep-alive',
      'HTTP2-Settings: AAMAAABkAAQAAP__',
      'Connection: X-Named-One, x-NAMED-two',
      'X-Named-One: 1',
      'x-named-two: 2',
      'X-Kept: yes',
    ],
    'hello',
  );
  assert.equal(response.status, 200);
  assert.ok(seen);
  const upstreamNames = names(seen.rawHeaders);
  for (const dropped of [
    'keep-alive',
    'te',
    'trailer',
    'upgrade',
    'proxy-authorization',
    'proxy-connection',
    'http2-settings',
    'x-named-one',
    'x-named-two',
    'transfer-encoding',
  ]) {
    assert.ok(!upstreamNames.includes(dropped), `${dropped} was dropped`);
  }
  // The upstream connection's own Connection header is the gateway's, naming nothing of the client's.
  assert.ok(
    values(seen.rawHeaders, 'connection').every((v) => /^(keep-alive|close)$/i.test(v)),
    `connection: ${values(seen.rawHeaders, 'connection').join()}`,
  );
  assert.deepEqual(values(seen.rawHeaders, 'x-kept'), ['yes']);
  assert.equal(seen.body, 'hello');
});

test('Connection may not name a header the checks depend on: 400 request.malformed and nothing upstream, in any spelling', async (t) => {
  const gw = await setup(t);
  const tokens = [
    'host',
    'Content-Length',
    'transfer-encoding',
    'authorization',
    'x-forwarded-for',
    'X-Forwarded-Proto',
    'x-forwarded-host',
    'x-portcullis-subject',
    'X-Portcullis-Anything',
    'x_portcullis_scope',
    'x.forwarded.for',
    'forwarded',
    'x-real-ip',
    'true-client-ip',
    'x-envoy-original-path',
    'x-http-method-override',
    'keep-alive, x-forwarded-uri',
  ];
  for (const token of tokens) {
    for (const target of ['/private/x', '/open/x']) {
      const { response, seen } = await gw.send(`GET ${target} HTTP/1.1`, [
        'Host: gw.test',
        'Authorization: Bearer rw-token',
        `Connection: ${token}`,
      ]);
      const body = assertProblem(fromRaw(response), 'request.malformed', `${target} Connection: ${token}`);
      assert.match(body.detail ?? '', /Connection header names/);
      assert.equal(seen, undefined, token);
    }
  }
  assert.equal(gw.upstream.arrived.length, 0);
});

test('Connection naming the request id or an ordinary header is accepted; the gateway still sets its own headers', async (t) => {
  const gw = await setup(t);
  const { response, seen } = await gw.send('GET /private/x HTTP/1.1', [
    'Host: gw.test',
    'Authorization: Bearer rw-token',
    'X-Custom: 1',
    'Connection: x-request-id, X-Custom',
  ]);
  assert.equal(response.status, 200);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'host'), [`127.0.0.1:${gw.upstream.port}`]);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-subject'), ['alice']);
  assert.deepEqual(values(seen.rawHeaders, 'x-custom'), []);
  assert.equal(values(seen.rawHeaders, 'x-request-id').length, 1);
});

test('client X-Portcullis-* headers are dropped in any case and any number: auth: off sends none upstream', async (t) => {
  const gw = await setup(t);
  const { response, seen } = await gw.send('GET /open/x HTTP/1.1', [
    'Host: gw.test',
    'X-Portcullis-Subject: admin',
    'x-portcullis-subject: root',
    'X-PORTCULLIS-SCOPE: admin',
    'X-Portcullis-Credential: tok_admin',
    'X-Portcullis-Anything: 1',
  ]);
  assert.equal(response.status, 200);
  assert.ok(seen);
  assert.deepEqual(
    names(seen.rawHeaders).filter((n) => n.startsWith('x-portcullis-')),
    [],
  );
});

test("client X-Portcullis-* headers are replaced by the authenticated caller's, exactly one of each", async (t) => {
  const gw = await setup(t);
  const { response, seen } = await gw.send('GET /private/x HTTP/1.1', [
    'Host: gw.test',
    'X-Portcullis-Subject: admin',
    'X-Portcullis-Scope: admin',
    'x-portcullis-scope: admin',
    'X-Portcullis-Credential: tok_admin',
    'Authorization: Bearer rw-token',
  ]);
  assert.equal(response.status, 200);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-subject'), ['alice']);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-scope'), ['read-write']);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-credential'), ['tok_rw']);
  assert.deepEqual(values(seen.rawHeaders, 'authorization'), [], 'the Portcullis credential is not forwarded');
});

test('the Authorization header is forwarded unchanged on auth: off routes', async (t) => {
  const gw = await setup(t);
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', 'Authorization: Bearer backend-own-token']);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'authorization'), ['Bearer backend-own-token']);
});

const SPOOFED_FORWARDING = [
  'X-Forwarded-For: 203.0.113.7',
  'X-Forwarded-For: 198.51.100.9',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: admin.internal',
];

const PROXY_ONLY = {
  forwarded: 'for=203.0.113.7;proto=https',
  'x-real-ip': '203.0.113.7',
  'x-original-url': '/admin',
  'x-rewrite-url': '/admin',
  'x-client-ip': '203.0.113.7',
  'true-client-ip': '203.0.113.7',
  'x-forwarded-port': '443',
  'x-forwarded-prefix': '/admin',
  'x-original-host': 'admin.internal',
} as const;

const proxyOnlyLines = Object.entries(PROXY_ONLY).map(([name, value]) => `${name}: ${value}`);

test('untrusted peer: X-Forwarded-For/-Proto/-Host are replaced with what the gateway saw', async (t) => {
  const gw = await setup(t);
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: api.example.com:8080', ...SPOOFED_FORWARDING]);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-host'), ['api.example.com:8080']);
});

test('trusted proxy: X-Forwarded-For is appended to, -Proto and -Host are kept', async (t) => {
  const gw = await setup(t, { trusted: true });
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: api.example.com:8080', ...SPOOFED_FORWARDING]);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['203.0.113.7, 198.51.100.9, 127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-proto'), ['https']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-host'), ['admin.internal']);
});

test('trusted proxy that sends no X-Forwarded-* headers: the gateway sets them', async (t) => {
  const gw = await setup(t, { trusted: true });
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test']);
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-proto'), ['http']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-host'), ['gw.test']);
});

test('untrusted peer: Forwarded, X-Real-IP, X-Original-URL, X-Rewrite-URL and kin are dropped', async (t) => {
  const gw = await setup(t);
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', ...proxyOnlyLines]);
  assert.ok(seen);
  for (const name of Object.keys(PROXY_ONLY)) assert.deepEqual(values(seen.rawHeaders, name), [], `${name} dropped`);
});

test('trusted proxy: Forwarded, X-Real-IP, X-Original-URL, X-Rewrite-URL and kin are kept', async (t) => {
  const gw = await setup(t, { trusted: true });
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', ...proxyOnlyLines]);
  assert.ok(seen);
  for (const [name, value] of Object.entries(PROXY_ONLY)) assert.deepEqual(values(seen.rawHeaders, name), [value], `${name} kept`);
});

/** Every claim header of the data file, plus names under the prefixes, each with its own value. */
const CLAIMS: readonly (readonly [string, string])[] = [
  ...PROXY_CLAIM_HEADERS.map((h, i) => [h.name, `v${i}`] as const),
  ['x-envoy-original-path', '/admin'],
  ['x-envoy-external-address', '6.6.6.6'],
  ['x-envoy-internal', 'true'],
  ['x-forwarded-anything-else', '1'],
  ['x-remote-extra-scopes', 'admin'],
  ['x-pomerium-claim-email', 'a@b'],
  ['x-pomerium-claim-groups', 'admins'],
  ['x-authentik-username', 'akadmin'],
  ['x-authentik-groups', 'admins'],
  ['cf-access-client-id', 'x'],
  ['x-ms-token-aad-access-token', 't'],
  ['x-ms-client-principal-claims', 'c'],
  ['x-vouch-idp-claims-email', 'a@b'],
];
/** How a client may spell a name so that a backend folds it into the canonical one. */
const SPELLINGS: readonly ((name: string) => string)[] = [
  (n) => n.toUpperCase(),
  (n) => n.replaceAll('-', '_'),
  (n) => n.replaceAll('-', '.'),
  (n) =>
    n
      .split('-')
      .map((part, i) => (i % 2 === 0 ? part : part.toUpperCase()))
      .join('_'),
];

test('untrusted peer: every client-address, original-URL and identity claim of proxy-claim-headers.ts is dropped, in every spelling', async (t) => {
  const gw = await setup(t);
  for (const spell of [(n: string) => n, ...SPELLINGS]) {
    const lines = CLAIMS.map(([name, value]) => `${spell(name)}: ${value}`);
    const { response, seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', ...lines, 'X-Unrelated.Header: kept']);
    assert.equal(response.status, 200);
    assert.ok(seen);
    const leaked = CLAIMS.filter(([name]) => names(seen.rawHeaders).some((n) => n.replace(/[_.]/g, '-') === name));
    assert.deepEqual(leaked, [], `spelled ${spell('x-real-ip')}`);
    assert.deepEqual(values(seen.rawHeaders, 'x-unrelated.header'), ['kept']);
  }
});

test('trusted proxy: every such claim is kept as the proxy wrote it; folded spellings are still dropped', async (t) => {
  const gw = await setup(t, { trusted: true });
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', ...CLAIMS.map(([name, value]) => `${name}: ${value}`)]);
  assert.ok(seen);
  for (const [name, value] of CLAIMS) {
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'x-forwarded-host') continue;
    assert.deepEqual(values(seen.rawHeaders, name), [value], `${name} kept`);
  }
  for (const spell of SPELLINGS.slice(1)) {
    const { seen: folded } = await gw.send('GET /open/x HTTP/1.1', [
      'Host: gw.test',
      ...CLAIMS.map(([name, value]) => `${spell(name)}: ${value}`),
    ]);
    assert.ok(folded);
    const leaked = names(folded.rawHeaders).filter((n) => /[_.]/.test(n));
    assert.deepEqual(leaked, [], 'a trusted proxy writes the canonical spelling; any other is dropped');
  }
});

test('every entry of proxy-claim-headers.ts is canonical, unique and names where it is honoured', () => {
  const seen = new Set<string>();
  for (const entry of PROXY_CLAIM_HEADERS) {
    assert.match(entry.name, /^[a-z0-9]+(?:-[a-z0-9]+)*$/, entry.name);
    assert.ok(!seen.has(entry.name), `${entry.name} listed once`);
    seen.add(entry.name);
    assert.ok(entry.sources.length > 0 && entry.sources.every((source) => source.length > 5), `${entry.name} has a source`);
  }
  for (const required of [
    'client-ip',
    'x-cluster-client-ip',
    'cf-connecting-ip',
    'true-client-ip',
    'fastly-client-ip',
    'x-forwarded',
    'x-forwarded-uri',
    'x-forwarded-path',
    'x-forwarded-prefix',
    'x-original-uri',
    // Added by the second review (docs/decisions/0012-request-path-hardening.md).
    'remote-email',
    'remote-groups',
    'remote-name',
    'cf-access-authenticated-user-email',
    'cf-access-jwt-assertion',
    'x-pomerium-jwt-assertion',
    'x-ms-token-aad-id-token',
    'cloudfront-viewer-address',
    'fly-client-ip',
    'x-vercel-forwarded-for',
    'x-nf-client-connection-ip',
    'forwarded-for',
    'x-original-remote-addr',
    'x-real-client-ip',
    'akamai-client-ip',
    'x-vouch-user',
    'x-auth-user',
  ]) {
    assert.ok(seen.has(required), required);
  }
  const prefixes = PROXY_CLAIM_PREFIXES.map((p) => p.prefix);
  for (const prefix of [
    'x-forwarded-',
    'x-envoy-',
    'x-remote-extra-',
    'x-pomerium-',
    'x-authentik-',
    'cf-access-',
    'x-ms-token-',
    'x-ms-client-principal',
  ]) {
    assert.ok(prefixes.includes(prefix), prefix);
  }
});

test('trusted proxy: client X-Portcullis-* are still dropped (no peer may assert an identity)', async (t) => {
  const gw = await setup(t, { trusted: true });
  const { seen } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', 'X-Portcullis-Subject: admin', 'X-Portcullis-Scope: admin']);
  assert.ok(seen);
  assert.deepEqual(
    names(seen.rawHeaders).filter((n) => n.startsWith('x-portcullis-')),
    [],
  );
});

test("the Host sent upstream is the upstream's, whatever the client sent", async (t) => {
  const gw = await setup(t);
  for (const host of ['gw.test', 'API.Example.COM.:443', '[::1]:8443', '127.0.0.1']) {
    const { seen } = await gw.send('GET /open/x HTTP/1.1', [`Host: ${host}`]);
    assert.ok(seen, host);
    assert.deepEqual(values(seen.rawHeaders, 'host'), [`127.0.0.1:${gw.upstream.port}`], host);
  }
});

test('a sane client X-Request-Id is kept upstream and echoed in problem bodies', async (t) => {
  const gw = await setup(t);
  const id = 'trace-0af7651916cd43dd8448eb211c80319c:span/1+2=3@x';
  const pass = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', `X-Request-Id: ${id}`]);
  assert.ok(pass.seen);
  assert.deepEqual(values(pass.seen.rawHeaders, 'x-request-id'), [id]);
  const refused = await gw.send('GET /private/x HTTP/1.1', ['Host: gw.test', `X-Request-Id: ${id}`]);
  const body = assertProblem(fromRaw(refused.response), 'auth.missing_credentials');
  assert.equal(body.requestId, id);
  assert.equal(refused.seen, undefined);
});

test('an insane client X-Request-Id (spaces, too long, duplicated, empty) is replaced', async (t) => {
  const gw = await setup(t);
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const cases: readonly (readonly string[])[] = [
    ['X-Request-Id: has spaces in it'],
    [`X-Request-Id: ${'a'.repeat(129)}`],
    ['X-Request-Id: one', 'X-Request-Id: two'],
    ['X-Request-Id: <script>'],
    ['X-Request-Id:'],
  ];
  for (const lines of cases) {
    const pass = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test', ...lines]);
    assert.ok(pass.seen);
    const sent = values(pass.seen.rawHeaders, 'x-request-id');
    assert.equal(sent.length, 1, lines.join());
    assert.match(sent[0] ?? '', uuid, lines.join());
    const refused = await gw.send('GET /private/x HTTP/1.1', ['Host: gw.test', ...lines]);
    const body = assertProblem(fromRaw(refused.response), 'auth.missing_credentials');
    assert.match(body.requestId, uuid, lines.join());
  }
});

test('upstream response: hop-by-hop headers are stripped; status text, duplicate Set-Cookie and custom headers pass back', async (t) => {
  const gw = await setup(t);
  gw.upstream.handle((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(203, 'Custom Reason', [
        'Set-Cookie',
        'a=1; Path=/; HttpOnly',
        'Set-Cookie',
        'b=2; Path=/',
        'X-Custom',
        'kept',
        'X-Dup',
        'one',
        'X-Dup',
        'two',
        'Keep-Alive',
        'timeout=99',
        'Connection',
        'X-Upstream-Hop',
        'X-Upstream-Hop',
        'secret',
        'Proxy-Authenticate',
        'Basic realm="upstream"',
        'Trailer',
        'X-Checksum',
        'Upgrade',
        'h2c',
        'Content-Type',
        'text/plain',
      ]);
      res.end('body');
    });
  });
  const { response } = await gw.send('GET /open/x HTTP/1.1', ['Host: gw.test']);
  assert.equal(response.statusLine, 'HTTP/1.1 203 Custom Reason');
  assert.deepEqual(response.all('set-cookie'), ['a=1; Path=/; HttpOnly', 'b=2; Path=/']);
  assert.deepEqual(response.all('x-custom'), ['kept']);
  assert.deepEqual(response.all('x-dup'), ['one', 'two']);
  assert.equal(response.headers['content-type'], 'text/plain');
  for (const dropped of ['keep-alive', 'x-upstream-hop', 'proxy-authenticate', 'trailer', 'upgrade']) {
    assert.deepEqual(response.all(dropped), [], `${dropped} stripped`);
  }
  assert.equal(response.text(), 'body');
  assert.deepEqual(response.all('x-request-id').length, 1, "the gateway's request id, once");
});

test('upstream response header values pass back byte for byte: UTF-8 and other non-ASCII bytes unchanged', async (t) => {
  const gw = await setup(t);
  gw.upstream.handle((req, res) => {
    req.resume();
    // Node writes header strings as latin1: one char per byte on the wire.
    res.writeHead(200, ['X-Utf8', 'caf\u00c3\u00a9 \u00e2\u0082\u00ac', 'X-Latin1', 'caf\u00e9', 'Content-Type', 'text/plain']);
    res.end('ok');
  });
  const connection = await exchange(gw.port, rawBytes('GET /open/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
  // `raw` is everything received, one char per byte.
  assert.ok(connection.raw.includes('X-Utf8: caf\u00c3\u00a9 \u00e2\u0082\u00ac\r\n'), 'the UTF-8 bytes of "café €" unchanged');
  assert.ok(connection.raw.includes('X-Latin1: caf\u00e9\r\n'), 'a lone 0xE9 byte unchanged');
});

test('the upstream reason phrase passes back byte for byte, UTF-8 included (never a 502)', async (t) => {
  const gw = await setup(t);
  gw.upstream.handle((req, res) => {
    req.resume();
    // Node writes the reason phrase as latin1: these chars are the UTF-8 bytes of "Très bien €".
    res.writeHead(200, 'Tr\u00c3\u00a8s bien \u00e2\u0082\u00ac', { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  const connection = await exchange(gw.port, rawBytes('GET /open/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n'));
  assert.ok(connection.raw.startsWith('HTTP/1.1 200 Tr\u00c3\u00a8s bien \u00e2\u0082\u00ac\r\n'), connection.raw.slice(0, 40));
  assert.equal(connection.responses[0]?.text(), 'ok');
});

test('an identity that cannot be a header value (CR/LF from a token claim) is refused, never sent upstream', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES),
    { UPSTREAM: upstream.origin },
    {
      authenticate: createStubAuthenticator({
        'crlf-token': {
          kind: 'external_jwt',
          scheme: 'bearer',
          subject: 'eve\r\nX-Portcullis-Scope: admin',
          scope: 'read-only',
          credentialId: 'jti-1',
        },
        'nul-token': { kind: 'external_jwt', scheme: 'bearer', subject: 'eve\u0000', scope: 'read-only', credentialId: 'jti-2' },
      }),
    },
  );
  for (const token of ['crlf-token', 'nul-token']) {
    const result = await exchange(
      gw.port,
      rawBytes(`GET /private/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`),
    );
    const response = result.responses[0];
    assert.ok(response);
    assertProblem(fromRaw(response), 'internal.error', token);
  }
  assert.equal(upstream.arrived.length, 0);
});
