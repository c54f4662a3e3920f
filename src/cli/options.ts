/**
 * Command-line options of every `portcullis` command: one parser over node:util's parseArgs,
 * whose refusals are reworded here, where they enter — with the option as the user typed it
 * (`-c`, `--config`, `--config=`) and a did-you-mean for a misspelt one (config/suggest.ts, the
 * same help the configuration checker gives for keys).
 */
import { parseArgs } from 'node:util';
import { suggest } from '../config/suggest.js';

/** One option of a command, with what `--help` says of it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** Placeholder of the value in help: `FILE`, `30d`. */
  readonly value?: string;
  readonly description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** A command line that cannot be run: the message names what the user typed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
}

/** The options every command takes. */
export const COMMON_OPTIONS: OptionSpecs = {
  help: { type: 'boolean', short: 'h', description: 'Show this help and exit; nothing else is done.' },
  json: { type: 'boolean', description: 'Print the result as one JSON document on stdout, and errors as one JSON line on stderr.' },
};

/** The `--config` option of commands that read the configuration. */
export const CONFIG_OPTION: OptionSpecs = {
  config: {
    type: 'string',
    short: 'c',
    value: 'FILE',
    description: 'Configuration file. Default: $PORTCULLIS_CONFIG, else config/portcullis.yaml.',
  },
};

/** The option token the user typed for `name` (`-c` or `--config`), the last one when repeated. */
function typed(args: readonly string[], name: string, spec: OptionSpec | undefined): string {
  for (let i = args.length - 1; i >= 0; i--) {
    const arg = args[i] ?? '';
    if (arg === `--${name}` || arg.startsWith(`--${name}=`)) return `--${name}`;
    if (spec?.short !== undefined && arg === `-${spec.short}`) return `-${spec.short}`;
  }
  return `--${name}`;
}

function unknownOption(token: string, specs: OptionSpecs): UsageError {
  const bare = token.replace(/^-+/, '').split('=')[0] ?? '';
  const names = Object.keys(specs);
  const guess = token.startsWith('--') || bare.length > 1 ? suggest(bare, names) : undefined;
  if (guess !== undefined) return new UsageError(`unknown option "${token}"; did you mean "--${guess}"?`);
  const known = names.map((n) => `--${n}`).join(', ');
  return new UsageError(`unknown option "${token}"; this command takes ${known}`);
}

/**
 * Parses `args` against `specs` (COMMON_OPTIONS are added). `positionals` names the positional
 * arguments expected, in order; `optional` of them may be left out (from the end).
 */
export function parseOptions(args: readonly string[], specs: OptionSpecs, positionals: readonly string[] = [], optional = 0): ParsedArgs {
  const all: OptionSpecs = { ...specs, ...COMMON_OPTIONS };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(all))
    options[name] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = (error as Error).message;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const token = /'([^']+)'/.exec(message)?.[1] ?? '';
      throw unknownOption(token, all);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /--([A-Za-z0-9-]+)/.exec(message)?.[1] ?? '';
      const option = typed(args, name, all[name]);
      if (all[name]?.type === 'boolean') throw new UsageError(`option "${option}" takes no value`);
      throw new UsageError(`option "${option}" needs a value${all[name]?.value ? ` (${all[name].value})` : ''}`);
    }
    throw new UsageError(message);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) return { values, positionals: parsed.positionals };
  const given = parsed.positionals;
  if (given.length > positionals.length) {
    const extra = given[positionals.length] ?? '';
    throw new UsageError(extra.startsWith('-') ? unknownOption(extra, all).message : `unexpected argument "${extra}"`);
  }
  const missing = positionals.slice(given.length, positionals.length - optional);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(' ')}`);
  for (const [name, value] of Object.entries(values)) {
    if (value === '' && all[name]?.type === 'string')
      throw new UsageError(`option "${typed(args, name, all[name])}" needs a non-empty value`);
  }
  return { values, positionals: given };
}

/** The "Options:" block of a help text. */
export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, ...COMMON_OPTIONS }).map(([name, spec]) => {
    const flag = `${spec.short !== undefined ? `-${spec.short}, ` : '    '}--${name}${spec.value !== undefined ? ` ${spec.value}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`).join('\n');
}
