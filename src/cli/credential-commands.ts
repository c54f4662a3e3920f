/**
 * `portcullis accounts|tokens|clients …` (docs/cli.md): the shared admin operations on the store
 * named by the configuration. `--json` prints one JSON object (or an array for `list`); a secret
 * appears exactly once, in create and rotate output.
 */
import {
  adminSettingsOf,
  type AdminOperations,
  createAdminOperations,
  durationInput,
  instantInput,
  InvalidInputError,
  requireScope,
  requireText,
} from '../admin/operations.js';
import type { AuditActor } from '../credentials/audit.js';
import type { NewDeprecation } from '../credentials/store.js';
import { isStoreError } from '../credentials/index.js';
import { currentCliActor } from './cli-actor.js';
import { openConfiguredStore } from './configured-store.js';
import { CONFIG_OPTION, type OptionSpec, type OptionSpecs } from './options.js';
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

type Printable = object;

interface Action {
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpecs;
  /** Positional arguments after the action name. */
  readonly positionals: readonly string[];
  /** How many of the last positionals may be left out. */
  readonly optionalPositionals?: number;
  readonly examples: readonly string[];
  readonly notes?: string;
  /** `actor`: who runs the command, recorded with every change (docs/audit.md). */
  run(
    ops: AdminOperations,
    values: Readonly<Record<string, string | boolean | undefined>>,
    positionals: readonly string[],
    actor: AuditActor,
  ): Promise<Printable | Printable[]>;
  /** Create/rotate results: the secret is shown once, with a warning in text mode. */
  readonly secretField?: string;
}

function text(values: Readonly<Record<string, string | boolean | undefined>>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

const SECRET: OptionSpec = {
  type: 'string',
  value: '-',
  description:
    'Find the credential by its secret, read from standard input (only "-" is accepted: a secret on the command line would stay in the shell history and the process list).',
};

/** Reads a secret from standard input (at most 4 KiB), without its surrounding white space. */
async function readSecretFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > 4096) throw new InvalidInputError('standard input holds more than one secret (over 4 KiB)');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').trim();
}

/**
 * ID, or `--secret -` with the secret on standard input: exactly one. A secret given where the
 * id belongs is refused without being echoed.
 */
async function revokeTarget(
  values: Readonly<Record<string, string | boolean | undefined>>,
  id: string | undefined,
  prefix: string,
): Promise<{ id: string } | { secret: string }> {
  const secret = values.secret;
  if (secret !== undefined) {
    if (secret !== '-') throw new InvalidInputError('--secret takes "-": give the secret on standard input, never on the command line');
    if (id !== undefined) throw new InvalidInputError('give either ID or --secret -, not both');
    const read = await readSecretFromStdin();
    if (read === '') throw new InvalidInputError('--secret -: standard input is empty');
    return { secret: read };
  }
  if (id === undefined) throw new InvalidInputError('ID (or --secret - with the secret on standard input) is required');
  if (id.startsWith('pcl_') || id.startsWith('pcs_')) {
    throw new InvalidInputError(`ID must be an id (${prefix}…); that looks like a secret: give it on standard input with --secret -`);
  }
  return { id: requireText(id, 'ID') };
}

const DEPRECATE_OPTIONS: OptionSpecs = {
  sunset: {
    type: 'string',
    value: 'INSTANT',
    description:
      'RFC 3339 instant (2027-03-01T00:00:00Z) from which the credential is refused with 401 auth.credential_sunset; may be in the past.',
  },
  since: { type: 'string', value: 'INSTANT', description: 'When the deprecation takes effect (the Deprecation header). Default: now.' },
  link: {
    type: 'string',
    value: 'URL',
    description: 'http(s) URL of the migration documentation, sent as Link: <URL>; rel="deprecation".',
  },
};

function deprecationInput(values: Readonly<Record<string, string | boolean | undefined>>): NewDeprecation {
  const since = text(values, 'since');
  const link = text(values, 'link');
  return {
    sunset: instantInput(text(values, 'sunset'), '--sunset'),
    ...(since === undefined ? {} : { since: instantInput(since, '--since') }),
    ...(link === undefined ? {} : { link }),
  };
}

const DEPRECATE_NOTES =
  'Until the sunset, every response to a request with the credential carries Deprecation, Sunset (and Link) headers; ' +
  'from the sunset on it is refused with 401 auth.credential_sunset on every instance within a second, cached or not. ' +
  '`portcullis deprecations list` shows which deprecated credentials are still used.';

const SCOPE_HELP = 'read-only, read-write or admin (admin: the admin API only; refused on proxy routes by default).';
const GRACE: OptionSpec = {
  type: 'string',
  value: 'DURATION',
  description: 'How long the previous secret keeps working (30s, 10m, 1h). Default 0: it stops at once.',
};

const ACTIONS: Record<string, Record<string, Action>> = {
  accounts: {
    create: {
      summary: 'Create an account: tokens made for it are narrowed to its scope.',
      usage: 'NAME --scope SCOPE',
      options: { scope: { type: 'string', value: 'SCOPE', description: `The account's scope: ${SCOPE_HELP}` } },
      positionals: ['NAME'],
      examples: ['accounts create billing --scope read-write'],
      run: (ops, v, [name], actor) => ops.accountsCreate(actor, requireText(name, 'NAME'), requireScope(text(v, 'scope'), '--scope')),
    },
    list: {
      summary: 'List the accounts.',
      usage: '',
      options: {},
      positionals: [],
      examples: ['accounts list --json'],
      run: (ops) => ops.accountsList(),
    },
    'set-scope': {
      summary: "Change an account's scope; its tokens follow at once on every instance.",
      usage: 'NAME SCOPE',
      options: {},
      positionals: ['NAME', 'SCOPE'],
      examples: ['accounts set-scope billing read-only'],
      run: (ops, _v, [name, scope], actor) => ops.accountsSetScope(actor, requireText(name, 'NAME'), requireScope(scope, 'SCOPE')),
    },
    disable: {
      summary: 'Disable an account: every token of it is refused (auth.token_revoked).',
      usage: 'NAME',
      options: {},
      positionals: ['NAME'],
      examples: ['accounts disable billing'],
      notes: 'Reversible: `accounts enable NAME` lets its tokens work again (revoked ones stay revoked).',
      run: (ops, _v, [name], actor) => ops.accountsDisable(actor, requireText(name, 'NAME')),
    },
    enable: {
      summary: 'Enable a disabled account again: its tokens that are not revoked or expired work again.',
      usage: 'NAME',
      options: {},
      positionals: ['NAME'],
      examples: ['accounts enable billing'],
      notes: 'Every instance accepts the tokens again within a second. Revoked tokens stay revoked.',
      run: (ops, _v, [name], actor) => ops.accountsEnable(actor, requireText(name, 'NAME')),
    },
  },
  tokens: {
    create: {
      summary: 'Create an API token; its secret is printed once.',
      usage: '--label LABEL --scope SCOPE [--account NAME] [--expires-in DURATION] [--owner]',
      options: {
        label: { type: 'string', value: 'LABEL', description: 'What the token is for (shown in lists).' },
        scope: { type: 'string', value: 'SCOPE', description: `The token's scope: ${SCOPE_HELP}` },
        account: { type: 'string', value: 'NAME', description: "The account it belongs to; its scope narrows the token's." },
        'expires-in': {
          type: 'string',
          value: 'DURATION',
          description: 'Expiry from now (30d, 12h). Default: tokens.defaultExpiry, else none.',
        },
        owner: {
          type: 'boolean',
          description:
            "An account owner's token (needs --account; read-only or read-write): it signs in to the console and manages that account's tokens, and is refused on proxy routes (docs/credentials.md).",
        },
      },
      positionals: [],
      examples: [
        'tokens create --label ci --scope read-write --account billing --expires-in 90d',
        'tokens create --label "billing owner" --scope read-write --account billing --owner',
      ],
      secretField: 'token',
      run: (ops, v, _p, actor) => {
        const expiresIn = text(v, 'expires-in');
        return ops.tokensCreate(actor, {
          label: requireText(text(v, 'label'), '--label'),
          scope: requireScope(text(v, 'scope'), '--scope'),
          account: text(v, 'account'),
          expiresInMs: expiresIn === undefined ? undefined : durationInput(expiresIn, '--expires-in'),
          owner: v.owner === true,
        });
      },
    },
    list: {
      summary: 'List API tokens (never their secrets).',
      usage: '[--account NAME]',
      options: { account: { type: 'string', value: 'NAME', description: 'Only the tokens of this account.' } },
      positionals: [],
      examples: ['tokens list --account billing --json'],
      run: (ops, v) => ops.tokensList(text(v, 'account')),
    },
    revoke: {
      summary: 'Revoke a token. Permanent: a revoked token can never be used again.',
      usage: 'ID | --secret -',
      options: { secret: SECRET },
      positionals: ['ID'],
      optionalPositionals: 1,
      examples: ['tokens revoke tok_2f9c1e7a', 'tokens revoke --secret - < leaked-token.txt'],
      notes:
        'Irreversible: there is no way to un-revoke a token. Every instance refuses the token within a second.\n' +
        'With --secret -, the token is found by the hash of the secret read from standard input (what a secret scanner reports); the secret is never printed.',
      run: async (ops, v, [id], actor) => {
        const target = await revokeTarget(v, id, 'tok_');
        return 'secret' in target ? ops.tokensRevokeBySecret(actor, target.secret) : ops.tokensRevoke(actor, target.id);
      },
    },
    rotate: {
      summary: 'Give a token a new secret (same id); the new secret is printed once.',
      usage: 'ID [--grace DURATION]',
      options: { grace: GRACE },
      positionals: ['ID'],
      examples: ['tokens rotate tok_2f9c1e7a --grace 10m'],
      secretField: 'token',
      run: (ops, v, [id], actor) => {
        const grace = text(v, 'grace');
        return ops.tokensRotate(actor, requireText(id, 'ID'), grace === undefined ? undefined : durationInput(grace, '--grace'));
      },
    },
    deprecate: {
      summary: 'Deprecate a token with a sunset: announced in response headers until then, refused from then on.',
      usage: 'ID --sunset INSTANT [--since INSTANT] [--link URL]',
      options: DEPRECATE_OPTIONS,
      positionals: ['ID'],
      examples: ['tokens deprecate tok_2f9c1e7a --sunset 2027-03-01T00:00:00Z --link https://wiki.example.com/new-tokens'],
      notes: DEPRECATE_NOTES,
      run: (ops, v, [id], actor) => ops.tokensDeprecate(actor, requireText(id, 'ID'), deprecationInput(v)),
    },
    undeprecate: {
      summary: "Remove a token's deprecation (and its sunset).",
      usage: 'ID',
      options: {},
      positionals: ['ID'],
      examples: ['tokens undeprecate tok_2f9c1e7a'],
      run: (ops, _v, [id], actor) => ops.tokensDeprecate(actor, requireText(id, 'ID'), null),
    },
  },
  clients: {
    create: {
      summary: 'Create an OAuth client (client credentials grant); its secret is printed once.',
      usage: '--name NAME --scope SCOPE [--org-id ID] [--technical-account-id ID]',
      options: {
        name: { type: 'string', value: 'NAME', description: 'What the client is (shown in lists).' },
        scope: { type: 'string', value: 'SCOPE', description: `The widest scope its tokens may get: ${SCOPE_HELP}` },
        'org-id': { type: 'string', value: 'ID', description: 'Organisation id carried in its access tokens.' },
        'technical-account-id': { type: 'string', value: 'ID', description: 'Technical account id carried in its access tokens.' },
      },
      positionals: [],
      examples: ['clients create --name billing-service --scope read-only --org-id acme'],
      secretField: 'client_secret',
      run: (ops, v, _p, actor) =>
        ops.clientsCreate(actor, {
          name: requireText(text(v, 'name'), '--name'),
          scope: requireScope(text(v, 'scope'), '--scope'),
          orgId: text(v, 'org-id'),
          technicalAccountId: text(v, 'technical-account-id'),
        }),
    },
    list: {
      summary: 'List OAuth clients (never their secrets).',
      usage: '',
      options: {},
      positionals: [],
      examples: ['clients list --json'],
      run: (ops) => ops.clientsList(),
    },
    revoke: {
      summary: 'Revoke an OAuth client and the tokens it was issued. Permanent.',
      usage: 'ID | --secret -',
      options: { secret: SECRET },
      positionals: ['ID'],
      optionalPositionals: 1,
      examples: ['clients revoke cli_5b1d0c9e', 'clients revoke --secret - < leaked-client-secret.txt'],
      notes:
        'Irreversible: there is no way to un-revoke a client. Every instance refuses the client and its access tokens within a second.\n' +
        'With --secret -, the client is found by the hash of the client secret read from standard input; the secret is never printed.',
      run: async (ops, v, [id], actor) => {
        const target = await revokeTarget(v, id, 'cli_');
        return 'secret' in target ? ops.clientsRevokeBySecret(actor, target.secret) : ops.clientsRevoke(actor, target.id);
      },
    },
    'rotate-secret': {
      summary: 'Give a client a new secret (same id); the new secret is printed once.',
      usage: 'ID [--grace DURATION]',
      options: { grace: GRACE },
      positionals: ['ID'],
      examples: ['clients rotate-secret cli_5b1d0c9e --grace 1h'],
      secretField: 'client_secret',
      run: (ops, v, [id], actor) => {
        const grace = text(v, 'grace');
        return ops.clientsRotateSecret(actor, requireText(id, 'ID'), grace === undefined ? undefined : durationInput(grace, '--grace'));
      },
    },
    deprecate: {
      summary: 'Deprecate an OAuth client (and its access tokens) with a sunset.',
      usage: 'ID --sunset INSTANT [--since INSTANT] [--link URL]',
      options: DEPRECATE_OPTIONS,
      positionals: ['ID'],
      examples: ['clients deprecate cli_5b1d0c9e --sunset 2027-03-01T00:00:00Z'],
      notes: DEPRECATE_NOTES,
      run: (ops, v, [id], actor) => ops.clientsDeprecate(actor, requireText(id, 'ID'), deprecationInput(v)),
    },
    undeprecate: {
      summary: "Remove a client's deprecation (and its sunset).",
      usage: 'ID',
      options: {},
      positionals: ['ID'],
      examples: ['clients undeprecate cli_5b1d0c9e'],
      run: (ops, _v, [id], actor) => ops.clientsDeprecate(actor, requireText(id, 'ID'), null),
    },
  },
  deprecations: {
    list: {
      summary: 'List deprecated tokens and clients with their sunset and last use, most recently used first: whom to call.',
      usage: '',
      options: {},
      positionals: [],
      examples: ['deprecations list --json'],
      notes:
        'Last use is recorded by the gateways every few seconds (lastUsedAt). Schemes and issuers deprecated in the configuration are counted in portcullis_deprecated_credential_requests_total.',
      run: (ops) => ops.deprecationsList(),
    },
  },
};

const GROUP_SUMMARIES: Readonly<Record<string, string>> = {
  accounts: 'Accounts: create, list, set-scope, disable, enable.',
  tokens: 'API tokens: create, list, revoke, rotate, deprecate, undeprecate.',
  clients: 'OAuth clients: create, list, revoke, rotate-secret, deprecate, undeprecate.',
  deprecations: 'Deprecated credentials: list (who still uses them).',
};

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
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join('  ');
    io.out(line);
    if (secretField && typeof row[secretField] === 'string') {
      io.out(`${secretField}: ${row[secretField]}`);
      io.out('This secret is shown once: copy it now, it cannot be recovered.');
    }
  }
}

function runner(group: string, actionName: string, action: Action, self: () => Command): Command['run'] {
  return async ({ values, positionals }, io) => {
    const json = values.json === true;
    const command = `${group} ${actionName}`;
    const opened = await openConfiguredStore(text(values, 'config'), io, json, command);
    if (typeof opened === 'number') return opened;
    const { config, store } = opened;
    try {
      const ops = createAdminOperations(store, adminSettingsOf(config));
      const result = await action.run(ops, values, positionals, currentCliActor());
      if (json) io.out(JSON.stringify(result));
      else printText(io, result, action.secretField);
      return EXIT_OK;
    } catch (error) {
      if (error instanceof InvalidInputError) {
        if (json) return reportError(io, true, command, 'usage', error.message, EXIT_USAGE);
        io.err(usageHint(self(), error.message));
        return EXIT_USAGE;
      }
      if (isStoreError(error)) return reportError(io, json, command, `store.${error.reason}`, error.message, EXIT_FAILURE);
      throw error;
    } finally {
      await store.close();
    }
  };
}

export function registerCredentialCommands(): void {
  for (const [group, actions] of Object.entries(ACTIONS)) {
    registerGroup(group, GROUP_SUMMARIES[group] ?? '');
    for (const [actionName, action] of Object.entries(actions)) {
      const command: Command = {
        name: `${group} ${actionName}`,
        summary: action.summary,
        usage: action.usage,
        options: { ...action.options, ...CONFIG_OPTION },
        positionals: action.positionals,
        ...(action.optionalPositionals !== undefined ? { optionalPositionals: action.optionalPositionals } : {}),
        examples: action.examples,
        ...(action.notes !== undefined ? { notes: action.notes } : {}),
        run: runner(group, actionName, action, () => command),
      };
      registerCommand(command);
    }
  }
}
