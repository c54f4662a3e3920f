/**
 * Shared fixtures of the credential tests: real SQLite files in a temporary directory, a
 * counting wrapper around a real store (no mock: every call reaches SQLite), a settable clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { CacheSettings } from '../../src/config/types.js';
import { openStore, type OpenStoreOptions } from '../../src/credentials/open-store.js';
import type { CredentialStore } from '../../src/credentials/store.js';

/** A fresh directory removed after the test. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-cred-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A store on a fresh SQLite file, closed after the test. */
export async function tempStore(
  t: TestContext,
  options: OpenStoreOptions = {},
): Promise<{ store: CredentialStore; file: string; url: string }> {
  const file = join(tempDir(t), 'nested', 'portcullis.db');
  const url = `sqlite:${file}`;
  const store = await openStore(url, { create: true, ...options });
  t.after(() => store.close());
  return { store, file, url };
}

/** Store calls counted by kind. */
export interface ReadCounts {
  token: number;
  client: number;
  changes: number;
  lastUsed: number;
}

/** Wraps a real store, counting the request-path reads. Everything is delegated. */
export function countingStore(inner: CredentialStore): { store: CredentialStore; counts: ReadCounts; reads: () => number } {
  const counts: ReadCounts = { token: 0, client: 0, changes: 0, lastUsed: 0 };
  const store: CredentialStore = {
    accounts: inner.accounts,
    tokens: inner.tokens,
    clients: inner.clients,
    signingKeys: inner.signingKeys,
    accessTokens: inner.accessTokens,
    sessions: inner.sessions,
    countActive: () => inner.countActive(),
    findTokenByHash(hash) {
      counts.token++;
      return inner.findTokenByHash(hash);
    },
    findClientById(clientId) {
      counts.client++;
      return inner.findClientById(clientId);
    },
    recordLastUsed(batch) {
      counts.lastUsed++;
      return inner.recordLastUsed(batch);
    },
    changesSince(seq, limit) {
      counts.changes++;
      return inner.changesSince(seq, limit);
    },
    latestChangeSeq: () => inner.latestChangeSeq(),
    subscribe: (listener) => inner.subscribe(listener),
    appendAudit: (entry) => inner.appendAudit(entry),
    listAudit: (filter) => inner.listAudit(filter),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return { store, counts, reads: () => counts.token + counts.client };
}

/** Cache settings for tests (defaults of the configuration unless overridden). */
export function cacheSettings(overrides: Partial<CacheSettings> = {}): CacheSettings {
  return { maxEntries: 1000, ttlMs: 60_000, negativeTtlMs: 5_000, negativeMaxEntries: 1000, ...overrides };
}

/** A clock tests move by hand (epoch ms). */
export function manualClock(start = Date.UTC(2026, 0, 1, 12, 0, 0)): {
  now: () => number;
  set: (ms: number) => void;
  advance: (ms: number) => void;
} {
  let current = start;
  return {
    now: () => current,
    set: (ms) => {
      current = ms;
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `value` is a promise (a cache miss) rather than a synchronous answer. */
export function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/** The code of the GatewayError `fn` throws synchronously or its promise rejects with. */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error) return String(error.code);
    throw error;
  }
  throw new Error('expected a refusal');
}

/** 'ok' when `fn` succeeds, else the code of the GatewayError it throws or rejects with. */
export async function outcomeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'code' in error) return String(error.code);
    throw error;
  }
}
