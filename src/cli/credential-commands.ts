/**
 * `portcullis accounts|tokens|clients …` (SPEC §6): the shared admin operations on the store
 * named by the configuration. `--json` prints one JSON object (or an array for `list`); a secret
 * appears exactly once, in create and rotate output.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  type AdminOperations, createAdminOperations, durationInput, InvalidInputError, requireScope, requireText,
} from '../admin/operations.js';
import { isStoreError } from '../credentials/index.js';
import { openConfiguredStore } from './configured-store.js';
import { type CliIo, type CommandRunner, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, registerCommand } from './run.js';

const COMMON = { json: { type: 'boolean' }, config: { type: 'string', short: 'c' } } as const satisfies ParseArgsConfig['options'];

class UsageError extends Error {}

type Printable = object;

interface Action {
  readonly options: ParseArgsConfig['options'];
  /** Positional arguments after the action name. */
  readonly positionals: readonly string[];
  run(ops: AdminOperations, values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<Printable | Printable[]>;
  /** Create/rotate results: the secret is shown once, with a warning in text mode. */
  readonly secretField?: string;
}

function text(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

const ACTIONS: Record<string, Record<string, Action>> = {
  accounts: {
    create: { options: { scope: { type: 'string' } }, positionals: ['NAME'], run: (ops, v, [name]) => ops.accountsCreate(requireText(name, 'NAME'), requireScope(text(v, 'scope'), '--scope')) },
    list: { options: {}, positionals: [], run: (ops) => ops.accountsList() },
    'set-scope': { options: {}, positionals: ['NAME', 'SCOPE'], run: (ops, _v, [name, scope]) => ops.accountsSetScope(requireText(name, 'NAME'), requireScope(scope, 'SCOPE')) },
    disable: { options: {}, positionals: ['NAME'], run: (ops, _v, [name]) => ops.accountsDisable(requireText(name, 'NAME')) },
  },
  tokens: {
    create: {
      options: { label: { type: 'string' }, scope: { type: 'string' }, account: { type: 'string' }, 'expires-in': { type: 'string' } },
      positionals: [],
      secretField: 'token',
      run: (ops, v) => {
        const expiresIn = text(v, 'expires-in');
        return ops.tokensCreate({
          label: requireText(text(v, 'label'), '--label'),
          scope: requireScope(text(v, 'scope'), '--scope'),
          account: text(v, 'account'),
          expiresInMs: expiresIn === undefined ? undefined : durationInput(expiresIn, '--expires-in'),
        });
      },
    },
    list: { options: { account: { type: 'string' } }, positionals: [], run: (ops, v) => ops.tokensList(text(v, 'account')) },
    revoke: { options: {}, positionals: ['ID'], run: (ops, _v, [id]) => ops.tokensRevoke(requireText(id, 'ID')) },
    rotate: {
      options: { grace: { type: 'string' } },
      positionals: ['ID'],
      secretField: 'token',
      run: (ops, v, [id]) => {
        const grace = text(v, 'grace');
        return ops.tokensRotate(requireText(id, 'ID'), grace === undefined ? undefined : durationInput(grace, '--grace'));
      },
    },
  },
  clients: {
    create: {
      options: { name: { type: 'string' }, scope: { type: 'string' }, 'org-id': { type: 'string' }, 'technical-account-id': { type: 'string' } },
      positionals: [],
      secretField: 'client_secret',
      run: (ops, v) =>
        ops.clientsCreate({
          name: requireText(text(v, 'name'), '--name'),
          scope: requireScope(text(v, 'scope'), '--scope'),
          orgId: text(v, 'org-id'),
          technicalAccountId: text(v, 'technical-account-id'),
        }),
    },
    list: { options: {}, positionals: [], run: (ops) => ops.clientsList() },
    revoke: { options: {}, positionals: ['ID'], run: (ops, _v, [id]) => ops.clientsRevoke(requireText(id, 'ID')) },
    'rotate-secret': {
      options: { grace: { type: 'string' } },
      positionals: ['ID'],
      secretField: 'client_secret',
      run: (ops, v, [id]) => {
        const grace = text(v, 'grace');
        return ops.clientsRotateSecret(requireText(id, 'ID'), grace === undefined ? undefined : durationInput(grace, '--grace'));
      },
    },
  },
};

export const CREDENTIAL_USAGE = `  accounts create NAME --scope S | list | set-scope NAME S | disable NAME        [--json] [--config FILE]
  tokens   create --label L --scope S [--account A] [--expires-in 30d]        [--json] [--config FILE]
  tokens   list [--account A] | revoke ID | rotate ID [--grace 10m]            [--json] [--config FILE]
  clients  create --name N --scope S [--org-id X] [--technical-account-id Y]  [--json] [--config FILE]
  clients  list | revoke ID | rotate-secret ID [--grace 10m]                   [--json] [--config FILE]

  Scopes: read-only, read-write, admin. Durations: 30s, 10m, 1h, 30d.`;

function printText(io: CliIo, result: Printable | Printable[], secretField: string | undefined): void {
  const rows = Array.isArray(result) ? result : [result];
  if (rows.length === 0) {
    io.out('(none)');
    return;
  }
  for (const item of rows) {
    const row = item as Record<string, unknown>;
    const line = Object.entries(row)
      .filter(([key, value]) => key !== secretField && value !== null)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join('  ');
    io.out(line);
    if (secretField && typeof row[secretField] === 'string') {
      io.out(`${secretField}: ${row[secretField] as string}`);
      io.out('This secret is shown once: copy it now, it cannot be recovered.');
    }
  }
}

function runner(group: string): CommandRunner {
  return async (args, io) => {
    const [actionName, ...rest] = args;
    const action = actionName === undefined ? undefined : ACTIONS[group]?.[actionName];
    if (action === undefined) {
      io.err(`portcullis ${group}: ${actionName === undefined ? 'an action is required' : `unknown action "${actionName}"`}\n\nusage:\n${CREDENTIAL_USAGE}`);
      return EXIT_USAGE;
    }
    let values: Record<string, string | boolean | undefined>;
    let positionals: string[];
    try {
      const parsed = parseArgs({ args: rest, options: { ...COMMON, ...action.options }, strict: true, allowPositionals: true });
      values = parsed.values as Record<string, string | boolean | undefined>;
      positionals = parsed.positionals;
      if (positionals.length > action.positionals.length) throw new UsageError(`unexpected argument "${positionals[action.positionals.length]}"`);
      if (positionals.length < action.positionals.length) throw new UsageError(`missing ${action.positionals.slice(positionals.length).join(' ')}`);
    } catch (error) {
      io.err(`portcullis ${group} ${actionName}: ${(error as Error).message}\n\nusage:\n${CREDENTIAL_USAGE}`);
      return EXIT_USAGE;
    }
    const opened = await openConfiguredStore(text(values, 'config'), io);
    if (typeof opened === 'number') return opened;
    const { config, store } = opened;
    try {
      const ops = createAdminOperations(store, { tokenExpiryMs: config.tokens.defaultExpiryMs });
      const result = await action.run(ops, values, positionals);
      if (values.json === true) io.out(JSON.stringify(result));
      else printText(io, result, action.secretField);
      return EXIT_OK;
    } catch (error) {
      if (error instanceof InvalidInputError) {
        io.err(`portcullis ${group} ${actionName}: ${error.message}\n\nusage:\n${CREDENTIAL_USAGE}`);
        return EXIT_USAGE;
      }
      if (isStoreError(error)) {
        io.err(`portcullis ${group} ${actionName}: ${error.message}`);
        return EXIT_FAILURE;
      }
      throw error;
    } finally {
      await store.close();
    }
  };
}

export function registerCredentialCommands(): void {
  for (const group of Object.keys(ACTIONS)) registerCommand(group, group === 'accounts' ? CREDENTIAL_USAGE : '', runner(group));
}
