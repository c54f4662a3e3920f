/**
 * An online backup of an SQLite credential store (`portcullis store backup FILE`), through
 * SQLite's backup API (better-sqlite3 `db.backup`): a consistent copy taken while gateways keep
 * reading and writing the store, WAL content included. The copy is written next to its
 * destination and renamed into place once complete and checked, so FILE is never half a backup.
 */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

export interface BackupResult {
  /** The backup file written. */
  readonly file: string;
  readonly bytes: number;
  /** Pages copied (SQLite's unit; 4 KiB each by default). */
  readonly pages: number;
}

/** Why a backup cannot be made, worded for the operator. */
export class BackupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupError';
  }
}

export async function backupSqliteStore(source: string, destination: string): Promise<BackupResult> {
  if (!existsSync(source)) throw new BackupError(`the store file ${JSON.stringify(source)} does not exist`);
  if (existsSync(destination))
    throw new BackupError(`${JSON.stringify(destination)} already exists; choose a new file name (a backup never overwrites one)`);
  const partial = `${destination}.partial`;
  rmSync(partial, { force: true });
  // Read-only: a backup never creates, migrates or changes the store it copies.
  const db = new Database(source, { readonly: true, fileMustExist: true });
  let pages: number;
  try {
    const progress = await db.backup(partial);
    pages = progress.totalPages;
  } catch (error) {
    rmSync(partial, { force: true });
    throw new BackupError(`the backup failed: ${(error as Error).message}`);
  } finally {
    db.close();
  }
  const copy = new Database(partial, { readonly: true, fileMustExist: true });
  let check: unknown;
  try {
    check = copy.pragma('integrity_check', { simple: true });
  } finally {
    copy.close();
  }
  if (check !== 'ok') {
    rmSync(partial, { force: true });
    throw new BackupError(`the copy failed its integrity check (${String(check)})`);
  }
  renameSync(partial, destination);
  return { file: destination, bytes: statSync(destination).size, pages };
}
