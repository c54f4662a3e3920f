/**
 * The console's sessions and pages over real HTTP (docs/console.md): the static page and its
 * headers, sign-in, the cookie, the CSRF and origin checks, sign-out, idle expiry, and that a
 * session ends with its credential. Each refusal also shows that nothing changed in the store.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sessionHeaders, signInByApi, startConsoleGateway } from '../support/console.js';

const tokenCount = async (c: Awaited<ReturnType<typeof startConsoleGateway>>): Promise<number> =>
  (await c.gw.services.store.tokens.list()).length;

test('the console page is served from the package with a strict CSP, no framing and no sniffing', async (t) => {
  const c = await startConsoleGateway(t);
  const page = await c.admin('/');
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /style-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  // No inline script or style: every script has a src, no style attribute or element.
  assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(page.body, /<style|style=/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'nothing loaded from elsewhere');
  for (const asset of ['/console/app.js', '/console/console.css', '/console/api.js']) {
    const answer = await c.admin(asset);
    assert.equal(answer.status, 200, asset);
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  }
  assert.match(String((await c.admin('/console/app.js')).headers['content-type']), /^text\/javascript/);
  // Paths outside the shipped files are not files: the API answers them.
  const traversal = await c.admin('/console/../package.json');
  assert.equal(traversal.status, 404);
  assert.equal(traversal.json().code, 'admin.not_found');
  // Refusals too, the console's policy unchanged (not replaced by the other listeners' narrower one).
  assert.equal(traversal.headers['x-frame-options'], 'DENY');
  assert.equal(traversal.headers['content-security-policy'], csp);
  const unauthenticated = await c.admin('/v1/tokens');
  assert.equal(unauthenticated.status, 401);
  assert.equal(unauthenticated.headers['x-frame-options'], 'DENY');
  assert.equal(unauthenticated.headers['referrer-policy'], 'no-referrer');
  // The JSON API carries the same headers.
  const api = await c.admin('/v1/tokens', { headers: { authorization: `Bearer ${c.adminToken}` } });
  assert.equal(api.headers['x-frame-options'], 'DENY');
});

test('admin.console: false serves only the JSON API', async (t) => {
  const c = await startConsoleGateway(t, ', console: false');
  assert.equal((await c.admin('/')).status, 404);
  const signIn = await signInByApi(c, c.adminToken);
  assert.equal(signIn.answer.status, 404);
});

test('sign-in trades the credential for an HttpOnly SameSite=Strict cookie; the store keeps only a hash', async (t) => {
  const c = await startConsoleGateway(t);
  const s = await signInByApi(c, c.adminToken);
  assert.equal(s.answer.status, 201);
  const setCookie = String(s.answer.headers['set-cookie']?.[0]);
  assert.match(setCookie, /^portcullis_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP listener: no Secure attribute (the browser would drop the cookie)');
  const body = s.answer.json();
  assert.equal(body.scope, 'admin');
  assert.equal(body.owner, false);
  assert.equal(typeof body.csrfToken, 'string');
  assert.doesNotMatch(s.answer.body, new RegExp(c.adminToken), 'the credential is never echoed');
  const sessionId = s.cookie.split('=')[1] ?? '';
  const db = readFileSync(join(c.gw.dir, 'portcullis.db'));
  assert.equal(db.includes(Buffer.from(sessionId)), false, 'the session id is not in the store file');
  assert.equal(db.includes(Buffer.from(s.csrf)), false, 'nor the CSRF token');

  const listed = await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) });
  assert.equal(listed.status, 200);
  assert.equal(listed.json<unknown[]>().length, 1);
  const again = await c.admin('/console/session', { headers: { cookie: s.cookie } });
  assert.equal(again.status, 200, 'the page reads its session (and CSRF token) back after a reload');
  assert.equal(again.json().csrfToken, s.csrf);
});

test('sign-in refuses a wrong credential, a proxy-only token, a missing field and another origin', async (t) => {
  const c = await startConsoleGateway(t);
  const wrong = await signInByApi(c, 'pcl_not-a-real-token');
  assert.equal(wrong.answer.status, 401);
  assert.equal(wrong.answer.json().code, 'auth.invalid_token');
  assert.equal(wrong.answer.headers['set-cookie'], undefined);
  const reader = await c.token({ label: 'reader', scope: 'read-only' });
  const notAdmin = await signInByApi(c, reader.token);
  assert.equal(notAdmin.answer.status, 403);
  assert.equal(notAdmin.answer.json().code, 'auth.insufficient_scope');
  assert.equal(notAdmin.answer.headers['set-cookie'], undefined);
  const empty = await c.admin('/console/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: c.adminUrl },
    body: '{}',
  });
  assert.equal(empty.status, 400);
  assert.equal(empty.json().detail, 'credential is required');
  const crossSite = await c.admin('/console/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
    body: JSON.stringify({ credential: c.adminToken }),
  });
  assert.equal(crossSite.status, 403);
  assert.equal(crossSite.json().code, 'console.cross_site');
  assert.equal(crossSite.headers['set-cookie'], undefined, 'no login CSRF: no session was opened');
});

test('a cookie-authenticated call needs the CSRF token and the console origin', async (t) => {
  const c = await startConsoleGateway(t);
  const s = await signInByApi(c, c.adminToken);
  const before = await tokenCount(c);
  const body = JSON.stringify({ label: 'x', scope: 'read-only' });
  const cases: Array<[string, Record<string, string | string[]>]> = [
    ['no CSRF token', { cookie: s.cookie, origin: c.adminUrl, 'content-type': 'application/json' }],
    ['a wrong CSRF token', { ...sessionHeaders(c, s, true), 'x-csrf-token': 'A'.repeat(43) }],
    ['two CSRF tokens', { ...sessionHeaders(c, s, true), 'x-csrf-token': [s.csrf, s.csrf] }],
    ['another origin', { ...sessionHeaders(c, s, true), origin: 'http://evil.example' }],
    ['a look-alike origin', { ...sessionHeaders(c, s, true), origin: `${c.adminUrl}.evil.example` }],
    ['the null origin', { ...sessionHeaders(c, s, true), origin: 'null' }],
    ['Sec-Fetch-Site cross-site', { ...sessionHeaders(c, s, true), 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { ...sessionHeaders(c, s, true), 'sec-fetch-site': 'same-site' }],
  ];
  for (const [what, headers] of cases) {
    const answer = await c.admin('/v1/tokens', { method: 'POST', headers, body });
    assert.equal(answer.status, 403, what);
    assert.equal(answer.json().code, 'console.cross_site', what);
  }
  // A form posted from another site: refused, whatever its body.
  const form = await c.admin('/v1/tokens', {
    method: 'POST',
    headers: { cookie: s.cookie, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'label=x&scope=admin',
  });
  assert.equal(form.status, 403);
  assert.equal(form.json().code, 'console.cross_site');
  assert.equal(await tokenCount(c), before, 'nothing was created');
  const ok = await c.admin('/v1/tokens', { method: 'POST', headers: sessionHeaders(c, s, true), body });
  assert.equal(ok.status, 201);
  assert.equal(await tokenCount(c), before + 1);
});

test('two session cookies, or a malformed one, are refused', async (t) => {
  const c = await startConsoleGateway(t);
  const s = await signInByApi(c, c.adminToken);
  const two = await c.admin('/v1/tokens', { headers: { ...sessionHeaders(c, s), cookie: `${s.cookie}; ${s.cookie}` } });
  assert.equal(two.status, 401);
  assert.equal(two.json().code, 'console.session_required');
  const bad = await c.admin('/v1/tokens', { headers: { ...sessionHeaders(c, s), cookie: 'portcullis_session=../../etc' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.json().code, 'console.session_required');
});

test('sign-out ends the session on the server: the old cookie is refused', async (t) => {
  const c = await startConsoleGateway(t);
  const s = await signInByApi(c, c.adminToken);
  const out = await c.admin('/console/sign-out', { method: 'POST', headers: sessionHeaders(c, s) });
  assert.equal(out.status, 200);
  assert.match(String(out.headers['set-cookie']?.[0]), /^portcullis_session=; .*Max-Age=0$/);
  const after = await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) });
  assert.equal(after.status, 401);
  assert.equal(after.json().code, 'console.session_required');
  const crossSiteSignOut = await c.admin('/console/sign-out', {
    method: 'POST',
    headers: { cookie: s.cookie, origin: 'http://evil.example' },
  });
  assert.equal(crossSiteSignOut.status, 403);
});

test('a session idle for longer than admin.sessionIdleTimeout is over; use keeps it alive', async (t) => {
  const c = await startConsoleGateway(t, ', sessionIdleTimeout: 2s');
  const s = await signInByApi(c, c.adminToken);
  for (let i = 0; i < 3; i++) {
    await sleep(1_200);
    assert.equal((await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) })).status, 200, `use ${i} within the idle time`);
  }
  await sleep(3_000);
  const expired = await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) });
  assert.equal(expired.status, 401);
  assert.equal(expired.json().code, 'console.session_required');
});

test('revoking the credential a session was opened with ends the session', async (t) => {
  const c = await startConsoleGateway(t);
  const second = await c.token({ label: 'second-admin', scope: 'admin' });
  const s = await signInByApi(c, second.token);
  assert.equal((await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) })).status, 200);
  await c.gw.services.store.tokens.revoke(second.record.id);
  const after = await c.admin('/v1/tokens', { headers: sessionHeaders(c, s) });
  assert.equal(after.status, 401);
  assert.equal(after.json().code, 'console.session_required');
});

test('the credential given at sign-in never reaches a log line', async (t) => {
  const lines: string[] = [];
  const c = await startConsoleGateway(t, '', { logLines: lines });
  await signInByApi(c, c.adminToken);
  await signInByApi(c, `${c.adminToken}x`);
  assert.ok(lines.length > 0, 'the gateway logged something');
  for (const line of lines) assert.doesNotMatch(line, /pcl_/, line);
});

test('GET /v1/routes shows the loaded policy, read-only, without secrets; admins only', async (t) => {
  const c = await startConsoleGateway(t);
  const answer = await c.admin('/v1/routes', { headers: { authorization: `Bearer ${c.adminToken}` } });
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json(), {
    routes: [
      {
        name: 'api',
        match: { host: null, path: '/api', methods: null },
        auth: 'required',
        access: 'read-write',
        upstream: c.upstream.origin,
      },
      {
        name: 'status',
        match: { host: null, path: '/status', methods: null },
        auth: 'off',
        access: 'read-only',
        upstream: `${c.upstream.origin}/health`,
      },
    ],
  });
  assert.doesNotMatch(answer.body, /BEGIN CERTIFICATE|\.pem/);
  const reader = await c.token({ label: 'reader', scope: 'read-only' });
  assert.equal((await c.admin('/v1/routes', { headers: { authorization: `Bearer ${reader.token}` } })).status, 403);
  assert.equal((await c.admin('/v1/routes')).status, 401);
});

test('rotating the credential (after its grace) or reaching its sunset ends a session opened with it', async (t) => {
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  const rotated = await c.token({ label: 'leaked admin', scope: 'admin' });
  const sunsetting = await c.token({ label: 'sunset admin', scope: 'admin' });
  const first = await signInByApi(c, rotated.token);
  const second = await signInByApi(c, sunsetting.token);
  assert.equal((await c.admin('/v1/accounts', { headers: sessionHeaders(c, first) })).status, 200);
  assert.equal((await c.admin('/v1/accounts', { headers: sessionHeaders(c, second) })).status, 200);

  // The leaked secret is rotated away with no grace: Bearer with it is refused at once...
  const next = await store.tokens.rotate(rotated.record.id, 0);
  const bearer = await c.admin('/v1/accounts', { headers: { authorization: `Bearer ${rotated.token}` } });
  assert.equal(bearer.status, 401, 'the old secret no longer works');
  // ...and so is the session the old secret opened; the new secret still signs in.
  const after = await c.admin('/v1/accounts', { headers: sessionHeaders(c, first) });
  assert.equal(after.status, 401, 'the session opened with the replaced secret is over');
  assert.equal(after.json().code, 'console.session_required');
  assert.equal((await signInByApi(c, next.token)).answer.status, 201);

  // A sunset in the past: Bearer is refused, and so is the session.
  await store.tokens.setDeprecation(sunsetting.record.id, { sunset: new Date(Date.now() - 1000), since: new Date(Date.now() - 2000) });
  const late = await c.admin('/v1/accounts', { headers: { authorization: `Bearer ${sunsetting.token}` } });
  assert.notEqual(late.status, 200, 'past its sunset the token is refused');
  const lateSession = await c.admin('/v1/accounts', { headers: sessionHeaders(c, second) });
  assert.equal(lateSession.status, 401, 'the session of a token past its sunset is over');
  assert.equal(lateSession.json().code, 'console.session_required');
});

test('a secret in its rotation grace opens no console session', async (t) => {
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  const leaked = await c.token({ label: 'leaked admin', scope: 'admin' });
  await store.tokens.rotate(leaked.record.id, 1500);
  // The old secret still works as Bearer during its grace, but opens no console session: a session
  // would outlive the grace (the store forgets the grace end once it is over).
  assert.equal((await c.admin('/v1/accounts', { headers: { authorization: `Bearer ${leaked.token}` } })).status, 200);
  const thief = await signInByApi(c, leaked.token);
  assert.equal(thief.answer.status, 401);
  assert.equal(thief.answer.json().code, 'console.session_required');
  assert.equal(thief.answer.headers['set-cookie'], undefined, 'no cookie');
  await sleep(2500);
  const after = await c.admin('/v1/accounts', { headers: sessionHeaders(c, thief) });
  assert.equal(after.status, 401, 'nothing to use afterwards either');
});
