/**
 * `node bench/run.mjs --only runtimes`: scenarios 1, 2 and 9 on this machine's Node.js and on the
 * one the Docker image ships (read from its NODE_IMAGE, as .ci/run reads it), one and two workers.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/repo.js';

const ROOT = repoRoot();
type Def = { process: string; gateway?: string; runtime?: string; workers?: number; nodeFlags?: string[] };
interface Targets {
  PROCESSES: Record<string, Def>;
  TARGETS: Record<string, Def>;
  SCENARIOS: Record<string, string[]>;
  IMAGE_NODE: string;
}
const importBench = async <T>(file: string): Promise<T> => (await import(pathToFileURL(join(ROOT, 'bench', file)).href)) as T;

test("the image's Node.js major is read from the Dockerfile's NODE_IMAGE; a Dockerfile without it is an error", async () => {
  const { imageNodeMajor } = await importBench<{ imageNodeMajor(root: string): string }>('lib/runtime.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'pcl-runtime-'));
  writeFileSync(join(dir, 'Dockerfile'), '# x\nARG NODE_IMAGE=node:24-bookworm\nFROM ${NODE_IMAGE}\n');
  assert.equal(imageNodeMajor(dir), '24');
  writeFileSync(join(dir, 'Dockerfile'), 'FROM node:24\n');
  assert.throws(() => imageNodeMajor(dir), /NODE_IMAGE/);
  const shipped = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
  assert.equal(imageNodeMajor(ROOT), shipped);
});

test('the runtimes scenario runs scenarios 1, 2 and 9 on both runtimes with 1 and 2 workers, over one store', async () => {
  const { PROCESSES, TARGETS, SCENARIOS, IMAGE_NODE } = await importBench<Targets>('targets/index.mjs');
  const names = SCENARIOS['runtimes'] ?? [];
  for (const base of ['pc-1-open', 'pc-2-bearer', 'ol-pc-2-bearer']) {
    for (const suffix of ['', `@node${IMAGE_NODE}`, '@w2', `@node${IMAGE_NODE}-w2`])
      assert.ok(names.includes(`${base}${suffix}`), `${base}${suffix}`);
  }
  assert.ok(names.includes('undici') && names.includes('ol-undici'), 'the bare forwarder in the same run');
  for (const name of names) {
    const process = PROCESSES[(TARGETS[name] as Def).process] as Def;
    assert.ok(process, name);
    if (!name.includes('@')) continue;
    assert.equal(process.gateway, 'main', name);
    assert.equal(process.runtime, name.includes(`@node${IMAGE_NODE}`) ? 'image' : undefined, name);
    assert.equal(process.workers, name.endsWith('w2') ? 2 : undefined, name);
  }
  // The GC-thread comparison is a scenario of its own: the primary of each `-gc-threads` gateway gets the flag.
  assert.equal(
    names.some((name) => name.includes('gc-threads')),
    false,
  );
  const gcThreads = SCENARIOS['gc-threads'] ?? [];
  assert.equal(gcThreads.filter((name) => name.endsWith('-gc-threads')).length, 2);
  for (const name of gcThreads) {
    const process = PROCESSES[(TARGETS[name] as Def).process] as Def;
    assert.equal(process.workers, 2, name);
    assert.deepEqual(process.nodeFlags, name.endsWith('-gc-threads') ? ['--no-single-threaded-gc'] : undefined, name);
  }
  const { gatewayConfig } = await importBench<{ gatewayConfig(kind: string, o: object): Record<string, unknown> }>('lib/portcullis.mjs');
  const o = { ports: { listen: 1, metrics: 2, admin: 3 }, upstreamUrl: 'https://127.0.0.1:4', caPath: '/ca', storeUrl: 'sqlite:/x' };
  assert.equal(gatewayConfig('main', { ...o, workers: 2 })['workers'], 2);
  assert.equal('workers' in gatewayConfig('main', o), false, 'default: no workers key');
});

test('the compiled-runtime cache relinks packages that point into another (deleted) checkout', async () => {
  const { linkPackages } = await importBench<{ linkPackages(root: string, modules: string): void }>('lib/runtime.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'pcl-runtime-links-'));
  const root = join(dir, 'repo');
  for (const name of ['bindings', 'pino', 'better-sqlite3', '.bin']) mkdirSync(join(root, 'node_modules', name), { recursive: true });
  writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{}');
  const modules = join(dir, 'cache', 'node_modules');
  mkdirSync(modules, { recursive: true });
  // Left by a checkout that no longer exists: dangling.
  symlinkSync(join(dir, 'gone', 'node_modules', 'bindings'), join(modules, 'bindings'));
  symlinkSync(join(dir, 'gone', 'node_modules', '.package-lock.json'), join(modules, '.package-lock.json'));

  linkPackages(root, modules);
  linkPackages(root, modules); // a second run finds everything in place

  for (const name of ['bindings', 'pino', '.package-lock.json'])
    assert.equal(readlinkSync(join(modules, name)), join(root, 'node_modules', name));
  assert.deepEqual(readdirSync(modules).sort(), ['.package-lock.json', 'bindings', 'pino'], 'better-sqlite3 and .bin are not linked');
});
