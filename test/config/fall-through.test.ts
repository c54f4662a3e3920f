/**
 * `portcullis check` warns about method fall-through (docs/configuration.md): methods a route does not
 * list go to the next matching route, and when that one is less protected the check says so,
 * located, and still exits 0. Run through the real CLI as an operator would, and on the loader.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIssue } from '../../src/config/index.js';
import { runCli } from '../support/cli.js';
import { eventually } from '../support/eventually.js';
import { startGatewayProcess } from '../support/gateway.js';
import { loadYaml, tempDir, writeFile, y } from './helpers.js';

const HEAD = ['listen: "127.0.0.1:0"', 'routes:'];
const route = (name: string, path: string, extra: string[] = []): string[] => [
  `  - name: ${name}`,
  `    match: { path: ${path}${extra.find((e) => e.startsWith('methods')) !== undefined ? `, ${extra.find((e) => e.startsWith('methods'))}` : ''} }`,
  '    upstream: https://backend.internal',
  ...extra.filter((e) => !e.startsWith('methods')).map((e) => `    ${e}`),
];

function warnings(yaml: string, t: Parameters<typeof tempDir>[0]): string[] {
  const result = loadYaml(tempDir(t), yaml);
  assert.ok(result.ok, 'the configuration is valid');
  return result.ok ? result.warnings.map((w) => formatIssue(w).replace(/^.*?portcullis\.yaml:/, '')) : [];
}

test('a route listing methods over a less protected route: one located warning naming the methods that fall through', (t) => {
  const found = warnings(
    y(
      ...HEAD,
      ...route('admin', '/admin', ['methods: [GET, POST]', 'access: read-write']),
      ...route('open', '/', ['auth: "off"', 'access: read-write']),
    ),
    t,
  );
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /^4:\d+: routes\[0\]\.match\.methods: warning: route "admin" lists only GET, POST; PUT, PATCH, DELETE, OPTIONS to the same host and path fall through to routes\[1\] "open", which is less protected \(auth: off\)/,
  );
  assert.doesNotMatch(found[0] ?? '', /HEAD/, 'HEAD goes with GET');
});

test('read-write below a read-only route listing methods warns, also through a broader host', (t) => {
  const found = warnings(y(...HEAD, ...route('ro', '/reports', ['methods: [GET]']), ...route('rw', '/', ['access: read-write'])), t);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(
    found[0] ?? '',
    /route "ro" lists only GET; POST, PUT, PATCH, DELETE, OPTIONS .* routes\[1\] "rw", which is less protected \(access: read-write\)/,
  );
  const hosts = warnings(
    y(
      'listen: "127.0.0.1:0"',
      'routes:',
      '  - name: api-admin',
      '    match: { host: api.example.com, path: /admin, methods: [GET] }',
      '    upstream: https://backend.internal',
      '  - name: any-admin',
      '    match: { path: /admin }',
      '    upstream: https://backend.internal',
      '    auth: "off"',
    ),
    t,
  );
  assert.equal(hosts.length, 1, hosts.join('\n'));
  assert.match(hosts[0] ?? '', /"api-admin" .* routes\[1\] "any-admin", which is less protected \(auth: off\)/);
});

test('no warning when the fall-through route protects as much, when nothing matches, or when a sibling lists the method on purpose', (t) => {
  assert.deepEqual(warnings(y(...HEAD, ...route('admin', '/admin', ['methods: [GET]']), ...route('all', '/', [])), t), [], 'as protected');
  assert.deepEqual(warnings(y(...HEAD, ...route('admin', '/admin', ['methods: [GET]'])), t), [], '404 for the rest');
  assert.deepEqual(
    warnings(
      y(
        ...HEAD,
        ...route('read', '/x', ['methods: [GET]', 'auth: "off"']),
        ...route('write', '/x', ['methods: [POST]', 'access: read-write']),
      ),
      t,
    ),
    [],
    'siblings that each list their methods',
  );
  assert.deepEqual(
    warnings(y(...HEAD, ...route('ro', '/x', ['methods: [GET]']), ...route('rest', '/x', ['access: read-write'])), t),
    [],
    'a methodless sibling at the same path takes the rest on purpose',
  );
  assert.deepEqual(
    warnings(y(...HEAD, ...route('any', '/x', []), ...route('open', '/', ['auth: "off"'])), t),
    [],
    'a route without methods takes them all',
  );
});

test('portcullis check prints the warning located, still says valid, and exits 0', async (t) => {
  const file = writeFile(
    tempDir(t),
    'portcullis.yaml',
    y(
      ...HEAD,
      ...route('admin', '/admin', ['methods: [DELETE]', 'access: read-write']),
      ...route('open', '/', ['auth: "off"', 'access: read-write']),
    ),
  );
  const result = await runCli(['check', '--config', file]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /valid \(2 routes\)/);
  assert.match(
    result.stderr,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:4:\\d+: routes\\[0\\]\\.match\\.methods: warning: route "admin" lists only DELETE; GET, HEAD, POST, PUT, PATCH, OPTIONS`,
      'm',
    ),
  );
});

test('a started gateway logs each warning as config.warning, once started', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(
    dir,
    'portcullis.yaml',
    y(
      'listen: "127.0.0.1:0"',
      'admin: { listen: "127.0.0.1:0" }',
      'metrics: { listen: "127.0.0.1:0" }',
      'store: { url: "sqlite:./pcl.db" }',
      'routes:',
      ...route('admin', '/admin', ['methods: [GET]', 'access: read-write']),
      ...route('open', '/', ['auth: "off"', 'access: read-write']),
    ),
  );
  const gw = await startGatewayProcess(t, file);
  await eventually(() => gw.logs().includes('"event":"config.warning"'), 15_000, `the warning to be logged: ${gw.logs()}`);
  assert.match(
    gw.logs(),
    /"event":"config\.warning","warning":"[^"]*portcullis\.yaml:\d+:\d+: routes\[0\]\.match\.methods: warning: route \\"admin\\" lists only GET/,
  );
});
