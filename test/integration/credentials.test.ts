/**
 * Credentials end to end: tokens and clients made with the real CLI (child processes) on a real
 * SQLite file, checked by a real gateway in front of a recording HTTPS upstream. Every refusal
 * also shows that nothing reached the upstream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { generateApiToken } from '../../src/credentials/secrets.js';
import { sharedCerts } from '../support/certs.js';
import { runCli, runCliJson } from '../support/cli.js';
import { type Answer, send, sendRaw } from '../support/client.js';
import { startTestGateway } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { eventually } from '../support/eventually.js';
import { withinOneSecond } from '../support/within-one-second.js';

interface TokenOut {
  id: string;
  token?: string;
  scope: string;
  account: string | null;
  expiresAt: string | null;
}
interface ClientOut {
  client_id: string;
  client_secret?: string;
  scope: string;
}

interface Harness {
  readonly url: string;
  readonly adminUrl: string;
  readonly configFile: string;
  readonly upstream: RecordingUpstream;
  cli(args: string[], input?: string): ReturnType<typeof runCli>;
  json<T>(args: string[]): Promise<T>;
}

async function harness(t: TestContext): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-cred-'));
  const upstream = await startRecordingUpstream();
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
oauth: { issuer: "https://gw.test", audience: portcullis }
routes:
  - name: rw
    match: { path: /rw }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-write
  - name: ro
    match: { path: /ro }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
  - name: bearer-only
    match: { path: /bearer-only }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    credentials: [bearer]
  - name: by-account
    match: { path: /by-account }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    require: { match: { X-Tenant: account } }
  - name: by-org
    match: { path: /by-org }
    upstream: "${upstream.origin}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    require: { match: { x-org: orgId, x-technical-account: technicalAccountId } }
`,
  );
  const { gateway } = await startTestGateway(t, readFileSync(configFile, 'utf8'), {}, { dir });
  t.after(async () => {
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    url: `http://127.0.0.1:${gateway.proxyAddress.port}`,
    adminUrl: `http://127.0.0.1:${gateway.adminAddress?.port ?? 0}`,
    configFile,
    upstream,
    cli: (args, input) => runCli([...args, '--config', configFile], {}, input),
    json: <T>(args: string[]) => runCliJson<T>([...args, '--config', configFile]),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('a token made with the CLI is shown once, works as Bearer and as Basic, and the upstream sees who called', async (t) => {
  const h = await harness(t);
  await h.json(['accounts', 'create', 'billing', '--scope', 'read-write']);
  const created = await h.json<TokenOut>(['tokens', 'create', '--label', 'ci', '--scope', 'read-write', '--account', 'billing']);
  assert.match(created.token ?? '', /^pcl_[0-9A-Za-z]{49}$/);
  const listed = await h.json<TokenOut[]>(['tokens', 'list']);
  assert.equal(listed.length, 1);
  assert.equal(listed[0]?.token, undefined, 'the secret is never listed');

  const answer = await send(h.url, {
    method: 'POST',
    path: '/rw/items',
    headers: { ...bearer(created.token ?? ''), 'x-portcullis-scope': 'admin' },
    body: 'x',
  });
  assert.equal(answer.status, 200);
  const seen = h.upstream.received[0];
  assert.equal(seen?.headers.authorization, undefined, 'Portcullis credentials are not forwarded');
  assert.equal(seen?.headers['x-portcullis-subject'], 'billing');
  assert.equal(seen?.headers['x-portcullis-scope'], 'read-write');
  assert.equal(seen?.headers['x-portcullis-credential'], created.id);
  assert.equal(seen?.headers['x-portcullis-credential-kind'], 'api_token');
  assert.equal(seen?.headers['x-portcullis-principal'], 'api_token:billing');
  assert.equal(seen?.headers['x-portcullis-issuer'], undefined);

  const basic = Buffer.from(`anything:${created.token ?? ''}`).toString('base64');
  const viaBasic = await send(h.url, { path: '/rw/items', headers: { authorization: `Basic ${basic}` } });
  assert.equal(viaBasic.status, 200);
  assert.equal(h.upstream.received.length, 2);
});

test('a read-only credential never causes a write: 403 with an RFC 6750 challenge, nothing upstream', async (t) => {
  const h = await harness(t);
  const ro = await h.json<TokenOut>(['tokens', 'create', '--label', 'reader', '--scope', 'read-only']);
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND']) {
    const answer = await send(h.url, { method, path: '/rw/x', headers: bearer(ro.token ?? '') });
    assert.equal(answer.status, 403, method);
    assert.equal(answer.json().code, 'auth.insufficient_scope');
    assert.match(String(answer.headers['www-authenticate']), /Bearer realm="portcullis", error="insufficient_scope", scope="read-write"/);
  }
  const overridden = await send(h.url, { path: '/rw/x', headers: { ...bearer(ro.token ?? ''), 'x-http-method-override': 'DELETE' } });
  assert.equal(overridden.status, 400, 'a read with a method override is refused, not forwarded');
  assert.equal(h.upstream.received.length, 0);
  const read = await send(h.url, { path: '/rw/x', headers: bearer(ro.token ?? '') });
  assert.equal(read.status, 200);
  const write = await send(h.url, {
    method: 'POST',
    path: '/ro/x',
    headers: bearer((await h.json<TokenOut>(['tokens', 'create', '--label', 'w', '--scope', 'read-write'])).token ?? ''),
  });
  assert.equal(write.status, 405, 'a read-only route refuses writes whatever the credential');
  assert.equal(write.headers.allow, 'GET, HEAD, OPTIONS');
  assert.equal(h.upstream.received.length, 1);
});

test('OAuth client credentials authenticate with Basic client_id:client_secret; a route limited to bearer refuses Basic', async (t) => {
  const h = await harness(t);
  const client = await h.json<ClientOut>([
    'clients',
    'create',
    '--name',
    'partner',
    '--scope',
    'read-write',
    '--org-id',
    'org-1',
    '--technical-account-id',
    'ta-1',
  ]);
  assert.match(client.client_secret ?? '', /^pcs_/);
  const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret ?? ''}`).toString('base64')}`;
  const ok = await send(h.url, { method: 'POST', path: '/rw/orders', headers: { authorization: basic } });
  assert.equal(ok.status, 200);
  assert.equal(h.upstream.received[0]?.headers['x-portcullis-subject'], client.client_id);
  const wrong = `Basic ${Buffer.from(`${client.client_id}:pcs_wrong`).toString('base64')}`;
  const refused = await send(h.url, { path: '/rw/orders', headers: { authorization: wrong } });
  assert.equal(refused.status, 401);
  assert.equal(refused.json().code, 'auth.invalid_credentials');
  const bearerOnly = await send(h.url, { path: '/bearer-only/x', headers: { authorization: basic } });
  assert.equal(bearerOnly.status, 401);
  assert.equal(bearerOnly.json().code, 'auth.missing_credentials');
  assert.equal(bearerOnly.headers['www-authenticate'], 'Bearer realm="portcullis"');
  assert.equal(h.upstream.received.length, 1);
});

/** Sends `request` every 20 ms until `done` holds for the answer (fails after 5 s); the ms it took. */
async function timeUntil(
  request: () => Promise<Answer>,
  done: (answer: Answer) => boolean,
  what: string,
): Promise<{ ms: number; answer: Answer }> {
  const since = performance.now();
  for (;;) {
    const answer = await request();
    if (done(answer)) return { ms: performance.now() - since, answer };
    assert.ok(performance.now() - since < 5_000, `${what} never happened (last status ${answer.status})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('revoking from the CLI while the gateway serves refuses the token within 1 second', async (t) => {
  const h = await harness(t);
  let lastId = '';
  await withinOneSecond(t, 'from the revoking CLI process exit to the refusal', async (run) => {
    const created = await h.json<TokenOut>(['tokens', 'create', '--label', `soon-revoked-${run}`, '--scope', 'read-only']);
    lastId = created.id;
    const call = () => send(h.url, { path: '/ro/x', headers: bearer(created.token ?? '') });
    assert.equal((await call()).status, 200, 'cached as valid first');
    const revoked = await h.cli(['tokens', 'revoke', created.id]);
    assert.equal(revoked.code, 0);
    const { ms, answer } = await timeUntil(call, (a) => a.status !== 200, 'the revocation');
    assert.equal(answer.status, 401);
    assert.equal(answer.json().code, 'auth.token_revoked');
    return ms;
  });
  assert.equal((await h.cli(['tokens', 'rotate', lastId])).code, 1, 'a revoked token can never be rotated back to life');
});

test('demoting or disabling an account narrows or stops its cached tokens within 1 second', async (t) => {
  const h = await harness(t);
  await withinOneSecond(t, 'from the CLI process exit to the change applied (slower of set-scope and disable)', async (run) => {
    const account = `ops-${run}`;
    await h.json(['accounts', 'create', account, '--scope', 'read-write']);
    const token =
      (await h.json<TokenOut>(['tokens', 'create', '--label', 'deploy', '--scope', 'read-write', '--account', account])).token ?? '';
    const write = () => send(h.url, { method: 'POST', path: '/rw/x', headers: bearer(token) });
    const read = () => send(h.url, { path: '/rw/x', headers: bearer(token) });
    assert.equal((await write()).status, 200);
    await h.json(['accounts', 'set-scope', account, 'read-only']);
    const narrowed = await timeUntil(write, (a) => a.status === 403, 'the demotion');
    assert.equal((await read()).status, 200, 'reads still pass');
    await h.json(['accounts', 'disable', account]);
    const stopped = await timeUntil(read, (a) => a.status === 401, 'the disabling');
    assert.equal(stopped.answer.json().code, 'auth.token_revoked');
    return Math.max(narrowed.ms, stopped.ms);
  });
});

test('enabling a disabled account lets its tokens work again within 1 second; a revoked token stays revoked', async (t) => {
  const h = await harness(t);
  await withinOneSecond(t, 'from the enabling CLI process exit to the token accepted again', async (run) => {
    const account = `back-${run}`;
    await h.json(['accounts', 'create', account, '--scope', 'read-only']);
    const token =
      (await h.json<TokenOut>(['tokens', 'create', '--label', 'kept', '--scope', 'read-only', '--account', account])).token ?? '';
    const revoked = await h.json<TokenOut>(['tokens', 'create', '--label', 'gone', '--scope', 'read-only', '--account', account]);
    await h.json(['tokens', 'revoke', revoked.id]);
    const read = () => send(h.url, { path: '/ro/x', headers: bearer(token) });
    assert.equal((await read()).status, 200);
    const disabled = await h.json<{ disabled: boolean }>(['accounts', 'disable', account]);
    assert.equal(disabled.disabled, true);
    await timeUntil(read, (a) => a.status === 401, 'the disabling');
    assert.equal((await read()).json().code, 'auth.token_revoked', 'cached as refused now');
    const enabled = await h.json<{ disabled: boolean; disabledAt: string | null }>(['accounts', 'enable', account]);
    assert.deepEqual([enabled.disabled, enabled.disabledAt], [false, null]);
    const back = await timeUntil(read, (a) => a.status === 200, 'the enabling');
    const still = await send(h.url, { path: '/ro/x', headers: bearer(revoked.token ?? '') });
    assert.equal(still.status, 401, 'revoking stays permanent');
    assert.equal(still.json().code, 'auth.token_revoked');
    return back.ms;
  });
  const admin = (await h.json<TokenOut>(['tokens', 'create', '--label', 'ops', '--scope', 'admin'])).token ?? '';
  await h.json(['accounts', 'create', 'api-made', '--scope', 'read-only']);
  const post = (path: string) => send(h.adminUrl, { method: 'POST', path, headers: bearer(admin) });
  assert.equal((await post('/v1/accounts/api-made/disable')).json<{ disabled: boolean }>().disabled, true);
  const viaApi = await post('/v1/accounts/api-made/enable');
  assert.equal(viaApi.status, 200, viaApi.body);
  assert.equal(viaApi.json<{ disabled: boolean }>().disabled, false);
  const missing = await post('/v1/accounts/nobody/enable');
  assert.equal(missing.status, 404, missing.body);
  const missingCli = await h.cli(['accounts', 'enable', 'nobody', '--json']);
  assert.equal(missingCli.code, 1);
  assert.equal((JSON.parse(missingCli.stderr) as { error: { code: string } }).error.code, 'store.not_found');
});

test('the irreversible commands say so in their --help; accounts disable says it can be undone', async (t) => {
  const h = await harness(t);
  for (const command of [
    ['tokens', 'revoke'],
    ['clients', 'revoke'],
  ]) {
    const help = await h.cli([...command, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Irreversible/, command.join(' '));
  }
  const disable = await h.cli(['accounts', 'disable', '--help']);
  assert.match(disable.stdout, /accounts enable NAME/);
});

test('rotation: the old secret fails at once without grace, and keeps working during a grace period', async (t) => {
  const h = await harness(t);
  const first = await h.json<TokenOut>(['tokens', 'create', '--label', 'r', '--scope', 'read-only']);
  const second = await h.json<TokenOut>(['tokens', 'rotate', first.id]);
  assert.equal(second.id, first.id);
  assert.notEqual(second.token, first.token);
  await eventually(
    async () => (await send(h.url, { path: '/ro/x', headers: bearer(first.token ?? '') })).status === 401,
    1_000,
    'the change to reach the gateway',
  );
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(second.token ?? '') })).status, 200);
  const third = await h.json<TokenOut>(['tokens', 'rotate', first.id, '--grace', '10m']);
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(second.token ?? '') })).status, 200, 'in grace');
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(third.token ?? '') })).status, 200);
});

test('an expired token is refused with auth.token_expired, to the second', async (t) => {
  const h = await harness(t);
  const created = await h.json<TokenOut>(['tokens', 'create', '--label', 'short', '--scope', 'read-only', '--expires-in', '5s']);
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(created.token ?? '') })).status, 200);
  const expiresAt = Date.parse(created.expiresAt ?? '');
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50));
  const answer = await send(h.url, { path: '/ro/x', headers: bearer(created.token ?? '') });
  assert.equal(answer.status, 401);
  assert.equal(answer.json().code, 'auth.token_expired');
  assert.match(String(answer.headers['www-authenticate']), /error="invalid_token"/);
  assert.equal(h.upstream.received.length, 1);
});

test('malformed Authorization headers get 400 auth.malformed_credentials and nothing reaches the upstream', async (t) => {
  const h = await harness(t);
  const cases: Record<string, string | string[]> = {
    'empty bearer': 'Bearer ',
    'two credentials': 'Bearer a b',
    'bad base64': 'Basic %%%',
    'basic without colon': `Basic ${Buffer.from('nocolon').toString('base64')}`,
    'control character in basic': `Basic ${Buffer.from('a:b\u0001c').toString('base64')}`,
    'over-long': `Bearer ${'a'.repeat(13_000)}`,
    'two headers': ['Bearer pcl_a', 'Bearer pcl_b'],
  };
  for (const [name, value] of Object.entries(cases)) {
    const answer = await send(h.url, { path: '/ro/x', headers: { authorization: value } });
    assert.equal(answer.status, 400, name);
    assert.equal(answer.json().code, 'auth.malformed_credentials', name);
  }
  const typo = await send(h.url, { path: '/ro/x', headers: bearer(`pcl_${'A'.repeat(49)}`) });
  assert.equal(typo.status, 401);
  assert.equal(typo.json().code, 'auth.invalid_token');
  assert.equal(h.upstream.received.length, 0);
});

test('the admin API offers the same operations to admin tokens only, in problem+json errors, with its OpenAPI', async (t) => {
  const h = await harness(t);
  const admin = await h.json<TokenOut>(['tokens', 'create', '--label', 'bootstrap', '--scope', 'admin']);
  const rw = await h.json<TokenOut>(['tokens', 'create', '--label', 'rw', '--scope', 'read-write']);
  const openapi = await send(h.adminUrl, { path: '/openapi.json' });
  assert.equal(openapi.status, 200);
  assert.equal(openapi.json().openapi, '3.1.0');

  const anonymous = await send(h.adminUrl, { path: '/v1/tokens' });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json().code, 'auth.missing_credentials');
  const notAdmin = await send(h.adminUrl, { path: '/v1/tokens', headers: bearer(rw.token ?? '') });
  assert.equal(notAdmin.status, 403);
  assert.equal(notAdmin.json().code, 'auth.insufficient_scope');

  const headers = { ...bearer(admin.token ?? ''), 'content-type': 'application/json' };
  const made = await send(h.adminUrl, {
    method: 'POST',
    path: '/v1/tokens',
    headers,
    body: JSON.stringify({ label: 'from-api', scope: 'read-only', expiresIn: '1h' }),
  });
  assert.equal(made.status, 201);
  const token = made.json<TokenOut>();
  assert.match(token.token ?? '', /^pcl_/);
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(token.token ?? '') })).status, 200);
  const list = await send(h.adminUrl, { path: '/v1/tokens', headers });
  assert.ok(!list.body.includes(token.token ?? 'x'), 'lists never carry secrets');
  const revoke = await send(h.adminUrl, { method: 'POST', path: `/v1/tokens/${token.id}/revoke`, headers });
  assert.equal(revoke.status, 200);
  assert.equal(
    (await send(h.url, { path: '/ro/x', headers: bearer(token.token ?? '') })).status,
    401,
    'revoked at once on the instance that made the change',
  );
  const missing = await send(h.adminUrl, { method: 'POST', path: '/v1/tokens/tok_nope/revoke', headers });
  assert.equal(missing.status, 404);
  assert.equal(missing.json().code, 'admin.not_found');
  const invalid = await send(h.adminUrl, {
    method: 'POST',
    path: '/v1/tokens',
    headers,
    body: JSON.stringify({ label: 'x', scope: 'root' }),
  });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json().code, 'admin.invalid_request');
  const clientMade = await send(h.adminUrl, {
    method: 'POST',
    path: '/v1/clients',
    headers,
    body: JSON.stringify({ name: 'p', scope: 'read-only', orgId: 'o' }),
  });
  assert.equal(clientMade.status, 201);
  assert.match(clientMade.json<ClientOut>().client_secret ?? '', /^pcs_/);
});

test('odd request targets on the admin listener are refused and never take the process down', async (t) => {
  const h = await harness(t);
  const admin = await h.json<TokenOut>(['tokens', 'create', '--label', 'a', '--scope', 'admin']);
  const port = Number(new URL(h.adminUrl).port);
  for (const target of ['//', '//[', '//a:b@x/v1/tokens', '//x:99999/']) {
    const answer = await sendRaw(port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.equal(answer.status, 404, target);
    assert.equal((JSON.parse(answer.body) as { code: string }).code, 'admin.not_found');
  }
  const badEscape = await send(h.adminUrl, { method: 'POST', path: '/v1/tokens/%zz/revoke', headers: bearer(admin.token ?? '') });
  assert.equal(badEscape.status, 400);
  assert.equal(badEscape.json().code, 'admin.invalid_request');
  assert.equal((await send(h.adminUrl, { path: '/openapi.json' })).status, 200, 'the process still serves');
});

test('bad CLI arguments give a usage message and a non-zero exit, never a stack trace', async (t) => {
  const h = await harness(t);
  for (const args of [
    ['tokens', 'create', '--scope', 'read-only'],
    ['tokens', 'create', '--label', 'x', '--scope', 'root'],
    ['tokens', 'frobnicate'],
    ['tokens', 'create', '--label', 'x', '--scope', 'read-only', '--expires-in', 'soon'],
    ['accounts', 'create'],
  ]) {
    const result = await h.cli(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, /usage:/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
  const unknown = await h.cli(['tokens', 'revoke', 'tok_doesnotexist']);
  assert.equal(unknown.code, 1);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /);
});

test('incident response: tokens revoke --secret - finds the token by the secret on stdin, revokes it, and never echoes a secret', async (t) => {
  const h = await harness(t);
  const leaked = await h.json<TokenOut>(['tokens', 'create', '--label', 'leaked', '--scope', 'read-only']);
  const other = await h.json<TokenOut>(['tokens', 'create', '--label', 'other', '--scope', 'read-only']);
  const secret = leaked.token ?? '';
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(secret) })).status, 200);

  const revoked = await h.cli(['tokens', 'revoke', '--secret', '-', '--json'], `${secret}\n`);
  assert.equal(revoked.code, 0, revoked.stderr);
  const record = JSON.parse(revoked.stdout) as TokenOut & { revokedAt: string | null };
  assert.equal(record.id, leaked.id);
  assert.ok(record.revokedAt);
  assert.equal(record.token, undefined);
  assert.ok(!revoked.stdout.includes(secret) && !revoked.stderr.includes(secret), 'the secret is not echoed');
  await eventually(async () => (await send(h.url, { path: '/ro/x', headers: bearer(secret) })).status === 401, 1_000, 'the revocation');
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(other.token ?? '') })).status, 200, 'only that token');

  // Text mode, again: idempotent, and still no secret.
  const again = await h.cli(['tokens', 'revoke', '--secret', '-'], secret);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`id=${leaked.id}`));
  assert.ok(!again.stdout.includes(secret) && !again.stderr.includes(secret));

  // Every way of getting it wrong: a clear error, exit 1 or 2, never the secret.
  const unknownSecret = generateApiToken();
  const client = await h.json<ClientOut>(['clients', 'create', '--name', 'svc', '--scope', 'read-only']);
  const cases: Array<{ args: string[]; input?: string; code: number; says: RegExp; hidden: string }> = [
    { args: ['tokens', 'revoke', secret], code: 2, says: /looks like a secret/, hidden: secret },
    { args: ['tokens', 'revoke', '--secret', secret], code: 2, says: /--secret takes/, hidden: secret },
    {
      args: ['tokens', 'revoke', '--secret', '-'],
      input: client.client_secret ?? '',
      code: 2,
      says: /use clients revoke --secret -/,
      hidden: client.client_secret ?? '',
    },
    { args: ['tokens', 'revoke', '--secret', '-'], input: 'pcl_not-a-token', code: 2, says: /not an API token/, hidden: 'pcl_not-a-token' },
    { args: ['tokens', 'revoke', '--secret', '-'], input: '', code: 2, says: /standard input is empty/, hidden: '\u0000' },
    { args: ['tokens', 'revoke', leaked.id, '--secret', '-'], input: secret, code: 2, says: /not both/, hidden: secret },
    { args: ['tokens', 'rotate', secret], code: 1, says: /not shown/, hidden: secret },
    { args: ['clients', 'revoke', '--secret', '-'], input: secret, code: 2, says: /use tokens revoke --secret -/, hidden: secret },
  ];
  for (const c of cases) {
    for (const json of [false, true]) {
      const result = await h.cli([...c.args, ...(json ? ['--json'] : [])], c.input ?? '');
      const what = `${c.args[0]} ${c.args[1]} ${json ? '--json' : ''} (${String(c.says)})`;
      assert.equal(result.code, c.code, `${what}: ${result.stderr}`);
      assert.match(result.stderr, c.says, what);
      assert.ok(!result.stdout.includes(c.hidden) && !result.stderr.includes(c.hidden), `${what} echoes no secret`);
      if (json) assert.ok((JSON.parse(result.stderr) as { error: { code: string } }).error.code, what);
    }
  }
  const notFound = await h.cli(['tokens', 'revoke', '--secret', '-', '--json'], unknownSecret);
  assert.equal(notFound.code, 1);
  assert.equal((JSON.parse(notFound.stderr) as { error: { code: string } }).error.code, 'store.not_found');
  assert.ok(!notFound.stderr.includes(unknownSecret));
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(other.token ?? '') })).status, 200, 'nothing else was revoked');
});

test('incident response: clients revoke --secret - revokes the client whose secret (current or in grace) is on stdin', async (t) => {
  const h = await harness(t);
  const client = await h.json<ClientOut>(['clients', 'create', '--name', 'svc', '--scope', 'read-only']);
  const old = client.client_secret ?? '';
  const rotated = await h.json<ClientOut>(['clients', 'rotate-secret', client.client_id, '--grace', '10m']);
  const basicOf = (secret: string) => ({ authorization: `Basic ${Buffer.from(`${client.client_id}:${secret}`).toString('base64')}` });
  assert.equal((await send(h.url, { path: '/ro/x', headers: basicOf(old) })).status, 200, 'the old secret is in grace');
  const revoked = await h.cli(['clients', 'revoke', '--secret', '-', '--json'], old);
  assert.equal(revoked.code, 0, revoked.stderr);
  const record = JSON.parse(revoked.stdout) as { client_id: string; revoked_at?: string; revokedAt?: string };
  assert.equal(record.client_id, client.client_id);
  assert.ok(!revoked.stdout.includes(old) && !revoked.stderr.includes(old));
  // The CLI is another process: the gateway applies the revocation from the change feed (< 1 s);
  // requests sent before that may still pass, none after.
  await eventually(async () => (await send(h.url, { path: '/ro/x', headers: basicOf(old) })).status === 401, 1_000, 'the revocation');
  const reached = h.upstream.received.length;
  for (const secret of [old, rotated.client_secret ?? '']) {
    assert.equal((await send(h.url, { path: '/ro/x', headers: basicOf(secret) })).status, 401, 'both secrets are refused');
  }
  assert.equal(h.upstream.received.length, reached, 'nothing reached the upstream once the revocation applied');
});

test('during a rotation grace, the CLI shows whether clients still use the previous secret (previousSecretLastUsedAt)', async (t) => {
  const h = await harness(t);
  const first = await h.json<TokenOut>(['tokens', 'create', '--label', 'g', '--scope', 'read-only']);
  const client = await h.json<ClientOut>(['clients', 'create', '--name', 'svc', '--scope', 'read-only']);
  const second = await h.json<TokenOut>(['tokens', 'rotate', first.id, '--grace', '10m']);
  await h.json(['clients', 'rotate-secret', client.client_id, '--grace', '10m']);
  const basicOf = (secret: string) => ({ authorization: `Basic ${Buffer.from(`${client.client_id}:${secret}`).toString('base64')}` });
  // Only the new token secret is used, and only the old client secret.
  assert.equal((await send(h.url, { path: '/ro/x', headers: bearer(second.token ?? '') })).status, 200);
  assert.equal((await send(h.url, { path: '/ro/x', headers: basicOf(client.client_secret ?? '') })).status, 200);
  type Used = { lastUsedAt: string | null; previousSecretLastUsedAt: string | null };
  let token: Used | undefined;
  let cli: Used | undefined;
  // Last use is written off the request path, every 5 s.
  await eventually(
    async () => {
      token = (await h.json<Array<TokenOut & Used>>(['tokens', 'list'])).find((r) => r.id === first.id);
      cli = (await h.json<Array<ClientOut & { client_id: string } & Used>>(['clients', 'list'])).find(
        (r) => r.client_id === client.client_id,
      );
      return token?.lastUsedAt !== null && cli?.lastUsedAt !== null;
    },
    12_000,
    'the last-used flush',
  );
  assert.equal(token?.previousSecretLastUsedAt, null, "the token's clients moved to the new secret");
  assert.ok(cli?.previousSecretLastUsedAt, 'the client still uses its previous secret');
  assert.equal(cli?.previousSecretLastUsedAt, cli?.lastUsedAt);
  const text = await h.cli(['clients', 'list']);
  assert.match(text.stdout, /previousSecretLastUsedAt=\d{4}-/);
});

test("the tenant reaches the backend, and require.match keeps X-Tenant to the credential's own tenant", async (t) => {
  const h = await harness(t);
  await h.json(['accounts', 'create', 'billing', '--scope', 'read-write']);
  const member = await h.json<TokenOut>(['tokens', 'create', '--label', 'm', '--scope', 'read-only', '--account', 'billing']);
  const alone = await h.json<TokenOut>(['tokens', 'create', '--label', 'a', '--scope', 'read-only']);
  const client = await h.json<ClientOut>([
    'clients',
    'create',
    '--name',
    'partner',
    '--scope',
    'read-only',
    '--org-id',
    'acme',
    '--technical-account-id',
    'ta-7',
  ]);
  const basicOf = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });
  const clientAuth = basicOf(client.client_id, client.client_secret ?? '');
  const received = () => h.upstream.received.length;

  // Accepted: the header equals the credential's identity; the backend sees it from Portcullis.
  const ok = await send(h.url, {
    path: '/by-account/x',
    headers: { ...bearer(member.token ?? ''), 'x-tenant': 'billing', 'x-portcullis-account': 'evil', x_portcullis_org_id: 'evil' },
  });
  assert.equal(ok.status, 200, ok.body);
  let seen = h.upstream.received.at(-1)?.headers;
  assert.equal(seen?.['x-portcullis-account'], 'billing');
  assert.equal(seen?.['x-portcullis-org-id'], undefined, 'a client-sent copy in any spelling is dropped');
  assert.equal(seen?.['x_portcullis_org_id'], undefined);
  assert.equal(seen?.['x-tenant'], 'billing');

  const viaClient = await send(h.url, { path: '/by-org/x', headers: { ...clientAuth, 'x-org': 'acme', 'x-technical-account': 'ta-7' } });
  assert.equal(viaClient.status, 200, viaClient.body);
  seen = h.upstream.received.at(-1)?.headers;
  assert.equal(seen?.['x-portcullis-org-id'], 'acme');
  assert.equal(seen?.['x-portcullis-technical-account-id'], 'ta-7');
  assert.equal(seen?.['x-portcullis-account'], undefined);

  // The access token the client gets from the token endpoint carries the same tenant.
  const issued = await send(h.url, {
    method: 'POST',
    path: '/oauth2/token',
    body: 'grant_type=client_credentials',
    headers: { ...clientAuth, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(issued.status, 200, issued.body);
  const accessToken = issued.json<{ access_token: string }>().access_token;
  const viaJwt = await send(h.url, {
    path: '/by-org/x',
    headers: { ...bearer(accessToken), 'x-org': 'acme', 'x-technical-account': 'ta-7' },
  });
  assert.equal(viaJwt.status, 200, viaJwt.body);
  assert.equal(h.upstream.received.at(-1)?.headers['x-portcullis-org-id'], 'acme');

  // Refused, and nothing reaches the upstream.
  const before = received();
  const refusals: Array<{ path: string; headers: Record<string, string>; status: number; code: string }> = [
    { path: '/by-account/x', headers: { ...bearer(member.token ?? ''), 'x-tenant': 'other' }, status: 403, code: 'auth.identity_mismatch' },
    {
      path: '/by-account/x',
      headers: { ...bearer(member.token ?? ''), 'x-tenant': 'Billing' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
    {
      path: '/by-account/x',
      headers: { ...bearer(member.token ?? ''), 'x-tenant': 'billing ,other' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
    {
      path: '/by-account/x',
      headers: { ...bearer(alone.token ?? ''), 'x-tenant': 'billing' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
    { path: '/by-account/x', headers: { ...clientAuth, 'x-tenant': 'acme' }, status: 403, code: 'auth.identity_mismatch' },
    { path: '/by-account/x', headers: { ...bearer(member.token ?? '') }, status: 400, code: 'request.missing_header' },
    { path: '/by-account/x', headers: { ...bearer(member.token ?? ''), 'x-tenant': '' }, status: 400, code: 'request.missing_header' },
    {
      path: '/by-org/x',
      headers: { ...clientAuth, 'x-org': 'globex', 'x-technical-account': 'ta-7' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
    {
      path: '/by-org/x',
      headers: { ...bearer(accessToken), 'x-org': 'acme', 'x-technical-account': 'ta-8' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
    {
      path: '/by-org/x',
      headers: { ...bearer(member.token ?? ''), 'x-org': 'acme', 'x-technical-account': 'ta-7' },
      status: 403,
      code: 'auth.identity_mismatch',
    },
  ];
  for (const r of refusals) {
    const answer = await send(h.url, { path: r.path, headers: r.headers });
    assert.equal(answer.status, r.status, `${JSON.stringify(r.headers)}: ${answer.body}`);
    assert.equal(answer.json().code, r.code);
  }
  // Two copies, one in another spelling a backend may read as the same header.
  const raw = await sendRaw(
    Number(new URL(h.url).port),
    `GET /by-account/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${member.token ?? ''}\r\nX-Tenant: billing\r\nX_Tenant: other\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(raw.status, 400);
  assert.equal(received(), before, 'no refused request reached the upstream');
});
