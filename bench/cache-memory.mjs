// Memory per entry of a full credential cache, in-process: the cache made for N entries and filled
// with N verified API tokens shaped as the verifier builds them (a SHA-256 cache key, a token id,
// a frozen principal, the entry, the index by credential id and account, the cache's own
// arrays), V8 heap plus array buffers, counted with forced GCs before and after. One build or several, each in its own
// process. The gateway-level figure (with the store's strings) is run.mjs's "memory per cached
// credential".
//
//   npm run build && node bench/cache-memory.mjs [--dist dist --dist .exp-x] [--entries 100000]
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    dist: { type: 'string', multiple: true, default: [] },
    entries: { type: 'string', default: '100000' },
    child: { type: 'string' },
    accounts: { type: 'boolean', default: false },
  },
});
const entries = Number(opt.entries);

if (opt.child !== undefined) {
  const { createCredentialCache } = await import(pathToFileURL(resolve(opt.child, 'src/credentials/cache.js')).href);
  globalThis.gc();
  globalThis.gc();
  const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  // Made inside the count: a cache that allocates its arrays up front is charged for them.
  const cache = createCredentialCache({ maxEntries: entries, negativeMaxEntries: 1000, ttlMs: 3_600_000, negativeTtlMs: 5000 });
  const make = (i) => {
    const id = `tok_${randomBytes(16).toString('base64url')}`;
    const account = opt.accounts ? `account-${i % 100}` : null;
    const principal = Object.freeze({ kind: 'api_token', scheme: 'bearer', subject: account ?? id, scope: 'read-only', credentialId: id });
    return [
      createHash('sha256').update(id).digest('base64url'),
      { principal, credentialId: id, account, expiresAt: Infinity, validUntil: Infinity },
    ];
  };
  for (let i = 0; i < entries; i++) {
    const [key, entry] = make(i);
    cache.setPositive(key, entry, 3_600_000);
  }
  globalThis.gc();
  globalThis.gc();
  const after = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  process.stdout.write(`${JSON.stringify({ size: cache.positiveSize(), bytes: after - before })}\n`);
  process.exit(0);
}

const dists = opt.dist.length > 0 ? opt.dist : ['dist'];
const rows = [];
for (const dist of dists) {
  for (const accounts of [false, true]) {
    const r = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        new URL(import.meta.url).pathname,
        '--child',
        resolve(dist),
        '--entries',
        String(entries),
        ...(accounts ? ['--accounts'] : []),
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`${dist}: ${r.stderr}`);
    const x = JSON.parse(r.stdout);
    rows.push({ dist, accounts, entries: x.size, bytesPerEntry: Math.round(x.bytes / x.size) });
  }
}
for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
