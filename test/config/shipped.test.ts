/** The configuration files shipped in config/ validate, and point editors at the JSON Schema. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from '../../src/config/index.js';
import { problems, REPO_ROOT, selfSigned, tempDir } from './helpers.js';

const SCHEMA_LINE = '# yaml-language-server: $schema=../docs/portcullis.schema.json';

for (const name of ['portcullis.yaml', 'example.yaml', 'demo.yaml']) {
  test(`config/${name} starts with the JSON Schema reference`, () => {
    const text = readFileSync(path.join(REPO_ROOT, 'config', name), 'utf8');
    assert.equal(text.split('\n')[0], SCHEMA_LINE);
  });
}

test('config/portcullis.yaml (the default) is valid without any file or variable', () => {
  const result = loadConfigFile(path.join(REPO_ROOT, 'config/portcullis.yaml'), {});
  assert.deepEqual(problems(result), []);
  assert.ok(result.ok);
  assert.deepEqual(result.config.listen, { host: '127.0.0.1', port: 8443 });
  assert.equal(result.config.store.url, `sqlite:${path.join(REPO_ROOT, 'data', 'portcullis.db')}`);
  assert.deepEqual(
    result.config.routes.map((r) => [r.name, r.auth, r.access, r.pathPrefix, r.upstream.origin]),
    [
      ['demo-public', 'off', 'read-only', '/public', 'https://localhost:9443'],
      ['demo-private', 'required', 'read-write', '/api', 'https://localhost:9443'],
    ],
  );
});

test('config/example.yaml is valid', () => {
  const result = loadConfigFile(path.join(REPO_ROOT, 'config/example.yaml'), {});
  assert.deepEqual(problems(result), []);
  assert.ok(result.ok);
  assert.ok(result.config.routes.length >= 3);
});

test('config/demo.yaml is valid once the demo CA and certificate exist in ../.demo/, and serves HTTPS', (t) => {
  const root = tempDir(t);
  mkdirSync(path.join(root, 'config'));
  mkdirSync(path.join(root, '.demo'));
  copyFileSync(path.join(REPO_ROOT, 'config/demo.yaml'), path.join(root, 'config/demo.yaml'));
  const ca = selfSigned(path.join(root, '.demo'), 'ca');
  const before = loadConfigFile(path.join(root, 'config/demo.yaml'), {});
  assert.ok(!before.ok, 'without .demo/server.pem the demo configuration is refused');
  const server = selfSigned(path.join(root, '.demo'), 'server');
  const result = loadConfigFile(path.join(root, 'config/demo.yaml'), {});
  assert.deepEqual(problems(result), []);
  assert.ok(result.ok);
  assert.deepEqual(result.config.listen, { host: '127.0.0.1', port: 8443 });
  assert.equal(result.config.tls?.cert, readFileSync(server.cert, 'utf8'), 'the proxy listener serves the demo certificate');
  for (const route of result.config.routes) {
    assert.equal(route.upstream.origin, 'https://127.0.0.1:9443');
    assert.equal(route.upstream.ca, readFileSync(ca.cert, 'utf8'));
  }
});
