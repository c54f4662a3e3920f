/**
 * The PostgreSQL store against a real server (test/support/postgres.ts): the contract suite,
 * migrations (concurrent starters, newer schema, store.migrate false), the change feed's commit
 * order, the push channel across a restart, time bounds, and the message of each way a
 * connection can fail — none of which may show the password.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/credentials/open-store.js';
import { maskStoreUrl } from '../../src/credentials/postgres-location.js';
import { POSTGRES_MIGRATIONS } from '../../src/credentials/postgres-migrations.js';
import { migratePostgres, openPostgresBackend } from '../../src/credentials/postgres-store.js';
import { parsePostgresUrl } from '../../src/credentials/postgres-location.js';
import { hashSecret } from '../../src/credentials/secrets.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import { isStoreError } from '../../src/credentials/store-error.js';
import { createTestCa } from '../support/certs.js';
import { runCliAsIs } from '../support/cli.js';
import { adminQuery, freshDatabase, privateCluster, testCluster, withDatabase } from '../support/postgres.js';
import { auditContract } from './audit-contract.js';
import { fakeKey, storeContract } from './store-contract.js';

/** Every schema version this Portcullis knows, in order. */
const VERSIONS = POSTGRES_MIGRATIONS.map((m) => m.version);
const LATEST = Math.max(...VERSIONS);

const PASSWORD = new URL(testCluster().url).password;

async function openFresh(t: test.TestContext, options = {}): Promise<{ store: CredentialStore; url: string }> {
  const { url } = await freshDatabase(t);
  const store = await openStore(url, { create: true, ...options });
  t.after(() => store.close());
  return { store, url };
}

const postgresBackend = {
  name: 'postgres',
  open: openFresh,
  raw: async (t: test.TestContext, url: string) => {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined); // the database is dropped with FORCE after the test
    await client.connect();
    t.after(() => client.end());
    return async (sql: string, params: unknown[]) => {
      let n = 0;
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    };
  },
  auditBytes: (_t: test.TestContext, url: string) =>
    withClient(url, async (client) =>
      JSON.stringify((await client.query({ text: 'SELECT audit_log::text FROM audit_log', rowMode: 'array' })).rows),
    ),
};
storeContract(postgresBackend);
auditContract(postgresBackend);

/** Runs `fn` on a raw connection to `url`. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The message of the store error `promise` rejects with (asserting it is one, of `reason`). */
async function messageOf(promise: Promise<unknown>, reason = 'unavailable'): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(isStoreError(error), `expected a store error, got ${String(error)}`);
  assert.equal(error.reason, reason, error.message);
  return error.message;
}

function assertNoPassword(text: string, ...passwords: string[]): void {
  for (const password of [PASSWORD, ...passwords]) {
    assert.equal(text.includes(password), false, `password in: ${text}`);
    assert.equal(text.includes(encodeURIComponent(password)), false);
  }
}

test('postgres: concurrent starters migrate once; reopening applies nothing', async (t) => {
  const { url } = await freshDatabase(t);
  const results = await Promise.all(Array.from({ length: 6 }, () => migratePostgres(parsePostgresUrl(url), true, 10_000)));
  assert.deepEqual(results.map((r) => r.applied.length).sort(), [0, 0, 0, 0, 0, VERSIONS.length], 'one starter applied every migration');
  const rows = await withClient(
    url,
    async (c) => (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows,
  );
  assert.deepEqual(
    rows.map((r: { version: number }) => r.version),
    VERSIONS,
  );
  const store = await openStore(url, { create: true });
  await store.close();
  assert.equal(
    (await withClient(url, async (c) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations'))).rows[0]?.n,
    VERSIONS.length,
  );
});

test('postgres: a database with a newer schema is refused, and nothing is written', async (t) => {
  const { store, url } = await openFresh(t);
  await store.tokens.create({ label: 'before', scope: 'read-only' });
  await store.close();
  await withClient(url, (c) => c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 0)"));
  const snapshot = (): Promise<unknown> =>
    withClient(url, async (c) => [
      (await c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')).rows,
      (await c.query('SELECT id, revoked_at FROM tokens')).rows,
      (await c.query('SELECT count(*)::int AS n FROM changes')).rows,
    ]);
  const before = await snapshot();
  const message = await messageOf(openStore(url, { create: true }), 'incompatible_schema');
  assert.match(message, new RegExp(`schema version 99, newer than this Portcullis knows \\(${LATEST}\\): upgrade Portcullis`));
  assertNoPassword(message);
  assert.deepEqual(await snapshot(), before);
});

test('postgres: store.migrate false refuses a database that is behind, naming `portcullis store migrate`', async (t) => {
  const { url } = await freshDatabase(t);
  const message = await messageOf(openStore(url, { create: true, migrate: false }), 'incompatible_schema');
  assert.match(message, new RegExp(`schema version 0, this Portcullis needs ${LATEST}: run \`portcullis store migrate\``));
  assert.equal(
    (await withClient(url, (c) => c.query<{ t: string | null }>("SELECT to_regclass('schema_migrations') AS t"))).rows[0]?.t,
    null,
    'nothing created',
  );
  await migratePostgres(parsePostgresUrl(url), true, 10_000);
  const store = await openStore(url, { create: true, migrate: false });
  await store.close();
});

test('postgres: a database without the schema is refused as not initialised, by openStore and the CLI; store init creates it, idempotently', async (t) => {
  const { url } = await freshDatabase(t);
  const noSchema = async (): Promise<boolean> =>
    (await withClient(url, (c) => c.query<{ t: string | null }>("SELECT to_regclass('schema_migrations') AS t"))).rows[0]?.t === null;
  const message = await messageOf(openStore(url), 'not_initialised');
  assert.match(message, /holds no Portcullis schema/);
  assertNoPassword(message);
  assert.ok(await noSchema(), 'nothing created');

  const dir = mkdtempSync(join(tmpdir(), 'pcl-pg-init-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(
    configFile,
    `store: { url: "${url}" }\nroutes:\n  - name: a\n    match: { path: /a }\n    upstream: "https://127.0.0.1:9"\n    auth: "off"\n`,
  );
  for (const command of [
    ['tokens', 'list'],
    ['accounts', 'create', 'team', '--scope', 'read-only'],
  ]) {
    const refused = await runCliAsIs([...command, '--config', configFile, '--json']);
    assert.equal(refused.code, 1, refused.stderr);
    const body = JSON.parse(refused.stderr) as { error: { code: string; message: string; init: string } };
    assert.equal(body.error.code, 'store.not_initialised');
    assert.equal(body.error.init, `portcullis store init --config ${configFile}`);
    assertNoPassword(refused.stderr);
  }
  assert.ok(await noSchema(), 'the CLI created nothing');

  const init = await runCliAsIs(['store', 'init', '--config', configFile, '--json']);
  assert.equal(init.code, 0, init.stderr);
  assert.equal((JSON.parse(init.stdout) as { created: boolean }).created, true);
  assertNoPassword(init.stdout);
  const again = await runCliAsIs(['store', 'init', '--config', configFile, '--json']);
  assert.equal((JSON.parse(again.stdout) as { created: boolean }).created, false);
  assert.equal((await runCliAsIs(['tokens', 'list', '--config', configFile])).code, 0);
  const store = await openStore(url);
  await store.close();
});

test('postgres: seq order is commit order — two real transactions committing in reverse cannot make a reader skip a row', async (t) => {
  const { url } = await freshDatabase(t);
  const store = await openStore(url, { create: true });
  t.after(() => store.close());

  // The hazard exists: with a bare sequence (no feed lock), A draws seq n, B draws n+1 and
  // commits first; a reader that saw n+1 polls from there and never sees n.
  const naive = await withClient(url, async (a) =>
    withClient(url, async (b) => {
      await a.query('BEGIN');
      const seqA = (
        await a.query<{ seq: number }>("INSERT INTO changes (kind, target, at) VALUES ('token.revoked', 'tok_naive_a', 1) RETURNING seq")
      ).rows[0]?.seq;
      await b.query("INSERT INTO changes (kind, target, at) VALUES ('token.revoked', 'tok_naive_b', 1)");
      let cursor = Number(seqA) - 1;
      const seen: string[] = [];
      const poll = async (): Promise<void> => {
        for (const row of await store.changesSince(cursor)) {
          seen.push('credentialId' in row ? row.credentialId : '');
          cursor = row.seq;
        }
      };
      await poll();
      await a.query('COMMIT');
      await poll();
      return seen;
    }),
  );
  assert.deepEqual(naive, ['tok_naive_b'], 'without the feed lock, the reader skips the row committed last');

  // The store's appends: A appends and stays open; B's append waits for A's commit, so B cannot
  // draw a seq (let alone commit) before A commits. A reader polling in between misses nothing.
  const backend = await openPostgresBackend(url);
  t.after(() => backend.close());
  let cursor = await store.latestChangeSeq();
  const seen: Array<{ seq: number; id: string }> = [];
  const poll = async (): Promise<void> => {
    for (const row of await store.changesSince(cursor)) {
      seen.push({ seq: row.seq, id: 'credentialId' in row ? row.credentialId : '' });
      cursor = row.seq;
    }
  };
  let releaseA!: () => void;
  const aMayCommit = new Promise<void>((resolve) => {
    releaseA = resolve;
  });
  let aAppended!: () => void;
  const aHasAppended = new Promise<void>((resolve) => {
    aAppended = resolve;
  });
  let bAppendedAt: number | undefined;
  const txA = backend.transaction(async (tx) => {
    await tx.appendChange('token.revoked', 'tok_a', Date.now());
    aAppended();
    await aMayCommit;
  });
  await aHasAppended;
  const txB = backend.transaction(async (tx) => {
    await tx.appendChange('token.revoked', 'tok_b', Date.now());
    bAppendedAt = Date.now();
  });
  for (let i = 0; i < 5; i++) {
    await poll();
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  assert.equal(bAppendedAt, undefined, 'B waits for A before drawing its seq');
  assert.equal(seen.length, 0, 'nothing visible while A is open');
  releaseA();
  await Promise.all([txA, txB]);
  await poll();
  assert.deepEqual(
    seen.map((s) => s.id),
    ['tok_a', 'tok_b'],
  );
  assert.ok(seen[0]!.seq < seen[1]!.seq);
});

test('postgres: many concurrent writers from several stores: a reader polling throughout sees every change exactly once', async (t) => {
  const { url } = await freshDatabase(t);
  const stores = await Promise.all([0, 1, 2].map(() => openStore(url, { create: true, poolSize: 4 })));
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const [reader] = stores;
  const tokens = await Promise.all(
    Array.from({ length: 60 }, (_, i) => stores[i % 3]!.tokens.create({ label: `t${i}`, scope: 'read-only' })),
  );
  let cursor = await reader!.latestChangeSeq();
  const seen: string[] = [];
  let writing = true;
  const polling = (async () => {
    while (writing) {
      for (const row of await reader!.changesSince(cursor)) {
        seen.push('credentialId' in row ? row.credentialId : '');
        cursor = row.seq;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await Promise.all(tokens.map((tk, i) => stores[(i + 1) % 3]!.tokens.revoke(tk.record.id)));
  writing = false;
  await polling;
  for (const row of await reader!.changesSince(cursor)) seen.push('credentialId' in row ? row.credentialId : '');
  assert.equal(seen.length, 60);
  assert.deepEqual(new Set(seen), new Set(tokens.map((tk) => tk.record.id)));
});

test('postgres: the notifier wakes a listener on a change by another process, and comes back after the server restarts', async (t) => {
  const cluster = privateCluster(t);
  const writer = await openStore(cluster.url, { create: true });
  const listener = await openStore(cluster.url, { create: true, listenHeartbeatMs: 200 });
  t.after(async () => {
    await writer.close();
    await listener.close();
  });
  const states: boolean[] = [];
  let wakes = 0;
  assert.ok(listener.notifier, 'a PostgreSQL store has a push channel');
  const stop = listener.notifier.listen(
    () => {
      wakes++;
    },
    (up) => {
      states.push(up);
    },
  );
  t.after(stop);
  const until = async (what: string, check: () => boolean, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await until('connected', () => states.at(-1) === true);
  const token = await writer.tokens.create({ label: 'n', scope: 'read-only' });
  let before = wakes;
  await writer.tokens.revoke(token.record.id);
  await until('a wake after the revoke', () => wakes > before);

  cluster.restart();
  await until('dropped then back', () => states.includes(false) && states.at(-1) === true);
  assert.deepEqual(states.slice(0, 3), [true, false, true]);
  const again = await writer.tokens.create({ label: 'n2', scope: 'read-only' });
  before = wakes;
  await writer.tokens.rotate(again.record.id);
  await until('a wake after the restart', () => wakes > before);
  await writer.ping();
});

test('postgres: a slow or exhausted database answers unavailable within the query timeout, then recovers', async (t) => {
  const { store, url } = await openFresh(t, { queryTimeoutMs: 300, poolSize: 1 });
  const issued = await store.tokens.create({ label: 'slow', scope: 'read-only' });
  const blocker = new pg.Client({ connectionString: url });
  blocker.on('error', () => undefined);
  await blocker.connect();
  t.after(() => blocker.end());
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE tokens IN ACCESS EXCLUSIVE MODE');
  const started = Date.now();
  const [slow, queued] = await Promise.all([
    messageOf(store.findTokenByHash(hashSecret(issued.token))),
    messageOf(store.findTokenByHash(hashSecret(issued.token))),
  ]);
  const elapsed = Date.now() - started;
  assert.match(slow, /store\.queryTimeout \(300 ms\)/);
  assert.match(queued, /store\.queryTimeout \(300 ms\)/);
  assert.ok(elapsed < 5000, `bounded (took ${elapsed} ms)`);
  assertNoPassword(slow + queued);
  await blocker.query('ROLLBACK');
  assert.equal((await store.findTokenByHash(hashSecret(issued.token)))?.id, issued.record.id, 'recovers once the database answers');
});

test('postgres: each way a connection fails has its own clear message, naming host and port, never the password', async (t) => {
  const { url, database } = await freshDatabase(t);
  const { port } = new URL(url);
  const where = `127.0.0.1:${port}`;

  const wrong = new URL(url);
  wrong.password = 'not-the-Password-42';
  const badPassword = await messageOf(openStore(wrong.toString(), { create: true }));
  assert.match(badPassword, new RegExp(`password authentication failed for user "portcullis" at PostgreSQL at ${where}`));
  assertNoPassword(badPassword, 'not-the-Password-42');

  const missing = await messageOf(openStore(withDatabase(url, 'no_such_db'), { create: true }));
  assert.match(missing, new RegExp(`database "no_such_db" does not exist at PostgreSQL at ${where}`));
  assertNoPassword(missing);

  // A role that may log in but owns nothing: no privilege on the store's tables.
  const role = `lim_${database}`;
  await adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD 'lim-Secret-7'`);
  t.after(() =>
    adminQuery(`DROP ROLE IF EXISTS ${role}`).then(
      () => undefined,
      () => undefined,
    ),
  );
  const owner = await openStore(url, { create: true });
  await owner.close();
  const limited = withDatabase(url, database, { user: role, password: 'lim-Secret-7' });
  const denied = await messageOf(openStore(limited, { create: true }));
  assert.match(denied, new RegExp(`the role "${role}" lacks a privilege at PostgreSQL at ${where}.*permission denied`));
  assertNoPassword(denied, 'lim-Secret-7');
  await adminQuery(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC`);

  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const p = (server.address() as { port: number }).port;
      server.close(() => resolve(p));
    });
  });
  const unreachable = new URL(url);
  unreachable.port = String(closedPort);
  const refused = await messageOf(openStore(unreachable.toString(), { create: true }));
  assert.match(
    refused,
    new RegExp(`cannot reach PostgreSQL at 127\\.0\\.0\\.1:${closedPort}/${database} \\(user "portcullis"\\) \\(ECONNREFUSED\\)`),
  );
  assertNoPassword(refused);
});

test('postgres: TLS — verify-full passes with the right CA and host name, fails clearly with another CA', async (t) => {
  const { dir } = testCluster();
  if (dir === undefined) throw new Error('the TLS test needs the cluster directory (PORTCULLIS_TEST_PG_DIR)');
  const { url } = await freshDatabase(t);
  const base = new URL(url);
  for (const host of ['127.0.0.1', 'localhost']) {
    const good = new URL(url);
    good.hostname = host;
    good.search = `?sslmode=verify-full&sslrootcert=${join(dir, 'ca.pem')}`;
    const store = await openStore(good.toString(), { create: true });
    await store.ping();
    await store.close();
  }
  const otherCa = createTestCa();
  t.after(() => otherCa.cleanup());
  const caFile = otherCa.caCertPath;
  const bad = new URL(url);
  bad.search = `?sslmode=verify-full&sslrootcert=${caFile}`;
  const message = await messageOf(openStore(bad.toString(), { create: true }));
  assert.match(message, new RegExp(`the TLS certificate of PostgreSQL at 127\\.0\\.0\\.1:${base.port}/.* does not verify`));
  assertNoPassword(message);
  // require: encrypted without verifying (libpq's meaning), so the other CA does not matter.
  const req = new URL(url);
  req.search = '?sslmode=require';
  const store = await openStore(req.toString(), { create: true });
  await store.ping();
  await store.close();
});

test('postgres: the URL is masked wherever it is shown', () => {
  assert.equal(
    maskStoreUrl('postgres://portcullis:p%40ss@db.internal:5432/portcullis?sslmode=verify-full'),
    'postgres://portcullis:***@db.internal:5432/portcullis?sslmode=verify-full',
  );
  assert.equal(maskStoreUrl('postgresql://u@h/d'), 'postgresql://u@h/d');
  assert.equal(maskStoreUrl('sqlite:/x.db'), 'sqlite:/x.db');
  assert.throws(
    () => parsePostgresUrl('postgres://u:pw-Zz9@db.internal/portcullis'),
    (e: Error) => /sslmode/.test(e.message) && !e.message.includes('pw-Zz9'),
  );
  assert.throws(
    () => parsePostgresUrl('postgres://u:pw-Zz9@localhost/portcullis?password=x'),
    (e: Error) => /unknown parameter "password"/.test(e.message),
  );
  assert.equal(parsePostgresUrl('postgres://u:pw@localhost/p').sslmode, 'disable');
});

test('postgres: the database refuses TRUNCATE of tokens and clients, and reviving a retired signing key', async (t) => {
  const { store, url } = await openFresh(t);
  await store.signingKeys.ensureActive(fakeKey('first'));
  await store.signingKeys.rotate(fakeKey('second'));
  await store.tokens.create({ label: 'kept', scope: 'read-only' });
  await withClient(url, async (c) => {
    await assert.rejects(c.query('TRUNCATE tokens CASCADE'), /never deleted/);
    await assert.rejects(c.query('TRUNCATE clients'), /never deleted/);
    await assert.rejects(c.query("UPDATE signing_keys SET private_jwk = '{}' WHERE kid = 'first'"), /retired signing key cannot change/);
    await assert.rejects(
      c.query("UPDATE signing_keys SET retired_at = NULL WHERE kid = 'first'"),
      /retired signing key cannot change|one_active_signing_key/,
    );
  });
  assert.equal((await store.tokens.list()).length, 1);
});

/** A TCP relay to `port` that can freeze: bytes stop flowing both ways, nothing is closed (a partition). */
async function startRelay(t: test.TestContext, port: number): Promise<{ port: number; freeze: () => void; thaw: () => void }> {
  const { connect } = await import('node:net');
  let frozen = false;
  const pairs = new Set<[import('node:net').Socket, import('node:net').Socket]>();
  const server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    const pair: [import('node:net').Socket, import('node:net').Socket] = [inbound, outbound];
    pairs.add(pair);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (chunk) => to.write(chunk));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        to.destroy();
        pairs.delete(pair);
      });
      if (frozen) from.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    server.close();
  });
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
      for (const [a, b] of pairs) {
        a.pause();
        b.pause();
      }
    },
    thaw: () => {
      frozen = false;
      for (const [a, b] of pairs) {
        a.resume();
        b.resume();
      }
    },
  };
}

test('postgres: the notifier notices a silent partition (no reset) by its heartbeat, and comes back after it', async (t) => {
  const { url } = await freshDatabase(t);
  const writer = await openStore(url, { create: true });
  t.after(() => writer.close());
  const relay = await startRelay(t, Number(new URL(url).port));
  const relayed = new URL(url);
  relayed.port = String(relay.port);
  const listener = await openStore(relayed.toString(), { create: true, listenHeartbeatMs: 200, queryTimeoutMs: 500 });
  t.after(() => listener.close());
  const states: Array<{ up: boolean; at: number }> = [];
  let wakes = 0;
  const stop = listener.notifier!.listen(
    () => {
      wakes++;
    },
    (up) => {
      states.push({ up, at: Date.now() });
    },
  );
  t.after(stop);
  const until = async (what: string, check: () => boolean): Promise<void> => {
    const end = Date.now() + 20_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(states)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await until('connected', () => states.at(-1)?.up === true);
  const frozenAt = Date.now();
  relay.freeze();
  await until('the drop', () => states.at(-1)?.up === false);
  const noticed = states.at(-1)!.at - frozenAt;
  assert.ok(noticed < 5000, `a silent drop noticed within heartbeat + query timeout (+ load): ${noticed} ms`);
  t.diagnostic(`silent partition noticed after ${noticed} ms (heartbeat 200 ms, query timeout 500 ms)`);
  // A change made during the partition is announced by the catch-up wake on reconnection.
  const token = await writer.tokens.create({ label: 'during', scope: 'read-only' });
  await writer.tokens.revoke(token.record.id);
  const before = wakes;
  relay.thaw();
  await until('back', () => states.at(-1)?.up === true);
  await until('a wake after coming back', () => wakes > before);
});
