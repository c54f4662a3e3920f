/**
 * `portcullis audit list [--since 1h] [--limit N] [--actor A] [--action X] [--json]`: the audit
 * trail of the store the configuration names (docs/audit.md), newest first. `--json` prints an
 * array of the entries `GET /v1/audit` answers under `entries`.
 */
import {
  type AuditEntryJson,
  adminSettingsOf,
  createAdminOperations,
  InvalidInputError,
  parseAuditLimit,
  parseSince,
} from '../admin/operations.js';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from '../credentials/audit.js';
import { isStoreError } from '../credentials/index.js';
import { openConfiguredStore } from './configured-store.js';
import { CONFIG_OPTION } from './options.js';
import {
  type CliIo,
  type Command,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  registerCommand,
  registerGroup,
  reportError,
  usageHint,
} from './run.js';

const text = (value: string | boolean | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

function printText(io: CliIo, entries: readonly AuditEntryJson[]): void {
  if (entries.length === 0) {
    io.out('(none)');
    return;
  }
  for (const entry of entries) {
    const details = Object.keys(entry.details).length === 0 ? '' : `  ${JSON.stringify(entry.details)}`;
    io.out(`${entry.at}  ${entry.actor}  ${entry.action}  ${entry.target ?? '-'}  ${entry.address ?? '-'}${details}`);
  }
}

const list: Command = {
  name: 'audit list',
  summary: 'List the audit trail, newest first: who changed what, when, from where (never a secret).',
  usage: '[--since DURATION|INSTANT] [--limit N] [--actor ACTOR] [--action ACTION]',
  options: {
    since: {
      type: 'string',
      value: 'DURATION|INSTANT',
      description: 'Only entries from this long ago (30m, 1h, 7d) or since this ISO-8601 instant (2026-01-31T12:00:00Z).',
    },
    limit: { type: 'string', value: 'N', description: `At most N entries, 1-${AUDIT_MAX_LIMIT}. Default ${AUDIT_DEFAULT_LIMIT}.` },
    actor: {
      type: 'string',
      value: 'ACTOR',
      description: 'Only changes by this actor: credential:tok_… (admin API) or cli:USER (this command line).',
    },
    action: {
      type: 'string',
      value: 'ACTION',
      description: 'Only this action: token.create, token.revoke, account.disable, … (docs/audit.md).',
    },
    ...CONFIG_OPTION,
  },
  examples: ['audit list --since 1h', 'audit list --since 2026-01-31T00:00:00Z --action token.revoke --json'],
  notes:
    'Every change made with the accounts, tokens, clients and keys commands, the admin API and the console is recorded in the store, ' +
    'in the same transaction as the change. The store refuses to update or delete an entry.\n' +
    'Exit status: 0, 1 when the store cannot be read, 2 for a bad option.',
  async run({ values }, io) {
    const json = values.json === true;
    const since = text(values.since);
    const limit = text(values.limit);
    try {
      // The options are checked before the store is opened, with the names the user typed.
      if (since !== undefined) parseSince(since, Date.now(), '--since');
      if (limit !== undefined) parseAuditLimit(limit, '--limit');
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      if (json) return reportError(io, true, list.name, 'usage', error.message, EXIT_USAGE);
      io.err(usageHint(list, error.message));
      return EXIT_USAGE;
    }
    const opened = await openConfiguredStore(text(values.config), io, json, list.name);
    if (typeof opened === 'number') return opened;
    const { config, store } = opened;
    try {
      const entries = await createAdminOperations(store, adminSettingsOf(config)).auditList({
        since,
        limit,
        actor: text(values.actor),
        action: text(values.action),
      });
      if (json) io.out(JSON.stringify(entries));
      else printText(io, entries);
      return EXIT_OK;
    } catch (error) {
      if (error instanceof InvalidInputError) return reportError(io, json, list.name, 'usage', error.message, EXIT_USAGE);
      if (isStoreError(error, 'invalid_argument')) return reportError(io, json, list.name, 'usage', error.message, EXIT_USAGE);
      if (isStoreError(error)) return reportError(io, json, list.name, `store.${error.reason}`, error.message, EXIT_FAILURE);
      throw error;
    } finally {
      await store.close();
    }
  },
};

/** Registers `portcullis audit`. */
export function registerAuditCommands(): void {
  registerGroup('audit', 'The audit trail: list.');
  registerCommand(list);
}
