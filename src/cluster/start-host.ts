/**
 * `portcullis start`: read and check the configuration once, then run it as one process
 * (`workers: 1`, main.ts, unchanged) or as a primary supervising N workers (primary.ts).
 */
import { compileChecked, type ConfigIssue } from '../config/index.js';
import { checkConfigFileOffThread } from '../config/load-off-thread.js';
import { assertStoreExists } from '../credentials/index.js';
import { holdSignal } from '../held-signal.js';
import { startFromFile, type StartOptions } from '../main.js';
import { type PrimaryOptions, startPrimary } from './primary.js';
import { resolveWorkers } from './workers-count.js';

/** True when the host is serving (the process keeps running); false when the file is invalid. */
export async function startHost(
  file: string,
  invalid: (issues: readonly ConfigIssue[]) => void,
  workersFlag?: number | 'auto',
  options: Omit<StartOptions, 'preloaded'> & Pick<PrimaryOptions, 'onAddressInUse'> = {},
): Promise<boolean> {
  // While the file is read and checked, a SIGHUP must not end the process (its default action);
  // main.ts, or primary.ts once every worker serves, release it to the reload.
  const heldReload = holdSignal('SIGHUP');
  try {
    const checked = await checkConfigFileOffThread(file);
    const loaded = compileChecked(checked, file);
    if (!checked.ok || !loaded.ok) {
      // The problems first: until they are printed, a SIGHUP must not end the process instead.
      invalid(loaded.ok ? [] : loaded.issues);
      heldReload.drop();
      return false;
    }
    // Before any listener or worker: a SQLite store that was never created is refused (throws
    // CredentialStoreError not_initialised; the start command reports it, exit 1).
    assertStoreExists(loaded.config.store.url);
    const workers = resolveWorkers(workersFlag ?? loaded.config.workers);
    if (workers === 1) return (await startFromFile(file, invalid, { ...options, preloaded: loaded })) !== undefined;
    startPrimary({ file, checked, config: loaded.config, workers, watch: options.watch === true, onAddressInUse: options.onAddressInUse });
    return true;
  } catch (error) {
    // Whatever failed, the process must not go on ignoring SIGHUP (a no-op once released).
    heldReload.drop();
    throw error;
  }
}
