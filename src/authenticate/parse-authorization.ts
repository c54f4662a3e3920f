/**
 * Strict parsing of the Authorization header (no I/O, no store access).
 *
 *   credentials = auth-scheme 1*SP ( token68 / #auth-param )       RFC 9110 §11.4
 *   Bearer      = "Bearer" 1*SP b64token                            RFC 6750 §2.1
 *   Basic       = "Basic" SP token68, base64 of user-id ":" password  RFC 7617 §2
 *
 * For Bearer and Basic we accept exactly ONE space and one credential, and refuse anything two
 * readers could understand differently: several Authorization headers, tabs, extra spaces,
 * lenient base64 (wrong alphabet, missing or misplaced padding, non-zero padding bits), decoded
 * bytes that are not UTF-8 or that carry control characters, a Basic value without a colon.
 * Those throw GatewayError('auth.malformed_credentials'), whose detail never echoes the value.
 * A scheme we do not implement is reported as `other` so the stage can answer 401 with the
 * route's challenges.
 */
import { GatewayError } from '../errors.js';
import type { PresentedCredential } from '../types.js';

/**
 * Longest Authorization value accepted, in bytes (header values are latin1: one char, one byte).
 * Above the 8 KiB bearer JWT limit (oauth/bearer-jwt.ts), so an oversize JWT is refused as an
 * invalid token (401) rather than as a malformed header.
 */
export const MAX_AUTHORIZATION_BYTES = 12 * 1024;

/** What the Authorization header holds. */
export type ParsedAuthorization =
  | { readonly kind: 'none' }
  | { readonly kind: 'credential'; readonly credential: PresentedCredential }
  /** A syntactically plausible scheme other than Bearer and Basic (Digest, Negotiate…). */
  | { readonly kind: 'other' };

const NONE: ParsedAuthorization = Object.freeze({ kind: 'none' });
const OTHER: ParsedAuthorization = Object.freeze({ kind: 'other' });

/** RFC 9110 §5.6.2 token: the auth-scheme. */
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
/** RFC 6750 §2.1 b64token, which is also RFC 9110 §11.2 token68. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Canonical base64 (RFC 4648 §4) with mandatory padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})+$|^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/;
/** CTL (RFC 5234 §B.1): 0x00-0x1F and 0x7F. */
const CONTROL = /[\u0000-\u001f\u007f]/;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function malformed(detail: string): GatewayError {
  return new GatewayError('auth.malformed_credentials', detail);
}

function parseBasic(token68: string): PresentedCredential {
  if (!BASE64.test(token68)) throw malformed('The Basic credentials are not canonical base64.');
  const bytes = Buffer.from(token68, 'base64');
  // Node's decoder ignores non-zero padding bits; re-encoding exposes them.
  if (bytes.toString('base64') !== token68) throw malformed('The Basic credentials are not canonical base64.');
  let decoded: string;
  try {
    decoded = utf8.decode(bytes);
  } catch {
    throw malformed('The Basic credentials are not valid UTF-8.');
  }
  if (CONTROL.test(decoded)) throw malformed('The Basic credentials contain control characters.');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw malformed('The Basic credentials have no ":" between user name and password.');
  return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Parses one Authorization value. Throws GatewayError('auth.malformed_credentials'). */
export function parseAuthorizationValue(value: string): ParsedAuthorization {
  if (value.length === 0) throw malformed('The Authorization header is empty.');
  if (value.length > MAX_AUTHORIZATION_BYTES) {
    throw malformed(`The Authorization header is longer than ${MAX_AUTHORIZATION_BYTES} bytes.`);
  }
  const match = SCHEME.exec(value);
  if (match === null) throw malformed('The Authorization header does not start with an authentication scheme.');
  const scheme = match[0].toLowerCase();
  const rest = value.slice(match[0].length);
  if (scheme !== 'bearer' && scheme !== 'basic') {
    if (rest !== '' && !rest.startsWith(' ')) throw malformed('The Authorization header does not start with an authentication scheme.');
    return OTHER;
  }
  // Exactly one space, then one credential with no whitespace anywhere (RFC 6750 §2.1).
  const credential = rest.slice(1);
  if (!rest.startsWith(' ') || credential === '') throw malformed(`The ${match[0]} credentials are empty.`);
  if (!B64TOKEN.test(credential)) {
    throw malformed(`The ${match[0]} credentials must be one token of letters, digits and -._~+/ after one space.`);
  }
  if (scheme === 'bearer') return { kind: 'credential', credential: { scheme: 'bearer', token: credential } };
  return { kind: 'credential', credential: parseBasic(credential) };
}

/**
 * Parses the Authorization header from `req.rawHeaders` (name/value pairs as received), so that
 * a repeated header is seen even though Node would join or drop the copies.
 */
export function parseAuthorization(rawHeaders: readonly string[]): ParsedAuthorization {
  let value: string | undefined;
  let count = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') {
      count++;
      value = rawHeaders[i + 1];
    }
  }
  if (count > 1) throw malformed('Several Authorization headers were sent.');
  if (value === undefined) return NONE;
  return parseAuthorizationValue(value);
}
