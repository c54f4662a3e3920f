/**
 * Whether a listener could not bind because another process holds its address (EADDRINUSE from
 * `listen`, or `bind` in a worker of node:cluster): the single process and the workers' primary
 * both turn it into `listen.address_in_use` (docs/cli.md) instead of Node's message.
 */

/** `host:port` of a bind that failed with EADDRINUSE; undefined for any other error. */
export function addressInUse(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, address, port } = error as NodeJS.ErrnoException & { address?: string; port?: number };
  // Only a listener's bind: an EADDRINUSE while connecting (no local port left to reach the store) is another failure.
  if (code !== 'EADDRINUSE' || (syscall !== 'listen' && syscall !== 'bind')) return undefined;
  if (address === undefined || port === undefined) return 'its address';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
