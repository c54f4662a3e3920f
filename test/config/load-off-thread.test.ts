/** The loader of a running gateway: the same result as loadConfigFile, with parsing in a worker thread. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadConfigFile, MAX_CONFIG_BYTES } from '../../src/config/index.js';
import { loadConfigFileOffThread } from '../../src/config/load-off-thread.js';
import { problems, selfSigned, tempDir, writeFile, y } from './helpers.js';

test('a valid file gives the same configuration as loadConfigFile, ${VAR} from the env given', async (t) => {
  const dir = tempDir(t);
  selfSigned(dir, 'ca');
  const file = writeFile(
    dir,
    'portcullis.yaml',
    y(
      'listen: "127.0.0.1:${PORT}"',
      'routes:',
      '  - name: r',
      '    match: { path: /r, methods: [GET, POST] }',
      '    upstream: https://backend.internal/v1',
      '    upstreamCa: ca.pem',
      '    require: { headers: [X-Tenant] }',
    ),
  );
  const env = { PORT: '8080', UNSET: undefined };
  const offThread = await loadConfigFileOffThread(file, env);
  assert.deepEqual(problems(offThread), []);
  assert.ok(offThread.ok);
  assert.equal(offThread.config.listen.port, 8080, 'the env given, not the process env');
  assert.deepEqual(offThread.config, (loadConfigFile(file, env) as { config: unknown }).config);
  assert.ok(Object.isFrozen(offThread.config.routes[0]));
});

test('an invalid file gives the same located issues as loadConfigFile; a missing file too', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(
    dir,
    'portcullis.yaml',
    y(
      'listen: nowhere',
      'routes:',
      '  - name: r',
      '    match: { path: /r }',
      '    upstream: http://backend.internal',
      '  - name: r',
      '    match: { path: /s }',
      '    upstream: https://backend.internal',
    ),
  );
  const offThread = await loadConfigFileOffThread(file, {});
  assert.equal(offThread.ok, false);
  assert.ok(problems(offThread).length >= 3, problems(offThread).join('\n'));
  assert.deepEqual(problems(offThread), problems(loadConfigFile(file, {})));
  const absent = path.join(dir, 'absent.yaml');
  assert.deepEqual(problems(await loadConfigFileOffThread(absent, {})), problems(loadConfigFile(absent, {})));
});

test('an unset variable stays unset in the worker: ${VAR} undefined is an error, not "undefined"', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, 'portcullis.yaml', y('routes:', '  - { name: r, match: { path: /r }, upstream: "https://${HOST}" }'));
  const env = { HOST: undefined };
  assert.deepEqual(problems(await loadConfigFileOffThread(file, env)), problems(loadConfigFile(file, env)));
  assert.match(problems(await loadConfigFileOffThread(file, env)).join('\n'), /HOST is not set/);
});

test('only a regular file of at most 8 MiB is read: a FIFO would block the reader, a device never end', async (t) => {
  const dir = tempDir(t);
  const fifo = path.join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  const big = writeFile(dir, 'big.yaml', `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
  for (const [file, why] of [
    [fifo, 'not a regular file'],
    ['/dev/zero', 'not a regular file'],
    [big, 'larger than 8 MiB'],
    [dir, 'is a directory'],
  ] as const) {
    const expected = `1:1: (root): cannot read the configuration file: ${why} (use --config FILE or PORTCULLIS_CONFIG)`;
    assert.deepEqual(problems(loadConfigFile(file, {}), file), [expected]);
    assert.deepEqual(problems(await loadConfigFileOffThread(file, {}), file), [expected]);
  }
});

test('a load that takes longer than its time limit is given up', async (t) => {
  const dir = tempDir(t);
  const file = writeFile(dir, 'portcullis.yaml', y('routes:', '  - { name: r, match: { path: /r }, upstream: https://backend.internal }'));
  await assert.rejects(loadConfigFileOffThread(file, {}, 1), /took more than 0.001 s/);
  assert.ok((await loadConfigFileOffThread(file, {})).ok, 'with the default limit it loads');
});

test('the main thread keeps running while the file is parsed', async (t) => {
  const dir = tempDir(t);
  const routes = Array.from(
    { length: 2_000 },
    (_, i) => `  - { name: r${i}, match: { path: /r${i} }, upstream: https://backend.internal }`,
  );
  const file = writeFile(dir, 'portcullis.yaml', y('routes:', ...routes));
  let turns = 0;
  let spinning = true;
  const spin = (): void => {
    turns++;
    if (spinning) setImmediate(spin);
  };
  setImmediate(spin);
  const loaded = await loadConfigFileOffThread(file, {});
  spinning = false;
  assert.ok(loaded.ok);
  assert.equal(loaded.config.routes.length, 2_000);
  // Parsed on this thread, the whole load would run before the first turn of the loop.
  assert.ok(turns > 20, `event-loop turns during the load: ${turns}`);
});
