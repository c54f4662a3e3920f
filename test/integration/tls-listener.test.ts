/**
 * The TLS listener (`tls` in docs/configuration.md): with a certificate configured the proxy serves
 * HTTPS, tells the upstream so in X-Forwarded-Proto, and answers refusals the same way as in plain
 * HTTP.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { assertProblem } from '../support/problem.js';
import { gatewayYaml, startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type ReceivedRequest } from '../support/upstream.js';

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
`;

async function setup(t: TestContext) {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const { leaf } = sharedCerts();
  const gw = await startTestGateway(t, gatewayYaml(ROUTES, 'tls: { cert: "${CERT}", key: "${KEY}" }'), {
    UPSTREAM: upstream.origin,
    CERT: leaf.certPath,
    KEY: leaf.keyPath,
  });
  return { upstream, gw };
}

function httpsRequest(port: number, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; protocol: string | null }>(
    (resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: sharedCerts().ca.caCert,
          method: options.method ?? 'GET',
          path: options.path,
          headers: options.headers ?? {},
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              protocol: (res.socket as import('node:tls').TLSSocket).getProtocol?.() ?? null,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(options.body);
    },
  );
}

test('with tls: {cert, key} the proxy serves HTTPS and X-Forwarded-Proto is https', async (t) => {
  const { upstream, gw } = await setup(t);
  assert.ok(gw.url.startsWith('https://'));
  const answer = await httpsRequest(gw.port, {
    method: 'POST',
    path: '/open/x?y=1',
    body: 'over tls',
    headers: { 'x-forwarded-proto': 'http' },
  });
  assert.equal(answer.status, 200);
  assert.match(answer.protocol ?? '', /^TLSv1\.[23]$/);
  const seen = JSON.parse(answer.body) as ReceivedRequest;
  assert.equal(seen.url, '/open/x?y=1');
  assert.equal(upstream.received.at(-1)?.headers['x-forwarded-proto'], 'https');
  assert.equal(upstream.received.at(-1)?.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(upstream.received.at(-1)?.body, 'over tls');
});

test('refusals over the TLS listener are problem+json, and nothing reaches the upstream', async (t) => {
  const { upstream, gw } = await setup(t);
  const missing = await httpsRequest(gw.port, { path: '/private/x' });
  assertProblem({ status: missing.status, headers: missing.headers, bodyText: missing.body }, 'auth.missing_credentials');
  const noRoute = await httpsRequest(gw.port, { path: '/nowhere' });
  assertProblem({ status: noRoute.status, headers: noRoute.headers, bodyText: noRoute.body }, 'route.not_found');
  assert.equal(upstream.arrived.length, 0);
});

test('plain HTTP sent to the TLS listener gets no HTTP answer and reaches nothing', async (t) => {
  const { upstream, gw } = await setup(t);
  const reply = await new Promise<string>((resolve) => {
    const socket = net.connect(gw.port, '127.0.0.1', () => socket.write('GET /open/x HTTP/1.1\r\nHost: gw.test\r\n\r\n'));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => socket.destroy(), 3_000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    socket.on('error', () => {});
  });
  assert.doesNotMatch(reply, /HTTP\/1\.1 200/);
  assert.equal(upstream.arrived.length, 0);
});
