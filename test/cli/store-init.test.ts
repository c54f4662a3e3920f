/**
 * A store is created by an explicit `portcullis store init`; `start` and every
 * credential command refuse a SQLite store that does not exist (or holds no schema), naming the
 * path and the command that creates it, and create nothing. A mistyped path or an unmounted
 * volume therefore never becomes an empty store served as ready.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { sharedCerts } from '../support/certs.js';
import { runCliAsIs } from '../support/cli.js';
import { send } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { spawnGatewayProcess, startGatewayProcess } from '../support/gateway.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

interface Setup {
  readonly dir: string;
  readonly configFile: string;
  /** The store file the configuration names (under `data/`, which does not exist yet). */
  readonly storeFile: string;
  readonly upstream: RecordingUpstream;
}

async function setup(t: TestContext, storePath = './data/pcl.db'): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const upstream = await startRecordingUpstream();
  t.after(() => upstream.close());
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `listen: "127.0.0.1:0"
admin: { listen: "127.0.0.1:0" }
metrics: { listen: "127.0.0.1:0" }
store: { url: "sqlite:${storePath}" }
limits: { shutdownDelay: 0s }
routes:
  - name: api
    match: { path: /api }
    upstream: "https://127.0.0.1:${upstream.port}"
    upstreamCa: "${sharedCerts().ca.caCertPath}"
    access: read-only
`,
  );
  return { dir, configFile, storeFile: join(dir, storePath), upstream };
}

/** The refusal every command gives on a store that was never created. */
function assertRefusedText(stderr: string, storeFile: string, configFile: string): void {
  assert.ok(stderr.includes(storeFile), `names the path: ${stderr}`);
  assert.ok(stderr.includes(`portcullis store init --config ${configFile}`), `names the command that creates it: ${stderr}`);
}

test('start on a store that does not exist: exit 1 naming the path and `store init`; nothing is created, nothing listens', async (t) => {
  const s = await setup(t);
  for (const args of [[], ['--workers', '2']]) {
    const started = await spawnGatewayProcess(t, s.configFile, { args, initStore: false });
    assert.equal(await started.exited, 1, started.logs());
    assertRefusedText(started.logs(), s.storeFile, s.configFile);
    assert.doesNotMatch(started.logs(), /gateway\.started/, 'no listener was opened, so no /readyz ever answered 200');
    assert.equal(existsSync(join(s.dir, 'data')), false, `${args.join(' ')}: neither the file nor its directory was created`);
  }
  const json = await runCliAsIs(['start', '--config', s.configFile, '--json']);
  assert.equal(json.code, 1);
  const body = JSON.parse(json.stderr) as { error: { code: string; message: string; command: string; init: string } };
  assert.equal(body.error.code, 'store.not_initialised');
  assert.equal(body.error.command, 'portcullis start');
  assert.equal(body.error.init, `portcullis store init --config ${s.configFile}`);
  assertRefusedText(body.error.message, s.storeFile, s.configFile);
  assert.equal(existsSync(join(s.dir, 'data')), false);
  assert.equal(s.upstream.arrived.length, 0);
});

test('every credential command refuses a store that does not exist, as text and as JSON, and creates nothing', async (t) => {
  const s = await setup(t);
  const commands = [
    ['tokens', 'create', '--label', 'app', '--scope', 'read-only'],
    ['tokens', 'list'],
    ['tokens', 'revoke', 'tok_x'],
    ['accounts', 'create', 'team', '--scope', 'read-only'],
    ['accounts', 'list'],
    ['clients', 'create', '--name', 'svc', '--scope', 'read-only'],
    ['clients', 'list'],
    ['keys', 'list'],
    ['keys', 'rotate'],
    ['store', 'backup', join(s.dir, 'backup.db')],
    ['store', 'migrate'],
  ];
  for (const command of commands) {
    const text = await runCliAsIs([...command, '--config', s.configFile]);
    assert.equal(text.code, 1, `${command.join(' ')}: ${text.stderr}`);
    assertRefusedText(text.stderr, s.storeFile, s.configFile);
    assert.equal(text.stdout, '', `${command.join(' ')} printed nothing on stdout`);
    const json = await runCliAsIs([...command, '--config', s.configFile, '--json']);
    assert.equal(json.code, 1, command.join(' '));
    const body = JSON.parse(json.stderr) as { error: { code: string; init: string } };
    assert.equal(body.error.code, 'store.not_initialised', command.join(' '));
    assert.equal(body.error.init, `portcullis store init --config ${s.configFile}`);
  }
  assert.deepEqual(readdirSync(s.dir).sort(), ['portcullis.yaml'], 'no store, directory or backup was created');
});

test('store init creates the store (owner-only), is idempotent, and then start and the credential commands work', async (t) => {
  const s = await setup(t);
  const first = await runCliAsIs(['store', 'init', '--config', s.configFile]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /sqlite:.*data\/pcl\.db: created; schema at version \d+/);
  assert.equal(statSync(s.storeFile).mode & 0o777, 0o600);
  const again = await runCliAsIs(['store', 'init', '--config', s.configFile, '--json']);
  assert.equal(again.code, 0, again.stderr);
  const body = JSON.parse(again.stdout) as { created: boolean; applied: number[]; version: number };
  assert.equal(body.created, false);
  assert.deepEqual(body.applied, []);
  const text = await runCliAsIs(['store', 'init', '--config', s.configFile]);
  assert.match(text.stdout, /already exists; schema at version \d+/);

  const created = await runCliAsIs(['tokens', 'create', '--label', 'app', '--scope', 'read-only', '--config', s.configFile, '--json']);
  assert.equal(created.code, 0, created.stderr);
  const token = (JSON.parse(created.stdout) as { token: string }).token;
  // Idempotent means harmless: a second init keeps what the store holds.
  assert.equal((await runCliAsIs(['store', 'init', '--config', s.configFile])).code, 0);

  // Started on the store this test initialised, not on one the helper would create.
  const started = await startGatewayProcess(t, s.configFile, { initStore: false });
  const proxy = started.url;
  const metrics = started.metricsUrl;
  await eventually(async () => (await send(metrics, { path: '/readyz' })).status === 200, 10_000, 'ready');
  const answer = await send(proxy, { path: '/api/x', headers: { authorization: `Bearer ${token}` } });
  assert.equal(answer.status, 200);
  assert.equal(s.upstream.arrived.length, 1);
});

test('a mistyped path is never created: not the file, not its directory, not under a parent that exists', async (t) => {
  const s = await setup(t, './data/pcl.db');
  assert.equal((await runCliAsIs(['store', 'init', '--config', s.configFile])).code, 0);
  // The operator meant data/pcl.db, typed dat/pcl.db and then data/pcl.sqlite.
  for (const typo of ['./dat/pcl.db', './data/pcl.sqlite']) {
    const file = join(s.dir, typo);
    writeFileSync(s.configFile, readFileSync(s.configFile, 'utf8').replace(/sqlite:[^"]+/, `sqlite:${typo}`));
    const start = await runCliAsIs(['start', '--config', s.configFile]);
    assert.equal(start.code, 1, start.stderr);
    assertRefusedText(start.stderr, file, s.configFile);
    const create = await runCliAsIs(['tokens', 'create', '--label', 'app', '--scope', 'read-only', '--config', s.configFile]);
    assert.equal(create.code, 1, create.stderr);
    assert.equal(existsSync(file), false, typo);
  }
  assert.equal(existsSync(join(s.dir, 'dat')), false);
  assert.deepEqual(
    readdirSync(join(s.dir, 'data')).filter((f) => f.startsWith('pcl.sqlite')),
    [],
  );
});

test("an existing file that is not a store (empty, e.g. an unmounted volume's placeholder) is refused and left untouched", async (t) => {
  const s = await setup(t, './pcl.db');
  writeFileSync(s.storeFile, '');
  const start = await runCliAsIs(['start', '--config', s.configFile]);
  assert.equal(start.code, 1, start.stderr);
  assert.match(start.stderr, /holds no Portcullis schema/);
  assertRefusedText(start.stderr, s.storeFile, s.configFile);
  const create = await runCliAsIs(['tokens', 'create', '--label', 'app', '--scope', 'read-only', '--config', s.configFile]);
  assert.equal(create.code, 1, create.stderr);
  assert.match(create.stderr, /holds no Portcullis schema/);
  assert.equal(statSync(s.storeFile).size, 0, 'not written');
  assert.equal(existsSync(`${s.storeFile}-wal`), false);
  // store init takes the explicit decision.
  assert.equal((await runCliAsIs(['store', 'init', '--config', s.configFile])).code, 0);
  assert.equal((await runCliAsIs(['tokens', 'list', '--config', s.configFile])).code, 0);
});

test('/readyz is never ready on a store that is gone: the store deleted under a running gateway turns it 503 and is not recreated', async (t) => {
  const s = await setup(t);
  assert.equal((await runCliAsIs(['store', 'init', '--config', s.configFile])).code, 0);
  const metrics = (await startGatewayProcess(t, s.configFile, { initStore: false })).metricsUrl;
  await eventually(async () => (await send(metrics, { path: '/readyz' })).status === 200, 10_000, 'ready');
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(`${s.storeFile}${suffix}`)) unlinkSync(`${s.storeFile}${suffix}`);
  await eventually(async () => (await send(metrics, { path: '/readyz' })).status === 503, 15_000, '/readyz 503');
  assert.equal(existsSync(s.storeFile), false, 'the gateway did not create a new, empty store');
});
