// The per-request work that depends on the number of routes (scenario 7): route
// matching, and the route's metric series (its request counter, its two latency histograms).
// Builds tables of 10 and 10,000 routes through the real configuration loader and times both
// over requests spread across all routes, where each request touches another route's objects.
// Usage: npm run build && node bench/route-match.mjs
import { loadConfigText } from '../dist/src/config/index.js';
import { buildRouteTable } from '../dist/src/match/route-table.js';
import { createMetrics } from '../dist/src/observe/metrics.js';
import { createRouteSeriesTable } from '../dist/src/observe/route-series.js';

function configWith(count) {
  const routes = [];
  for (let i = 0; i < count; i++) {
    const host = i % 3 === 0 ? `\n      host: api${i % 50}.example.com` : i % 3 === 1 ? `\n      host: "*.svc${i % 40}.example.com"` : '';
    routes.push(
      `  - name: r${i}\n    match:${host}\n      path: /team${i}/v${i % 7}/items\n    upstream: https://backend${i % 20}.internal:8443/base\n    auth: "off"`,
    );
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

function timePerItem(items, rounds, f) {
  for (let round = 0; round < 20; round++) for (const item of items) f(item);
  const started = process.hrtime.bigint();
  for (let round = 0; round < rounds; round++) for (const item of items) f(item);
  return Number((Number(process.hrtime.bigint() - started) / (rounds * items.length)).toFixed(1));
}

function measure(count) {
  const loaded = loadConfigText(configWith(count), '/tmp/bench-routes.yaml', {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues.slice(0, 3)));
  const { table } = buildRouteTable(loaded.config.routes);
  const requests = requestsFor(count);
  let found = 0;
  const nsPerLookup = timePerItem(requests, 2000, ([h, m, p]) => {
    if (table.match(h, m, p)) found++;
  });
  // What the request observer does per request with the matched route (request-observer.ts).
  const series = createRouteSeriesTable(createMetrics('bench', { inFlight: () => 0, cacheSizes: () => undefined }));
  series.addRoutes(loaded.config.routes.map((r) => r.name));
  // Every route in turn (strided), at least 50,000 requests: as many distinct routes as a
  // request stream spread over the whole table touches.
  const routes = loaded.config.routes;
  const spread = Array.from({ length: Math.max(50_000, count) }, (_, i) => routes[(i * 7919) % routes.length]);
  const nsPerObservation = timePerItem(spread, 10, (route) => {
    const s = series.get(route.name);
    s.request(0, 200).inc();
    s.requestDuration.observe(0.004);
    s.upstreamDuration.observe(0.003);
  });
  return { routes: count, nsPerLookup, nsPerObservation, matched: found > 0 };
}

const results = [10, 10_000].map(measure);
for (const r of results)
  console.log(`${String(r.routes).padStart(6)} routes: ${r.nsPerLookup} ns per lookup, ${r.nsPerObservation} ns per request's metrics`);
console.log(JSON.stringify(results));
