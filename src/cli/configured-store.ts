/**
 * What every store-backed CLI command does first: load the configuration (`--config`, else
 * `$PORTCULLIS_CONFIG`, else the default path) and open the store it names. On failure the
 * problem is printed and the exit code returned (2 for an invalid configuration, 1 for a store
 * that cannot be opened).
 */
import { formatIssue, loadConfigFile, resolveConfigPath } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { openStore, storeOptionsOf, type CredentialStore } from '../credentials/index.js';
import { type CliIo, EXIT_FAILURE, EXIT_USAGE } from './run.js';

export interface ConfiguredStore {
  readonly config: GatewayConfig;
  readonly store: CredentialStore;
}

export async function openConfiguredStore(configFlag: string | undefined, io: CliIo): Promise<ConfiguredStore | number> {
  const loaded = loadConfigFile(resolveConfigPath(configFlag));
  if (!loaded.ok) {
    for (const issue of loaded.issues) io.err(formatIssue(issue));
    return EXIT_USAGE;
  }
  try {
    return { config: loaded.config, store: await openStore(loaded.config.store.url, storeOptionsOf(loaded.config.store)) };
  } catch (error) {
    io.err(`portcullis: cannot open the credential store: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }
}
