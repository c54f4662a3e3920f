/**
 * WebSocket upgrades (docs/request-path.md): proxied to a wss upstream after the same checks as plain
 * requests, with the same header rules. A real client (`ws`) on one side, a real server (`ws` on
 * HTTPS) on the other; refusals and the upstream's record checked on both.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { assertProblem, fromRaw } from '../support/problem.js';
import { exchange } from '../support/raw-http.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { createStubAuthenticator } from '../support/stub-auth.js';
import { rawBytes } from '../support/vectors.js';
import { startRecordingUpstream } from '../support/upstream.js';
import { startWsUpstream, type WsUpstream } from '../support/ws-upstream.js';
import { sharedCerts } from '../support/certs.js';

const ROUTES = `
  - name: chat
    match: { path: /chat }
    upstream: "\${WSS}/base"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
  - name: private-chat
    match: { path: /private-chat }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    access: read-write
  - name: short-timeout-chat
    match: { path: /short-chat }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
    timeout: 1s
  - name: untrusted-chat
    match: { path: /untrusted-chat }
    upstream: "\${WSS}"
    auth: "off"
    access: read-write
  - name: read-only-chat
    match: { path: /ro-chat }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
  - name: feed
    match: { path: /feed }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    websocket: read-only
  - name: open-read-only-chat
    match: { path: /open-ro-chat }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    auth: "off"
`;

async function setup(t: TestContext): Promise<{ upstream: WsUpstream; port: number; metricsUrl: string }> {
  const upstream = await startWsUpstream();
  t.after(() => upstream.close());
  const wss = upstream.origin.replace('https://', 'wss://');
  const gw = await startTestGateway(t, gatewayYaml(ROUTES), { WSS: wss }, { authenticate: createStubAuthenticator() });
  return { upstream, port: gw.port, metricsUrl: `http://127.0.0.1:${gw.gateway.metricsAddress.port}` };
}

/** Opens a client socket through the gateway and sends one message; resolves with the echo. */
function roundTrip(url: string, headers: Record<string, string>, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => socket.send(message));
    socket.on('message', (data) => {
      resolve((data as Buffer).toString('utf8'));
      socket.close();
    });
    socket.on('unexpected-response', (_req, res) => reject(new Error(`unexpected ${res.statusCode}`)));
    socket.on('error', reject);
  });
}

/** Attempts an upgrade that must be refused; resolves with the status, headers and body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bodyText: string }>((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => reject(new Error('the upgrade was accepted')));
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bodyText: Buffer.concat(chunks).toString('utf8') }));
    });
    socket.on('error', () => {});
  });
}

function values(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === name) out.push(rawHeaders[i + 1] ?? '');
  return out;
}

test('a message round-trips through the gateway to a wss upstream, under its base path', async (t) => {
  const { upstream, port } = await setup(t);
  const echo = await roundTrip(`ws://127.0.0.1:${port}/chat/room-1?since=42`, {}, 'hello through portcullis');
  assert.equal(echo, 'hello through portcullis');
  assert.equal(upstream.upgrades.length, 1);
  const seen = upstream.upgrades[0];
  assert.ok(seen);
  assert.equal(seen.url, '/base/chat/room-1?since=42');
  assert.deepEqual(values(seen.rawHeaders, 'host'), [`127.0.0.1:${upstream.port}`]);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-proto'), ['http']);
  assert.equal(values(seen.rawHeaders, 'sec-websocket-key').length, 1);
  assert.equal(values(seen.rawHeaders, 'upgrade')[0]?.toLowerCase(), 'websocket');
});

test('binary frames and many messages keep their order and bytes', async (t) => {
  const { port } = await setup(t);
  const received = await new Promise<Buffer[]>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/chat/bin`);
    const got: Buffer[] = [];
    socket.on('open', () => {
      for (let i = 0; i < 50; i++) socket.send(Buffer.from([i, 0, 255, i]));
    });
    socket.on('message', (data: Buffer) => {
      got.push(data);
      if (got.length === 50) {
        socket.close();
        resolve(got);
      }
    });
    socket.on('error', reject);
  });
  received.forEach((b, i) => assert.deepEqual([...b], [i, 0, 255, i]));
});

test('upgrades to an upstream with its own CA reuse one trust store: none is built per upgrade', async (t) => {
  const { upstream, port } = await setup(t);
  // _tls_wrap calls tls.createSecureContext through the module object for every connection
  // given `ca` and no `secureContext`: each such call parses all the public roots (20–30 ms).
  const original = tls.createSecureContext;
  let builtWithCa = 0;
  tls.createSecureContext = (options) => {
    if (options?.ca !== undefined) builtWithCa++;
    return original(options);
  };
  t.after(() => {
    tls.createSecureContext = original;
  });
  for (let i = 0; i < 5; i++) assert.equal(await roundTrip(`ws://127.0.0.1:${port}/chat/r${i}`, {}, `m${i}`), `m${i}`);
  assert.equal(upstream.upgrades.length, 5);
  // The gateway's start built the CA's trust store already (the HTTP pool shares it).
  assert.equal(builtWithCa, 0);
  // Control: a connection given `ca` is counted, so the zero above measured something.
  tls
    .connect({ host: '127.0.0.1', port: upstream.port, ca: sharedCerts().ca.caCert })
    .on('error', () => {})
    .destroy();
  assert.equal(builtWithCa, 1);
});

test('through the shared trust store, an upgrade to a named upstream still checks the certificate against its name', async (t) => {
  const wrongName = await startWsUpstream(sharedCerts().ca.issue('ws-other', ['other.test']));
  t.after(() => wrongName.close());
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES),
    { WSS: `wss://localhost:${wrongName.port}` },
    { authenticate: createStubAuthenticator() },
  );
  // Signed by the route's CA, but for other.test: refused, and the upgrade never forwarded.
  assertProblem(await refusedUpgrade(`ws://127.0.0.1:${gw.port}/chat/x`), 'upstream.tls_error');
  assert.equal(wrongName.upgrades.length, 0);
});

test('an upgrade on an auth: required route without credentials gets 401 problem+json; the upstream never sees it', async (t) => {
  const { upstream, port } = await setup(t);
  const answer = await refusedUpgrade(`ws://127.0.0.1:${port}/private-chat/x`);
  assertProblem(answer, 'auth.missing_credentials');
  assert.equal(answer.headers['www-authenticate'], 'Bearer realm="portcullis", Basic realm="portcullis", charset="UTF-8"');
  const invalid = await refusedUpgrade(`ws://127.0.0.1:${port}/private-chat/x`, { authorization: 'Bearer not-a-token' });
  assertProblem(invalid, 'auth.invalid_token');
  assert.equal(upstream.upgrades.length, 0);
  assert.equal(upstream.requests, 0);
});

test('on the upgrade too, client identity and forwarding headers are replaced and the credential is not forwarded', async (t) => {
  const { upstream, port } = await setup(t);
  const echo = await roundTrip(
    `ws://127.0.0.1:${port}/private-chat/x`,
    {
      authorization: 'Bearer rw-token',
      'x-portcullis-subject': 'admin',
      'X-Portcullis-Scope': 'admin',
      'x-forwarded-for': '203.0.113.7',
      'x-real-ip': '203.0.113.7',
      'proxy-authorization': 'Basic eDp5',
    },
    'ping',
  );
  assert.equal(echo, 'ping');
  const seen = upstream.upgrades[0];
  assert.ok(seen);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-subject'), ['alice']);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-scope'), ['read-write']);
  assert.deepEqual(values(seen.rawHeaders, 'x-portcullis-credential'), ['tok_rw']);
  assert.deepEqual(values(seen.rawHeaders, 'x-forwarded-for'), ['127.0.0.1']);
  assert.deepEqual(values(seen.rawHeaders, 'x-real-ip'), []);
  assert.deepEqual(values(seen.rawHeaders, 'authorization'), []);
  assert.deepEqual(values(seen.rawHeaders, 'proxy-authorization'), []);
});

const UPGRADE_HEADERS =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

test('a path-unsafe upgrade gets 400 request.invalid_path and reaches nothing', async (t) => {
  const { upstream, port } = await setup(t);
  for (const path of ['/chat/../private-chat/x', '/chat/%2e%2e/private-chat', '//private-chat/x', '/chat%2fx', '/chat;x']) {
    const result = await exchange(port, rawBytes(`GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${UPGRADE_HEADERS}\r\n`));
    const response = result.responses[0];
    assert.ok(response, path);
    assertProblem(fromRaw(response), 'request.invalid_path', path);
    assert.ok(result.closed, `${path}: the connection is closed`);
  }
  assert.equal(upstream.upgrades.length, 0);
});

test('upgrades go through the smuggling guard and the policy stages like any request', async (t) => {
  const { upstream, port } = await setup(t);
  const cases = [
    { head: `GET /chat/x HTTP/1.1\r\nHost: gw.test\r\nHost: other.test\r\n${UPGRADE_HEADERS}\r\n`, code: 'request.malformed' },
    {
      head: `GET /chat/x HTTP/1.1\r\nHost: gw.test\r\nX-HTTP-Method-Override: DELETE\r\n${UPGRADE_HEADERS}\r\n`,
      code: 'request.malformed',
    },
    { head: `GET /nowhere HTTP/1.1\r\nHost: gw.test\r\n${UPGRADE_HEADERS}\r\n`, code: 'route.not_found' },
    {
      head: `GET /private-chat/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ro-token\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
      code: 'request.malformed',
    },
    { head: `POST /chat/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 0\r\n${UPGRADE_HEADERS}\r\n`, code: 'request.malformed' },
  ] as const;
  for (const { head, code } of cases) {
    const result = await exchange(port, rawBytes(head));
    const response = result.responses[0];
    assert.ok(response, head);
    assertProblem(fromRaw(response), code, head.split('\r\n')[0]);
  }
  assert.equal(upstream.upgrades.length, 0);
  assert.equal(upstream.requests, 0);
});

test('an upgrade to a wss upstream whose certificate is not trusted: 502 upstream.tls_error, counted as a 502', async (t) => {
  const { upstream, port, metricsUrl } = await setup(t);
  const answer = await refusedUpgrade(`ws://127.0.0.1:${port}/untrusted-chat/x`);
  assertProblem(answer, 'upstream.tls_error');
  assert.equal(upstream.upgrades.length, 0);
  // Counted when the connection closes, with the status the client got (not 101).
  await eventually(
    async () =>
      (await send(metricsUrl, { path: '/metrics' })).body.includes(
        'portcullis_requests_total{route="untrusted-chat",method="GET",status="502"} 1\n',
      ),
    5_000,
    'the refused upgrade to be counted as a 502',
  );
});

test('an upstream that never answers the upgrade, with timeout: 500ms: 504 upstream.timeout', async (t) => {
  const silent = await startRecordingUpstream();
  t.after(() => silent.close());
  silent.handleUpgrade(() => {});
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: silent
    match: { path: /silent }
    upstream: "\${SILENT}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
    timeout: 500ms
`),
    { SILENT: silent.origin.replace('https://', 'wss://') },
  );
  const started = Date.now();
  const answer = await refusedUpgrade(`ws://127.0.0.1:${gw.port}/silent/x`);
  assertProblem(answer, 'upstream.timeout');
  assert.ok(Date.now() - started >= 450);
  assert.equal(silent.upgrades.length, 1);
});

test('the route timeout bounds the wait for the 101, not an open tunnel that idles', async (t) => {
  const { port } = await setup(t);
  const echo = await new Promise<string>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/short-chat/x`);
    socket.on('open', () => setTimeout(() => socket.send('after idling'), 2_500));
    socket.on('message', (data) => {
      resolve((data as Buffer).toString('utf8'));
      socket.close();
    });
    socket.on('close', () => reject(new Error('closed before the echo')));
    socket.on('error', reject);
  });
  assert.equal(echo, 'after idling');
});

test('an upgrade is a write: a read-only route gets 405 route.read_only, a read-only credential 403 auth.insufficient_scope; the upstream sees nothing', async (t) => {
  const { upstream, port } = await setup(t);
  for (const [path, token, code] of [
    ['/ro-chat/x', 'rw-token', 'route.read_only'],
    ['/ro-chat/x', 'ro-token', 'route.read_only'],
    ['/open-ro-chat/x', undefined, 'route.read_only'],
    ['/private-chat/x', 'ro-token', 'auth.insufficient_scope'],
  ] as const) {
    const answer = await refusedUpgrade(`ws://127.0.0.1:${port}${path}`, token === undefined ? {} : { authorization: `Bearer ${token}` });
    assertProblem(answer, code, `${path} ${token}`);
    if (code === 'route.read_only') assert.equal(answer.headers.allow, 'GET, HEAD, OPTIONS');
    else assert.match(String(answer.headers['www-authenticate']), /insufficient_scope/);
  }
  // Raw bytes: the same GET without the upgrade is a read and goes through; with it, refused.
  const plain = await exchange(
    port,
    rawBytes('GET /ro-chat/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ro-token\r\nConnection: close\r\n\r\n'),
  );
  assert.notEqual(plain.responses[0]?.status, 405, 'a plain GET is a read');
  const raw = await exchange(
    port,
    rawBytes(`GET /ro-chat/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ro-token\r\n${UPGRADE_HEADERS}\r\n`),
  );
  const refused = raw.responses[0];
  assert.ok(refused);
  assertProblem(fromRaw(refused), 'route.read_only');
  assert.equal(upstream.upgrades.length, 0);
});

test('websocket: read-only admits a read-only credential (the backend keeps the socket read-only); read-write ones too', async (t) => {
  const { upstream, port } = await setup(t);
  assert.equal(await roundTrip(`ws://127.0.0.1:${port}/feed/x`, { authorization: 'Bearer ro-token' }, 'ro'), 'ro');
  assert.equal(await roundTrip(`ws://127.0.0.1:${port}/feed/x`, { authorization: 'Bearer rw-token' }, 'rw'), 'rw');
  assert.equal(upstream.upgrades.length, 2);
  assert.deepEqual(values(upstream.upgrades[0]?.rawHeaders ?? [], 'x-portcullis-scope'), ['read-only']);
  // Still authenticated: no credential, no socket.
  assertProblem(await refusedUpgrade(`ws://127.0.0.1:${port}/feed/x`), 'auth.missing_credentials');
  assert.equal(upstream.upgrades.length, 2);
});

test('an admin credential is refused on a WebSocket upgrade too (401 auth.admin_credential); nothing reaches the upstream', async (t) => {
  const upstream = await startWsUpstream();
  t.after(() => upstream.close());
  const wss = upstream.origin.replace('https://', 'wss://');
  const admin = { kind: 'api_token', scheme: 'bearer', subject: 'ops', scope: 'admin', credentialId: 'tok_admin' } as const;
  const gw = await startTestGateway(
    t,
    gatewayYaml(ROUTES),
    { WSS: wss },
    { authenticate: createStubAuthenticator({ 'admin-token': admin }) },
  );
  const refused = await refusedUpgrade(`ws://127.0.0.1:${gw.port}/private-chat/room`, { authorization: 'Bearer admin-token' });
  assert.equal(refused.status, 401);
  assert.equal((JSON.parse(refused.bodyText) as { code: string }).code, 'auth.admin_credential');
  assert.equal(upstream.upgrades.length, 0);
  assert.equal(await roundTrip(`ws://127.0.0.1:${gw.port}/private-chat/room`, { authorization: 'Bearer rw-token' }, 'ok'), 'ok');
});

/** Sends a raw upgrade request and returns the response head as bytes (latin1), then closes. */
function rawUpgradeHead(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(text.slice(0, end + 2));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a whole head: ${JSON.stringify(text)}`)));
  });
}

function headLines(head: string): string[] {
  return head
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => line.toLowerCase());
}

async function upgradeGateway(t: TestContext, answer: string) {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  upstream.handleUpgrade((_req, socket) => {
    socket.write(answer);
    setTimeout(() => socket.end(), 200);
  });
  const gw = await startTestGateway(
    t,
    gatewayYaml(`
  - name: ws
    match: { path: /ws }
    upstream: "\${WSS}"
    upstreamCa: "\${CA}"
    auth: "off"
    access: read-write
`),
    { WSS: upstream.origin.replace('https://', 'wss://') },
  );
  return { upstream, gw };
}

test("a 101 carries the gateway's X-Request-Id and the response header rules of plain forwarding (raw bytes)", async (t) => {
  const { upstream, gw } = await upgradeGateway(
    t,
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade, X-Hidden\r\nX-Hidden: secret\r\nKeep-Alive: timeout=5\r\n' +
      'X-Request-Id: upstream-chosen\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-App: kept\r\n\r\n',
  );
  const head = await rawUpgradeHead(gw.port, '/ws/x');
  const lines = headLines(head);
  assert.equal(lines[0], 'http/1.1 101 switching protocols');
  assert.equal(lines.filter((l) => l.startsWith('x-request-id:')).length, 1, head);
  assert.match(head, /\r\nx-request-id: [0-9a-zA-Z-_]+\r\n/i);
  assert.ok(!head.includes('upstream-chosen'), head);
  assert.ok(!lines.some((l) => l.startsWith('x-hidden:') || l.startsWith('keep-alive:')), head);
  assert.ok(lines.includes('connection: upgrade'), head);
  assert.ok(lines.includes('upgrade: websocket'), head);
  assert.ok(lines.includes('sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo='), head);
  assert.ok(lines.includes('x-app: kept'), head);
  assert.equal(upstream.upgrades.length, 1);
});

test("an upgrade the upstream answers without switching (200): the gateway's X-Request-Id, no Connection: Upgrade relayed, hop-by-hop dropped (raw bytes)", async (t) => {
  const { upstream, gw } = await upgradeGateway(
    t,
    'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive, X-Hidden\r\nX-Hidden: secret\r\nX-Request-Id: upstream-chosen\r\nX-App: kept\r\n\r\nno',
  );
  const head = await rawUpgradeHead(gw.port, '/ws/x');
  const lines = headLines(head);
  assert.equal(lines[0], 'http/1.1 200 ok');
  assert.equal(lines.filter((l) => l.startsWith('x-request-id:')).length, 1, head);
  assert.ok(!head.includes('upstream-chosen'), head);
  assert.ok(!lines.some((l) => l.startsWith('x-hidden:') || l.startsWith('upgrade:')), head);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('connection:')),
    ['connection: close'],
    head,
  );
  assert.ok(lines.includes('content-length: 2'), head);
  assert.ok(lines.includes('x-app: kept'), head);
  assert.equal(upstream.upgrades.length, 1);
});
