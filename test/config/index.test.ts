/** The public entry: which file is loaded, how issues print, a missing file. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DEFAULT_CONFIG_PATH, formatIssue, formatPath, loadConfigFile, resolveConfigPath } from '../../src/config/index.js';
import { tempDir } from './helpers.js';

test('resolveConfigPath: --config, then PORTCULLIS_CONFIG, then config/portcullis.yaml', () => {
  assert.equal(resolveConfigPath('my.yaml', { PORTCULLIS_CONFIG: 'env.yaml' }), 'my.yaml');
  assert.equal(resolveConfigPath(undefined, { PORTCULLIS_CONFIG: 'env.yaml' }), 'env.yaml');
  assert.equal(resolveConfigPath(undefined, { PORTCULLIS_CONFIG: '' }), 'config/portcullis.yaml');
  assert.equal(resolveConfigPath(undefined, {}), 'config/portcullis.yaml');
  assert.equal(DEFAULT_CONFIG_PATH, 'config/portcullis.yaml');
  assert.throws(() => resolveConfigPath('', {}), TypeError);
});

test('formatIssue prints file:line:col: path: message', () => {
  assert.equal(
    formatIssue({
      file: 'config/portcullis.yaml',
      line: 12,
      column: 15,
      path: 'routes[2].upstream',
      message: 'upstream must be an https:// URL; got "http:" (Portcullis never talks plain HTTP to a backend)',
    }),
    'config/portcullis.yaml:12:15: routes[2].upstream: upstream must be an https:// URL; got "http:" (Portcullis never talks plain HTTP to a backend)',
  );
});

test('formatPath writes JS-style paths', () => {
  const table: readonly [readonly (string | number)[], string][] = [
    [[], '(root)'],
    [['listen'], 'listen'],
    [['routes', 2, 'match', 'path'], 'routes[2].match.path'],
    [['jwt', 'issuers', 0, 'jwksUrl'], 'jwt.issuers[0].jwksUrl'],
    [['$schema'], '$schema'],
    [['routes', 0, 'my key'], 'routes[0]["my key"]'],
  ];
  for (const [segments, text] of table) assert.equal(formatPath(segments), text);
});

test('a missing configuration file is one located issue', (t) => {
  const file = path.join(tempDir(t), 'absent.yaml');
  const result = loadConfigFile(file, {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.deepEqual(result.issues.map(formatIssue), [
    `${file}:1:1: (root): cannot read the configuration file: file not found (use --config FILE or PORTCULLIS_CONFIG)`,
  ]);
});
