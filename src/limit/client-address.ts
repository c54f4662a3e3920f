/**
 * The client address a request is throttled and rate-limited by: the peer, or — when the peer is
 * in `trustedProxies` — the address that peer says it forwarded for. `X-Forwarded-For` is read
 * right to left, skipping trusted proxies, so the entry taken is the one the nearest trusted
 * proxy wrote; whatever a client put further left is never the key. From an untrusted peer the
 * header is ignored whatever it says.
 *
 * Keys: an IPv4 address as it is (an IPv4-mapped IPv6 address as its IPv4 form), an IPv6 address
 * by its /64 (clientKey in listen/client-limits.ts): a home or host network holds a whole /64,
 * and per address an attacker would have 2^64 of them.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { clientKey } from '../listen/client-limits.js';
import { MAX_HEADER_LINES } from '../listen/framing-guard.js';
import type { TrustedProxies } from '../config/types.js';

const MAPPED_V4 = '::ffff:';

/** An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as its IPv4 form; any other as it is. */
export function unmappedAddress(address: string): string {
  return address.startsWith(MAPPED_V4) && address.includes('.') ? address.slice(MAPPED_V4.length) : address;
}

/** The key of one address (see the module comment). */
export function addressKey(address: string): string {
  const unmapped = unmappedAddress(address);
  return unmapped === address ? clientKey(address) : unmapped;
}

const MAPPED_V4_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * An IP address in the one spelling Node gives a peer: IPv6 lower-case and compressed (RFC 5952),
 * an IPv4-mapped IPv6 address as its IPv4 form. A proxy may write `::FFFF:192.0.2.1`,
 * `::ffff:c000:201` or `0:0:0:0:0:ffff:192.0.2.1` for one client: taken as written, each would be
 * a key of its own, and the hex form would put every IPv4 client into the one /64 `0:0:0:0::/64`.
 * An address with a zone (`fe80::1%eth0`) is kept as written.
 */
export function canonicalAddress(address: string): string {
  if (!address.includes(':') || address.includes('%')) return address;
  let host: string;
  try {
    // The WHATWG URL parser writes an IPv6 host in RFC 5952 form, a mapped one as two hex groups.
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address;
  }
  const mapped = MAPPED_V4_HEX.exec(host);
  if (mapped === null) return host;
  const high = Number.parseInt(mapped[1] ?? '0', 16);
  const low = Number.parseInt(mapped[2] ?? '0', 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

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
