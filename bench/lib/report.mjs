// The performance targets (bench/README.md "Targets") as data, their evaluation on one run's results, and the markdown tables.
//
// Every ratio is computed per round from runs of the same round (A B C … interleaved, so the two
// runs of a pair are at most a few tens of seconds apart), then summarised as median (min–max)
// over the rounds. Alongside, the CPU ratio: the denominator's CPU µs per request over the
// numerator's, i.e. how many requests the numerator serves with the CPU the denominator spends on
// one — the figure that carries over to other machines when req/s is bounded by a shared core.
//
// And the same CPU ratio with each run's CPU per request divided by the upstream's CPU per
// request in that run. The upstream shares the target's core and does nearly the same work for
// every forwarder, so it measures how fast the core was during that run: on this shared guest
// the same build's CPU per request moved by up to 1.6× from one round to the next, and the upstream's
// with it. Between gateway scenarios (S2, S3, S4, S7 against S1) the upstream's work per request
// is the same but for 3 identity headers, so the ratio is even-handed. Against other forwarders it
// is not: the gateway sends 4–7 more headers for the upstream to parse (flattering the gateway),
// the http-proxy forwarder makes the upstream do more TLS handshakes (flattering http-proxy).
// Informational: the targets are evaluated on req/s, as they are written.

/**
 * kind 'rps': num req/s ÷ den req/s, at least `want` (informational when want is null).
 * kind 'p99-added': num p99 − den p99 (open loop), at most `wantMaxUs`.
 * kind 'rss': peak RSS of a process, at most `wantMaxMiB`.
 */
export const CHECKS = [
  { id: 'S2 Bearer ÷ undici forwarder', kind: 'rps', num: 'pc-2-bearer', den: 'undici', want: 0.85 },
  { id: 'S2 Bearer ÷ http-proxy forwarder', kind: 'rps', num: 'pc-2-bearer', den: 'http-proxy', want: 1.5 },
  { id: 'S2 Bearer ÷ nginx with Authorization map', kind: 'rps', num: 'pc-2-bearer', den: 'nginx-map', want: 0.5 },
  { id: 'S2 Bearer ÷ nginx (no auth check)', kind: 'rps', num: 'pc-2-bearer', den: 'nginx', want: 0.5 },
  { id: 'S2 Bearer ÷ S1 auth off', kind: 'rps', num: 'pc-2-bearer', den: 'pc-1-open', want: 0.9 },
  { id: 'S3 Basic client ÷ S1 auth off', kind: 'rps', num: 'pc-3-basic', den: 'pc-1-open', want: 0.9 },
  { id: 'S4 JWT ÷ S1 auth off', kind: 'rps', num: 'pc-4-jwt', den: 'pc-1-open', want: 0.9 },
  { id: 'S7 10,000 routes ÷ S1 auth off', kind: 'rps', num: 'pc-7-routes', den: 'pc-1-open', want: 0.95 },
  { id: 'S9 p99 added over direct at fixed rate', kind: 'p99-added', num: 'ol-pc-2-bearer', den: 'ol-direct', wantMaxUs: 1000 },
  { id: 'S5 peak RSS (100,000-token working set)', kind: 'rss', process: 'gw-ws', wantMaxMiB: 150 },
  // Informational (no target).
  { id: 'S1 auth off ÷ upstream direct', kind: 'rps', num: 'pc-1-open', den: 'direct', want: null },
  { id: 'S1 auth off ÷ undici forwarder', kind: 'rps', num: 'pc-1-open', den: 'undici', want: null },
  { id: 'S2 with access log off ÷ undici forwarder', kind: 'rps', num: 'pc-2-nolog', den: 'undici', want: null },
  { id: 'S2 access log on ÷ access log off', kind: 'rps', num: 'pc-2-bearer', den: 'pc-2-nolog', want: null },
  { id: 'S5 working set ÷ S2 cached', kind: 'rps', num: 'pc-5-workingset', den: 'pc-2-bearer', want: null },
  { id: 'S6 invalid flood (store) ÷ S2 cached', kind: 'rps', num: 'pc-6-invalid', den: 'pc-2-bearer', want: null },
  { id: 'S6 bad-checksum flood ÷ S2 cached', kind: 'rps', num: 'pc-6-garbage', den: 'pc-2-bearer', want: null },
  { id: 'S8 POST 1 MiB ÷ undici forwarder', kind: 'rps', num: 'pc-8-post', den: 'undici-post', want: null },
  { id: 'S8 POST 1 MiB ÷ nginx', kind: 'rps', num: 'pc-8-post', den: 'nginx-post', want: null },
  { id: 'undici forwarder p99 added over direct at fixed rate', kind: 'p99-added', num: 'ol-undici', den: 'ol-direct', wantMaxUs: null },
  {
    id: 'S9 p99 added over the undici forwarder at fixed rate',
    kind: 'p99-added',
    num: 'ol-pc-2-bearer',
    den: 'ol-undici',
    wantMaxUs: null,
  },
  { id: 'nginx-map p99 added over direct at fixed rate', kind: 'p99-added', num: 'ol-nginx-map', den: 'ol-direct', wantMaxUs: null },
];

function stats(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1] };
}

const accepted = (t) => (t?.rounds ?? []).filter((x) => x.accepted);

function paired(a, b, f) {
  const out = [];
  for (const ra of accepted(a)) {
    const rb = accepted(b).find((x) => x.round === ra.round);
    if (rb) out.push(f(ra, rb));
  }
  return stats(out);
}

/**
 * @param {any[]} targets the run's targets (with rounds, summary, skipped)
 * @param {Record<string, { peakRssKiB: number }>} processes
 */
export function evaluateChecks(targets, processes) {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const out = [];
  for (const c of CHECKS) {
    if (c.kind === 'rss') {
      const p = processes[c.process];
      if (!p || !p.peakRssKiB) continue;
      const mib = p.peakRssKiB / 1024;
      out.push({ ...c, value: { median: mib, min: mib, max: mib }, pass: c.wantMaxMiB == null ? null : mib <= c.wantMaxMiB });
      continue;
    }
    const a = byName.get(c.num);
    const b = byName.get(c.den);
    if (!a || !b) continue;
    if (a.skipped || b.skipped) {
      out.push({ ...c, value: null, pass: null, note: a.skipped ? `${c.num} ${a.skipped}` : `${c.den} ${b.skipped}` });
      continue;
    }
    if (c.kind === 'rps') {
      const value = paired(a, b, (x, y) => x.rps / y.rps);
      const cpu = paired(a, b, (x, y) => y.cpu_us_per_req / x.cpu_us_per_req);
      // Not where the upstream does next to nothing (floods refused before forwarding).
      const perUpstream = (x) => (x.upstream_cpu_us_per_req >= 5 ? x.cpu_us_per_req / x.upstream_cpu_us_per_req : Number.NaN);
      const cpuPerUpstream = paired(a, b, (x, y) => perUpstream(y) / perUpstream(x));
      out.push({
        ...c,
        value,
        cpuRatio: cpu,
        cpuRatioPerUpstream: cpuPerUpstream,
        pass: c.want == null || !value ? null : value.median >= c.want,
      });
    } else if (c.kind === 'p99-added') {
      const value = paired(a, b, (x, y) => x.latency_us.p99 - y.latency_us.p99);
      const p50 = paired(a, b, (x, y) => x.latency_us.p50 - y.latency_us.p50);
      const p999 = paired(a, b, (x, y) => x.latency_us.p999 - y.latency_us.p999);
      out.push({ ...c, value, p50Added: p50, p999Added: p999, pass: c.wantMaxUs == null || !value ? null : value.median <= c.wantMaxUs });
    }
  }
  return out;
}

// ----------------------------------------------------------------- markdown
export const fmt = (n, d = 0) =>
  n === null || n === undefined || !Number.isFinite(n)
    ? '–'
    : Number(n).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const ms = (us) => fmt(us / 1000, 2);
const range = (s, f) => (s ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : '–');

export function targetsTable(results) {
  const lines = [
    '| target | scen. | req/s median (min–max) | p50 ms | p99 ms | p99.9 ms | CPU µs/req (min–max) | upstream CPU µs/req | store reads/s | peak RSS MiB | errors | disturbed runs kept |',
    '| --- | :-: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const r of results) {
    if (r.skipped) {
      lines.push(`| ${r.name} | ${r.scenario ?? ''} | skipped: ${r.skipped} | | | | | | | | | |`);
      continue;
    }
    const s = r.summary;
    const acc = accepted(r);
    const errs = acc.reduce((a, x) => a + (x.unexpectedErrors ?? x.errorsTotal ?? 0), 0);
    const dist = acc.filter((x) => x.disturbed).length;
    const isUp = r.process === 'upstream' || (r.process === undefined && r.name === 'direct');
    lines.push(
      `| ${r.name} | ${r.scenario ?? ''} | ${range(s.rps, (x) => fmt(x))} | ${ms(s.p50_us.median)} | ${ms(s.p99_us.median)} | ${ms(s.p999_us.median)} | ` +
        `${range(s.cpu_us_per_req, (x) => fmt(x, 1))} | ${isUp ? '(= target)' : fmt(s.upstream_cpu_us_per_req?.median, 1)} | ` +
        `${s.store_reads_per_s ? fmt(s.store_reads_per_s.median) : ''} | ${fmt(r.peakRssKiB / 1024, 1)} | ${errs} | ${dist} of ${acc.length} |`,
    );
  }
  return lines.join('\n');
}

export function checksTable(checks) {
  const lines = [
    '| check | target | measured, median of rounds (min–max) | CPU/req ratio (den ÷ num) | CPU/req ratio, each run per upstream CPU/req (min–max) | met |',
    '| --- | --: | --: | --: | --: | :-: |',
  ];
  for (const c of checks) {
    let want = '–';
    let value = '–';
    let cpu = '';
    let perUpstream = '';
    if (c.kind === 'rps') {
      want = c.want == null ? '(info)' : `≥ ${c.want}`;
      value = c.value ? `${range(c.value, (x) => fmt(x, 2))} ×` : `– ${c.note ?? ''}`;
      cpu = c.cpuRatio ? `${fmt(c.cpuRatio.median, 2)} ×` : '';
      perUpstream = c.cpuRatioPerUpstream ? `${range(c.cpuRatioPerUpstream, (x) => fmt(x, 2))} ×` : '';
    } else if (c.kind === 'p99-added') {
      want = c.wantMaxUs == null ? '(info)' : `≤ ${fmt(c.wantMaxUs / 1000, 2)} ms`;
      value = c.value
        ? `${range(c.value, (x) => fmt(x / 1000, 3))} ms (p50 +${fmt(c.p50Added?.median / 1000, 3)}, p99.9 +${fmt(c.p999Added?.median / 1000, 3)})`
        : `– ${c.note ?? ''}`;
    } else if (c.kind === 'rss') {
      want = `≤ ${c.wantMaxMiB} MiB`;
      value = `${fmt(c.value.median, 1)} MiB`;
    }
    const met = c.pass === null || c.pass === undefined ? '' : c.pass ? 'yes' : '**no**';
    lines.push(`| ${c.id} | ${want} | ${value} | ${cpu} | ${perUpstream} | ${met} |`);
  }
  return lines.join('\n');
}

export function memoryTable(m) {
  if (!m) return '';
  if (m.error) return `memory per cached credential: not measured (${m.error})`;
  const perEntry = (k) =>
    m.before[k] != null && m.after[k] != null && m.entriesAdded > 0 ? (m.after[k] - m.before[k]) / m.entriesAdded : null;
  const lines = [
    `Memory per cached credential (fresh gw-ws gateway, cache.maxEntries 10,000; ${m.gc ? 'two forced full GCs through the inspector before each reading' : 'no forced GC (ws package missing)'}):`,
    '',
    '| reading | positive cache entries | RSS MiB | V8 heap used MiB | external MiB |',
    '| --- | --: | --: | --: | --: |',
    `| before (warm, ${m.before.entries} entries) | ${fmt(m.before.entries)} | ${fmt(m.before.rss / 2 ** 20, 1)} | ${fmt(m.before.heapUsed / 2 ** 20, 1)} | ${fmt(m.before.external / 2 ** 20, 1)} |`,
    `| after priming ${fmt(m.primed)} tokens | ${fmt(m.after.entries)} | ${fmt(m.after.rss / 2 ** 20, 1)} | ${fmt(m.after.heapUsed / 2 ** 20, 1)} | ${fmt(m.after.external / 2 ** 20, 1)} |`,
    `| **per added entry** (${fmt(m.entriesAdded)} added) | | **${fmt(perEntry('rss'))} B** | **${fmt(perEntry('heapUsed'))} B** | ${fmt(perEntry('external'))} B |`,
  ];
  return lines.join('\n');
}

export function transfersTable(list) {
  if (!list || list.length === 0) return '';
  const lines = [
    '| forwarder | transfer | status | MiB/s | seconds | CPU µs per MiB | VmHWM before MiB | VmHWM after MiB |',
    '| --- | --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const x of list) {
    if (x.error) {
      lines.push(`| ${x.process} | ${x.mode} | error: ${x.error} | | | | | |`);
      continue;
    }
    lines.push(
      `| ${x.process} | ${x.mode} ${fmt(x.bytes / 2 ** 30, 2)} GiB | ${x.status} | ${fmt(x.mibPerS, 0)} | ${fmt(x.seconds, 2)} | ${fmt(x.cpuUsPerMiB, 0)} | ${fmt(x.hwmBeforeKiB / 1024, 1)} | ${fmt(x.hwmAfterKiB / 1024, 1)} |`,
    );
  }
  return lines.join('\n');
}
