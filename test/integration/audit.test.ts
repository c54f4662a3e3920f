/**
 * The audit trail through its doors (docs/audit.md): a real gateway with its admin listener and
 * the real `portcullis` CLI on the same SQLite store. Every change through the admin API or the
 * CLI produces exactly one entry with the right who, what, target, when and address; reads and
 * refused calls produce none; `GET /v1/audit` and `portcullis audit list` answer the documented
 * shapes, filter by `since`, and refuse bad values clearly; no secret is ever in the trail; the
 * signing keys are listed and rotated on the admin API as with `portcullis keys`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { ADMIN_OPENAPI } from '../../src/admin/openapi.js';
import { loadConfigFile } from '../../src/config/index.js';
import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/observe/logger.js';
import { createServices } from '../../src/services.js';
import { runCli, runCliJson, type CliResult } from '../support/cli.js';
import { type Answer, send } from '../support/client.js';
import { initTestStore } from '../support/init-store.js';

interface Harness {
  readonly adminUrl: string;
  readonly dbFile: string;
  readonly configFile: string;
  cli(args: string[]): Promise<CliResult>;
  json<T>(args: string[]): Promise<T>;
  api(method: string, path: string, body?: object, headers?: Record<string, string>): Promise<Answer>;
  /** Creates an admin token through the CLI and uses it for `api`. */
  adminToken(): Promise<{ id: string; token: string }>;
}

interface EntryJson {
  id: number;
  at: string;
  actor: string;
  actorKind: string;
  action: string;
  target: string | null;
  address: string | null;
  details: Record<string, unknown>;
}

/** The audit action of each changing operation of the admin API (by OpenAPI operationId). */
const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  accountsCreate: 'account.create',
  accountsSetScope: 'account.set_scope',
  accountsDisable: 'account.disable',
  accountsEnable: 'account.enable',
  tokensCreate: 'token.create',
  tokensRotate: 'token.rotate',
  tokensRevoke: 'token.revoke',
  tokensDeprecate: 'token.deprecate',
  clientsCreate: 'client.create',
  clientsRotateSecret: 'client.rotate_secret',
  clientsRevoke: 'client.revoke',
  clientsDeprecate: 'client.deprecate',
  signingKeysRotate: 'signing_key.rotate',
};

async function harness(t: TestContext): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-audit-'));
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:./portcullis.db" }
log: { level: silent }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:9"
`,
  );
  const loaded = loadConfigFile(configFile);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const logger = createLogger('silent');
  await initTestStore(loaded.config);
  const services = await createServices(loaded.config, logger);
  const gateway = await startGateway(loaded.config, services, logger);
  t.after(async () => {
    await gateway.close(500);
    await services.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const adminUrl = `http://127.0.0.1:${gateway.adminAddress?.port ?? 0}`;
  let authorization = '';
  const h: Harness = {
    adminUrl,
    dbFile: join(dir, 'portcullis.db'),
    configFile,
    cli: (args) => runCli([...args, '--config', configFile]),
    json: <T>(args: string[]) => runCliJson<T>([...args, '--config', configFile]),
    api: (method, path, body, headers = {}) =>
      send(adminUrl, {
        method,
        path,
        headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    async adminToken() {
      const created = await h.json<{ id: string; token: string }>(['tokens', 'create', '--label', 'ops', '--scope', 'admin']);
      authorization = `Bearer ${created.token}`;
      return created;
    },
  };
  return h;
}

async function entries(h: Harness, query = 'limit=1000'): Promise<EntryJson[]> {
  const answer = await h.api('GET', `/v1/audit?${query}`);
  assert.equal(answer.status, 200, answer.body);
  const body = answer.json<{ entries: EntryJson[] }>();
  assert.deepEqual(Object.keys(body), ['entries']);
  return body.entries;
}

/** The operating-system user the CLI records, as cli-actor.ts finds it. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? `uid-${process.getuid?.() ?? ''}`;
  }
}

test('admin API: each change records exactly one entry (credential id, action, target, peer address); reads and refusals none', async (t) => {
  const h = await harness(t);
  const admin = await h.adminToken();
  const actor = `credential:${admin.id}`;
  let tokenId = '';
  let clientId = '';
  let kid = '';
  const sweep: [action: string, call: () => Promise<Answer>, target: () => string][] = [
    ['account.create', () => h.api('POST', '/v1/accounts', { name: 'acme', scope: 'read-write' }), () => 'acme'],
    ['account.set_scope', () => h.api('POST', '/v1/accounts/acme/scope', { scope: 'read-only' }), () => 'acme'],
    ['account.disable', () => h.api('POST', '/v1/accounts/acme/disable'), () => 'acme'],
    ['account.enable', () => h.api('POST', '/v1/accounts/acme/enable'), () => 'acme'],
    [
      'token.create',
      async () => {
        const answer = await h.api('POST', '/v1/tokens', { label: 'ci', scope: 'read-only', account: 'acme', expiresIn: '30d' });
        tokenId = answer.json<{ id: string }>().id;
        return answer;
      },
      () => tokenId,
    ],
    ['token.rotate', () => h.api('POST', `/v1/tokens/${tokenId}/rotate`, { grace: '10m' }), () => tokenId],
    [
      'token.deprecate',
      () => h.api('POST', `/v1/tokens/${tokenId}/deprecate`, { sunset: '2099-01-01T00:00:00Z', link: 'https://wiki.example.com/move' }),
      () => tokenId,
    ],
    ['token.revoke', () => h.api('POST', `/v1/tokens/${tokenId}/revoke`), () => tokenId],
    [
      'client.create',
      async () => {
        const answer = await h.api('POST', '/v1/clients', { name: 'crm', scope: 'read-only', orgId: 'ORG' });
        clientId = answer.json<{ client_id: string }>().client_id;
        return answer;
      },
      () => clientId,
    ],
    ['client.rotate_secret', () => h.api('POST', `/v1/clients/${clientId}/rotate-secret`), () => clientId],
    ['client.deprecate', () => h.api('POST', `/v1/clients/${clientId}/deprecate`, { sunset: '2099-01-01T00:00:00Z' }), () => clientId],
    ['client.revoke', () => h.api('POST', `/v1/clients/${clientId}/revoke`), () => clientId],
    [
      'signing_key.rotate',
      async () => {
        const answer = await h.api('POST', '/v1/signing-keys/rotate');
        kid = answer.json<{ kid: string }>().kid;
        return answer;
      },
      () => kid,
    ],
  ];
  // Every POST of the admin API (as its OpenAPI description lists them) is in the sweep: a new
  // endpoint that changes something cannot be added without being shown to record its change.
  const postOperations = Object.values(ADMIN_OPENAPI.paths)
    .flatMap((item) => ('post' in item ? [item.post.operationId] : []))
    .sort();
  assert.deepEqual(postOperations, Object.keys(ACTION_OF_OPERATION).sort());
  assert.deepEqual(sweep.map(([action]) => action).sort(), Object.values(ACTION_OF_OPERATION).sort());
  let count = (await entries(h)).length;
  assert.equal(count, 1, 'the admin token created at the CLI');
  for (const [action, call, target] of sweep) {
    const started = Date.now();
    // A client-sent X-Forwarded-For is not believed: the admin listener records its TCP peer.
    const answer = await call();
    assert.ok(answer.status === 200 || answer.status === 201, `${action}: ${answer.status} ${answer.body}`);
    const all = await entries(h);
    assert.equal(all.length, count + 1, `${action}: exactly one entry`);
    count = all.length;
    const entry = all[0];
    assert.ok(entry);
    assert.deepEqual(Object.keys(entry), ['id', 'at', 'actor', 'actorKind', 'action', 'target', 'address', 'details']);
    assert.equal(entry.action, action);
    assert.equal(entry.target, target());
    assert.equal(entry.actor, actor);
    assert.equal(entry.actorKind, 'credential');
    assert.equal(entry.address, '127.0.0.1');
    assert.ok(Date.parse(entry.at) >= started - 1000 && Date.parse(entry.at) <= Date.now() + 1000, `${action}: at ${entry.at}`);
    assert.match(entry.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  const all = await entries(h);
  assert.deepEqual(
    all.slice(0, sweep.length).map((e) => e.action),
    sweep.map(([action]) => action).reverse(),
    'newest first',
  );
  assert.deepEqual(all.find((e) => e.action === 'token.create')?.details, {
    label: 'ci',
    scope: 'read-only',
    account: 'acme',
    expiresAt: all.find((e) => e.action === 'token.create')?.details.expiresAt,
  });

  // Reads, refused changes and unauthenticated calls leave no entry.
  for (const path of ['/v1/accounts', '/v1/tokens', '/v1/clients', '/v1/signing-keys', '/v1/audit'])
    assert.equal((await h.api('GET', path)).status, 200);
  assert.equal((await h.api('POST', '/v1/tokens/tok_0000000000000000000000/revoke')).status, 404);
  assert.equal((await h.api('POST', `/v1/tokens/${tokenId}/rotate`)).status, 409, 'a revoked token cannot rotate');
  assert.equal((await h.api('POST', '/v1/accounts', { name: 'acme', scope: 'read-only' })).status, 409);
  assert.equal((await h.api('POST', '/v1/tokens', { label: 'x', scope: 'superuser' })).status, 400);
  assert.equal(
    (
      await send(h.adminUrl, {
        method: 'POST',
        path: '/v1/accounts',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x","scope":"read-only"}',
      })
    ).status,
    401,
  );
  const xff = await h.api('POST', '/v1/accounts', { name: 'spoofed', scope: 'read-only' }, { 'x-forwarded-for': '198.51.100.7' });
  assert.equal(xff.status, 201);
  const after = await entries(h);
  assert.equal(after.length, count + 1, 'only the last (successful) change was recorded');
  assert.equal(after[0]?.address, '127.0.0.1', 'X-Forwarded-For is not believed on the admin listener');
});

test('CLI: each change records exactly one entry as cli:<os user> with no address; audit list shows it', async (t) => {
  const h = await harness(t);
  const actor = `cli:${osUser()}`;
  let tokenId = '';
  let clientId = '';
  const sweep: [action: string, args: () => string[], target: () => string, keep?: (out: Record<string, unknown>) => void][] = [
    ['account.create', () => ['accounts', 'create', 'acme', '--scope', 'read-write'], () => 'acme'],
    ['account.set_scope', () => ['accounts', 'set-scope', 'acme', 'read-only'], () => 'acme'],
    ['account.disable', () => ['accounts', 'disable', 'acme'], () => 'acme'],
    ['account.enable', () => ['accounts', 'enable', 'acme'], () => 'acme'],
    [
      'token.create',
      () => ['tokens', 'create', '--label', 'ci', '--scope', 'read-only', '--account', 'acme'],
      () => tokenId,
      (o) => {
        tokenId = String(o.id);
      },
    ],
    ['token.rotate', () => ['tokens', 'rotate', tokenId, '--grace', '1m'], () => tokenId],
    ['token.revoke', () => ['tokens', 'revoke', tokenId], () => tokenId],
    [
      'client.create',
      () => ['clients', 'create', '--name', 'crm', '--scope', 'read-only'],
      () => clientId,
      (o) => {
        clientId = String(o.client_id);
      },
    ],
    ['client.rotate_secret', () => ['clients', 'rotate-secret', clientId], () => clientId],
    ['client.revoke', () => ['clients', 'revoke', clientId], () => clientId],
    ['signing_key.rotate', () => ['keys', 'rotate'], () => '(the new kid: checked below)'],
  ];
  let count = (await h.json<EntryJson[]>(['audit', 'list', '--limit', '1000'])).length;
  for (const [action, args, target, keep] of sweep) {
    const out = await h.json<Record<string, unknown>>(args());
    keep?.(out);
    const all = await h.json<EntryJson[]>(['audit', 'list', '--limit', '1000']);
    assert.equal(all.length, count + 1, `${action}: exactly one entry`);
    count = all.length;
    const entry = all[0];
    assert.equal(entry?.action, action);
    assert.equal(entry?.actor, actor);
    assert.equal(entry?.actorKind, 'cli');
    assert.equal(entry?.address, null);
    if (action === 'signing_key.rotate') assert.equal(entry?.target, out.kid);
    else assert.equal(entry?.target, target());
  }
  // The API shows the same entries, in the same shape.
  await h.adminToken();
  const viaApi = await entries(h);
  const viaCli = await h.json<EntryJson[]>(['audit', 'list', '--limit', '1000']);
  assert.deepEqual(viaCli, viaApi);

  // Refused commands and reads leave no entry.
  assert.equal((await h.cli(['tokens', 'rotate', tokenId])).code, 1);
  assert.equal((await h.cli(['accounts', 'create', 'acme', '--scope', 'read-only'])).code, 1);
  assert.equal((await h.cli(['tokens', 'list'])).code, 0);
  assert.equal((await h.cli(['keys', 'list'])).code, 0);
  assert.equal((await h.json<EntryJson[]>(['audit', 'list', '--limit', '1000'])).length, viaCli.length);

  const text = await h.cli(['audit', 'list', '--limit', '2']);
  assert.equal(text.code, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(
    lines[0],
    `${viaCli[0]?.at}  ${actor}  token.create  ${viaCli[0]?.target}  -  {"label":"ops","scope":"admin","account":null,"expiresAt":null}`,
    'the admin token just made',
  );
});

test('signing keys on the admin API: the list is keys list --json; rotate answers as keys rotate; never private material', async (t) => {
  const h = await harness(t);
  await h.adminToken();
  const listed = await h.api('GET', '/v1/signing-keys');
  assert.equal(listed.status, 200);
  const viaCli = await h.json<object[]>(['keys', 'list']);
  assert.deepEqual(listed.json(), viaCli);
  const rotated = await h.api('POST', '/v1/signing-keys/rotate');
  assert.equal(rotated.status, 200, rotated.body);
  const body = rotated.json<{ kid: string; state: string; previous: { kid: string; state: string } | null }>();
  assert.equal(body.state, 'active');
  assert.equal(body.previous?.state, 'verifying');
  const after = await h.api('GET', '/v1/signing-keys');
  const keys = after.json<{ kid: string; state: string }[]>();
  assert.deepEqual(
    keys.map((k) => [k.kid, k.state]),
    [
      [body.kid, 'active'],
      [body.previous?.kid, 'verifying'],
    ],
  );
  for (const text of [listed.body, rotated.body, after.body]) {
    assert.doesNotMatch(text, /"d"\s*:|privateJwk|"x"\s*:/, 'no key material');
  }
  assert.deepEqual(Object.keys(keys[0] ?? {}), ['kid', 'alg', 'state', 'createdAt', 'retiredAt', 'verifiesUntil', 'encryptedWith']);
  assert.equal((await h.api('GET', '/v1/signing-keys/rotate')).status, 405);
  assert.equal((await h.api('POST', '/v1/signing-keys')).status, 405);
});

test('since: a duration or an ISO instant filters; bad since and limit values are refused clearly (API 400, CLI exit 2)', async (t) => {
  const h = await harness(t);
  await h.adminToken();
  assert.equal((await h.api('POST', '/v1/accounts', { name: 'early', scope: 'read-only' })).status, 201);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const between = new Date().toISOString();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await h.api('POST', '/v1/accounts', { name: 'late', scope: 'read-only' })).status, 201);

  assert.deepEqual(
    (await entries(h, `since=${encodeURIComponent(between)}`)).map((e) => e.target),
    ['late'],
  );
  assert.deepEqual((await entries(h, 'since=1h')).map((e) => e.target).slice(0, 2), ['late', 'early']);
  assert.equal((await entries(h, 'since=1h')).length, 3, 'the admin token too');
  assert.deepEqual(await entries(h, `since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), []);
  assert.deepEqual(
    (await entries(h, 'limit=1')).map((e) => e.target),
    ['late'],
  );
  assert.deepEqual(
    (await entries(h, 'action=account.create')).map((e) => e.target),
    ['late', 'early'],
  );
  const cliSince = await h.json<EntryJson[]>(['audit', 'list', '--since', between]);
  assert.deepEqual(
    cliSince.map((e) => e.target),
    ['late'],
  );
  assert.equal((await h.json<EntryJson[]>(['audit', 'list', '--since', '30m'])).length, 3);

  const bad: [query: string, message: RegExp][] = [
    ['since=yesterday', /since must be a duration back from now \(30m, 1h, 7d\) or an ISO-8601 instant/],
    ['since=1y', /since must be a duration/],
    ['since=-1h', /since must be a duration/],
    ['since=', /since must be a duration/],
    ['since=2026-13-45T00:00:00Z', /since must be a duration/],
    ['since=1h&since=2h', /since is given more than once/],
    ['since=99999999999999999d', /since is too large/],
    ['limit=0', /limit must be a whole number from 1 to 1000/],
    ['limit=1001', /limit must be a whole number from 1 to 1000/],
    ['limit=ten', /limit must be a whole number/],
    ['actor=', /actor must be 1-200 characters/],
  ];
  for (const [query, message] of bad) {
    const answer = await h.api('GET', `/v1/audit?${query}`);
    assert.equal(answer.status, 400, query);
    const problem = answer.json<{ code: string; detail: string }>();
    assert.equal(problem.code, 'admin.invalid_request', query);
    assert.match(problem.detail, message, query);
  }
  for (const [args, message] of [
    [['--since', 'yesterday'], /--since must be a duration back from now/],
    [['--since', '1y'], /--since must be a duration/],
    [['--limit', '0'], /--limit must be a whole number from 1 to 1000/],
    [['--limit', 'x'], /--limit must be a whole number/],
  ] as const) {
    const result = await h.cli(['audit', 'list', ...args]);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message);
    assert.match(result.stderr, /usage: portcullis audit list/);
    const json = await h.cli(['audit', 'list', ...args, '--json']);
    assert.equal(json.code, 2);
    const error = (JSON.parse(json.stderr) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'usage');
    assert.match(error.message, message);
  }
});

test('no secret in the audit trail: tokens and clients created and rotated by API and CLI; raw database bytes and every output scanned', async (t) => {
  const h = await harness(t);
  const admin = await h.adminToken();
  const secrets = [admin.token];
  const token = (await h.api('POST', '/v1/tokens', { label: 'deploy', scope: 'read-write' })).json<{ id: string; token: string }>();
  secrets.push(token.token);
  secrets.push((await h.api('POST', `/v1/tokens/${token.id}/rotate`, { grace: '1h' })).json<{ token: string }>().token);
  const client = (await h.api('POST', '/v1/clients', { name: 'crm', scope: 'read-only' })).json<{
    client_id: string;
    client_secret: string;
  }>();
  secrets.push(client.client_secret);
  secrets.push((await h.api('POST', `/v1/clients/${client.client_id}/rotate-secret`)).json<{ client_secret: string }>().client_secret);
  const cliToken = await h.json<{ id: string; token: string }>(['tokens', 'create', '--label', 'cli', '--scope', 'read-only']);
  secrets.push(cliToken.token, (await h.json<{ token: string }>(['tokens', 'rotate', cliToken.id])).token);
  const cliClient = await h.json<{ client_id: string; client_secret: string }>([
    'clients',
    'create',
    '--name',
    'c2',
    '--scope',
    'read-only',
  ]);
  secrets.push(
    cliClient.client_secret,
    (await h.json<{ client_secret: string }>(['clients', 'rotate-secret', cliClient.client_id])).client_secret,
  );
  // Revoking by secret records the id, never the secret it was found by.
  const leaked = await h.json<{ id: string; token: string }>(['tokens', 'create', '--label', 'leaked', '--scope', 'read-only']);
  secrets.push(leaked.token);
  const bySecret = await runCli(['tokens', 'revoke', '--secret', '-', '--config', h.configFile], {}, leaked.token);
  assert.equal(bySecret.code, 0, bySecret.stderr);

  const all = await entries(h);
  assert.equal(all.length, 11);
  assert.equal(all[0]?.action, 'token.revoke');
  assert.equal(all[0]?.target, leaked.id);
  const outputs = [
    JSON.stringify(all),
    (await h.cli(['audit', 'list', '--limit', '1000'])).stdout,
    (await h.cli(['audit', 'list', '--limit', '1000', '--json'])).stdout,
  ];
  const files = [h.dbFile, `${h.dbFile}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1'));
  assert.ok(
    files.some((bytes) => bytes.includes(leaked.id)),
    'the scan reads the rows',
  );
  for (const secret of secrets) {
    for (const text of [...outputs, ...files]) assert.equal(text.includes(secret), false, 'a secret in the audit trail or the database');
  }
});
