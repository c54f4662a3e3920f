/**
 * A listener that cannot bind because another process holds its address: said as such, with the
 * address and what to change, instead of Node's `listen EADDRINUSE` (docs/cli.md, code
 * `listen.address_in_use`).
 */
import { type CliIo, EXIT_FAILURE, reportError } from './run.js';

/** `host:port` of a bind that failed with EADDRINUSE; undefined for any other error. */
export function addressInUse(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  // Only a listener's bind: an EADDRINUSE while connecting (no local port left to reach the store) is another failure.
  if (code !== 'EADDRINUSE' || (syscall !== 'listen' && syscall !== 'bind')) return undefined;
  if (address === undefined || port === undefined) return 'its address';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

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
