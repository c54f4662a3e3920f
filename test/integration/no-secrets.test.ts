/**
 * No secret ever reaches a log, a metric or an error body (docs/logging.md), on the real stack: real
 * tokens and client secrets from the store, the real verifier, the real access log and metrics.
 * Every log line, every metric line and every response body is searched for every secret.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { send } from '../support/client.js';
import { startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

test('no token, client secret or Basic password appears in a log line, a metric or an error body', async (t) => {
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const yaml = `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./pcl.db" }
log: { level: debug }
routes:
  - name: api
    match: { path: /api }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-write
`;
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const { url, metricsUrl, services, logger } = await startTestGateway(
    t,
    yaml,
    {},
    { logDestination: destination, dirPrefix: 'pcl-secrets-' },
  );

  const reader = await services.store.tokens.create({ label: 'reader', scope: 'read-only' });
  const writer = await services.store.tokens.create({ label: 'writer', scope: 'read-write' });
  const revoked = await services.store.tokens.create({ label: 'revoked', scope: 'read-write' });
  await services.store.tokens.revoke(revoked.record.id);
  const client = await services.store.clients.create({ name: 'partner', scope: 'read-write' });
  const basicPassword = 'hunter2-Basic-Password';
  const wrongClientSecret = `${client.clientSecret.slice(0, -3)}${client.clientSecret.endsWith('xyz') ? 'zyx' : 'xyz'}`;
  const secrets = [reader.token, writer.token, revoked.token, client.clientSecret, basicPassword, wrongClientSecret, 'query-secret-value'];
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  const bodies: string[] = [];
  const requests: { method?: string; path: string; headers: Record<string, string> }[] = [
    { path: '/api/a?access_token=query-secret-value', headers: { authorization: `Bearer ${reader.token}` } },
    { method: 'POST', path: '/api/a', headers: { authorization: `Bearer ${reader.token}` } },
    { method: 'POST', path: '/api/a', headers: { authorization: `Bearer ${writer.token}` } },
    { path: '/api/a', headers: { authorization: `Bearer ${revoked.token}` } },
    { path: '/api/a', headers: { authorization: basic('anyone', writer.token) } },
    { path: '/api/a', headers: { authorization: basic(client.record.clientId, client.clientSecret) } },
    { path: '/api/a', headers: { authorization: basic(client.record.clientId, wrongClientSecret) } },
    { path: '/api/a', headers: { authorization: basic('someone', basicPassword) } },
    { path: '/nowhere', headers: { authorization: `Bearer ${writer.token}`, cookie: `session=${basicPassword}` } },
    { path: '/api/%2e%2e/x', headers: { authorization: `Bearer ${writer.token}` } },
  ];
  for (const request of requests) {
    const answer = await send(url, { method: request.method ?? 'GET', path: request.path, headers: request.headers });
    // Answers from the upstream are the backend's business; Portcullis' own answers are checked.
    const own = answer.headers['content-type'] === 'application/problem+json';
    bodies.push(JSON.stringify(answer.headers), own ? answer.body : '');
  }
  const statuses = bodies.length;
  assert.equal(statuses, requests.length * 2);
  const metrics = await send(metricsUrl, { path: '/metrics' });
  await new Promise((r) => setTimeout(r, 100));
  logger.flush();

  assert.ok(lines.length >= requests.length, 'one access-log line per request at least');
  const haystacks = { logs: lines.join('\n'), metrics: metrics.body, 'error bodies': bodies.join('\n') };
  for (const [where, text] of Object.entries(haystacks)) {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), `a secret appears in ${where}`);
      assert.ok(!text.includes(secret.slice(4, 24)), `part of a secret appears in ${where}`);
    }
  }
  assert.ok(haystacks.logs.includes(writer.record.id), 'the credential id (not the secret) is logged');
});
