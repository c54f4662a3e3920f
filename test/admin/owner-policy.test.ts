/**
 * Account owners on the admin API (docs/credentials.md "Account owners"), with a Bearer owner
 * token and with a console session opened by one: only their own account's tokens, never wider
 * than the account's current scope, no admin operation. Each refusal also shows the other view:
 * the store did not change and the other account's token still works at the proxy.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { type ConsoleGateway, sessionHeaders, signInByApi, startConsoleGateway } from '../support/console.js';

interface Setup {
  readonly c: ConsoleGateway;
  /** Owner token of account alpha (read-write). */
  readonly owner: string;
  readonly alphaToken: { id: string; secret: string };
  readonly betaToken: { id: string; secret: string };
}

async function setup(t: TestContext): Promise<Setup> {
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  await store.accounts.create('alpha', 'read-write');
  await store.accounts.create('beta', 'read-write');
  const owner = await c.token({ label: 'alpha owner', scope: 'read-write', account: 'alpha', owner: true });
  const alpha = await c.token({ label: 'alpha ci', scope: 'read-only', account: 'alpha' });
  const beta = await c.token({ label: 'beta ci', scope: 'read-write', account: 'beta' });
  return {
    c,
    owner: owner.token,
    alphaToken: { id: alpha.record.id, secret: alpha.token },
    betaToken: { id: beta.record.id, secret: beta.token },
  };
}

/** Two ways an owner calls the API: Bearer, and the console session. */
async function callers(
  s: Setup,
): Promise<
  Array<
    [string, (path: string, method?: string, body?: unknown) => Promise<{ status: number; json: <T = Record<string, unknown>>() => T }>]
  >
> {
  const session = await signInByApi(s.c, s.owner);
  assert.equal(session.answer.status, 201);
  assert.equal(session.answer.json().owner, true);
  assert.equal(session.answer.json().account, 'alpha');
  const bearer = (path: string, method = 'GET', body?: unknown) =>
    s.c.admin(path, {
      method,
      headers: { authorization: `Bearer ${s.owner}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const cookie = (path: string, method = 'GET', body?: unknown) =>
    s.c.admin(path, {
      method,
      headers: sessionHeaders(s.c, session, body !== undefined),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return [
    ['bearer', bearer],
    ['session', cookie],
  ];
}

test("an owner lists only its own account's tokens and cannot ask for another account", async (t) => {
  const s = await setup(t);
  for (const [how, call] of await callers(s)) {
    const own = await call('/v1/tokens');
    assert.equal(own.status, 200, how);
    const accounts = new Set(own.json<Array<{ account: string }>>().map((x) => x.account));
    assert.deepEqual([...accounts], ['alpha'], how);
    const other = await call('/v1/tokens?account=beta');
    assert.equal(other.status, 403, how);
    assert.equal(other.json().code, 'admin.owner_forbidden', how);
    const both = await call('/v1/tokens?account=alpha&account=beta');
    assert.equal(both.status, 403, `${how}: a second account parameter`);
  }
});

test("an owner cannot rotate or revoke another account's token; that token keeps working", async (t) => {
  const s = await setup(t);
  for (const [how, call] of await callers(s)) {
    for (const action of ['rotate', 'revoke']) {
      const answer = await call(`/v1/tokens/${s.betaToken.id}/${action}`, 'POST', {});
      assert.equal(answer.status, 403, `${how} ${action}`);
      assert.equal(answer.json().code, 'admin.owner_forbidden');
      const unknown = await call(`/v1/tokens/tok_${'A'.repeat(22)}/${action}`, 'POST', {});
      assert.equal(unknown.status, 403, `${how} ${action} of an unknown id: the same answer`);
    }
  }
  const beta = await s.c.gw.services.store.tokens.get(s.betaToken.id);
  assert.equal(beta?.revokedAt, null);
  assert.equal(beta?.rotatedAt, null);
  assert.equal((await s.c.proxy('GET', s.betaToken.secret)).status, 200, "beta's token still works at the proxy");
});

test("an owner creates, rotates and revokes its own account's tokens", async (t) => {
  const s = await setup(t);
  for (const [how, call] of await callers(s)) {
    const created = await call('/v1/tokens', 'POST', { label: `made by ${how}`, scope: 'read-only' });
    assert.equal(created.status, 201, how);
    const token = created.json<{ id: string; token: string; account: string; owner: boolean }>();
    assert.equal(token.account, 'alpha', `${how}: the account is the owner's, without being asked`);
    assert.equal(token.owner, false);
    assert.equal((await s.c.proxy('GET', token.token)).status, 200);
    const rotated = await call(`/v1/tokens/${token.id}/rotate`, 'POST', {});
    assert.equal(rotated.status, 200, how);
    const revoked = await call(`/v1/tokens/${token.id}/revoke`, 'POST', {});
    assert.equal(revoked.status, 200, how);
    assert.equal((await s.c.proxy('GET', rotated.json<{ token: string }>().token)).status, 401);
  }
});

test("an owner cannot mint for another account, an owner token, or above the account's current scope", async (t) => {
  const s = await setup(t);
  const store = s.c.gw.services.store;
  const before = (await store.tokens.list()).length;
  for (const [how, call] of await callers(s)) {
    const other = await call('/v1/tokens', 'POST', { label: 'x', scope: 'read-only', account: 'beta' });
    assert.equal(other.status, 403, how);
    assert.equal(other.json().code, 'admin.owner_forbidden');
    const ownerFlag = await call('/v1/tokens', 'POST', { label: 'x', scope: 'read-only', owner: true });
    assert.equal(ownerFlag.status, 403, how);
    const admin = await call('/v1/tokens', 'POST', { label: 'x', scope: 'admin' });
    assert.equal(admin.status, 403, how);
    assert.match(String(admin.json().detail), /wider than account alpha allows now \(at most read-write\)/);
  }
  // The account is narrowed: read-write is now wider than it allows, on the next call.
  await store.accounts.setScope('alpha', 'read-only');
  for (const [how, call] of await callers(s)) {
    const wide = await call('/v1/tokens', 'POST', { label: 'x', scope: 'read-write' });
    assert.equal(wide.status, 403, how);
    assert.match(String(wide.json().detail), /at most read-only/);
    assert.equal((await call('/v1/tokens', 'POST', { label: 'narrow', scope: 'read-only' })).status, 201, how);
  }
  const after = await store.tokens.list();
  assert.equal(after.length, before + 2, 'only the two read-only tokens were created');
  assert.ok(after.slice(before).every((x) => x.scope === 'read-only' && x.account === 'alpha'));
});

test('an owner reaches no admin operation: accounts, clients, routes', async (t) => {
  const s = await setup(t);
  const calls: Array<[string, string, unknown?]> = [
    ['GET', '/v1/accounts'],
    ['POST', '/v1/accounts', { name: 'mine', scope: 'admin' }],
    ['POST', '/v1/accounts/alpha/scope', { scope: 'admin' }],
    ['POST', '/v1/accounts/beta/disable', {}],
    ['POST', '/v1/accounts/alpha/enable', {}],
    ['GET', '/v1/clients'],
    ['POST', '/v1/clients', { name: 'c', scope: 'read-write' }],
    ['GET', '/v1/routes'],
  ];
  for (const [how, call] of await callers(s)) {
    for (const [method, path, body] of calls) {
      const answer = await call(path, method, body);
      assert.equal(answer.status, 403, `${how} ${method} ${path}`);
      assert.equal(answer.json().code, 'admin.owner_forbidden', `${how} ${method} ${path}`);
    }
  }
  const store = s.c.gw.services.store;
  assert.equal((await store.accounts.get('alpha'))?.scope, 'read-write');
  assert.equal((await store.accounts.get('beta'))?.disabled, false);
  assert.equal((await store.accounts.list()).length, 2);
  assert.equal((await store.clients.list()).length, 0);
});

test('an owner token is refused on proxy routes and nothing reaches the upstream', async (t) => {
  const s = await setup(t);
  for (const method of ['GET', 'POST'] as const) {
    const answer = await s.c.proxy(method, s.owner);
    assert.equal(answer.status, 401, method);
    assert.equal(answer.json().code, 'auth.owner_credential');
    assert.match(String(answer.headers['www-authenticate']), /invalid_token/);
  }
  assert.equal(s.c.upstream.arrived.length, 0);
});

test('only an admin issues owner tokens, and only for an account, never of scope admin', async (t) => {
  const c = await startConsoleGateway(t);
  await c.gw.services.store.accounts.create('alpha', 'admin');
  const post = (body: unknown) =>
    c.admin('/v1/tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const issued = await post({ label: 'alpha owner', scope: 'read-write', account: 'alpha', owner: true });
  assert.equal(issued.status, 201);
  assert.equal(issued.json().owner, true);
  const noAccount = await post({ label: 'loose owner', scope: 'read-write', owner: true });
  assert.equal(noAccount.status, 400);
  assert.match(String(noAccount.json().detail), /owner token needs an account/);
  const adminOwner = await post({ label: 'admin owner', scope: 'admin', account: 'alpha', owner: true });
  assert.equal(adminOwner.status, 400);
  const notBoolean = await post({ label: 'x', scope: 'read-only', account: 'alpha', owner: 'yes' });
  assert.equal(notBoolean.status, 400);
  assert.equal(notBoolean.json().detail, 'owner must be true or false');
});

test('an owner cannot rotate a token wider than itself into a secret it holds, nor another owner token', async (t) => {
  const c = await startConsoleGateway(t);
  const store = c.gw.services.store;
  await store.accounts.create('alpha', 'read-write');
  const narrowOwner = await c.token({ label: 'alpha read-only owner', scope: 'read-only', account: 'alpha', owner: true });
  const wide = await c.token({ label: 'alpha deploy', scope: 'read-write', account: 'alpha' });
  const peerOwner = await c.token({ label: 'alpha owner', scope: 'read-only', account: 'alpha', owner: true });
  const s: Setup = {
    c,
    owner: narrowOwner.token,
    alphaToken: { id: wide.record.id, secret: wide.token },
    betaToken: { id: '', secret: '' },
  };
  for (const [how, call] of await callers(s)) {
    for (const id of [wide.record.id, peerOwner.record.id]) {
      const rotated = await call(`/v1/tokens/${id}/rotate`, 'POST', {});
      assert.equal(rotated.status, 403, `${how}: rotate ${id} gives the owner a secret it could not mint`);
      assert.equal(rotated.json().code, 'admin.owner_forbidden');
      assert.equal(rotated.json().token, undefined, 'no secret in the refusal');
    }
  }
  for (const id of [wide.record.id, peerOwner.record.id]) {
    const record = await store.tokens.get(id);
    assert.equal(record?.rotatedAt, null, 'the store did not rotate it');
  }
  assert.equal((await c.proxy('GET', wide.token)).status, 200, 'the wide token still works at the proxy');
  // Its own token and narrower tokens of the account stay rotatable.
  const own = await store.tokens.list({ account: 'alpha' });
  const self = own.find((r) => r.label === 'alpha read-only owner');
  const answer = await c.admin(`/v1/tokens/${self?.id ?? ''}/rotate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${narrowOwner.token}`, 'content-type': 'application/json' },
    body: '{}',
  });
  assert.equal(answer.status, 200, 'an owner still rotates its own token');
});
