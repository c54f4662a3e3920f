/**
 * `portcullis store init` for a test's configuration, as an operator runs it once before the
 * first start: `start` never creates a SQLite store. Only SQLite stores are initialised here; a
 * PostgreSQL test database gets its schema from `start` itself (store.migrate: true), and tests of
 * `store.migrate: false` need it left as it is.
 */
import { loadConfigFile } from '../../src/config/index.js';
import type { GatewayConfig } from '../../src/config/types.js';
import { initStore } from '../../src/credentials/index.js';

/** Initialises the SQLite store `config` names (idempotent; a no-op for PostgreSQL and :memory:). */
export async function initTestStore(config: GatewayConfig): Promise<void> {
  if (config.store.url.startsWith('sqlite:')) await initStore(config.store.url);
}

/** The same for a configuration file; an invalid file is left for the gateway to report. */
export async function initConfiguredTestStore(configFile: string, env: Record<string, string> = {}): Promise<void> {
  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(configFile, { ...process.env, ...env });
  } catch {
    return;
  }
  if (loaded.ok) await initTestStore(loaded.config);
}
