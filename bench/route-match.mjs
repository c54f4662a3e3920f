// Route matching cost against the number of routes (issue 2): builds tables of 10 and 10,000
// routes through the real configuration loader and times lookups spread over them.
// Usage: npm run build && node bench/route-match.mjs
import { loadConfigText } from '../dist/src/config/index.js';
import { buildRouteTable } from '../dist/src/match/route-table.js';

function configWith(count) {
  const routes = [];
  for (let i = 0; i < count; i++) {
    const host = i % 3 === 0 ? `\n      host: api${i % 50}.example.com` : i % 3 === 1 ? `\n      host: "*.svc${i % 40}.example.com"` : '';
    routes.push(`  - name: r${i}\n    match:${host}\n      path: /team${i}/v${i % 7}/items\n    upstream: https://backend${i % 20}.internal:8443/base\n    auth: "off"`);
  }
  return `routes:\n${routes.join('\n')}\n`;
}

function requestsFor(count) {
  const out = [];
  for (let i = 0; i < 1000; i++) {
    const r = (i * 7919) % count;
    const host = r % 3 === 0 ? `api${r % 50}.example.com` : r % 3 === 1 ? `x.svc${r % 40}.example.com` : 'other.example.com';
    out.push([host, 'GET', `/team${r}/v${r % 7}/items/${i}/detail`]);
  }
  return out;
}

function measure(count) {
  const loaded = loadConfigText(configWith(count), '/tmp/bench-routes.yaml', {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues.slice(0, 3)));
  const { table } = buildRouteTable(loaded.config.routes);
  const requests = requestsFor(count);
  let found = 0;
  for (let round = 0; round < 200; round++) for (const [h, m, p] of requests) if (table.match(h, m, p)) found++;
  const rounds = 2000;
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) for (const [h, m, p] of requests) if (table.match(h, m, p)) found++;
  const ns = Number(process.hrtime.bigint() - started) / (rounds * requests.length);
  return { routes: count, nsPerLookup: Number(ns.toFixed(1)), matched: found > 0 };
}

const results = [10, 10_000].map(measure);
for (const r of results) console.log(`${String(r.routes).padStart(6)} routes: ${r.nsPerLookup} ns per lookup`);
console.log(JSON.stringify(results));
