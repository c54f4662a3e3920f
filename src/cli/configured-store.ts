/**
 * What every store-backed CLI command does first: load the configuration (`--config`, else
 * `$PORTCULLIS_CONFIG`, else the default path) and open the store it names. On failure the
 * problem is printed and the exit code returned (2 for an invalid configuration, 1 for a store
 * that cannot be opened).
 */
import { loadConfigFile, resolveConfigPath } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { isStoreError, openStore, storeOptionsOf, type CredentialStore } from '../credentials/index.js';
import { type CliIo, EXIT_FAILURE, reportConfigProblems, reportError } from './run.js';

export interface ConfiguredStore {
  readonly config: GatewayConfig;
  readonly store: CredentialStore;
}

export async function openConfiguredStore(
  configFlag: string | undefined,
  io: CliIo,
  json = false,
  command = '',
): Promise<ConfiguredStore | number> {
  const file = resolveConfigPath(configFlag);
  const loaded = loadConfigFile(file);
  if (!loaded.ok) return reportConfigProblems(io, json, command, file, loaded.issues);
  try {
    return { config: loaded.config, store: await openStore(loaded.config.store.url, storeOptionsOf(loaded.config.store)) };
  } catch (error) {
    if (isStoreError(error, 'not_initialised')) return reportNotInitialised(io, json, command, error.message, file);
    return reportError(
      io,
      json,
      command,
      'store.unavailable',
      `cannot open the credential store: ${(error as Error).message}`,
      EXIT_FAILURE,
    );
  }
}

/**
 * A store `portcullis store init` has not created: exit 1, naming the store and the command that
 * creates it (the CLI never creates a store as a side effect of another command).
 */
export function reportNotInitialised(io: CliIo, json: boolean, command: string, message: string, configFile: string): number {
  const init = `portcullis store init --config ${configFile}`;
  return reportError(
    io,
    json,
    command,
    'store.not_initialised',
    `${message}. Create the store with \`${init}\` (only if this is the path you meant)`,
    EXIT_FAILURE,
    { init },
  );
}
