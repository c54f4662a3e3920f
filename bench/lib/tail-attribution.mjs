// The attribution of bench/tail.mjs: which of a process's events held up each slow request.
// Events come from lib/tail-probe.mjs, requests from lib/open-loop.mjs --trace, both in ms of
// CLOCK_MONOTONIC: { t: 'gc' | 'write' | 'sqlite' | 'stall' | 'heap', s: start, d: duration, … }
// and [due, latency].

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
export const CAUSES = ['gc-minor', 'gc-major', 'log-write', 'sqlite', 'stall-ran', 'stall-waited', 'stall-other', 'none'];

/**
 * What held up a request that was in flight from s to e: the cause whose events overlap it the
 * longest (at least 0.2 ms, else none). GC, a log write or SQLite inside a stall the main thread
 * spent running is that stall's work: it is named instead when it covers half the stall's overlap.
 */
export function causeOf(s, e, kinds) {
  const overlap = {};
  for (const c of CAUSES.slice(0, -1)) {
    let best = 0;
    for (const x of kinds[c]) best = Math.max(best, Math.min(e, x.s + x.d) - Math.max(s, x.s));
    overlap[c] = best;
  }
  let cause = 'none';
  for (const c of CAUSES.slice(0, -1)) if (overlap[c] >= 0.2 && (cause === 'none' || overlap[c] > overlap[cause])) cause = c;
  if (cause === 'stall-ran') {
    const specific = ['gc-minor', 'gc-major', 'log-write', 'sqlite'].sort((a, b) => overlap[b] - overlap[a])[0];
    if (overlap[specific] >= 0.2 && overlap[specific] >= overlap['stall-ran'] / 2) cause = specific;
  }
  return cause;
}

/** The attribution of one run: requests at or above its p99 against the process's events. */
export function attribute(requests, events) {
  const lat = requests.map((r) => r[1]).sort((a, b) => a - b);
  const p99 = pct(lat, 99);
  const from = requests[0][0];
  const to = requests.at(-1)[0] + requests.at(-1)[1];
  const inRun = events.filter((e) => e.s + e.d >= from && e.s <= to);
  const kinds = {
    'gc-minor': inRun.filter((e) => e.t === 'gc' && e.k === 1),
    'gc-major': inRun.filter((e) => e.t === 'gc' && e.k !== 1),
    'log-write': inRun.filter((e) => e.t === 'write' && e.d >= 0.2),
    sqlite: inRun.filter((e) => e.t === 'sqlite'),
    'stall-ran': inRun.filter((e) => e.t === 'stall' && e.ran >= e.waited && e.ran >= e.d / 2),
    'stall-waited': inRun.filter((e) => e.t === 'stall' && e.waited > e.ran),
    'stall-other': inRun.filter((e) => e.t === 'stall' && !(e.waited > e.ran) && !(e.ran >= e.waited && e.ran >= e.d / 2)),
  };
  const counts = Object.fromEntries(CAUSES.map((c) => [c, 0]));
  for (const [s, l] of requests) {
    if (l < p99) continue;
    counts[causeOf(s, s + l, kinds)]++;
  }
  const sum = (xs) => xs.reduce((a, x) => a + x.d, 0);
  const max = (xs) => xs.reduce((a, x) => Math.max(a, x.d), 0);
  const totals = {};
  for (const [k, xs] of Object.entries(kinds))
    totals[k] = { n: xs.length, ms: Math.round(sum(xs) * 10) / 10, maxMs: Math.round(max(xs) * 100) / 100 };
  const writes = inRun.filter((e) => e.t === 'write');
  totals.writesAll = { n: writes.length, ms: Math.round(sum(writes) * 10) / 10, maxMs: Math.round(max(writes) * 100) / 100 };
  const sqliteBySql = {};
  for (const x of kinds.sqlite) {
    const k = x.q.replace(/\s+/g, ' ').slice(0, 40);
    sqliteBySql[k] ??= { n: 0, maxMs: 0, statements: 0 };
    sqliteBySql[k].n++;
    sqliteBySql[k].statements += x.n;
    sqliteBySql[k].maxMs = Math.max(sqliteBySql[k].maxMs, Math.round(x.d * 100) / 100);
  }
  const heap = inRun.filter((x) => x.t === 'heap').map((x) => x.newSpace / 2 ** 20);
  return {
    p99,
    slow: Object.values(counts).reduce((a, b) => a + b, 0),
    counts,
    totals,
    sqliteBySql,
    newSpaceMiB: heap.length ? Math.max(...heap) : null,
  };
}
