/**
 * Command dispatch for `portcullis`. Each command returns its exit status, or undefined when it
 * keeps the process running (start, demo).
 *
 * Every command and subcommand answers `--help` (or `-h`, or `portcullis help COMMAND`) with its
 * usage, options and an example, and does nothing else; `--version` prints the version; every
 * command takes `--json`, which also turns its errors into one JSON line on stderr.
 */
import { type ConfigIssue, formatIssue } from '../config/index.js';
import { suggest } from '../config/suggest.js';
import { PACKAGE_VERSION } from '../version.js';
import { optionsHelp, type OptionSpecs, parseOptions, type ParsedArgs, UsageError } from './options.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** One command or subcommand (`check`, `tokens create`). */
export interface Command {
  /** `check`, or `tokens create` for a subcommand of the `tokens` group. */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** Arguments after the name, for the usage line: `--label L --scope S [--account A]`. */
  readonly usage: string;
  readonly options: OptionSpecs;
  /** Positional arguments, in order (`ID`); the last `optionalPositionals` may be left out. */
  readonly positionals?: readonly string[];
  readonly optionalPositionals?: number;
  /** Command lines shown under "Examples:", without the leading `portcullis`. */
  readonly examples: readonly string[];
  /** More words, shown after the options (irreversible, exit codes, …). */
  readonly notes?: string;
  run(args: ParsedArgs, io: CliIo): Promise<number | undefined>;
}

/** Commands by name, in the order they were registered. */
const commands = new Map<string, Command>();
/** Group name → its one-line summary (`tokens` → `API tokens: create, list, …`). */
const groups = new Map<string, string>();

export function registerCommand(command: Command): void {
  commands.set(command.name, command);
}

export function registerGroup(name: string, summary: string): void {
  groups.set(name, summary);
}

/** Whether `--json` was asked for, before or without parsing (for errors of the parse itself). */
export function wantsJson(args: readonly string[]): boolean {
  return args.includes('--json');
}

/**
 * Reports a failure: `portcullis CMD: message` on stderr, or with `--json` one JSON line
 * `{"error":{"code","message",…}}` on stderr. Returns `exit`.
 */
export function reportError(
  io: CliIo,
  json: boolean,
  command: string,
  code: string,
  message: string,
  exit: number,
  extra: Record<string, unknown> = {},
): number {
  if (json) io.err(JSON.stringify({ error: { code, message, command: `portcullis ${command}`.trim(), ...extra } }));
  else io.err(`portcullis${command ? ` ${command}` : ''}: ${message}`);
  return exit;
}

/** An invalid configuration file: every problem, as text lines or as JSON. */
export function reportConfigProblems(io: CliIo, json: boolean, command: string, file: string, issues: readonly ConfigIssue[]): number {
  if (json) {
    return reportError(
      io,
      true,
      command,
      'config.invalid',
      `${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}`,
      EXIT_USAGE,
      { file, problems: issues },
    );
  }
  for (const issue of issues) io.err(formatIssue(issue));
  io.err(`portcullis: ${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}`);
  return EXIT_USAGE;
}

/** A refused command line: what is wrong, the usage line, and where the help is. */
export function usageHint(command: Command, message: string): string {
  return `portcullis ${command.name}: ${message}\nusage: portcullis ${command.name}${command.usage ? ` ${command.usage}` : ''} [options]\nRun "portcullis ${command.name} --help" for its options and an example.`;
}

export function helpText(command: Command): string {
  const lines = [
    `usage: portcullis ${command.name}${command.usage ? ` ${command.usage}` : ''} [options]`,
    '',
    command.summary,
    '',
    'Options:',
    optionsHelp(command.options),
  ];
  if (command.notes) lines.push('', command.notes);
  lines.push('', 'Examples:', ...command.examples.map((example) => `  portcullis ${example}`));
  return lines.join('\n');
}

function groupHelp(group: string): string {
  const members = [...commands.values()].filter((c) => c.name.startsWith(`${group} `));
  const width = Math.max(...members.map((c) => c.name.length));
  return [
    `usage: portcullis ${group} <action> [options]`,
    '',
    groups.get(group) ?? '',
    '',
    'Actions:',
    ...members.map((c) => `  portcullis ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `"portcullis ${group} <action> --help" shows an action's options and an example.`,
  ].join('\n');
}

export function overview(): string {
  const top = [...commands.values()].filter((c) => !c.name.includes(' '));
  const rows: [string, string][] = [
    ...top.map((c): [string, string] => [c.name, c.summary]),
    ...[...groups].map(([name, summary]): [string, string] => [name, summary]),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    'usage: portcullis <command> [options]',
    '',
    'Commands:',
    ...rows.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Every command takes --help (its options and an example; nothing is run) and --json.',
    'portcullis --version prints the version.',
    'The configuration file is --config, else $PORTCULLIS_CONFIG, else config/portcullis.yaml.',
  ].join('\n');
}

function unknown(io: CliIo, json: boolean, word: string, candidates: readonly string[], where: string): number {
  const guess = suggest(word, candidates);
  const message = `unknown ${where} "${word}"${guess !== undefined ? `; did you mean "${guess}"?` : ''}`;
  if (json) return reportError(io, true, '', 'usage', message, EXIT_USAGE);
  io.err(`portcullis: ${message}\n\n${overview()}`);
  return EXIT_USAGE;
}

const isHelp = (arg: string | undefined): boolean => arg === '--help' || arg === '-h';

/** Resolves `argv` to a command and what follows it; prints help or an error when it cannot. */
function resolve(argv: readonly string[], io: CliIo): { command: Command; rest: string[] } | number {
  const [first, second, ...more] = argv;
  const json = wantsJson(argv);
  if (first === undefined) return unknown(io, json, '', [], 'command');
  if (groups.has(first)) {
    if (second === undefined || isHelp(second) || (second === '--json' && more.length === 0)) {
      if (second === undefined && !json) {
        io.err(`portcullis ${first}: an action is required\n\n${groupHelp(first)}`);
        return EXIT_USAGE;
      }
      if (json) return reportError(io, true, first, 'usage', 'an action is required', EXIT_USAGE);
      io.out(groupHelp(first));
      return EXIT_OK;
    }
    const command = commands.get(`${first} ${second}`);
    if (command === undefined) {
      const actions = [...commands.keys()].filter((n) => n.startsWith(`${first} `)).map((n) => n.slice(first.length + 1));
      const guess = suggest(second, actions);
      const message = `unknown action "${second}"${guess !== undefined ? `; did you mean "${guess}"?` : ''}`;
      if (json) return reportError(io, true, first, 'usage', message, EXIT_USAGE);
      io.err(`portcullis ${first}: ${message}\n\n${groupHelp(first)}`);
      return EXIT_USAGE;
    }
    return { command, rest: more };
  }
  const command = commands.get(first);
  if (command === undefined)
    return unknown(
      io,
      json,
      first,
      [...commands.keys(), ...groups.keys()].filter((n) => !n.includes(' ')),
      'command',
    );
  return { command, rest: [second, ...more].filter((a): a is string => a !== undefined) };
}

export async function runCli(argv: string[], io: CliIo): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(overview());
    return EXIT_USAGE;
  }
  if (isHelp(first)) {
    io.out(overview());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-V' || first === 'version') {
    io.out(wantsJson(rest) ? JSON.stringify({ version: PACKAGE_VERSION, node: process.version }) : `portcullis ${PACKAGE_VERSION}`);
    return EXIT_OK;
  }
  if (first === 'help') {
    if (rest.length === 0) {
      io.out(overview());
      return EXIT_OK;
    }
    return runCli([...rest, '--help'], io);
  }
  if (first.startsWith('-')) return unknown(io, wantsJson(argv), first, ['--help', '--version'], 'option');
  const resolved = resolve(argv, io);
  if (typeof resolved === 'number') return resolved;
  const { command, rest: args } = resolved;
  // Help never runs anything, whatever else is on the line.
  if (args.some(isHelp)) {
    io.out(helpText(command));
    return EXIT_OK;
  }
  let parsed: ParsedArgs;
  try {
    parsed = parseOptions(args, command.options, command.positionals ?? [], command.optionalPositionals ?? 0);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const json = wantsJson(args);
    if (json) return reportError(io, true, command.name, 'usage', error.message, EXIT_USAGE);
    io.err(usageHint(command, error.message));
    return EXIT_USAGE;
  }
  return command.run(parsed, io);
}
