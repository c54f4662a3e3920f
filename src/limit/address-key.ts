/**
 * Client addresses as keys and in one spelling. The key an address is counted under (by the
 * failure throttle, the rate limits and the per-client connection limits): an IPv4 address as it
 * is, an IPv6 address by its /64 (a home or host network holds a whole /64, and per address an
 * attacker would have 2^64 of them), except an IPv6 address that is one IPv4 host by another name
 * (IPv4-mapped, NAT64, SIIT, IPv4-compatible), which is keyed by that IPv4 address: behind a
 * translator every IPv4 client would otherwise share one /64.
 */

const MAPPED_V4 = '::ffff:';

/** An IPv4-mapped IPv6 address (a dual-stack listener's IPv4 peer) as its IPv4 form; any other as it is. */
export function unmappedAddress(address: string): string {
  if (!address.startsWith(MAPPED_V4)) return address;
  const rest = address.slice(MAPPED_V4.length);
  return rest.includes('.') && !rest.includes(':') && !rest.includes('%') ? rest : address;
}

function dotted(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

const HEX_AND_COLONS = /^[0-9a-fA-F:]+$/;

/**
 * The eight 16-bit groups of an IPv6 address in any spelling (`::`, a dotted IPv4 tail, a zone,
 * either case, leading zeros); undefined when it is not one. The key and the one spelling of an
 * address are both read from these numbers, so neither depends on how it was written.
 */
function ipv6Groups(address: string): number[] | undefined {
  const zone = address.indexOf('%');
  let text = zone === -1 ? address : address.slice(0, zone);
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const octets = last.split('.').map((octet) => (/^\d{1,3}$/.test(octet) ? Number(octet) : Number.NaN));
    if (octets.length !== 4 || octets.some((octet) => !(octet <= 255))) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!HEX_AND_COLONS.test(text)) return undefined;
  const fields = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const gap = text.indexOf('::');
  let parts: string[];
  if (gap === -1) parts = fields(text);
  else {
    if (text.includes('::', gap + 1)) return undefined;
    const head = fields(text.slice(0, gap));
    const tail = fields(text.slice(gap + 2));
    if (head.length + tail.length > 7) return undefined;
    parts = [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  }
  if (parts.length !== 8 || parts.some((part) => part.length === 0 || part.length > 4)) return undefined;
  return parts.map((part) => Number.parseInt(part, 16));
}

/**
 * Eight groups as RFC 5952 writes them (as the WHATWG URL parser and Node do): lower-case hex
 * without leading zeros, the first longest run of two or more zero groups as `::`.
 */
function rfc5952(groups: readonly number[]): string {
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < groups.length;) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((group) => group.toString(16));
  return runStart === -1 ? hex.join(':') : `${hex.slice(0, runStart).join(':')}::${hex.slice(runStart + runLength).join(':')}`;
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
  const groups = ipv6Groups(address);
  if (groups === undefined) return address.split('%')[0] ?? address;
  const [a, b, c, d, e, f, high = 0, low = 0] = groups;
  const mapped = a === 0 && b === 0 && c === 0 && d === 0 && e === 0 && f === 0xffff;
  return mapped ? dotted(high, low) : rfc5952(groups);
}

/**
 * The IPv4 address an IPv6 address names, when it is one IPv4 host by another name: IPv4-mapped
 * ::ffff:0:0/96, NAT64's well-known prefix 64:ff9b::/96 (RFC 6052), SIIT's ::ffff:0:0:0/96
 * (RFC 2765) and IPv4-compatible ::/96 (RFC 4291, deprecated; :: and ::1 excepted). A
 * network-specific NAT64 prefix is not known here: its clients share the prefix's /64.
 */
function embeddedIPv4(groups: readonly number[]): string | undefined {
  const [a, b, c, d, e, f, high = 0, low = 0] = groups;
  const zeroTop = a === 0 && b === 0 && c === 0 && d === 0;
  const embedded =
    (zeroTop && e === 0 && f === 0xffff) ||
    (zeroTop && e === 0xffff && f === 0) ||
    (zeroTop && e === 0 && f === 0 && (high !== 0 || low > 1)) ||
    (a === 0x64 && b === 0xff9b && c === 0 && d === 0 && e === 0 && f === 0);
  return embedded ? dotted(high, low) : undefined;
}

function ipv6Key(address: string): string {
  // A dual-stack listener's IPv4 peer, the common case: no parse.
  const unmapped = unmappedAddress(address);
  if (unmapped !== address) return unmapped;
  const groups = ipv6Groups(address);
  if (groups === undefined) return address;
  return (
    embeddedIPv4(groups) ??
    `${groups
      .slice(0, 4)
      .map((group) => group.toString(16))
      .join(':')}::/64`
  );
}

/**
 * The last IPv6 address keyed and its key: the checks of one request (connection limits, the
 * failure throttle, the rate limit) ask for the same peer's key one after another, and parsing
 * it costs about a microsecond each time.
 */
let lastAddress = '';
let lastKey = '';

/** The key of one address (see the module comment). */
export function addressKey(address: string): string {
  if (!address.includes(':')) return address;
  if (address !== lastAddress) {
    lastKey = ipv6Key(address);
    lastAddress = address;
  }
  return lastKey;
}
