/**
 * An OAuth signing key as `portcullis keys list --json` and `GET /v1/signing-keys` show it:
 * never its private part, only whether (and under which key-encryption key) it is sealed.
 */
import type { SigningKeyRecord } from '../credentials/index.js';
import { sealedWith } from '../oauth/key-encryption.js';
import { verifiesUntil, type KeyLifetimeSettings } from '../oauth/signing-keys.js';

/** A key as printed (camelCase, ISO-8601 times). */
export interface SigningKeyJson {
  readonly kid: string;
  readonly alg: string;
  readonly state: 'active' | 'verifying' | 'expired';
  readonly createdAt: string;
  readonly retiredAt: string | null;
  /** Until when tokens signed with it verify; null for the active key. */
  readonly verifiesUntil: string | null;
  /** Active key: the id of the key-encryption key its private part is sealed with, null in the clear; retired keys: null (no private part). */
  readonly encryptedWith: string | null;
}

/** What `keys rotate` and `POST /v1/signing-keys/rotate` answer: the new active key and the one it replaced. */
export interface SigningKeyRotationJson extends SigningKeyJson {
  readonly previous: SigningKeyJson | null;
}

export function signingKeyJson(record: SigningKeyRecord, settings: KeyLifetimeSettings, now: number): SigningKeyJson {
  const until = verifiesUntil(record, settings);
  return {
    kid: record.kid,
    alg: record.alg,
    state: record.retiredAt === null ? 'active' : until > now ? 'verifying' : 'expired',
    createdAt: new Date(record.createdAt).toISOString(),
    retiredAt: record.retiredAt === null ? null : new Date(record.retiredAt).toISOString(),
    verifiesUntil: Number.isFinite(until) ? new Date(until).toISOString() : null,
    encryptedWith: record.privateJwk === null ? null : (sealedWith(record.privateJwk) ?? null),
  };
}
