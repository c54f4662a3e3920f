/**
 * The client address a request is throttled and rate-limited by: the peer, or — when the peer is
 * in `trustedProxies` — the address that peer says it forwarded for. `X-Forwarded-For` is read
 * right to left, skipping trusted proxies, so the entry taken is the one the nearest trusted
 * proxy wrote; whatever a client put further left is never the key. From an untrusted peer the
 * header is ignored whatever it says.
 *
 * Keys and spellings of addresses: address-key.ts.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { MAX_HEADER_LINES } from '../listen/framing-guard.js';
import { addressKey, canonicalAddress } from './address-key.js';
import type { TrustedProxies } from '../config/types.js';

/**
 * An `X-Forwarded-For` entry as an address (canonicalAddress): `[v6]:port`, `v4:port` and
 * `"quoted"` forms unwrapped; undefined when not an IP.
 */
function forwardedAddress(entry: string): string | undefined {
  let text = entry.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1);
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    text = end === -1 ? '' : text.slice(1, end);
  } else if (text.indexOf(':') !== -1 && text.indexOf(':') === text.lastIndexOf(':')) {
    text = text.slice(0, text.indexOf(':'));
  }
  return isIP(text) === 0 ? undefined : canonicalAddress(text);
}

/** Every `X-Forwarded-For` value in order (several header lines are one list, RFC 9110 §5.3). */
function forwardedFor(req: IncomingMessage): string[] {
  const raw = req.rawHeaders;
  const entries: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] ?? '').toLowerCase() === 'x-forwarded-for') entries.push(...(raw[i + 1] ?? '').split(','));
  }
  return entries;
}

/** The client address of `req` (see the module comment); `''` when the socket has none. */
export function clientAddressOf(req: IncomingMessage, trusted: TrustedProxies): string {
  return clientAddressBehind(req.socket.remoteAddress ?? '', req, trusted);
}

/**
 * The client address of `req` that came from `peer` (for a request whose `req.socket` is gone,
 * as it is once a keep-alive response ended).
 */
export function clientAddressBehind(peer: string, req: IncomingMessage, trusted: TrustedProxies): string {
  if (!trusted.has(peer)) return peer;
  // A head of MAX_HEADER_LINES lines or more was cut by Node's parser (and is refused 431): the
  // X-Forwarded-For line its trusted proxy appended may be among those dropped, and a client's
  // own line would be read in its place.
  if (req.rawHeaders.length >= MAX_HEADER_LINES * 2) return peer;
  const entries = forwardedFor(req);
  let client = peer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = forwardedAddress(entries[i] ?? '');
    // A trusted proxy wrote garbage: the last hop known is the client as far as we can tell.
    if (address === undefined) return client;
    client = address;
    if (!trusted.has(address)) return address;
  }
  return client;
}

/** The key (see addressKey) of the client address of `req`. */
export function clientKeyOf(req: IncomingMessage, trusted: TrustedProxies): string {
  return addressKey(clientAddressOf(req, trusted));
}
