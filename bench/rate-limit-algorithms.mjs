// GCRA against a classic token bucket (tokens + last refill), as the rate limiter would hold them:
// per key a map of route → mutable state, under a bounded lru-cache. ns per admitted request,
// for one hot key and for 10,000 keys in turn. Alternating runs, median of each.
//
//   npm run build && node bench/rate-limit-algorithms.mjs [--rounds 9] [--ops 2000000]
import { parseArgs } from 'node:util';
import { LRUCache } from 'lru-cache';

const { values: opt } = parseArgs({ options: { rounds: { type: 'string', default: '9' }, ops: { type: 'string', default: '2000000' } } });
const ROUTE = 'api';
const policy = { requests: 1e9, perMs: 1000, burst: 1e9 };

function table() {
  return new LRUCache({ maxSize: 100_000, sizeCalculation: () => 1 });
}

function gcra(keys, key, now) {
  let routes = keys.get(key);
  if (routes === undefined) keys.set(key, (routes = new Map()));
  const interval = policy.perMs / policy.requests;
  const capacity = policy.burst * interval;
  const bucket = routes.get(ROUTE);
  const tat = bucket === undefined || bucket.tat < now ? now : bucket.tat;
  const next = tat + interval;
  if (next - now > capacity) return false;
  if (bucket === undefined) routes.set(ROUTE, { tat: next });
  else bucket.tat = next;
  return true;
}

function tokenBucket(keys, key, now) {
  let routes = keys.get(key);
  if (routes === undefined) keys.set(key, (routes = new Map()));
  let bucket = routes.get(ROUTE);
  if (bucket === undefined) routes.set(ROUTE, (bucket = { tokens: policy.burst, at: now }));
  const refill = ((now - bucket.at) * policy.requests) / policy.perMs;
  bucket.tokens = Math.min(policy.burst, bucket.tokens + refill);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

const hotKeys = ['tok_0123456789abcdefghijkl'];
const manyKeys = Array.from({ length: 10_000 }, (_, i) => `tok_${String(i).padStart(22, '0')}`);

function run(fn, names) {
  const keys = table();
  const ops = Number(opt.ops);
  let admitted = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (fn(keys, names[i % names.length], performance.now())) admitted++;
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  if (admitted !== ops) throw new Error('the limit refused a request');
  return ns;
}

const results = { gcra: { hot: [], many: [] }, tokenBucket: { hot: [], many: [] } };
for (let round = 0; round < Number(opt.rounds); round++) {
  for (const [name, fn] of [
    ['gcra', gcra],
    ['tokenBucket', tokenBucket],
  ]) {
    results[name].hot.push(run(fn, hotKeys));
    results[name].many.push(run(fn, manyKeys));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stdout.write('| algorithm | one key: ns/request median (min–max) | 10,000 keys |\n| --- | --: | --: |\n');
for (const [name, r] of Object.entries(results)) {
  const cell = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
  process.stdout.write(`| ${name} | ${cell(r.hot)} | ${cell(r.many)} |\n`);
}
process.stdout.write(
  `\n${opt.ops} requests per run, ${opt.rounds} alternating rounds, node ${process.version}; performance.now() included (both call it once)\n`,
);
