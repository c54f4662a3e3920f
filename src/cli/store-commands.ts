/**
 * `portcullis store backup FILE`: an online, consistent copy of the SQLite credential store named
 * by the configuration — the step before every upgrade (docs/production.md). For a PostgreSQL
 * store the database's own tools do this (pg_dump); the command says so.
 */
import path from 'node:path';
import { BackupError, backupSqliteStore } from '../credentials/sqlite-backup.js';
import { loadConfigFile, resolveConfigPath } from '../config/index.js';
import { CONFIG_OPTION } from './options.js';
import { EXIT_FAILURE, EXIT_OK, registerCommand, registerGroup, reportConfigProblems, reportError } from './run.js';

export function registerStoreCommands(): void {
  registerGroup('store', 'The credential store: backup.');
  registerCommand({
    name: 'store backup',
    summary: 'Copy the SQLite credential store to FILE while gateways keep running (SQLite online backup).',
    usage: 'FILE',
    options: CONFIG_OPTION,
    positionals: ['FILE'],
    examples: ['store backup /var/backups/portcullis-$(date +%Y%m%dT%H%M%S).db --config /etc/portcullis/portcullis.yaml'],
    notes: 'FILE must not exist; it is written whole or not at all, and checked (PRAGMA integrity_check).\nTo restore: stop the gateways, copy FILE over the store file (and delete its -wal and -shm files), start them.\nA PostgreSQL store is backed up with pg_dump (docs/production.md).',
    async run({ values, positionals }, io) {
      const json = values.json === true;
      const file = resolveConfigPath(typeof values.config === 'string' ? values.config : undefined);
      const loaded = loadConfigFile(file);
      if (!loaded.ok) return reportConfigProblems(io, json, 'store backup', file, loaded.issues);
      const url = loaded.config.store.url;
      if (!url.startsWith('sqlite:')) {
        return reportError(io, json, 'store backup', 'store.unsupported', 'the store is not SQLite: back a PostgreSQL store up with pg_dump (docs/production.md)', EXIT_FAILURE);
      }
      const source = url.slice('sqlite:'.length);
      if (source === ':memory:') return reportError(io, json, 'store backup', 'store.unsupported', 'an in-memory store (sqlite::memory:) has nothing to back up', EXIT_FAILURE);
      const destination = path.resolve(positionals[0] ?? '');
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
}
