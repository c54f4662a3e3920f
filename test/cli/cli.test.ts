/**
 * Through the real `portcullis` command (docs/cli.md): --help on every command and
 * subcommand (usage, options, an example; never a side effect), --version, did-you-mean for
 * commands, actions and flags, messages naming the option as typed, and --json on every command
 * with errors as JSON too.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/repo.js';

function tempConfig(t: TestContext, yaml?: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portcullis.yaml');
  writeFileSync(
    file,
    yaml ??
      `listen: "127.0.0.1:0"\nadmin: { listen: "127.0.0.1:0" }\nmetrics: { listen: "127.0.0.1:0" }\nstore: { url: "sqlite:./pcl.db" }\nroutes:\n  - name: api\n    match: { path: /api }\n    upstream: "https://127.0.0.1:1"\n`,
  );
  return { dir, file };
}

/** Every command line the CLI itself lists: top-level commands, and each group's actions. */
async function everyCommand(): Promise<string[][]> {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  const names = [...top.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1] ?? '');
  const lines: string[][] = [];
  for (const name of names) {
    const help = await runCli([name, '--help']);
    assert.equal(help.code, 0, `${name} --help`);
    const isGroup = help.stdout.startsWith(`usage: portcullis ${name} <action>`);
    const actions = isGroup ? [...help.stdout.matchAll(new RegExp(`^ {2}portcullis ${name} ([a-z-]+)`, 'gm'))].map((m) => m[1] ?? '') : [];
    if (actions.length === 0) lines.push([name]);
    for (const action of actions) lines.push([name, action]);
  }
  return lines;
}

test('--help on every command and subcommand: usage, options, an example, exit 0, and nothing is run', { timeout: 300_000 }, async (t) => {
  const { dir, file } = tempConfig(t);
  const commands = await everyCommand();
  const listed = commands.map((c) => c.join(' '));
  for (const expected of [
    'start',
    'demo',
    'check',
    'tokens create',
    'tokens revoke',
    'clients rotate-secret',
    'accounts disable',
    'keys rotate',
    'store backup',
  ]) {
    assert.ok(listed.includes(expected), `${expected} is listed (${listed.join(', ')})`);
  }
  for (const command of commands) {
    for (const flag of ['--help', '-h']) {
      // Placed after the config: start and demo would keep running, create would write the store.
      const result = await runCli([...command, '--config', file, flag]);
      const name = command.join(' ');
      assert.equal(result.code, 0, `${name} ${flag}: ${result.stderr}`);
      assert.equal(result.stderr, '', `${name} ${flag} writes nothing to stderr`);
      assert.match(result.stdout, new RegExp(`^usage: portcullis ${name}`), name);
      assert.match(result.stdout, /\nOptions:\n/, name);
      assert.match(result.stdout, new RegExp(`\\nExamples:\\n {2}portcullis ${name}`), name);
      assert.match(result.stdout, /--json/, name);
    }
  }
  assert.equal(existsSync(join(dir, 'pcl.db')), false, 'no store was created or opened by any --help');
  assert.equal((await runCli(['help', 'tokens', 'create'])).stdout, (await runCli(['tokens', 'create', '--help'])).stdout);
});

test('--version prints the package version, also as JSON', async () => {
  const { version } = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  const text = await runCli(['--version']);
  assert.equal(text.code, 0);
  assert.equal(text.stdout.trim(), `portcullis ${version}`);
  const json = await runCli(['--version', '--json']);
  assert.equal((JSON.parse(json.stdout) as { version: string }).version, version);
});

test('did-you-mean for commands, actions and options; the message names the option as typed', async (t) => {
  const { file } = tempConfig(t);
  const cases: [string[], RegExp][] = [
    [['chek'], /unknown command "chek"; did you mean "check"\?/],
    [['tokens', 'creat'], /unknown action "creat"; did you mean "create"\?/],
    [['tokens', 'create', '--lable', 'ci', '--scope', 'read-only', '--config', file], /unknown option "--lable"; did you mean "--label"\?/],
    [['check', '--prbe', '--config', file], /unknown option "--prbe"; did you mean "--probe"\?/],
    [['start', '--watch-confg', '--config', file], /did you mean "--watch-config"\?/],
    [['check', '-c'], /option "-c" needs a value/],
    [['check', '--config'], /option "--config" needs a value/],
    [['check', '--json=yes'], /option "--json" takes no value/],
    [['tokens', 'revoke', '--config', file], /ID \(or --secret - with the secret on standard input\) is required/],
    [['tokens', 'create', '--label', 'x', '--scope', 'root', '--config', file], /--scope/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(result.stdout, '', `${args.join(' ')}: nothing on stdout`);
  }
});

test('--json: errors are one JSON line on stderr, with a code; stdout stays empty', async (t) => {
  const { file } = tempConfig(t);
  const invalid = tempConfig(t, 'listen: 8443\nroutes: []\n');
  const cases: [string[], string, number][] = [
    [['tokens', 'create', '--lable', 'x', '--config', file, '--json'], 'usage', 2],
    [['tokens', 'frob', '--json'], 'usage', 2],
    [['tokens', 'list', '--config', invalid.file, '--json'], 'config.invalid', 2],
    [['tokens', 'revoke', 'tok_doesnotexist', '--config', file, '--json'], 'store.not_found', 1],
    [['start', '--config', invalid.file, '--json'], 'config.invalid', 2],
  ];
  for (const [args, code, exit] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, exit, `${args.join(' ')}: ${result.stderr}`);
    assert.equal(result.stdout, '', args.join(' '));
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${result.stderr}`);
    const error = (JSON.parse(lines[0] ?? '') as { error: { code: string; message: string; problems?: unknown[] } }).error;
    assert.equal(error.code, code, args.join(' '));
    assert.ok(error.message.length > 0);
    if (code === 'config.invalid') assert.ok((error.problems?.length ?? 0) >= 2, 'every problem, located');
  }
});

test('check --json: the result on stdout, problems with file, line, column, path and message', async (t) => {
  const { file } = tempConfig(t);
  const valid = await runCli(['check', '--config', file, '--json']);
  assert.equal(valid.code, 0);
  assert.deepEqual(JSON.parse(valid.stdout), { ok: true, file, routes: 1, problems: [], warnings: [] });

  const broken = tempConfig(
    t,
    'listen: "127.0.0.1:0"\nroutes:\n  - name: api\n    match: { path: /api }\n    upstream: "http://example.com"\n    requrie: {}\n',
  );
  const invalid = await runCli(['check', '--config', broken.file, '--json']);
  assert.equal(invalid.code, 2);
  const result = JSON.parse(invalid.stdout) as {
    ok: boolean;
    problems: { file: string; line: number; column: number; path: string; message: string }[];
  };
  assert.equal(result.ok, false);
  assert.deepEqual(
    result.problems.map((p) => [p.file, p.line, p.column, p.path]),
    [
      [broken.file, 5, 15, 'routes[0].upstream'],
      [broken.file, 6, 5, 'routes[0].requrie'],
    ],
  );
  assert.match(result.problems[1]?.message ?? '', /did you mean "require"/);
});
