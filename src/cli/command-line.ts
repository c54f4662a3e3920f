/**
 * Registers every command and runs the one on the command line (main.ts loads this). Exit
 * status: 0 success, 1 runtime failure, 2 invalid configuration or usage.
 */
import { registerAuditCommands } from './audit-commands.js';
import { registerBuiltinCommands } from './builtin-commands.js';
import { registerCredentialCommands } from './credential-commands.js';
import { registerKeyCommands } from './key-commands.js';
import { runCli } from './run.js';
import { registerStoreCommands } from './store-commands.js';

registerBuiltinCommands();
registerCredentialCommands();
registerKeyCommands();
registerStoreCommands();
registerAuditCommands();

runCli(process.argv.slice(2), { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) }).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`portcullis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
