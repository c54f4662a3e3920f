/**
 * The keys access tokens are signed with (docs/oauth.md "Signing keys"), kept in the credential
 * store so every instance signs and verifies with the same keys.
 *
 * Lifecycle (docs/oauth.md "Signing keys"):
 *   - first start: no key in the store → one is generated and stored (ensureActive: if several
 *     instances start at once, one wins and all use it);
 *   - `portcullis keys rotate`: a new key becomes active at once; the previous one is retired
 *     (its private part erased from the store) and still verifies — and is published in the JWKS —
 *     until every token it signed has expired: retiredAt + oauth.tokenTtl + oauth.leeway + a
 *     propagation margin (an instance that has not yet seen the rotation may sign with the old
 *     key for up to one change-feed poll);
 *   - every instance reloads its ring on the `signing_key.added` change (≤ 250 ms on other
 *     processes), and on a token whose kid it does not know (at most once per second).
 *
 * At rest (key-encryption.ts, docs/decisions/0011-signing-keys-at-rest.md): with
 * `oauth.keyEncryptionKey` the private part is sealed (AES-256-GCM) before it reaches the store and
 * opened here when loaded; the store only ever holds the envelope. A PostgreSQL store without a KEK
 * is refused unless `oauth.allowPlaintextSigningKeys` says otherwise ({@link requireKeyProtection}).
 *
 * Algorithm: ES256 (P-256). Asymmetric only: the JWKS is public, and a verifier never accepts
 * a symmetric algorithm, so a public key can never be used as an HMAC secret.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { OAuthSettings } from '../config/types.js';
import type { AuditActor } from '../credentials/audit.js';
import type { CredentialStore, NewSigningKey, SigningAlgorithm, SigningKeyRecord } from '../credentials/index.js';
import { keyEncryptionKeys, openPrivateJwk, sealedWith, sealPrivateJwk, type KeyEncryptionKeys } from './key-encryption.js';

/** The algorithm of keys Portcullis generates. */
export const SIGNING_ALGORITHM: SigningAlgorithm = 'ES256';
/** Algorithms a Portcullis access token may be signed with (the store admits these). */
export const ACCESS_TOKEN_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA'];
/**
 * Added to a retired key's verification window, in ms: covers instances that sign with the old
 * key until they see the rotation (one change-feed poll, 250 ms by default) with a wide margin.
 */
export const KEY_PROPAGATION_MARGIN_MS = 60_000;
/** Shortest time between two reloads caused by unknown kids, in ms. */
export const UNKNOWN_KID_RELOAD_INTERVAL_MS = 1_000;

/** Token lifetime settings that bound a retired key's life. */
export interface KeyLifetimeSettings {
  readonly tokenTtlMs: number;
  readonly leewayMs: number;
}

/** Generates a new key pair. `kid` is the RFC 7638 SHA-256 thumbprint of the public key. */
export async function generateSigningKey(alg: SigningAlgorithm = SIGNING_ALGORITHM): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return {
    kid,
    alg,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateJwk: { ...privateJwk, kid, alg, use: 'sig' },
  };
}

/** No key-encryption key: keys are stored and loaded in the clear. */
export const NO_KEY_ENCRYPTION: KeyEncryptionKeys = Object.freeze({ current: null, openers: [] });

/**
 * The KEKs of the configuration, after the policy: a PostgreSQL store (shared by every instance
 * and readable by every database user granted the table) refuses to hold keys in the clear
 * unless `oauth.allowPlaintextSigningKeys` is true. Throws an Error that says what to set.
 */
export function requireKeyProtection(settings: OAuthSettings, storeUrl: string): KeyEncryptionKeys {
  const keys = keyEncryptionKeys(settings.keyEncryptionKey, settings.previousKeyEncryptionKeys ?? []);
  const shared = storeUrl.startsWith('postgres://') || storeUrl.startsWith('postgresql://');
  if (keys.current === null && shared && settings.allowPlaintextSigningKeys !== true) {
    throw new Error(
      'oauth.keyEncryptionKey is not set: on a PostgreSQL store the OAuth signing keys would be stored in the clear, ' +
        'and anyone who can read the database could mint access tokens. Set oauth.keyEncryptionKey: "${PORTCULLIS_KEK}" ' +
        '(32 random bytes in base64: openssl rand -base64 32), or oauth.allowPlaintextSigningKeys: true to accept the risk.',
    );
  }
  return keys;
}

/** `key` as it is written to the store: its private part sealed when a KEK is configured. */
export function protectSigningKey(key: NewSigningKey, encryption: KeyEncryptionKeys): NewSigningKey {
  if (encryption.current === null) return key;
  return { ...key, privateJwk: sealPrivateJwk(key.privateJwk, key.kid, encryption.current) };
}

/** What `keys rekey` did to the active key. */
export type RekeyOutcome = 'sealed' | 'resealed' | 'unchanged' | 'none';

/**
 * Re-encrypts the active key under the current KEK: a key in the clear is sealed, a key sealed
 * under another (previous) KEK is opened and sealed again; retired keys hold no private part.
 * The key itself (kid, public part) does not change, so nothing else has to follow.
 */
export async function rekeySigningKeys(
  store: CredentialStore,
  encryption: KeyEncryptionKeys,
  audit?: AuditActor,
): Promise<{ readonly kid: string | null; readonly outcome: RekeyOutcome; readonly from: string | null }> {
  const current = encryption.current;
  if (current === null) throw new Error('oauth.keyEncryptionKey is not set: there is no key to encrypt under');
  const active = (await store.signingKeys.list()).find((record) => record.retiredAt === null);
  if (active === undefined || active.privateJwk === null) return { kid: null, outcome: 'none', from: null };
  const from = sealedWith(active.privateJwk) ?? null;
  if (from === current.id) return { kid: active.kid, outcome: 'unchanged', from };
  const clear = openPrivateJwk(active.privateJwk, active.kid, encryption);
  await store.signingKeys.replacePrivate(active.kid, sealPrivateJwk(clear, active.kid, current), audit);
  return { kid: active.kid, outcome: from === null ? 'sealed' : 'resealed', from };
}

/**
 * Until when a key verifies tokens (epoch ms): Infinity for the active key; for a retired key,
 * retirement + token lifetime + leeway + {@link KEY_PROPAGATION_MARGIN_MS}.
 */
export function verifiesUntil(key: Pick<SigningKeyRecord, 'retiredAt'>, settings: KeyLifetimeSettings): number {
  if (key.retiredAt === null) return Infinity;
  return key.retiredAt + settings.tokenTtlMs + settings.leewayMs + KEY_PROPAGATION_MARGIN_MS;
}

/** The key tokens are signed with now. */
export interface ActiveSigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly key: CryptoKey;
}

interface LoadedKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: JWK;
  readonly key: CryptoKey;
  readonly retiredAt: number | null;
}

/** This instance's view of the store's signing keys. */
export interface KeyRing {
  /** Loads the keys; stores a new one first if the store has none. Rejects if the store fails. */
  start(): Promise<void>;
  /** Reloads from the store (concurrent calls share one read). Rejects if the store fails. */
  reload(): Promise<void>;
  /**
   * Reloads because a token named an unknown kid, at most once per second. Resolves true if a
   * reload happened (the caller may look again), false if it was rate-limited or failed.
   */
  reloadForUnknownKid(): Promise<boolean>;
  /** The active key, or undefined before start(). */
  signer(): ActiveSigningKey | undefined;
  /** The public key `kid` if it still verifies now (and its algorithm), else undefined. */
  verificationKey(kid: string): { readonly key: CryptoKey; readonly alg: SigningAlgorithm } | undefined;
  /** Public JWKs of the keys that verify now, newest first (for /.well-known/jwks.json). */
  publicKeys(): readonly JWK[];
  /** Whether the active key's private part is stored in the clear (after start()). */
  activeInClear(): boolean;
}

/** Options of {@link createKeyRing}. */
export interface KeyRingOptions {
  readonly store: CredentialStore;
  /** Current token lifetime settings (they follow configuration reloads). */
  readonly settings: () => KeyLifetimeSettings;
  /** Wall clock in epoch ms. Default Date.now. */
  readonly now?: () => number;
  /** Key-encryption keys ({@link requireKeyProtection}). Default: none (keys in the clear). */
  readonly encryption?: KeyEncryptionKeys;
}

async function load(
  record: SigningKeyRecord,
  usePrivate: boolean,
  encryption: KeyEncryptionKeys,
): Promise<LoadedKey & { readonly signing?: CryptoKey }> {
  const key = await importJWK(record.publicJwk, record.alg);
  if (key instanceof Uint8Array) throw new TypeError(`signing key ${record.kid} is not an asymmetric key`);
  let signing: CryptoKey | undefined;
  if (usePrivate && record.privateJwk !== null) {
    const imported = await importJWK(openPrivateJwk(record.privateJwk, record.kid, encryption), record.alg);
    if (imported instanceof Uint8Array) throw new TypeError(`signing key ${record.kid} is not an asymmetric key`);
    signing = imported;
  }
  const publicJwk: JWK = {
    kty: record.publicJwk.kty,
    crv: record.publicJwk.crv,
    x: record.publicJwk.x,
    y: record.publicJwk.y,
    kid: record.kid,
    alg: record.alg,
    use: 'sig',
  };
  if (publicJwk.y === undefined) delete publicJwk.y;
  return { kid: record.kid, alg: record.alg, publicJwk, key, retiredAt: record.retiredAt, ...(signing ? { signing } : {}) };
}

/** Creates the ring; call start() before use. */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  const { store } = options;
  const now = options.now ?? Date.now;
  const encryption = options.encryption ?? NO_KEY_ENCRYPTION;
  let keys: readonly LoadedKey[] = [];
  let activeInClear = false;
  let active: ActiveSigningKey | undefined;
  let pending: Promise<void> | undefined;
  let lastUnknownKidReload = -Infinity;

  async function readStore(): Promise<void> {
    const records = await store.signingKeys.list();
    const settings = options.settings();
    const at = now();
    const loaded: LoadedKey[] = [];
    let nextActive: ActiveSigningKey | undefined;
    for (const record of records) {
      if (verifiesUntil(record, settings) <= at) continue;
      const key = await load(record, record.retiredAt === null, encryption);
      loaded.push(key);
      if (record.retiredAt === null && key.signing !== undefined) {
        nextActive = { kid: key.kid, alg: key.alg, key: key.signing };
        activeInClear = record.privateJwk !== null && sealedWith(record.privateJwk) === undefined;
      }
    }
    keys = loaded;
    // A ring always has a signer once started: keep the previous one until a new one is seen.
    if (nextActive !== undefined) active = nextActive;
  }

  function reload(): Promise<void> {
    pending ??= readStore().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  return {
    async start() {
      const records = await store.signingKeys.list();
      if (!records.some((r) => r.retiredAt === null))
        await store.signingKeys.ensureActive(protectSigningKey(await generateSigningKey(), encryption));
      await reload();
      if (active === undefined) throw new Error('the store holds no usable signing key');
    },
    reload,
    async reloadForUnknownKid() {
      const at = now();
      if (at - lastUnknownKidReload < UNKNOWN_KID_RELOAD_INTERVAL_MS) return false;
      lastUnknownKidReload = at;
      try {
        await reload();
        return true;
      } catch {
        return false;
      }
    },
    signer: () => active,
    verificationKey(kid) {
      const settings = options.settings();
      const at = now();
      for (const key of keys) {
        if (key.kid === kid) return verifiesUntil(key, settings) > at ? { key: key.key, alg: key.alg } : undefined;
      }
      return undefined;
    },
    publicKeys() {
      const settings = options.settings();
      const at = now();
      return keys.filter((key) => verifiesUntil(key, settings) > at).map((key) => key.publicJwk);
    },
    activeInClear: () => activeInClear,
  };
}
