/**
 * The only cryptographic helpers of Portcullis' credential layer: how secrets and public ids are
 * generated, recognised, hashed and compared.
 *
 * Formats (docs/credentials.md):
 *
 *   API token      pcl_ + 43 base62 chars (256 random bits) + 6 base62 chars of CRC32   (53 chars)
 *   client secret  pcs_ + 43 base62 chars (256 random bits) + 6 base62 chars of CRC32   (53 chars)
 *   token id       tok_ + 22 base62 chars (128 random bits)                              public
 *   client id      cli_ + 22 base62 chars (128 random bits)                              public
 *
 * The checksum covers the prefix and the body, so a one-character typo (or a client secret
 * pasted where a token is expected) is refused without touching the store: CRC32 detects every
 * error burst of up to 32 bits, which includes any single changed character.
 *
 * Hashing: a plain SHA-256 of the secret. The secrets are 256-bit random strings, so an offline
 * guess over the hash is as hopeless as a guess of the secret itself; a slow password hash
 * (bcrypt, scrypt, argon2) buys nothing against that and would cost milliseconds of CPU on
 * every cache miss of the request path. A server-side pepper would not help either: the
 * digest is already preimage-resistant for uniformly random 256-bit inputs.
 */
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Prefixes of the strings this module issues. */
export const PREFIXES = {
  apiToken: 'pcl_',
  clientSecret: 'pcs_',
  tokenId: 'tok_',
  clientId: 'cli_',
} as const;

/** Length in base62 characters of 256 random bits (62^43 > 2^256). */
const SECRET_BODY_LENGTH = 43;
/** Length in base62 characters of 128 random bits (62^22 > 2^128). */
const ID_BODY_LENGTH = 22;
/** Length in base62 characters of a CRC32 value (62^6 > 2^32). */
const CHECKSUM_LENGTH = 6;

/** Length in characters of an API token or a client secret. */
export const SECRET_LENGTH = PREFIXES.apiToken.length + SECRET_BODY_LENGTH + CHECKSUM_LENGTH;

const API_TOKEN_SHAPE = /^pcl_[0-9A-Za-z]{49}$/;
const CLIENT_SECRET_SHAPE = /^pcs_[0-9A-Za-z]{49}$/;
const TOKEN_ID_SHAPE = /^tok_[0-9A-Za-z]{22}$/;
const CLIENT_ID_SHAPE = /^cli_[0-9A-Za-z]{22}$/;

/** Encodes `bytes` as a big-endian integer in base62, left-padded with '0' to `length`. */
function base62(bytes: Uint8Array, length: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return base62OfInteger(value, length);
}

function base62OfInteger(integer: bigint, length: number): string {
  let value = integer;
  let out = '';
  while (value > 0n) {
    out = BASE62.charAt(Number(value % 62n)) + out;
    value /= 62n;
  }
  if (out.length > length) throw new RangeError('base62 value does not fit the requested length');
  return out.padStart(length, '0');
}

function checksumOf(prefixAndBody: string): string {
  return base62OfInteger(BigInt(crc32(prefixAndBody)), CHECKSUM_LENGTH);
}

function generateChecksummedSecret(prefix: string): string {
  const head = prefix + base62(randomBytes(32), SECRET_BODY_LENGTH);
  return head + checksumOf(head);
}

/** Value of base62 digit `code` (a char code of the shape regexes' [0-9A-Za-z]). */
function base62Digit(code: number): number {
  if (code <= 0x39) return code - 0x30;
  if (code <= 0x5a) return code - 0x41 + 10;
  return code - 0x61 + 36;
}

/**
 * Whether the last CHECKSUM_LENGTH chars of a value of secret shape are the CRC32 of the rest.
 * Compared as integers (62^6 < 2^53): it runs on every presented credential, so no BigInt and
 * no string is built. Not secret-dependent in a useful way: the checksum is a public function
 * of the body.
 */
function hasValidChecksum(value: string): boolean {
  const split = value.length - CHECKSUM_LENGTH;
  let written = 0;
  for (let i = split; i < value.length; i++) written = written * 62 + base62Digit(value.charCodeAt(i));
  return written === crc32(value.slice(0, split));
}

/** A new API token (`pcl_…`). Shown to its owner once; only `hashSecret(token)` is stored. */
export function generateApiToken(): string {
  return generateChecksummedSecret(PREFIXES.apiToken);
}

/** A new OAuth client secret (`pcs_…`). Shown once; only its hash is stored. */
export function generateClientSecret(): string {
  return generateChecksummedSecret(PREFIXES.clientSecret);
}

/** A new public token id (`tok_…`, 128 random bits, so never reused). */
export function generateTokenId(): string {
  return PREFIXES.tokenId + base62(randomBytes(16), ID_BODY_LENGTH);
}

/** A new public OAuth client id (`cli_…`, 128 random bits). */
export function generateClientId(): string {
  return PREFIXES.clientId + base62(randomBytes(16), ID_BODY_LENGTH);
}

/** True when `value` has the API token shape and its checksum matches. No store access. */
export function isWellFormedApiToken(value: string): boolean {
  return value.length === SECRET_LENGTH && API_TOKEN_SHAPE.test(value) && hasValidChecksum(value);
}

/** True when `value` has the client secret shape and its checksum matches. No store access. */
export function isWellFormedClientSecret(value: string): boolean {
  return value.length === SECRET_LENGTH && CLIENT_SECRET_SHAPE.test(value) && hasValidChecksum(value);
}

/** True when `value` has the shape of a token id. */
export function isTokenId(value: string): boolean {
  return TOKEN_ID_SHAPE.test(value);
}

/** True when `value` has the shape of a client id. */
export function isClientId(value: string): boolean {
  return CLIENT_ID_SHAPE.test(value);
}

/** Length in bytes of every digest this module produces. */
export const HASH_LENGTH = 32;

/** The stored form of a secret: SHA-256 of its UTF-8 bytes (see the module comment for why). */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * A cache key for a presented credential: base64 of SHA-256 over `kind`, then each part, each
 * preceded by NUL (no part can contain NUL: the parser refuses control characters, and the
 * kinds are fixed strings). Never the raw secret, so a heap dump of the cache reveals nothing
 * usable.
 */
export function cacheKeyOf(kind: string, first: string, second?: string): string {
  // One-shot hash: a third of the cost of createHash().update()… on every cached request.
  return hash('sha256', second === undefined ? `${kind}\0${first}` : `${kind}\0${first}\0${second}`, 'base64');
}

/**
 * Constant-time equality of two digests. Digests of different lengths are unequal; they are
 * still compared (against themselves) so the work done does not depend on the input.
 */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** A digest no secret hashes to in practice; compared against when there is nothing to compare. */
export const DUMMY_DIGEST: Buffer = hashSecret('portcullis:dummy-digest-for-equal-work');
