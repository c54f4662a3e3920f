/**
 * A listener that cannot bind because another process holds its address (listen/address-in-use.ts):
 * said as such, with the address and what to change, instead of Node's `listen EADDRINUSE`
 * (docs/cli.md, code `listen.address_in_use`).
 */
import { type CliIo, EXIT_FAILURE, reportError } from './run.js';

/** Reports the address in use; `remedy` says what to change (a setting, a file). */
export function reportAddressInUse(io: CliIo, json: boolean, command: string, address: string, remedy: string): number {
  return reportError(
    io,
    json,
    command,
    'listen.address_in_use',
    `${address} is already in use by another process: stop that process, or ${remedy}`,
    EXIT_FAILURE,
    { address },
  );
}
