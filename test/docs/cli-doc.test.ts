/**
 * docs/cli.md and the `portcullis` command agree: every command and action the CLI registers,
 * and every option its `--help` lists, is in the page, and the page names no command the CLI
 * does not have. The help texts are read from the real command registry, as `portcullis --help`
 * prints them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerAuditCommands } from '../../src/cli/audit-commands.js';
import { registerBuiltinCommands } from '../../src/cli/builtin-commands.js';
import { registerCredentialCommands } from '../../src/cli/credential-commands.js';
import { registerKeyCommands } from '../../src/cli/key-commands.js';
import { runCli } from '../../src/cli/run.js';
import { registerStoreCommands } from '../../src/cli/store-commands.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');

registerBuiltinCommands();
registerCredentialCommands();
registerKeyCommands();
registerStoreCommands();
registerAuditCommands();

async function help(argv: string[]): Promise<string> {
  const out: string[] = [];
  const code = await runCli([...argv, '--help'], { out: (s) => out.push(s), err: (s) => out.push(s) });
  assert.equal(code, 0, `portcullis ${argv.join(' ')} --help`);
  return out.join('\n');
}

/** Every command and action, as `start` or `tokens create`. */
async function commands(): Promise<string[]> {
  const overview = await help([]);
  const names = [...overview.split('Commands:')[1]!.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1] ?? '');
  const all: string[] = [];
  for (const name of names) {
    const text = await help([name]);
    const actions = [...text.matchAll(/^ {2}portcullis ([a-z-]+ [a-z-]+) {2,}/gm)].map((m) => m[1] ?? '');
    all.push(...(actions.length > 0 ? actions : [name]));
  }
  return all;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('the registry has commands to compare (the checks below are not vacuous)', async () => {
  const all = await commands();
  assert.ok(all.includes('start') && all.includes('tokens create') && all.includes('store copy'), all.join(', '));
  assert.ok(all.length >= 20, `${all.length} commands`);
});

test('docs/cli.md names every command and action of the CLI', async () => {
  const missing = (await commands()).filter((name) => !new RegExp(`(\`|portcullis )${escape(name)}\\b`).test(DOC));
  assert.deepEqual(missing, [], 'commands not in docs/cli.md');
});

test('docs/cli.md names every option of every command', async () => {
  const missing: string[] = [];
  for (const name of await commands()) {
    const text = await help(name.split(' '));
    const options = [...text.split('Options:')[1]!.matchAll(/^ {2}(?:-[a-zA-Z], )? *--([a-z][a-z-]*)/gm)].map((m) => m[1] ?? '');
    assert.ok(options.includes('help') && options.includes('json'), `${name}: options parsed`);
    for (const option of options) if (!DOC.includes(`--${option}`)) missing.push(`${name} --${option}`);
  }
  assert.deepEqual(missing, [], 'options not in docs/cli.md');
});

test('docs/cli.md names no command the CLI does not have', async () => {
  const known = new Set(await commands());
  const groups = new Set([...known].map((n) => n.split(' ')[0]));
  const named = [...DOC.matchAll(/^#{2,3} `portcullis ([a-z-]+)`/gm)].map((m) => m[1] ?? '');
  for (const row of DOC.matchAll(/^\| `([a-z-]+) ([a-z-]+)[ `]/gm)) {
    if (groups.has(row[1]) && !known.has(row[1] ?? '')) named.push(`${row[1]} ${row[2]}`);
  }
  assert.ok(named.length > 10, `${named.length} commands found in the page`);
  const unknown = named.filter((n) => !known.has(n));
  assert.deepEqual(unknown, [], 'commands in docs/cli.md that the CLI does not have');
});
