/**
 * The client address a request is throttled and rate-limited by: the peer, or — when the peer is
 * in `trustedProxies` — the address that peer says it forwarded for. `X-Forwarded-For` is read
 * right to left, skipping trusted proxies, so the entry taken is the one the nearest trusted
 * proxy wrote; whatever a client put further left is never the key. From an untrusted peer the
 * header is ignored whatever it says.
 *
 * Keys (addressKey, also the per-client connection limits' key): an IPv4 address as it is, an
 * IPv6 address by its /64 (a home or host network holds a whole /64, and per address an attacker
 * would have 2^64 of them), except an IPv6 address that is one IPv4 host by another name
 * (IPv4-mapped, NAT64, SIIT, IPv4-compatible), which is keyed by that IPv4 address: behind a
 * translator every IPv4 client would otherwise share one /64.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { MAX_HEADER_LINES } from '../listen/framing-guard.js';
import type { TrustedProxies } from '../config/types.js';

const MAPPED_V4 = '::ffff:';

/** An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as its IPv4 form; any other as it is. */
export function unmappedAddress(address: string): string {
  if (!address.startsWith(MAPPED_V4)) return address;
  const rest = address.slice(MAPPED_V4.length);
  return rest.includes('.') && !rest.includes(':') && !rest.includes('%') ? rest : address;
}

const MAPPED_V4_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

function dotted(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * An IP address in the one spelling Node gives a peer: IPv6 lower-case and compressed (RFC 5952),
 * an IPv4-mapped IPv6 address as its IPv4 form, without a zone (`%eth0` names an interface of
 * the sender, never a client). A proxy may write `::FFFF:192.0.2.1`, `::ffff:c000:201` or
 * `0:0:0:0:0:ffff:192.0.2.1` for one client: taken as written, each would be a key of its own,
 * and the hex form would put every IPv4 client into the one /64 `0:0:0:0::/64`.
 */
export function canonicalAddress(address: string): string {
  if (!address.includes(':')) return address;
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  let host: string;
  try {
    // The WHATWG URL parser writes an IPv6 host in RFC 5952 form, a mapped one as two hex groups.
    host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare;
  }
  const mapped = MAPPED_V4_HEX.exec(host);
  return mapped === null ? host : dotted(Number.parseInt(mapped[1] ?? '0', 16), Number.parseInt(mapped[2] ?? '0', 16));
}

/**
 * In canonical form, the IPv6 names of one IPv4 host: NAT64's well-known prefix 64:ff9b::/96
 * (RFC 6052), SIIT's ::ffff:0:0:0/96 (RFC 2765) and IPv4-compatible ::/96 (RFC 4291,
 * deprecated; :: and ::1 excepted). A network-specific NAT64 prefix is not known here: its
 * clients share the prefix's /64.
 */
const EMBEDDED_V4 = /^(?:64:ff9b::|::ffff:0:|::)(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,4})$/;

function embeddedIPv4(canonical: string): string | undefined {
  const embedded = EMBEDDED_V4.exec(canonical);
  if (embedded === null || canonical === '::1') return undefined;
  return dotted(Number.parseInt(embedded[1] ?? '0', 16), Number.parseInt(embedded[2] ?? '0', 16));
}

/** The /64 of an IPv6 address in canonical form, as `2001:db8:1:2::/64`. */
function network64(canonical: string): string {
  const gap = canonical.indexOf('::');
  let groups: string[];
  if (gap === -1) groups = canonical.split(':');
  else {
    const head = gap === 0 ? [] : canonical.slice(0, gap).split(':');
    const tail = gap + 2 === canonical.length ? [] : canonical.slice(gap + 2).split(':');
    groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail];
  }
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group || '0', 16).toString(16))
    .join(':')}::/64`;
}

/** The key of one address (see the module comment). */
export function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  // A dual-stack listener's IPv4 peer, the common case: no parse.
  const unmapped = unmappedAddress(address);
  if (unmapped !== address) return unmapped;
  const canonical = canonicalAddress(address);
  if (!canonical.includes(':')) return canonical;
  return embeddedIPv4(canonical) ?? network64(canonical);
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
