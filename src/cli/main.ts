#!/usr/bin/env node
/**
 * The `portcullis` command (docs/cli.md).
 *
 * `start` on one CPU first restarts in place with its GC on the main thread (v8-tuning.ts). That
 * is decided here, before the commands are loaded, so that the restart costs one start-up of
 * Node.js rather than two of the whole command line, and preloads run once more, not the CLI.
 * Then it holds SIGHUP for the rest of the start.
 */
import { usableCpus } from '../cluster/workers-count.js';
import { holdSignal } from '../held-signal.js';
import { restartWithNodeFlags } from '../restart-in-place.js';
import { gcThreadFlags } from '../v8-tuning.js';

const [command, ...rest] = process.argv.slice(2);
if (command === 'start' && !rest.some((arg) => arg === '--help' || arg === '-h')) {
  restartWithNodeFlags(gcThreadFlags(1, usableCpus()));
  // From here on a SIGHUP reloads the gateway once it serves (held-signal.ts) instead of ending
  // it half-started: loading the commands and checking the file take hundreds of milliseconds.
  holdSignal('SIGHUP');
}
// Not awaited: a bin entry with top-level await cannot be require()d (ERR_REQUIRE_ASYNC_MODULE).
import('./command-line.js').catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
