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
import type { GatewayConfig } from '../config/types.js';
import { isStoreError, type CredentialStore } from '../credentials/index.js';
import { adminSettingsOf, createAdminOperations } from '../admin/operations.js';
import { rekeySigningKeys, requireKeyProtection } from '../oauth/index.js';
import { currentCliActor } from './cli-actor.js';
import { openConfiguredStore } from './configured-store.js';
import { CONFIG_OPTION } from './options.js';
import { type CliIo, type Command, EXIT_FAILURE, EXIT_OK, registerCommand, registerGroup, reportError } from './run.js';

export type { SigningKeyJson } from '../admin/signing-key-json.js';

type Action = (store: CredentialStore, config: GatewayConfig) => Promise<object>;

/** list and rotate are the admin API's operations (the same JSON); rotate and rekey are audited as `cli:<user>`. */
const ACTIONS: Record<string, Action> = {
  list: (store, config) => createAdminOperations(store, adminSettingsOf(config)).signingKeysList(),
  rotate: (store, config) => createAdminOperations(store, adminSettingsOf(config)).signingKeysRotate(currentCliActor()),
  async rekey(store, config) {
    const encryption = requireKeyProtection(config.oauth, config.store.url);
    const { kid, outcome, from } = await rekeySigningKeys(store, encryption, currentCliActor());
    return { kid, outcome, from, encryptedWith: encryption.current?.id ?? null };
  },
};

function printText(io: CliIo, result: object): void {
  const rows: readonly object[] = Array.isArray(result) ? (result as object[]) : [result];
  if (rows.length === 0) io.out('(no signing key yet: one is created when the gateway first starts)');
  for (const row of rows) {
    const entries = Object.entries(row).filter(([, value]) => value !== null);
    io.out(
      entries
        .map(([key, value]) =>
          typeof value === 'object' ? `${key}.kid=${String((value as { kid?: unknown }).kid)}` : `${key}=${String(value)}`,
        )
        .join('  '),
    );
  }
}

const HELP: Readonly<Record<string, { summary: string; example: string; notes?: string }>> = {
  rotate: {
    summary: 'Make a new OAuth signing key active at once; the previous one keeps verifying until its tokens expire.',
    example: 'keys rotate --config /etc/portcullis/portcullis.yaml',
    notes:
      'The previous key stops signing and its private part is erased; it is still published (JWKS) and verifies until oauth.tokenTtl + oauth.leeway + 60s after now. Running gateways pick the new key up within one change-feed poll.',
  },
  list: { summary: 'List the signing keys, newest first (never a private key).', example: 'keys list --json' },
  rekey: {
    summary:
      'Re-encrypt the active signing key under oauth.keyEncryptionKey (from a key in the clear, or from one of oauth.previousKeyEncryptionKeys).',
    example: 'keys rekey --config /etc/portcullis/portcullis.yaml',
    notes:
      'oauth.keyEncryptionKey usually comes from the environment (${PORTCULLIS_KEK}). The key itself is unchanged: issued tokens and running gateways are unaffected. Never prints key material.',
  },
};

function runKeys(actionName: string, action: Action): Command['run'] {
  return async ({ values }, io) => {
    const json = values.json === true;
    const command = `keys ${actionName}`;
    const opened = await openConfiguredStore(typeof values.config === 'string' ? values.config : undefined, io, json, command);
    if (typeof opened === 'number') return opened;
    const { config, store } = opened;
    try {
      const result = await action(store, config);
      if (json) io.out(JSON.stringify(result));
      else printText(io, result);
      return EXIT_OK;
    } catch (error) {
      if (isStoreError(error)) return reportError(io, json, command, `store.${error.reason}`, error.message, EXIT_FAILURE);
      // The key-protection policy, or a key that does not open: the messages name settings and
      // key ids, never key material.
      if (error instanceof Error) return reportError(io, json, command, 'keys.refused', error.message, EXIT_FAILURE);
      throw error;
    } finally {
      await store.close();
    }
  };
}

/** Registers `portcullis keys`. */
export function registerKeyCommands(): void {
  registerGroup('keys', 'OAuth signing keys: rotate, list, rekey.');
  for (const [name, action] of Object.entries(ACTIONS)) {
    const help = HELP[name];
    registerCommand({
      name: `keys ${name}`,
      summary: help?.summary ?? '',
      usage: '',
      options: CONFIG_OPTION,
      examples: help ? [help.example] : [],
      ...(help?.notes !== undefined ? { notes: help.notes } : {}),
      run: runKeys(name, action),
    });
  }
}
