/**
 * `portcullis check` warns, located, about every route in shadow mode (it forwards whatever the
 * credentials say) and exits 0; a route falling through to a shadow route is less protected.
 * Deprecations in the configuration are checked: real instants, sunset after since, a link a
 * header can carry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIssue } from '../../src/config/index.js';
import { runCli } from '../support/cli.js';
import { loadYaml, problems, tempDir, writeFile, y } from './helpers.js';

const HEAD = ['listen: "127.0.0.1:0"', 'routes:'];
const route = (name: string, path: string, extra: string[] = []): string[] => [
  `  - name: ${name}`,
  `    match: { path: ${path} }`,
  '    upstream: https://backend.internal',
  ...extra.map((e) => `    ${e}`),
];

test('one located warning per shadow route; none for enforce', (t) => {
  const result = loadYaml(
    tempDir(t),
    y(...HEAD, ...route('a', '/a', ['mode: shadow']), ...route('b', '/b', ['mode: enforce']), ...route('c', '/c', ['mode: shadow'])),
  );
  assert.ok(result.ok);
  const found = result.ok ? result.warnings.map((w) => formatIssue(w).replace(/^.*?portcullis\.yaml:/, '')) : [];
  assert.equal(found.length, 2, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /^6:11: routes\[0\]\.mode: warning: route "a" runs in shadow mode: its authentication and authorization refusals are only logged and counted/,
  );
  assert.match(found[1] ?? '', /^14:11: routes\[2\]\.mode: warning: route "c" runs in shadow mode/);
  assert.equal(result.ok && result.config.routes[0]?.mode, 'shadow');
  assert.equal(result.ok && result.config.routes[1]?.mode, 'enforce');
});

test('a route listing methods over a shadow route warns of the fall-through', (t) => {
  const yaml = y(
    ...HEAD,
    '  - name: admin',
    '    match: { path: /admin, methods: [GET] }',
    '    upstream: https://backend.internal',
    ...route('all', '/', ['mode: shadow']),
  );
  const result = loadYaml(tempDir(t), yaml);
  assert.ok(result.ok);
  const found = result.ok ? result.warnings.map((w) => w.message) : [];
  assert.ok(
    found.some((m) => /falls? through to routes\[1\] "all", which is less protected \(mode: shadow\)/.test(m)),
    found.join('\n'),
  );
});

test('portcullis check prints the shadow warning located, says valid, exits 0', async (t) => {
  const file = writeFile(tempDir(t), 'portcullis.yaml', y(...HEAD, ...route('legacy', '/legacy', ['mode: shadow'])));
  const result = await runCli(['check', '--config', file]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /valid \(1 route/);
  assert.match(
    result.stderr,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:6:11: routes\\[0\\]\\.mode: warning: route "legacy" runs in shadow mode`,
      'm',
    ),
  );
});

test('an unknown mode is refused with the allowed values', (t) => {
  const result = loadYaml(tempDir(t), y(...HEAD, ...route('a', '/a', ['mode: audit'])));
  assert.equal(result.ok, false);
  assert.match(problems(result).join('\n'), /routes\[0\]\.mode: .*enforce.*shadow/);
});

test('deprecations: instants, order and link are checked, each located', (t) => {
  const bad = loadYaml(
    tempDir(t),
    y(
      ...HEAD,
      ...route('a', '/a', ['deprecated:', '  basic: { since: "2027-01-01T00:00:00Z", sunset: "2026-01-01T00:00:00Z" }']),
      ...route('b', '/b', [
        'deprecated:',
        '  bearer: { since: "2027-13-01T00:00:00Z", sunset: "2028-01-01T00:00:00Z", link: "https://x.test/a b" }',
      ]),
      ...route('c', '/c', ['deprecated:', '  basic: { since: "2027-01-01", sunset: "2028-01-01T00:00:00Z", link: "ftp://x.test/" }']),
      ...route('d', '/d', ['deprecated:', '  digest: { since: "2027-01-01T00:00:00Z", sunset: "2028-01-01T00:00:00Z" }']),
    ),
  );
  assert.equal(bad.ok, false);
  const text = problems(bad).join('\n');
  assert.match(text, /routes\[0\]\.deprecated\.basic\.sunset: the sunset \(2026-01-01T00:00:00Z\) must be after "since"/);
  assert.match(text, /routes\[1\]\.deprecated\.bearer\.since: not a real date and time/);
  assert.match(text, /routes\[1\]\.deprecated\.bearer\.link: expected a URL of printable ASCII without spaces/);
  assert.match(text, /routes\[2\]\.deprecated\.basic\.since: expected an RFC 3339 instant/);
  assert.match(text, /routes\[2\]\.deprecated\.basic\.link: expected an http or https URL/);
  assert.match(text, /routes\[3\]\.deprecated.*digest/);
  const good = loadYaml(
    tempDir(t),
    y(
      ...HEAD,
      ...route('a', '/a', [
        'deprecated:',
        '  basic: { since: "2026-12-01T00:00:00Z", sunset: "2027-03-01T01:00:00+01:00", link: "https://wiki.example.com/migrate?x=1" }',
      ]),
    ),
  );
  assert.ok(good.ok, problems(good).join('\n'));
  assert.deepEqual(good.ok && good.config.routes[0]?.deprecated.basic, {
    sinceMs: Date.UTC(2026, 11, 1),
    sunsetMs: Date.UTC(2027, 2, 1),
    link: 'https://wiki.example.com/migrate?x=1',
  });
});
