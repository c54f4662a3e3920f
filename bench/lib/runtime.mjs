// Another Node.js runtime for the gateway, prepared as .ci/run prepares it (docs/decisions/0015):
// the npm registry's node-<platform>-<arch>@<version> package (the binary and its headers), and
// better-sqlite3 compiled against those headers (node-gyp with --nodedir), nothing downloaded
// outside the registry. Both are kept in a cache directory outside the repository
// ($PORTCULLIS_BENCH_CACHE, else $XDG_CACHE_HOME/portcullis-bench, else ~/.cache/portcullis-bench),
// so only the first run pays the ~75 s of CPU of the compile.
//
// The gateway then runs from a directory of its own (in the run's work dir): a copy of dist/ and
// package.json, and a node_modules of symlinks to this repository's packages except
// better-sqlite3, which is the copy built for that runtime. Node resolves a symlinked package's
// own dependencies from its real path, so everything else is exactly what the tests run.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir() {
  return process.env.PORTCULLIS_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'portcullis-bench');
}

/** The Node.js major of the Docker image (`ARG NODE_IMAGE=node:<major>-…`). */
export function imageNodeMajor(root) {
  const m = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  if (!m) throw new Error('cannot read the Node.js major from the Dockerfile (ARG NODE_IMAGE=node:<major>-…)');
  return m[1];
}

function run(cmd, args, options, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 900_000, ...options });
  if (r.status !== 0)
    throw new Error(`${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).slice(-2000)}`);
  return r;
}

/**
 * The node binary of `version` (a major or an exact version), fetched into the cache once.
 * @returns {{ node: string, home: string, version: string }}
 */
export function fetchRuntime(version, { log = () => {} } = {}) {
  const pkg = `node-${process.platform}-${process.arch}`;
  const prefix = join(cacheDir(), `node-${version}`);
  const home = join(prefix, 'node_modules', pkg);
  const node = join(home, 'bin', 'node');
  if (!existsSync(node)) {
    log(`bench: fetching ${pkg}@${version} from the npm registry into ${prefix}\n`);
    mkdirSync(prefix, { recursive: true });
    run(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `${pkg}@${version}`],
      {},
      `npm install ${pkg}@${version}`,
    );
  }
  const exact = run(node, ['--version'], {}, `${node} --version`).stdout.trim();
  return { node, home, version: exact };
}

/** Where the symbolic link at `path` points, or undefined when there is none. */
function linkTarget(path) {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Links every package of `root`'s node_modules into `modules`, except better-sqlite3 (compiled
 * per runtime) and `.bin`. The cache outlives the checkout that filled it, so a link into another
 * (perhaps deleted) tree is replaced rather than kept.
 */
export function linkPackages(root, modules) {
  mkdirSync(modules, { recursive: true });
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === 'better-sqlite3' || name === '.bin') continue;
    const link = join(modules, name);
    const target = join(root, 'node_modules', name);
    if (linkTarget(link) === target) continue;
    rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
  }
}

/** better-sqlite3 (this repository's version) compiled for the runtime; returns its directory. */
function nativeAddon(root, rt, log) {
  const src = join(root, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  const modules = join(cacheDir(), `better-sqlite3-${version}-node-${rt.version}`, 'node_modules');
  const dir = join(modules, 'better-sqlite3');
  // Its own dependencies (bindings, …) resolve from its real path: links to this repository's.
  linkPackages(root, modules);
  if (existsSync(join(dir, 'build', 'Release', 'better_sqlite3.node'))) return dir;
  log(`bench: compiling better-sqlite3 ${version} for Node.js ${rt.version} (once; ~75 s of CPU)\n`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(src, dir, { recursive: true, filter: (p) => !p.startsWith(join(src, 'build')) });
  const gyp = [
    join(rt.home, 'lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  ].find((p) => existsSync(p));
  if (!gyp) throw new Error("node-gyp not found (npm's bundled copy)");
  run(
    rt.node,
    [gyp, 'rebuild', '--release', `--nodedir=${rt.home}`],
    { cwd: dir, env: { ...process.env, PATH: `${join(rt.home, 'bin')}:${process.env.PATH}` } },
    'node-gyp rebuild',
  );
  return dir;
}

/**
 * A directory to run `dist` from on the runtime: <into>/dist, package.json, node_modules as above.
 * @returns {{ node: string, version: string, dist: string }}
 */
export function prepareRuntime({ root, dist, version, into, log = () => {} }) {
  const rt = fetchRuntime(version, { log });
  const addon = nativeAddon(root, rt, log);
  cpSync(dist, join(into, 'dist'), { recursive: true });
  copyFileSync(join(root, 'package.json'), join(into, 'package.json'));
  linkPackages(root, join(into, 'node_modules'));
  symlinkSync(addon, join(into, 'node_modules', 'better-sqlite3'));
  return { node: rt.node, version: rt.version, dist: join(into, 'dist') };
}
