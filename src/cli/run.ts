/**
 * Command dispatch for `portcullis`. Each command returns its exit status, or undefined when it
 * keeps the process running (start).
 */
import { parseArgs } from 'node:util';
import { formatIssue, loadConfigFile, resolveConfigPath } from '../config/index.js';
import { runDemo } from '../demo/run-demo.js';
import { startFromFile } from '../main.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export type CommandRunner = (args: string[], io: CliIo) => Promise<number | undefined>;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const USAGE = `usage: portcullis <command> [options]

  start  [--config FILE]      run the gateway
  demo                        run the gateway with a sample HTTPS API (config/demo.yaml)
  check  [--config FILE]      validate the configuration (exit 0 valid, 2 invalid)

The configuration file is --config, else $PORTCULLIS_CONFIG, else config/portcullis.yaml.`;

/** Commands other modules contribute (credentials, keys), registered by name. */
const extraCommands = new Map<string, { runner: CommandRunner; usage: string }>();

export function registerCommand(name: string, usage: string, runner: CommandRunner): void {
  extraCommands.set(name, { runner, usage });
}

function configFlag(args: string[], io: CliIo): { file: string } | undefined {
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false });
    return { file: resolveConfigPath(values.config) };
  } catch (error) {
    io.err(`portcullis: ${(error as Error).message}`);
    return undefined;
  }
}

const builtins: Record<string, CommandRunner> = {
  demo: runDemo,
  async check(args, io) {
    const flag = configFlag(args, io);
    if (!flag) return EXIT_USAGE;
    const result = loadConfigFile(flag.file);
    if (!result.ok) {
      for (const issue of result.issues) io.err(formatIssue(issue));
      io.err(`portcullis: ${result.issues.length} problem${result.issues.length === 1 ? '' : 's'} in ${flag.file}`);
      return EXIT_USAGE;
    }
    io.out(`${flag.file}: valid (${result.config.routes.length} route${result.config.routes.length === 1 ? '' : 's'})`);
    return EXIT_OK;
  },
  async start(args, io) {
    const watch = args.includes('--watch-config');
    const flag = configFlag(args.filter((a) => a !== '--watch-config'), io);
    if (!flag) return EXIT_USAGE;
    const started = await startFromFile(flag.file, io.err, { watch });
    return started ? undefined : EXIT_USAGE;
  },
};

export async function runCli(argv: string[], io: CliIo): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(usageText());
    return command === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const builtin = builtins[command];
  if (builtin) return builtin(rest, io);
  const extra = extraCommands.get(command);
  if (extra) return extra.runner(rest, io);
  io.err(`portcullis: unknown command "${command}"\n\n${usageText()}`);
  return EXIT_USAGE;
}

function usageText(): string {
  const extras = [...extraCommands.values()].map((c) => c.usage).filter(Boolean).join('\n');
  return extras ? `${USAGE}\n\n${extras}` : USAGE;
}
