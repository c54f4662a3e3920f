/**
 * A real PostgreSQL for the tests. `.ci/run` starts a throwaway cluster (.ci/pg-cluster.sh) and
 * exports its URL as PORTCULLIS_TEST_PG_URL (and its directory as PORTCULLIS_TEST_PG_DIR); when
 * that is unset and CI is not, this module starts its own cluster the same way, once per test
 * process, and stops it at exit. Under CI without PostgreSQL the tests fail: they never skip.
 *
 * Each test gets its own database (CREATE DATABASE), so test files can run concurrently.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { repoRoot } from './repo.js';

interface Cluster {
  readonly url: string;
  readonly dir: string | undefined;
}
let cluster: Cluster | undefined;

/** The test cluster: its admin URL (role `portcullis`, CREATEDB CREATEROLE) and directory if known. */
export function testCluster(): Cluster {
  if (cluster !== undefined) return cluster;
  const given = process.env.PORTCULLIS_TEST_PG_URL;
  if (given !== undefined && given !== '') {
    cluster = { url: given, dir: process.env.PORTCULLIS_TEST_PG_DIR || undefined };
    return cluster;
  }
  if (process.env.CI !== undefined && process.env.CI !== '') {
    throw new Error('CI is set but PORTCULLIS_TEST_PG_URL is not: .ci/run must start PostgreSQL (the PostgreSQL tests never skip)');
  }
  const dir = mkdtempSync('/tmp/portcullis-pg-');
  const script = join(repoRoot(), '.ci', 'pg-cluster.sh');
  const url = execFileSync('bash', [script, 'start', dir], { encoding: 'utf8' }).trim();
  process.on('exit', () => {
    try {
      execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
    } catch {
      // Best effort: a temporary directory.
    }
  });
  cluster = { url, dir };
  return cluster;
}

/** `url` with another database name (and optionally user and password). */
export function withDatabase(url: string, database: string, credentials?: { user: string; password: string }): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  if (credentials !== undefined) {
    u.username = credentials.user;
    u.password = credentials.password;
  }
  return u.toString();
}

/** Runs SQL as the test cluster's admin role on `database` (default the cluster's own). */
export async function adminQuery(sql: string, database?: string): Promise<pg.QueryResult> {
  const url = database === undefined ? testCluster().url : withDatabase(testCluster().url, database);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database for this test, dropped after it. Returns its URL and name. */
export async function freshDatabase(t: TestContext): Promise<{ url: string; database: string }> {
  const database = `pcl_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${database}`);
  t.after(async () => {
    // FORCE ends the sessions still open on it. A session of another role (a test's restricted
    // user) may not be ours to end yet (42501): it closes by itself moments later, so try again;
    // a database left behind in the throwaway cluster harms no other test.
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '42501') throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  });
  return { url: withDatabase(testCluster().url, database), database };
}

/**
 * A private cluster for a test that stops or restarts the server (others share the main one).
 * Stopped and removed after the test.
 */
export function privateCluster(t: TestContext): { url: string; dir: string; restart: () => void; stop: () => void; start: () => void } {
  const dir = mkdtempSync('/tmp/portcullis-pg-');
  const script = join(repoRoot(), '.ci', 'pg-cluster.sh');
  const url = execFileSync('bash', [script, 'start', dir], { encoding: 'utf8' }).trim();
  t.after(() => {
    execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore' });
  });
  const ctl = (...args: string[]): void => {
    const bin = execFileSync(
      'bash',
      ['-c', 'dirname "$(readlink -f "$(command -v pg_ctl || ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -1)")"'],
      { encoding: 'utf8' },
    ).trim();
    const full = [`${bin}/pg_ctl`, '-D', `${dir}/data`, '-w', '-l', `${dir}/server.log`, ...args];
    if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', ...full], { stdio: 'ignore' });
    else execFileSync(full[0]!, full.slice(1), { stdio: 'ignore' });
  };
  return {
    url,
    dir,
    restart: () => ctl('-m', 'fast', 'restart'),
    stop: () => ctl('-m', 'fast', 'stop'),
    start: () => ctl('start'),
  };
}
