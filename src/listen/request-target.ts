/**
 * Path safety (docs/request-path.md "Path safety"): the request target is checked and normalised
 * once, before routing, and the normalised form is what both the router and the upstream see.
 *
 * Refused with 400 request.invalid_path:
 *  - anything but origin-form (`/path?query`): absolute-form, authority-form, `*`;
 *  - dot segments `.` / `..`, raw or percent-encoded in any case (`%2e`, `.%2E`, …);
 *  - encoded `/` (`%2F`) or `\` (`%5C`), raw `\`;
 *  - empty segments (`//`): many backends collapse them, which would let `//admin` skip the
 *    policy of `/admin`;
 *  - `;` in the path: Tomcat/Spring strip `;params` from segments (`/admin;x` → `/admin`);
 *  - `;`, `?` and `#` percent-encoded (`%3B`, `%3F`, `%23`): a backend that decodes the path
 *    before it splits off path parameters, the query or a fragment cuts `/private%3Bx`,
 *    `/private%3F` or `/private%23` to `/private`, a prefix the router never saw
 *    (`/public/..%3B/admin`, the Tomcat-style bypass);
 *  - NUL and every other control byte, raw or encoded; raw bytes outside printable ASCII;
 *  - invalid percent-encoding (`%`, `%4`, `%zz`);
 *  - escapes of bytes ≥ 0x80 that are not well-formed UTF-8 (RFC 3629): overlong forms
 *    (`%C0%AE` is an overlong `.`, `%C0%AF` an overlong `/`, read as such by old decoders),
 *    surrogates, stray continuation bytes, truncated sequences;
 *  - escaped characters that Unicode compatibility normalisation (NFKC) turns into dots only,
 *    or into something with `/` or `\` (`%EF%BC%8E`, the fullwidth full stop): a backend that
 *    normalises the decoded path would see dot segments or separators the router never saw.
 *
 * Normalised (RFC 3986 §6.2.2): percent-encoded unreserved characters are decoded (`%61` → `a`,
 * so `/pro%66iles` is routed and forwarded as `/profiles`), remaining escapes are upper-cased.
 */
import { GatewayError } from '../errors.js';

export interface RequestTarget {
  /** Normalised path, starting with `/`. */
  readonly path: string;
  /** Query string including the leading `?`, or `''`. Forwarded byte for byte. */
  readonly search: string;
}

const HEX = '0123456789ABCDEF';

/** Byte classes for raw path characters (RFC 3986 pchar minus `;`, plus `/` and `%`). */
const PATH_ALLOWED = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@/%") {
  PATH_ALLOWED[c.charCodeAt(0)] = 1;
}
/** Unreserved characters: decoded when percent-encoded. */
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[c.charCodeAt(0)] = 1;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

function invalid(detail: string): GatewayError {
  return new GatewayError('request.invalid_path', detail);
}

/**
 * Checks and normalises a raw request target (`req.url`). Throws GatewayError
 * `request.invalid_path` for every ambiguous form.
 */
export function parseRequestTarget(rawTarget: string): RequestTarget {
  if (rawTarget.charCodeAt(0) !== 0x2f /* / */) {
    throw invalid('The request target must be a path starting with "/".');
  }
  const queryAt = rawTarget.indexOf('?');
  const rawPath = queryAt === -1 ? rawTarget : rawTarget.slice(0, queryAt);
  const search = queryAt === -1 ? '' : rawTarget.slice(queryAt);
  checkQuery(search);
  return { path: normalisePath(rawPath), search };
}

/**
 * Checks and normalises a path (no query): the one function that shapes both request paths and
 * route prefixes (config/values.ts), so a prefix is stored exactly as a request for it is routed.
 * Throws GatewayError `request.invalid_path`.
 */
export function normalisePath(rawPath: string): string {
  // The usual path needs no change: it is only scanned, and a new string is built from the
  // first escape that changes (by copying the unchanged stretches between edits).
  let out: string | undefined;
  let copiedTo = 0;
  // The current segment, as routed (escapes of unreserved characters decoded): its length and
  // how many of its characters are dots, raw or encoded.
  let segmentLength = 0;
  let segmentDots = 0;
  // Escapes still to come that continue a UTF-8 sequence already checked whole.
  let continuations = 0;
  const length = rawPath.length;
  for (let i = 0; i < length; i++) {
    const code = rawPath.charCodeAt(i);
    if (code >= 0x80 || PATH_ALLOWED[code] !== 1) {
      if (code === 0x5c) throw invalid('Backslashes are not allowed in the path.');
      if (code === 0x3b) throw invalid('";" is not allowed in the path (path parameters are read differently by different servers).');
      throw invalid(
        code < 0x20 || code === 0x7f
          ? 'Control characters are not allowed in the path.'
          : 'The path contains a character that must be percent-encoded.',
      );
    }
    if (code === 0x2f /* / */) {
      if (i > 0) {
        if (segmentLength === 0) throw invalid('Empty path segments ("//") are not allowed.');
        checkDotSegment(segmentLength, segmentDots);
      }
      segmentLength = 0;
      segmentDots = 0;
      continue;
    }
    segmentLength++;
    if (code === 0x2e /* . */) {
      segmentDots++;
      continue;
    }
    if (code !== 0x25 /* % */) continue;
    const high = i + 2 < length ? hexValue(rawPath.charCodeAt(i + 1)) : -1;
    const low = i + 2 < length ? hexValue(rawPath.charCodeAt(i + 2)) : -1;
    if (high < 0 || low < 0) throw invalid('The path contains an invalid percent-encoding.');
    const byte = high * 16 + low;
    if (byte === 0x2f || byte === 0x5c) throw invalid('Encoded "/" or "\\" is not allowed in the path.');
    if (byte < 0x20 || byte === 0x7f) throw invalid('Encoded control characters are not allowed in the path.');
    if (byte === 0x3b || byte === 0x3f || byte === 0x23) {
      throw invalid(
        'Encoded ";", "?" or "#" (%3B, %3F, %23) is not allowed in the path: a backend that decodes before it splits the path would cut it there.',
      );
    }
    if (byte >= 0x80) {
      if (continuations > 0) continuations--;
      else continuations = checkUtf8Escapes(rawPath, i, byte);
    }
    let replacement: string | undefined;
    if (byte < 0x80 && UNRESERVED[byte] === 1) {
      replacement = String.fromCharCode(byte);
      if (byte === 0x2e) segmentDots++;
    } else {
      const escape = `%${HEX[high]}${HEX[low]}`;
      if (escape !== rawPath.slice(i, i + 3)) replacement = escape;
    }
    if (replacement !== undefined) {
      out = (out ?? '') + rawPath.slice(copiedTo, i) + replacement;
      copiedTo = i + 3;
    }
    i += 2;
  }
  if (segmentLength > 0) checkDotSegment(segmentLength, segmentDots);
  return out === undefined ? rawPath : out + rawPath.slice(copiedTo);
}

/**
 * Code points whose NFKC form is only dots (`．`, `‥`, `…`) or contains `/` or `\` (`／`, `＼`,
 * `℀`): test/listen/request-target.test.ts checks this list against every code point.
 */
export const NORMALISES_TO_SEPARATOR: ReadonlySet<number> = new Set([
  0x2024, 0x2025, 0x2026, 0x2100, 0x2101, 0x2105, 0x2106, 0xfe19, 0xfe30, 0xfe52, 0xfe68, 0xff0e, 0xff0f, 0xff3c,
]);

function escapedByte(rawPath: string, at: number): number {
  if (at + 2 >= rawPath.length || rawPath.charCodeAt(at) !== 0x25) return -1;
  const high = hexValue(rawPath.charCodeAt(at + 1));
  const low = hexValue(rawPath.charCodeAt(at + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

/**
 * Checks the UTF-8 sequence that starts with the escape at `at` (byte `lead` ≥ 0x80): well-formed
 * per RFC 3629 §4, its continuation bytes escaped right after it, and not a code point in
 * NORMALISES_TO_SEPARATOR. Returns how many continuation escapes follow.
 */
function checkUtf8Escapes(rawPath: string, at: number, lead: number): number {
  let count: number;
  let min = 0x80;
  let max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) count = 1;
  else if (lead >= 0xe0 && lead <= 0xef) {
    count = 2;
    if (lead === 0xe0) min = 0xa0;
    if (lead === 0xed) max = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    count = 3;
    if (lead === 0xf0) min = 0x90;
    if (lead === 0xf4) max = 0x8f;
  } else {
    throw invalid(
      'The path contains a percent-encoded byte sequence that is not valid UTF-8 (an overlong form such as %C0%AE, or a stray byte).',
    );
  }
  let codePoint = lead & (0xff >> (count + 2));
  for (let k = 1; k <= count; k++) {
    const byte = escapedByte(rawPath, at + 3 * k);
    // Only the first continuation byte has narrowed bounds (RFC 3629 §4).
    if (byte < (k === 1 ? min : 0x80) || byte > (k === 1 ? max : 0xbf)) {
      throw invalid(
        'The path contains a percent-encoded byte sequence that is not valid UTF-8 (an overlong form such as %C0%AE, or a stray byte).',
      );
    }
    codePoint = (codePoint << 6) | (byte & 0x3f);
  }
  if (NORMALISES_TO_SEPARATOR.has(codePoint)) {
    throw invalid(
      'The path contains an encoded character that Unicode normalisation turns into dots, "/" or "\\" (such as %EF%BC%8E, a fullwidth full stop).',
    );
  }
  return count;
}

/** A segment of only one or two dots (raw or encoded) is a dot segment. */
function checkDotSegment(segmentLength: number, segmentDots: number): void {
  if (segmentDots === segmentLength && segmentLength <= 2) {
    throw invalid('Dot segments ("." and "..", raw or percent-encoded) are not allowed in the path.');
  }
}

function checkQuery(search: string): void {
  for (let i = 1; i < search.length; i++) {
    const code = search.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x23 /* # */) {
      throw invalid('The query string contains a character that must be percent-encoded.');
    }
  }
}
