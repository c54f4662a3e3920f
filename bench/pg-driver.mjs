// Driver choice for the PostgreSQL store (docs/decisions/0009-postgres-driver.md): `pg` vs
// `postgres`, on (1) the request path's cache miss — one indexed lookup by secret hash — one at a
// time and 64 in flight over a pool of 10 (POOL=n to change), and (2) LISTEN after the server restarts: time from
// the restart until a NOTIFY reaches the listener again.
//   node bench/pg-driver.mjs URL CLUSTER_DIR
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import postgres from 'postgres';

const [url, clusterDir] = process.argv.slice(2);
const ROWS = 100_000;
const hash = (i) => createHash('sha256').update(`secret-${i}`).digest();

const setup = new pg.Client({ connectionString: url });
await setup.connect();
await setup.query('DROP TABLE IF EXISTS bench_tokens');
await setup.query('CREATE TABLE bench_tokens (id text PRIMARY KEY, scope text NOT NULL, secret_hash bytea NOT NULL UNIQUE)');
await setup.query(
  `INSERT INTO bench_tokens SELECT 'tok_' || g, 'read-only', sha256(('secret-' || g)::bytea) FROM generate_series(1, ${ROWS}) g`,
);
await setup.query('ANALYZE bench_tokens');
await setup.end();

const pct = (xs, p) => xs.slice().sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
const LOOKUP = 'SELECT id, scope, secret_hash FROM bench_tokens WHERE secret_hash = $1';

async function measure(name, lookup) {
  for (let i = 0; i < 500; i++) await lookup(hash(1 + (i % ROWS)));
  const lat = [];
  for (let i = 0; i < 3000; i++) {
    const h = i % 2 === 0 ? hash(1 + Math.floor(Math.random() * ROWS)) : randomBytes(32);
    const t = process.hrtime.bigint();
    await lookup(h);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const n = 20_000;
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        next++;
        await lookup(hash(1 + Math.floor(Math.random() * ROWS)));
      }
    }),
  );
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${name}: sequential p50 ${pct(lat, 0.5).toFixed(3)} ms p99 ${pct(lat, 0.99).toFixed(3)} ms; 64 in flight ${(n / secs).toFixed(0)} lookups/s`,
  );
}

const POOL = Number(process.env.POOL ?? 10);
const pool = new pg.Pool({ connectionString: url, max: POOL });
pool.on('error', () => {});
await measure('pg', async (h) => (await pool.query({ name: 'lookup', text: LOOKUP, values: [h] })).rows[0]);
const sql = postgres(url, { max: POOL, onnotice: () => {} });
await measure('postgres', async (h) => (await sql.unsafe(LOOKUP, [h], { prepare: true }))[0]);

// LISTEN across a restart.
const restart = () =>
  execFileSync(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      '/usr/lib/postgresql/15/bin/pg_ctl',
      '-D',
      `${clusterDir}/data`,
      '-m',
      'fast',
      '-w',
      'restart',
      '-l',
      `${clusterDir}/server.log`,
    ],
    { stdio: 'ignore' },
  );
async function untilHeard(name, heard) {
  const t0 = Date.now();
  restart();
  const restarted = Date.now();
  for (;;) {
    try {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query("SELECT pg_notify('bench', 'x')");
      await c.end();
    } catch {
      /* no notification this time: the measurement goes on */
    }
    if (heard.count > 0) break;
    if (Date.now() - restarted > 20_000) {
      console.log(`${name}: no NOTIFY within 20 s after restart`);
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log(`${name}: restart took ${restarted - t0} ms; NOTIFY heard again ${Date.now() - restarted} ms after the server was back`);
}

// pg: no built-in re-LISTEN; a client with a reconnect loop (backoff 50 ms doubling to 1 s).
{
  const heard = { count: 0 };
  let stop = false;
  const connect = async (delay = 50) => {
    if (stop) return;
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => {});
    c.on('end', () => {
      if (!stop) setTimeout(() => connect(), 50);
    });
    try {
      await c.connect();
      await c.query('LISTEN bench');
      c.on('notification', () => {
        heard.count++;
      });
      listener = c;
    } catch {
      c.end().catch(() => {});
      setTimeout(() => connect(Math.min(delay * 2, 1000)), delay);
    }
  };
  let listener;
  await connect();
  heard.count = 0;
  await untilHeard('pg (own reconnect loop)', heard);
  stop = true;
  await listener?.end().catch(() => {});
}
{
  const heard = { count: 0 };
  const s = postgres(url, { max: 1, onnotice: () => {} });
  const l = await s.listen('bench', () => {
    heard.count++;
  });
  heard.count = 0;
  await untilHeard('postgres (built-in sql.listen)', heard);
  await l.unlisten().catch(() => {});
  await s.end({ timeout: 1 });
}
await pool.end();
await sql.end({ timeout: 1 });
