/**
 * `portcullis keys rotate|list [--json] [--config FILE]`: the OAuth signing keys in the store
 * named by the configuration (docs/oauth.md "Signing keys").
 *
 *   rotate   generates a new key and makes it active at once; the previous key stops signing,
 *            its private part is erased, and it still verifies (and is published) until every
 *            token it signed has expired: retiredAt + oauth.tokenTtl + oauth.leeway + 60 s.
 *            Running gateways pick the new key up within one change-feed poll.
 *   list     every key, newest first: kid, alg, state (active | verifying | expired), dates,
 *            and how the active key is stored (`encryptedWith`: a KEK id, or null in the clear).
 *   rekey    re-encrypts the active key's private part under `oauth.keyEncryptionKey`: a key
 *            stored in the clear is sealed; a key sealed under one of
 *            `oauth.previousKeyEncryptionKeys` is opened and sealed again. The key itself is
 *            unchanged, so tokens and running gateways are not affected (decision 0011).
 *
 * `rotate` and `rekey` follow the key-protection policy: on a PostgreSQL store without
 * `oauth.keyEncryptionKey` they refuse unless `oauth.allowPlaintextSigningKeys` is true.
 *
 * Never prints a private key.
 */
import { parseArgs } from 'node:util';
import type { GatewayConfig } from '../config/types.js';
import { isStoreError, type CredentialStore, type SigningKeyRecord } from '../credentials/index.js';
import { sealedWith } from '../oauth/key-encryption.js';
import { generateSigningKey, protectSigningKey, rekeySigningKeys, requireKeyProtection, verifiesUntil } from '../oauth/index.js';
import { openConfiguredStore } from './configured-store.js';
import { type CliIo, type CommandRunner, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, registerCommand } from './run.js';

export const KEYS_USAGE = `  keys     rotate | list | rekey                                           [--json] [--config FILE]

  keys rotate: a new OAuth signing key signs from now on; the previous one keeps verifying
  until the tokens it signed have expired (oauth.tokenTtl + oauth.leeway + 60s).
  keys rekey: re-encrypts the active signing key under oauth.keyEncryptionKey (from a key in
  the clear, or from one of oauth.previousKeyEncryptionKeys); the key itself is unchanged.`;

/** A key as printed (SPEC §6 style: camelCase, ISO-8601 times). */
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

function keyJson(record: SigningKeyRecord, config: GatewayConfig, now: number): SigningKeyJson {
  const until = verifiesUntil(record, config.oauth);
  return {
    kid: record.kid,
    alg: record.alg,
    state: record.retiredAt === null ? 'active' : until > now ? 'verifying' : 'expired',
    createdAt: new Date(record.createdAt).toISOString(),
    retiredAt: record.retiredAt === null ? null : new Date(record.retiredAt).toISOString(),
    verifiesUntil: Number.isFinite(until) ? new Date(until).toISOString() : null,
    encryptedWith: record.privateJwk === null ? null : sealedWith(record.privateJwk) ?? null,
  };
}

type Action = (store: CredentialStore, config: GatewayConfig) => Promise<object>;

const ACTIONS: Record<string, Action> = {
  async list(store, config) {
    const now = Date.now();
    return (await store.signingKeys.list()).map((record) => keyJson(record, config, now));
  },
  async rotate(store, config) {
    const encryption = requireKeyProtection(config.oauth, config.store.url);
    const { active, retired } = await store.signingKeys.rotate(protectSigningKey(await generateSigningKey(), encryption));
    const now = Date.now();
    return { ...keyJson(active, config, now), previous: retired === null ? null : keyJson(retired, config, now) };
  },
  async rekey(store, config) {
    const encryption = requireKeyProtection(config.oauth, config.store.url);
    const { kid, outcome, from } = await rekeySigningKeys(store, encryption);
    return { kid, outcome, from, encryptedWith: encryption.current?.id ?? null };
  },
};

function printText(io: CliIo, result: object): void {
  const rows: object[] = Array.isArray(result) ? result : [result];
  if (rows.length === 0) io.out('(no signing key yet: one is created when the gateway first starts)');
  for (const row of rows) {
    const entries = Object.entries(row).filter(([, value]) => value !== null);
    io.out(entries.map(([key, value]) => (typeof value === 'object' ? `${key}.kid=${String((value as { kid?: unknown }).kid)}` : `${key}=${String(value)}`)).join('  '));
  }
}

const runKeys: CommandRunner = async (args, io) => {
  const [actionName, ...rest] = args;
  const action = actionName === undefined ? undefined : ACTIONS[actionName];
  if (action === undefined) {
    io.err(`portcullis keys: ${actionName === undefined ? 'an action is required' : `unknown action "${actionName}"`}\n\nusage:\n${KEYS_USAGE}`);
    return EXIT_USAGE;
  }
  let values: { json?: boolean; config?: string };
  try {
    ({ values } = parseArgs({ args: rest, options: { json: { type: 'boolean' }, config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    io.err(`portcullis keys ${actionName}: ${(error as Error).message}\n\nusage:\n${KEYS_USAGE}`);
    return EXIT_USAGE;
  }
  const opened = await openConfiguredStore(values.config, io);
  if (typeof opened === 'number') return opened;
  const { config, store } = opened;
  try {
    const result = await action(store, config);
    if (values.json === true) io.out(JSON.stringify(result));
    else printText(io, result);
    return EXIT_OK;
  } catch (error) {
    // Store failures, and the key-protection policy or a key that does not open (messages name
    // settings and key ids, never key material).
    io.err(`portcullis keys ${actionName}: ${isStoreError(error) ? error.message : (error as Error).message}`);
    return EXIT_FAILURE;
  } finally {
    await store.close();
  }
};

/** Registers `portcullis keys`. */
export function registerKeyCommands(): void {
  registerCommand('keys', KEYS_USAGE, runKeys);
}
