/**
 * `portcullis store migrate|copy`: the store itself rather than what is in it.
 *
 *   migrate [--config FILE] [--json]
 *            applies the missing schema migrations to the store the configuration names, under
 *            the same lock as start-up (for teams that run migrations as a job, with
 *            `store.migrate: false` on the gateways).
 *   copy --from URL --to URL [--json]
 *            copies accounts, tokens and clients (their hashes), signing keys (exactly as stored)
 *            and revoked access tokens from one store to another, SQLite ↔ PostgreSQL. Refuses a
 *            target that already holds credentials; counts both sides when done. Every secret
 *            issued before the copy works against the target.
 *
 * URLs are printed masked (postgres passwords as ***). Relative sqlite paths and sslrootcert
 * files on the command line are relative to the working directory.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatIssue, loadConfigFile, resolveConfigPath } from '../config/index.js';
import {
  isPostgresUrl, isStoreError, maskStoreUrl, openBackend, parsePostgresUrl, sqlitePathOf,
} from '../credentials/index.js';
import { resolveSslRootCert } from '../credentials/postgres-location.js';
import { migratePostgres } from '../credentials/postgres-store.js';
import { MIGRATIONS } from '../credentials/sqlite-migrations.js';
import { migrateSqlite } from '../credentials/sqlite-store.js';
import type { StoreBackend, StoreDump } from '../credentials/store-backend.js';
import { type CliIo, type CommandRunner, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, registerCommand } from './run.js';

export const STORE_USAGE = `  store    migrate                                                 [--json] [--config FILE]
           copy --from URL --to URL                                 [--json]

  store migrate: applies missing schema migrations (pair with store.migrate: false).
  store copy: copies every credential (hashes), signing key and revoked access token between
  stores (sqlite: and postgres:// URLs) into an empty target, then compares the counts.`;

/** Counts of what a store holds, as `store copy` reports them. */
export interface StoreCounts {
  readonly accounts: number;
  readonly tokens: number;
  readonly clients: number;
  readonly signingKeys: number;
  readonly revokedAccessTokens: number;
}

const countsOf = (dump: StoreDump): StoreCounts => ({
  accounts: dump.accounts.length,
  tokens: dump.tokens.length,
  clients: dump.clients.length,
  signingKeys: dump.signingKeys.length,
  revokedAccessTokens: dump.revokedAccessTokens.length,
});

/** A store URL given on the command line: relative paths against the working directory. */
function cliStoreUrl(text: string): string {
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length);
    return file === ':memory:' || file.startsWith('/') ? text : `sqlite:${resolve(file)}`;
  }
  if (isPostgresUrl(text)) return resolveSslRootCert(text, (file) => resolve(file));
  return text;
}

function fail(io: CliIo, action: string, error: unknown): number {
  if (isStoreError(error) || error instanceof TypeError) {
    io.err(`portcullis store ${action}: ${maskStoreUrlsIn(error.message)}`);
    return EXIT_FAILURE;
  }
  throw error;
}

/** Belt and braces: our messages never hold a URL, but if one did, its password is masked. */
function maskStoreUrlsIn(text: string): string {
  return text.replace(/postgres(ql)?:\/\/\S+/gi, (url) => maskStoreUrl(url));
}

async function migrate(rest: string[], io: CliIo): Promise<number> {
  let values: { json?: boolean; config?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    io.err(`portcullis store migrate: ${(error as Error).message}\n\nusage:\n${STORE_USAGE}`);
    return EXIT_USAGE;
  }
  const loaded = loadConfigFile(resolveConfigPath(values.config));
  if (!loaded.ok) {
    for (const issue of loaded.issues) io.err(formatIssue(issue));
    return EXIT_USAGE;
  }
  const { url } = loaded.config.store;
  try {
    let applied: number[];
    if (isPostgresUrl(url)) {
      ({ applied } = await migratePostgres(parsePostgresUrl(url), true, Math.max(loaded.config.store.queryTimeoutMs, 5000)));
    } else {
      ({ applied } = migrateSqlite(sqlitePathOf(url)));
    }
    const version = Math.max(...MIGRATIONS.map((m) => m.version));
    if (values.json === true) io.out(JSON.stringify({ store: maskStoreUrl(url), applied, version }));
    else io.out(applied.length === 0 ? `${maskStoreUrl(url)}: schema at version ${version}, nothing to apply`
      : `${maskStoreUrl(url)}: applied migration${applied.length === 1 ? '' : 's'} ${applied.join(', ')}; schema at version ${version}`);
    return EXIT_OK;
  } catch (error) {
    return fail(io, 'migrate', error);
  }
}

async function copy(rest: string[], io: CliIo): Promise<number> {
  let values: { json?: boolean; from?: string; to?: string };
  try {
    ({ values } = parseArgs({
      args: rest, options: { json: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' } }, strict: true, allowPositionals: false,
    }));
  } catch (error) {
    io.err(`portcullis store copy: ${(error as Error).message}\n\nusage:\n${STORE_USAGE}`);
    return EXIT_USAGE;
  }
  if (values.from === undefined || values.to === undefined) {
    io.err(`portcullis store copy: --from and --to are required\n\nusage:\n${STORE_USAGE}`);
    return EXIT_USAGE;
  }
  const from = cliStoreUrl(values.from);
  const to = cliStoreUrl(values.to);
  if (from === to) {
    io.err('portcullis store copy: --from and --to name the same store');
    return EXIT_USAGE;
  }
  let source: StoreBackend | undefined;
  let target: StoreBackend | undefined;
  try {
    // The source is only read: it must already be at this version's schema.
    source = await openBackend(from, { migrate: false });
    target = await openBackend(to, { migrate: true });
    const existing = countsOf(await target.dump());
    if (Object.values(existing).some((n) => n > 0)) {
      io.err(`portcullis store copy: the target ${maskStoreUrl(to)} already holds credentials (${describeCounts(existing)}); copy only into an empty store`);
      return EXIT_FAILURE;
    }
    const dump = await source.dump();
    await target.transaction((tx) => tx.load(dump));
    const copied = countsOf(dump);
    const landed = countsOf(await target.dump());
    const matches = (Object.keys(copied) as (keyof StoreCounts)[]).every((k) => copied[k] === landed[k]);
    if (!matches) {
      io.err(`portcullis store copy: counts differ after the copy: source ${describeCounts(copied)}, target ${describeCounts(landed)}`);
      return EXIT_FAILURE;
    }
    if (values.json === true) io.out(JSON.stringify({ from: maskStoreUrl(from), to: maskStoreUrl(to), copied, verified: true }));
    else io.out(`copied ${describeCounts(copied)} from ${maskStoreUrl(from)} to ${maskStoreUrl(to)}; counts verified`);
    return EXIT_OK;
  } catch (error) {
    return fail(io, 'copy', error);
  } finally {
    await source?.close();
    await target?.close();
  }
}

function describeCounts(counts: StoreCounts): string {
  return `${counts.accounts} accounts, ${counts.tokens} tokens, ${counts.clients} clients, ${counts.signingKeys} signing keys, `
    + `${counts.revokedAccessTokens} revoked access tokens`;
}

const runStore: CommandRunner = async (args, io) => {
  const [action, ...rest] = args;
  if (action === 'migrate') return migrate(rest, io);
  if (action === 'copy') return copy(rest, io);
  io.err(`portcullis store: ${action === undefined ? 'an action is required' : `unknown action "${action}"`}\n\nusage:\n${STORE_USAGE}`);
  return EXIT_USAGE;
};

/** Registers `portcullis store`. */
export function registerStoreCommands(): void {
  registerCommand('store', STORE_USAGE, runStore);
}
