/**
 * Encryption at rest of the OAuth private signing keys (docs/decisions/0011-signing-keys-at-rest.md).
 *
 * Whoever reads the store's `signing_keys` table could otherwise mint access tokens. With a
 * key-encryption key (KEK: `oauth.keyEncryptionKey`, 32 random bytes in base64, given through
 * the environment) the private scalar `d` of a stored JWK is replaced by an AES-256-GCM envelope:
 *
 *   d = "pclkek1.<kek id>.<iv>.<ciphertext+tag>"       (iv, ciphertext: base64url)
 *
 * - the rest of the JWK (kty, crv, x, y, kid, alg) stays readable: the store and `store copy`
 *   handle the row as before and never see the key in the clear;
 * - the additional authenticated data binds the envelope to the key's `kid`, so an envelope
 *   moved onto another key row does not open;
 * - `<kek id>` (16 hex digits of a SHA-256 of the KEK, not secret) says which KEK sealed it, so
 *   a key sealed under a KEK the configuration lacks fails with a message naming that id, and
 *   `oauth.previousKeyEncryptionKeys` can open keys sealed before a KEK rotation;
 * - a plain `d` (base64url, never containing ".") is a key written without a KEK: it still
 *   loads, and `portcullis keys rekey` seals it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { JWK } from 'jose';

/** Length of a key-encryption key, in bytes (AES-256). */
export const KEK_BYTES = 32;
const ENVELOPE_PREFIX = 'pclkek1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** 32 bytes in standard or URL-safe base64, padding optional. */
const KEK_TEXT = /^[A-Za-z0-9+/_-]{43}=?$/;

/** A KEK ready to use: its bytes and its public id. */
export interface KeyEncryptionKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The KEKs of a configuration: the one that seals, and every one that may open. */
export interface KeyEncryptionKeys {
  /** Seals new keys; null: keys are stored in the clear. */
  readonly current: KeyEncryptionKey | null;
  /** `current` first, then `oauth.previousKeyEncryptionKeys`. */
  readonly openers: readonly KeyEncryptionKey[];
}

/**
 * Why `text` is not a KEK, or undefined if it is. The message never quotes the value: it is a
 * secret even when malformed (a truncated copy of the real one).
 */
export function keyEncryptionKeyProblem(text: string): string | undefined {
  if (!KEK_TEXT.test(text)) {
    return `expected ${KEK_BYTES} random bytes in base64 (44 characters, e.g. from \`openssl rand -base64 32\`); got ${text.length} characters`;
  }
  return undefined;
}

/** Parses a KEK (TypeError without the value if malformed). */
export function parseKeyEncryptionKey(text: string): KeyEncryptionKey {
  const problem = keyEncryptionKeyProblem(text);
  if (problem !== undefined) throw new TypeError(`oauth.keyEncryptionKey: ${problem}`);
  const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== KEK_BYTES) throw new TypeError(`oauth.keyEncryptionKey: expected ${KEK_BYTES} bytes, got ${key.length}`);
  const id = createHash('sha256').update('portcullis key-encryption key id\0').update(key).digest('hex').slice(0, 16);
  return { id, key };
}

/** The configured KEKs (`current` null when none is set). */
export function keyEncryptionKeys(current: string | undefined, previous: readonly string[] = []): KeyEncryptionKeys {
  const sealer = current === undefined ? null : parseKeyEncryptionKey(current);
  const openers = [...(sealer === null ? [] : [sealer]), ...previous.map(parseKeyEncryptionKey)];
  return { current: sealer, openers };
}

const aad = (kid: string): Buffer => Buffer.from(`portcullis signing key ${kid}`, 'utf8');

/** Whether the private JWK's `d` is sealed; and under which KEK id. */
export function sealedWith(jwk: JWK): string | undefined {
  const d = jwk.d;
  if (typeof d !== 'string' || !d.startsWith(`${ENVELOPE_PREFIX}.`)) return undefined;
  return d.split('.')[1];
}

/** The JWK with `d` sealed under `kek` (a fresh IV each time). */
export function sealPrivateJwk(jwk: JWK, kid: string, kek: KeyEncryptionKey): JWK {
  if (typeof jwk.d !== 'string') throw new TypeError(`signing key ${kid} has no private part to seal`);
  if (sealedWith(jwk) !== undefined) throw new TypeError(`signing key ${kid} is sealed already`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek.key, iv);
  cipher.setAAD(aad(kid));
  const sealed = Buffer.concat([cipher.update(jwk.d, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { ...jwk, d: `${ENVELOPE_PREFIX}.${kek.id}.${iv.toString('base64url')}.${sealed.toString('base64url')}` };
}

/**
 * The JWK with `d` in the clear: opened with the KEK that sealed it, or returned as is when it
 * was stored in the clear. Throws an Error naming the kid and KEK id (never key material) when
 * no configured KEK sealed it or the envelope does not open (wrong key, altered, moved).
 */
export function openPrivateJwk(jwk: JWK, kid: string, keys: KeyEncryptionKeys): JWK {
  const kekId = sealedWith(jwk);
  if (kekId === undefined) return jwk;
  const kek = keys.openers.find((candidate) => candidate.id === kekId);
  if (kek === undefined) {
    throw new Error(
      `signing key ${kid} is encrypted with key-encryption key ${kekId}, which is neither oauth.keyEncryptionKey nor one of oauth.previousKeyEncryptionKeys`,
    );
  }
  const [, , ivText = '', sealedText = ''] = (jwk.d as string).split('.');
  const iv = Buffer.from(ivText, 'base64url');
  const sealed = Buffer.from(sealedText, 'base64url');
  try {
    if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) throw new Error('malformed');
    const decipher = createDecipheriv('aes-256-gcm', kek.key, iv);
    decipher.setAAD(aad(kid));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const d = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return { ...jwk, d };
  } catch {
    throw new Error(
      `signing key ${kid} does not decrypt with key-encryption key ${kekId}: the stored envelope was altered or belongs to another key`,
    );
  }
}
