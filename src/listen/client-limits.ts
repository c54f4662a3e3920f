/**
 * Limits per client address on the proxy listener: open connections and requests in flight.
 * One peer holding hundreds of slow requests must not take every upstream connection from the
 * others. Peers in `trustedProxies` are not limited: they carry many clients, and their
 * own limits apply. Figures: docs/decisions/0013-slow-clients.md.
 */
import type { Socket } from 'node:net';
import { GatewayError } from '../errors.js';
import { addressKey } from '../limit/address-key.js';

export interface ClientLimitSettings {
  readonly maxConnectionsPerClient: number;
  readonly maxInFlightPerClient: number;
}

export interface ClientLimits {
  /** Counts a new connection until it closes. */
  connectionOpened(socket: Socket): void;
  /**
   * Admits a request from `address`, counted until `release(address)`; or returns the refusal
   * (429, `Retry-After: 1`) and counts nothing.
   */
  admit(address: string): GatewayError | undefined;
  release(address: string): void;
}

/** Seconds a refused client is told to wait (`Retry-After`). */
const RETRY_AFTER = '1';

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const count = (counts.get(key) ?? 1) - 1;
  if (count <= 0) counts.delete(key);
  else counts.set(key, count);
}

/** `settings` and `exempt` are read per call, so a reload applies at once. */
export function createClientLimits(settings: () => ClientLimitSettings, exempt: (address: string) => boolean): ClientLimits {
  const connections = new Map<string, number>();
  const inFlight = new Map<string, number>();
  return {
    connectionOpened(socket) {
      const address = socket.remoteAddress;
      if (address === undefined) return;
      const key = addressKey(address);
      increment(connections, key);
      socket.once('close', () => decrement(connections, key));
    },
    admit(address) {
      const key = addressKey(address);
      if (address === '' || exempt(address)) {
        increment(inFlight, key);
        return undefined;
      }
      const limits = settings();
      // Every connection of the address over the limit is refused and closed on its next request
      // (with a TLS listener the request's socket is not the one counted, so the count decides).
      if ((connections.get(key) ?? 0) > limits.maxConnectionsPerClient) {
        return new GatewayError(
          'client.too_many_connections',
          `At most ${limits.maxConnectionsPerClient} connections per client address.`,
          {
            'retry-after': RETRY_AFTER,
          },
        );
      }
      if ((inFlight.get(key) ?? 0) >= limits.maxInFlightPerClient) {
        return new GatewayError(
          'client.too_many_requests',
          `At most ${limits.maxInFlightPerClient} requests in flight per client address.`,
          {
            'retry-after': RETRY_AFTER,
          },
        );
      }
      increment(inFlight, key);
      return undefined;
    },
    release(address) {
      decrement(inFlight, addressKey(address));
    },
  };
}
