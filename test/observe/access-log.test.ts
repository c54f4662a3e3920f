import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { compileTrustedProxies } from '../../src/config/trusted-proxies.js';
import { loggedQuery, MASK } from '../../src/observe/access-log.js';
import { send, sendRaw } from '../support/client.js';
import { abortOnSlowRoute } from './traffic.js';
import { ACCESS_LINE_KEYS } from './fixtures.js';
import { basic, eventually, fakeApiToken, KNOWN, startStandard } from './harness.js';

test('one access-log line per request, at response close, with the documented fields and no query value', async (t) => {
  const setup = await startStandard(t, { queryValues: ['page'] });
  const id = (n: number): Record<string, string> => ({ 'x-request-id': `acc-${n}` });
  assert.equal((await send(setup.url, { path: '/public/items?page=2&access_token=QUERYSECRET&flag', headers: id(1) })).status, 200);
  assert.equal(
    (await send(setup.url, { path: '/private/x', headers: { ...id(2), authorization: `Bearer ${KNOWN.readToken}` } })).status,
    200,
  );
  assert.equal((await send(setup.url, { path: '/private/x', headers: id(3) })).status, 401);
  const body = Buffer.alloc(5_000, 'b');
  assert.equal((await send(setup.url, { method: 'POST', path: '/public/upload', body, headers: id(4) })).status, 200);
  assert.equal((await send(setup.url, { path: '/nowhere?token=UNLOGGED5', headers: id(5) })).status, 404);
  assert.equal((await send(setup.url, { path: '/broken/x', headers: id(6) })).status, 502);
  const invalid = await sendRaw(
    setup.port,
    'GET /public/%2e%2e/x?secret=VALUE1 HTTP/1.1\r\nHost: a\r\nX-Request-Id: acc-7\r\nConnection: close\r\n\r\n',
  );
  assert.equal(invalid.status, 400);
  await abortOnSlowRoute(setup);

  await eventually(() => setup.log.access().length === 8, 2_000, 'eight access lines');
  const lines = setup.log.access();
  for (const line of lines) {
    assert.deepEqual(Object.keys(line).sort(), ACCESS_LINE_KEYS, 'exactly the documented fields');
    assert.equal(line.level, 30, 'info');
    assert.ok(!Number.isNaN(Date.parse(String(line.time))), 'time is an ISO date');
    assert.equal(line.service, 'portcullis');
    assert.ok(typeof line.durationMs === 'number' && line.durationMs >= 0);
    assert.ok(typeof line.bytesIn === 'number' && line.bytesIn > 0);
    assert.ok(typeof line.bytesOut === 'number' && line.bytesOut >= 0);
  }
  const byId = (n: number): Record<string, unknown> => {
    const found = lines.filter((line) => line.requestId === `acc-${n}`);
    assert.equal(found.length, 1, `one line for acc-${n}`);
    return found[0] ?? {};
  };

  const forwarded = byId(1);
  assert.equal(forwarded.route, 'public');
  assert.equal(forwarded.method, 'GET');
  assert.equal(forwarded.path, '/public/items?page=2&access_token&flag', 'names only, except the allow-listed page');
  assert.equal(forwarded.status, 200);
  assert.equal(forwarded.decision, 'ok');
  assert.equal(forwarded.credentialId, null);
  assert.ok(typeof forwarded.upstreamMs === 'number' && forwarded.upstreamMs <= (forwarded.durationMs as number));
  assert.ok((forwarded.bytesOut as number) > 200, 'the reflected answer was written');
  for (const line of lines) assert.equal(line.clientAddress, '127.0.0.1', `client address of ${String(line.requestId)}`);

  const authenticated = byId(2);
  assert.equal(authenticated.credentialId, KNOWN.readId);
  assert.equal(authenticated.decision, 'ok');
  assert.equal(authenticated.route, 'private');

  const refused = byId(3);
  assert.equal(refused.status, 401);
  assert.equal(refused.decision, 'auth.missing_credentials');
  assert.equal(refused.upstreamMs, null);
  assert.equal(refused.credentialId, null);

  const upload = byId(4);
  assert.equal(upload.method, 'POST');
  assert.ok((upload.bytesIn as number) >= 5_000 && (upload.bytesIn as number) < 6_000, `bytesIn ${String(upload.bytesIn)}`);

  const unmatched = byId(5);
  assert.equal(unmatched.route, 'none');
  assert.equal(unmatched.path, '/nowhere?token');
  assert.equal(unmatched.decision, 'route.not_found');

  const failed = byId(6);
  assert.equal(failed.status, 502);
  assert.equal(failed.decision, 'upstream.unavailable');
  assert.equal(failed.route, 'broken');

  const invalidLine = byId(7);
  assert.equal(invalidLine.route, 'none');
  assert.equal(invalidLine.path, '/public/%2e%2e/x?secret', 'the raw path of a refused target, query names only');
  assert.equal(invalidLine.decision, 'request.invalid_path');

  const aborted = lines.find((line) => line.route === 'slow');
  assert.equal(aborted?.status, 499);

  const raw = setup.log.raw.join('');
  // Values distinctive enough not to occur by chance (a generated request id is hex).
  for (const value of ['QUERYSECRET', 'VALUE1', 'UNLOGGED5', KNOWN.readToken]) assert.ok(!raw.includes(value), `${value} is not logged`);

  // The upstream failure is also a structured warning.
  const warning = setup.log.lines().find((line) => line.event === 'upstream.error');
  assert.equal(warning?.level, 40);
  assert.equal(warning?.route, 'broken');
  assert.equal(warning?.kind, 'unavailable');
  assert.equal(warning?.requestId, 'acc-6');
});

test('bytes in and out are per request on a keep-alive connection', async (t) => {
  const setup = await startStandard(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const request = (method: string, path: string, body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: setup.port, method, path, agent, headers: { 'x-request-id': path.slice(1).replace(/\//g, '-') } },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await request('POST', '/public/big', Buffer.alloc(20_000, 'x'));
  await request('GET', '/public/small');
  await eventually(() => setup.log.access().length === 2);
  const [big, small] = setup.log.access();
  assert.ok((big?.bytesIn as number) > 20_000, `first ${String(big?.bytesIn)}`);
  assert.ok((small?.bytesIn as number) < 1_000, `second request counted alone: ${String(small?.bytesIn)}`);
  assert.ok((small?.bytesOut as number) > 0 && (small?.bytesOut as number) < (big?.bytesOut as number) + 20_000);
  assert.equal(setup.upstream.received.length, 2);
});

test('log.level above info silences the access log (and only it)', async (t) => {
  const setup = await startStandard(t, { level: 'warn' });
  assert.equal((await send(setup.url, { path: '/public/x' })).status, 200);
  assert.equal((await send(setup.url, { path: '/broken/x' })).status, 502);
  await eventually(() => setup.log.lines().some((line) => line.event === 'upstream.error'));
  assert.equal(setup.log.access().length, 0);
});

test('a reload applies a new log.queryValues allow-list', async (t) => {
  const setup = await startStandard(t, { queryValues: [] });
  await send(setup.url, { path: '/public/x?page=3&sort=name' });
  setup.obs.updateRoutes({ ...setup.config, log: { ...setup.config.log, queryValues: ['sort'] } });
  await send(setup.url, { path: '/public/x?page=3&sort=name' });
  await eventually(() => setup.log.access().length === 2);
  assert.deepEqual(
    setup.log.access().map((line) => line.path),
    ['/public/x?page&sort', '/public/x?page&sort=name'],
  );
});

test('clientAddress: the peer; behind a trusted proxy the address it forwarded for; a reload applies trustedProxies', async (t) => {
  const setup = await startStandard(t);
  const forwardedFor = { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' };
  await send(setup.url, { path: '/public/x', headers: { ...forwardedFor, 'x-request-id': 'peer-untrusted' } });
  setup.obs.updateRoutes({ ...setup.config, trustedProxies: compileTrustedProxies(['127.0.0.1', '203.0.113.0/24']) });
  await send(setup.url, { path: '/public/x', headers: { ...forwardedFor, 'x-request-id': 'behind-proxies' } });
  await send(setup.url, { path: '/private/x', headers: { 'x-forwarded-for': '2001:db8::5', 'x-request-id': 'refused-v6' } });
  await send(setup.url, { path: '/public/x', headers: { 'x-forwarded-for': 'not-an-address', 'x-request-id': 'garbage' } });
  await eventually(() => setup.log.access().length === 4);
  assert.deepEqual(
    setup.log.access().map((line) => [line.requestId, line.clientAddress]),
    [
      // From an untrusted peer the header is ignored, whatever it says.
      ['peer-untrusted', '127.0.0.1'],
      // Read right to left, trusted proxies skipped: what the nearest trusted proxy was sent by.
      ['behind-proxies', '198.51.100.7'],
      // Refusals are logged with it too: they are what an investigation looks for.
      ['refused-v6', '2001:db8::5'],
      // A trusted proxy that wrote garbage: the last hop known.
      ['garbage', '127.0.0.1'],
    ],
  );
});

test('loggedQuery keeps names, drops values, and masks what looks like a secret', () => {
  const none = new Set<string>();
  assert.equal(loggedQuery('', none), '');
  assert.equal(loggedQuery('?', none), '');
  assert.equal(loggedQuery('?a=1&b=2&c', none), '?a&b&c');
  assert.equal(loggedQuery('?a=1&&b=', none), '?a&b', 'empty parts are skipped');
  assert.equal(loggedQuery('?page=2&x=1', new Set(['page'])), '?page=2&x');
  assert.equal(
    loggedQuery('?service%50rovider=acme', new Set(['serviceProvider'])),
    '?service%50rovider=acme',
    'names compared after decoding',
  );
  assert.equal(loggedQuery('?a%ZZ=1', new Set(['a'])), '?a%ZZ', 'bad escapes compared raw');
  const token = fakeApiToken();
  assert.equal(loggedQuery(`?${token}&ok=1`, none), `?${MASK}&ok`, 'a token pasted as a name is masked');
  assert.equal(loggedQuery(`?${'n'.repeat(65)}=1`, none), `?${MASK}`, 'over-long names are masked');
  assert.equal(
    loggedQuery(`?page=${token}`, new Set(['page'])),
    `?page=${MASK}`,
    'even an allow-listed value is masked when it is a token',
  );
  assert.equal(loggedQuery(`?page=${'v'.repeat(300)}`, new Set(['page'])), `?page=${'v'.repeat(256)}…`);
  const many = `?${Array.from({ length: 100 }, (_, i) => `p${i}=1`).join('&')}`;
  const logged = loggedQuery(many, none);
  assert.equal(logged.split('&').length, 65, '64 names and an ellipsis');
  assert.ok(logged.endsWith('&…'));
});

test('the token endpoint and JWKS are logged with the same generated request id the client got', async (t) => {
  const setup = await startStandard(t);
  const refused = await send(setup.url, {
    method: 'POST',
    path: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(refused.status, 401);
  const jwks = await send(setup.url, { path: '/.well-known/jwks.json' });
  assert.equal(jwks.status, 200);
  await eventually(() => setup.log.access().length >= 2, 5_000, 'two access lines');
  const lines = setup.log.access();
  for (const [answer, path] of [
    [refused, '/oauth2/token'],
    [jwks, '/.well-known/jwks.json'],
  ] as const) {
    const id = answer.headers['x-request-id'];
    assert.ok(typeof id === 'string' && id.length > 0);
    const line = lines.find((l) => l.path === path);
    assert.equal(line?.requestId, id, `${path}: one request id for the client and the log`);
  }
});

test('the hand-built access line is the line pino writes for the same fields, whatever the path and credential id hold', async () => {
  const { createAccessLog } = await import('../../src/observe/access-log.js');
  const { createLogger } = await import('../../src/observe/logger.js');
  const ours: string[] = [];
  const pinos: string[] = [];
  const logger = createLogger('info', { destination: { write: (line: string) => ours.push(line) } });
  const reference = createLogger('info', { destination: { write: (line: string) => pinos.push(line) } }).child({ event: 'http.access' });
  const accessLog = createAccessLog(logger, []);
  const awkward = ['/plain', '/q"uote\\back', '/ctl\u0001\u001f\u007f', '/caf\u00e9/\u20ac/\ud83d\ude00', '/%E2%82%AC'];
  for (const [i, path] of awkward.entries()) {
    const ctx = {
      id: `id-${i}`,
      startedAt: 0n,
      req: { method: 'GET', url: path, socket: null },
      res: {},
      socket: null,
      path,
      search: '',
      route: { name: `r"${i}` },
      principal: { credentialId: `c\\"${i}\n`, subject: 's', scope: 'read-only', scheme: 'bearer' },
      decision: 'ok',
      upstreamStartedAt: 1_000n,
      upstreamHeadersAt: 2_501_000n,
      ...(i % 2 === 1 ? { shadow: `auth."${i}` } : {}),
    };
    accessLog.write(ctx as unknown as Parameters<typeof accessLog.write>[0], 200 + i, 12_345_678n);
    reference.info({
      requestId: `id-${i}`,
      route: `r"${i}`,
      method: 'GET',
      path,
      status: 200 + i,
      durationMs: 12.346,
      upstreamMs: 2.5,
      credentialId: `c\\"${i}\n`,
      decision: 'ok',
      shadow: i % 2 === 1 ? `auth."${i}` : null,
      bytesIn: 0,
      bytesOut: 0,
      clientAddress: null,
    });
  }
  assert.equal(ours.length, awkward.length);
  const withoutTime = (line: string): Record<string, unknown> => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    assert.ok(!Number.isNaN(Date.parse(String(parsed.time))));
    delete parsed.time;
    return parsed;
  };
  for (let i = 0; i < ours.length; i++) {
    assert.ok(ours[i]?.endsWith('}\n'), 'one line, newline-terminated');
    assert.deepEqual(withoutTime(ours[i] ?? ''), withoutTime(pinos[i] ?? ''));
    assert.deepEqual(
      Object.keys(JSON.parse(ours[i] ?? '{}') as object),
      Object.keys(JSON.parse(pinos[i] ?? '{}') as object),
      'same field order',
    );
  }
});

test('a refused credential that is known (revoked, account disabled, expired, revoked client) is logged with its id; an unknown one is not', async (t) => {
  const setup = await startStandard(t);
  const store = setup.services.store;
  const revoked = await store.tokens.create({ label: 'leaked', scope: 'read-only' });
  await store.tokens.revoke(revoked.record.id);
  await store.accounts.create('off', 'read-only');
  const ofDisabled = await store.tokens.create({ label: 'member', scope: 'read-only', account: 'off' });
  await store.accounts.disable('off');
  const expiring = await store.tokens.create({ label: 'short', scope: 'read-only', expiresAt: new Date(Date.now() + 1_500) });
  const client = await store.clients.create({ name: 'svc', scope: 'read-only' });
  await store.clients.revoke(client.record.clientId);
  const bearerOf = (token: string) => ({ authorization: `Bearer ${token}` });
  assert.equal((await send(setup.url, { path: '/private/x', headers: bearerOf(expiring.token) })).status, 200, 'cached as valid');
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiring.record.expiresAt ?? '') - Date.now()) + 50));

  const cases = [
    { n: 1, headers: bearerOf(revoked.token), id: revoked.record.id, decision: 'auth.token_revoked' },
    { n: 2, headers: bearerOf(revoked.token), id: revoked.record.id, decision: 'auth.token_revoked' }, // negative cache hit
    { n: 3, headers: { authorization: basic('x', ofDisabled.token) }, id: ofDisabled.record.id, decision: 'auth.token_revoked' },
    { n: 4, headers: bearerOf(expiring.token), id: expiring.record.id, decision: 'auth.token_expired' }, // expired on a positive hit
    { n: 5, headers: bearerOf(expiring.token), id: expiring.record.id, decision: 'auth.token_expired' },
    {
      n: 6,
      headers: { authorization: basic(client.record.clientId, client.clientSecret) },
      id: client.record.clientId,
      decision: 'auth.token_revoked',
    },
    { n: 7, headers: bearerOf(fakeApiToken()), id: null, decision: 'auth.invalid_token' },
    { n: 8, headers: { authorization: basic(client.record.clientId, 'pcs_wrong') }, id: null, decision: 'auth.invalid_credentials' },
  ];
  for (const c of cases) {
    const answer = await send(setup.url, { path: '/private/x', headers: { ...c.headers, 'x-request-id': `known-${c.n}` } });
    assert.equal(answer.status, 401, `case ${c.n}`);
    assert.equal(answer.json().code, c.decision, `case ${c.n}`);
    assert.ok(!answer.body.includes(c.id ?? 'tok_'), `case ${c.n}: the id is for the log, not the client`);
  }
  await eventually(
    () => setup.log.access().filter((l) => String(l.requestId).startsWith('known-')).length === cases.length,
    2_000,
    'the access lines',
  );
  for (const c of cases) {
    const line = setup.log.access().find((l) => l.requestId === `known-${c.n}`);
    assert.equal(line?.credentialId, c.id, `case ${c.n}: credentialId`);
    assert.equal(line?.decision, c.decision, `case ${c.n}: decision`);
  }
  const everything = setup.log.raw.join('');
  for (const secret of [revoked.token, ofDisabled.token, expiring.token, client.clientSecret])
    assert.ok(!everything.includes(secret), 'no secret in any log line');
});
