#!/usr/bin/env node
/**
 * The `portcullis` command (docs/cli.md).
 *
 * `start` on one CPU first restarts in place with its GC on the main thread (v8-tuning.ts). That
 * is decided here, before the commands are loaded, so that the restart costs one start-up of
 * Node.js rather than two of the whole command line, and preloads run once more, not the CLI.
 */
import { usableCpus } from '../cluster/workers-count.js';
import { gcThreadFlags, restartWithNodeFlags } from '../v8-tuning.js';

const [command, ...rest] = process.argv.slice(2);
if (command === 'start' && !rest.some((arg) => arg === '--help' || arg === '-h')) {
  restartWithNodeFlags(gcThreadFlags(1, usableCpus()));
}
await import('./command-line.js');
