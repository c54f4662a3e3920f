// What the abuse controls add to one request, in-process, on the built gateway (dist/):
//   - rate limit: RateLimits.admit() for a cached Bearer token on a route with a limit too high
//     to refuse anything (the work the pipeline adds per request);
//   - failure throttle: the throttle's wrapper around an authenticate stage that answers at once,
//     minus that stage alone (client address key + one table lookup);
//   - memory per address the throttle remembers, after a forced GC (node --expose-gc).
// ns per request, median (min–max) over alternating rounds.
//
//   npm run build && node --expose-gc bench/limit-cost.mjs [--dist dist] [--rounds 9] [--ops 1000000]
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    dist: { type: 'string', default: 'dist' },
    rounds: { type: 'string', default: '9' },
    ops: { type: 'string', default: '1000000' },
  },
});
const dist = resolve(opt.dist);
const { createRateLimits } = await import(`${dist}/src/limit/rate-limits.js`);
const { createAuthThrottle } = await import(`${dist}/src/limit/auth-throttle.js`);
const { createFailureThrottle } = await import(`${dist}/src/limit/failure-throttle.js`);

const ops = Number(opt.ops);
const route = { name: 'api', auth: 'required', rateLimit: { requests: 1e9, perMs: 1000, burst: 1e9 } };
const principal = Object.freeze({
  kind: 'api_token',
  scheme: 'bearer',
  subject: 'billing',
  scope: 'read-write',
  credentialId: 'tok_0123456789abcdefghijkl',
});
const req = { socket: { remoteAddress: '127.0.0.1' }, rawHeaders: ['Authorization', 'Bearer pcl_x'] };
const config = {
  trustedProxies: [],
  throttle: { failures: 20, windowMs: 60_000, maxAddresses: 100_000 },
  rateLimits: { maxKeys: 100_000, credentials: {} },
};

function time(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn();
  return Number(process.hrtime.bigint() - t0) / ops;
}

const limits = createRateLimits(config);
const stage = () => principal;
const throttled = createAuthThrottle(config, { cached: () => true }).wrap(stage);
const rows = { 'rate limit: admit()': [], 'throttle: wrapper − stage': [] };
for (let round = 0; round < Number(opt.rounds); round++) {
  rows['rate limit: admit()'].push(time(() => limits.admit(route, principal, req, undefined)));
  const bare = time(() => stage(route, req));
  rows['throttle: wrapper − stage'].push(time(() => throttled(route, req)) - bare);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cell = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
process.stdout.write('| what | ns per request, median (min–max) |\n| --- | --: |\n');
for (const [name, xs] of Object.entries(rows)) process.stdout.write(`| ${name} | ${cell(xs)} |\n`);

if (typeof globalThis.gc === 'function') {
  const addresses = 100_000;
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const table = createFailureThrottle({ failures: 20, windowMs: 60_000, maxAddresses: addresses });
  for (let i = 0; i < addresses; i++) table.failed(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  globalThis.gc();
  const per = (process.memoryUsage().heapUsed - before) / table.size();
  process.stdout.write(
    `\nfailure throttle: ${per.toFixed(0)} bytes of V8 heap per remembered address (${table.size()} addresses, keys included)\n`,
  );
}
process.stdout.write(`\n${ops} calls per run, ${opt.rounds} alternating rounds, node ${process.version}\n`);
