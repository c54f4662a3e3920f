/**
 * `portcullis store backup|migrate|copy`: the store itself rather than what is in it.
 *
 *   backup FILE   an online, consistent copy of the SQLite store the configuration names — the step
 *                 before every upgrade (docs/production.md); a PostgreSQL store is backed up with
 *                 pg_dump, and the command says so.
 *   migrate       applies the missing schema migrations to the store the configuration names, under
 *                 the same lock as start-up (for teams that run migrations as a job, with
 *                 `store.migrate: false` on the gateways).
 *   copy          copies accounts, tokens and clients (their hashes), signing keys (exactly as
 *                 stored), revoked access tokens and the audit trail from one store to another,
 *                 SQLite ↔ PostgreSQL; the copy itself is recorded in the target (`store.copy`).
 *                 Refuses a target that already holds credentials; counts both sides when done.
 *
 * URLs are printed masked (postgres passwords as ***). Relative sqlite paths and sslrootcert
 * files on the command line are relative to the working directory.
 */
import { existsSync } from 'node:fs';
import path, { resolve } from 'node:path';
import { loadConfigFile, resolveConfigPath } from '../config/index.js';
import { initStore, isPostgresUrl, isStoreError, maskStoreUrl, openBackend, parsePostgresUrl, sqlitePathOf } from '../credentials/index.js';
import { notInitialisedError } from '../credentials/sqlite-store.js';
import { AUDIT_ACTIONS } from '../credentials/audit.js';
import { auditRow } from '../credentials/create-store.js';
import { currentCliActor } from './cli-actor.js';
import { reportNotInitialised } from './configured-store.js';
import { resolveSslRootCert } from '../credentials/postgres-location.js';
import { migratePostgres } from '../credentials/postgres-store.js';
import { BackupError, backupSqliteStore } from '../credentials/sqlite-backup.js';
import { MIGRATIONS } from '../credentials/sqlite-migrations.js';
import { migrateSqlite } from '../credentials/sqlite-store.js';
import type { StoreBackend, StoreDump } from '../credentials/store-backend.js';
import { CONFIG_OPTION } from './options.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, registerCommand, registerGroup, reportConfigProblems, reportError } from './run.js';

/** Counts of what a store holds, as `store copy` reports them. */
export interface StoreCounts {
  readonly accounts: number;
  readonly tokens: number;
  readonly clients: number;
  readonly signingKeys: number;
  readonly revokedAccessTokens: number;
  /** Audit entries: history, copied with their ids and times. */
  readonly auditEntries: number;
}

const countsOf = (dump: StoreDump): StoreCounts => ({
  accounts: dump.accounts.length,
  tokens: dump.tokens.length,
  clients: dump.clients.length,
  signingKeys: dump.signingKeys.length,
  revokedAccessTokens: dump.revokedAccessTokens.length,
  auditEntries: dump.auditLog.length,
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

function fail(io: CliIo, json: boolean, action: string, error: unknown, configFile?: string): number {
  if (configFile !== undefined && isStoreError(error, 'not_initialised'))
    return reportNotInitialised(io, json, `store ${action}`, maskStoreUrlsIn(error.message), configFile);
  if (isStoreError(error) || error instanceof TypeError) {
    return reportError(io, json, `store ${action}`, 'store.unavailable', maskStoreUrlsIn(error.message), EXIT_FAILURE);
  }
  throw error;
}

/** Belt and braces: our messages never hold a URL, but if one did, its password is masked. */
function maskStoreUrlsIn(text: string): string {
  return text.replace(/postgres(ql)?:\/\/\S+/gi, (url) => maskStoreUrl(url));
}

function describeCounts(counts: StoreCounts): string {
  return (
    `${counts.accounts} accounts, ${counts.tokens} tokens, ${counts.clients} clients, ${counts.signingKeys} signing keys, ` +
    `${counts.revokedAccessTokens} revoked access tokens, ${counts.auditEntries} audit entries`
  );
}

export function registerStoreCommands(): void {
  registerGroup('store', 'The credential store: init, backup, migrate, copy.');
  registerCommand({
    name: 'store init',
    summary: 'Create the credential store the configuration names and bring its schema up to date (once, before the first start).',
    usage: '[--config FILE]',
    options: CONFIG_OPTION,
    examples: ['store init --config /etc/portcullis/portcullis.yaml'],
    notes:
      'SQLite: creates the file (owner-only) and its directory. PostgreSQL: creates the schema in the database, which must exist (as store migrate).\n' +
      'Idempotent: on an existing store it says so, applies any missing migration and exits 0.\n' +
      'start and the credential commands never create a store: a mistyped store.url or an unmounted volume is refused rather than served empty.',
    async run({ values }, io) {
      const json = values.json === true;
      const file = resolveConfigPath(typeof values.config === 'string' ? values.config : undefined);
      const loaded = loadConfigFile(file);
      if (!loaded.ok) return reportConfigProblems(io, json, 'store init', file, loaded.issues);
      const { url } = loaded.config.store;
      try {
        const { created, applied } = await initStore(url, { queryTimeoutMs: loaded.config.store.queryTimeoutMs });
        const version = Math.max(...MIGRATIONS.map((m) => m.version));
        const store = maskStoreUrl(url);
        if (json) io.out(JSON.stringify({ store, created, applied, version }));
        else if (created) io.out(`${store}: created; schema at version ${version}`);
        else
          io.out(
            `${store}: already exists; schema at version ${version}${applied.length === 0 ? '' : ` (applied migration${applied.length === 1 ? '' : 's'} ${applied.join(', ')})`}`,
          );
        return EXIT_OK;
      } catch (error) {
        return fail(io, json, 'init', error);
      }
    },
  });

  registerCommand({
    name: 'store backup',
    summary: 'Copy the SQLite credential store to FILE while gateways keep running (SQLite online backup).',
    usage: 'FILE',
    options: CONFIG_OPTION,
    positionals: ['FILE'],
    examples: ['store backup /var/backups/portcullis-$(date +%Y%m%dT%H%M%S).db --config /etc/portcullis/portcullis.yaml'],
    notes:
      'FILE must not exist; it is written whole or not at all, and checked (PRAGMA integrity_check).\nTo restore: stop the gateways, copy FILE over the store file (and delete its -wal and -shm files), start them.\nA PostgreSQL store is backed up with pg_dump (docs/production.md).',
    async run({ values, positionals }, io) {
      const json = values.json === true;
      const file = resolveConfigPath(typeof values.config === 'string' ? values.config : undefined);
      const loaded = loadConfigFile(file);
      if (!loaded.ok) return reportConfigProblems(io, json, 'store backup', file, loaded.issues);
      const url = loaded.config.store.url;
      if (!url.startsWith('sqlite:')) {
        return reportError(
          io,
          json,
          'store backup',
          'store.unsupported',
          'the store is not SQLite: back a PostgreSQL store up with pg_dump (docs/production.md)',
          EXIT_FAILURE,
        );
      }
      const source = url.slice('sqlite:'.length);
      if (source === ':memory:')
        return reportError(
          io,
          json,
          'store backup',
          'store.unsupported',
          'an in-memory store (sqlite::memory:) has nothing to back up',
          EXIT_FAILURE,
        );
      const destination = path.resolve(positionals[0] ?? '');
      if (!existsSync(source))
        return reportNotInitialised(io, json, 'store backup', notInitialisedError(source, 'does not exist').message, file);
      try {
        const result = await backupSqliteStore(source, destination);
        if (json) io.out(JSON.stringify({ ...result, source }));
        else io.out(`backed up ${source} to ${result.file} (${result.bytes} bytes)`);
        return EXIT_OK;
      } catch (error) {
        if (error instanceof BackupError) return reportError(io, json, 'store backup', 'store.backup_failed', error.message, EXIT_FAILURE);
        throw error;
      }
    },
  });

  registerCommand({
    name: 'store migrate',
    summary: 'Apply the missing schema migrations to the configured store (pair with store.migrate: false on the gateways).',
    usage: '[--config FILE]',
    options: CONFIG_OPTION,
    examples: ['store migrate --config /etc/portcullis/portcullis.yaml'],
    notes:
      'Runs under the same lock as start-up: several at once migrate once. A store whose schema is newer than this version is refused, never written.',
    async run({ values }, io) {
      const json = values.json === true;
      const file = resolveConfigPath(typeof values.config === 'string' ? values.config : undefined);
      const loaded = loadConfigFile(file);
      if (!loaded.ok) return reportConfigProblems(io, json, 'store migrate', file, loaded.issues);
      const { url } = loaded.config.store;
      try {
        let applied: number[];
        if (isPostgresUrl(url)) {
          ({ applied } = await migratePostgres(parsePostgresUrl(url), true, Math.max(loaded.config.store.queryTimeoutMs, 5000)));
        } else {
          ({ applied } = migrateSqlite(sqlitePathOf(url)));
        }
        const version = Math.max(...MIGRATIONS.map((m) => m.version));
        if (json) io.out(JSON.stringify({ store: maskStoreUrl(url), applied, version }));
        else
          io.out(
            applied.length === 0
              ? `${maskStoreUrl(url)}: schema at version ${version}, nothing to apply`
              : `${maskStoreUrl(url)}: applied migration${applied.length === 1 ? '' : 's'} ${applied.join(', ')}; schema at version ${version}`,
          );
        return EXIT_OK;
      } catch (error) {
        return fail(io, json, 'migrate', error, file);
      }
    },
  });

  registerCommand({
    name: 'store copy',
    summary:
      'Copy every credential (hashes), signing key, revoked access token and audit entry from one store to another, into an empty target.',
    usage: '--from URL --to URL',
    options: {
      from: {
        type: 'string',
        value: 'URL',
        description: "The store to read: sqlite:PATH or postgres://… (only read; must be at this version's schema).",
      },
      to: { type: 'string', value: 'URL', description: 'The store to write: must hold no credentials yet; migrated first.' },
    },
    examples: [
      'store copy --from sqlite:data/portcullis.db --to "postgres://portcullis:${PGPASSWORD}@db.internal/portcullis?sslmode=verify-full&sslrootcert=pg-ca.pem"',
    ],
    notes:
      'Every secret issued before the copy works against the target. The counts of both sides are compared when done (exit 1 if they differ).',
    async run({ values }, io) {
      const json = values.json === true;
      if (typeof values.from !== 'string' || typeof values.to !== 'string') {
        return reportError(io, json, 'store copy', 'usage', '--from and --to are required', EXIT_USAGE);
      }
      const from = cliStoreUrl(values.from);
      const to = cliStoreUrl(values.to);
      if (from === to) return reportError(io, json, 'store copy', 'usage', '--from and --to name the same store', EXIT_USAGE);
      let source: StoreBackend | undefined;
      let target: StoreBackend | undefined;
      try {
        // The source is only read: it must exist, at this version's schema. The target may be new:
        // naming it in a copy is the explicit step that creates it (as `store init`).
        source = await openBackend(from, { migrate: false });
        target = await openBackend(to, { migrate: true, create: true });
        const existing = countsOf(await target.dump());
        if (Object.values(existing).some((n) => n > 0)) {
          return reportError(
            io,
            json,
            'store copy',
            'store.not_empty',
            `the target ${maskStoreUrl(to)} already holds credentials (${describeCounts(existing)}); copy only into an empty store`,
            EXIT_FAILURE,
          );
        }
        const dump = await source.dump();
        const copied = countsOf(dump);
        // The copy is itself recorded, after the copied history and in the same transaction.
        const record = auditRow(
          currentCliActor(),
          AUDIT_ACTIONS.storeCopy,
          null,
          { from: maskStoreUrl(from), to: maskStoreUrl(to), ...copied },
          Date.now(),
        );
        await target.transaction(async (tx) => {
          await tx.load(dump);
          await tx.appendAudit(record);
        });
        const landed = countsOf(await target.dump());
        const expected: StoreCounts = { ...copied, auditEntries: copied.auditEntries + 1 };
        const matches = (Object.keys(expected) as (keyof StoreCounts)[]).every((k) => expected[k] === landed[k]);
        if (!matches) {
          return reportError(
            io,
            json,
            'store copy',
            'store.copy_mismatch',
            `counts differ after the copy: source ${describeCounts(copied)}, target ${describeCounts(landed)}`,
            EXIT_FAILURE,
          );
        }
        if (json) io.out(JSON.stringify({ from: maskStoreUrl(from), to: maskStoreUrl(to), copied, verified: true }));
        else io.out(`copied ${describeCounts(copied)} from ${maskStoreUrl(from)} to ${maskStoreUrl(to)}; counts verified`);
        return EXIT_OK;
      } catch (error) {
        return fail(io, json, 'copy', error);
      } finally {
        await source?.close();
        await target?.close();
      }
    },
  });
}
