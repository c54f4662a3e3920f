// One run's report as the markdown tables, and the compact summary of a report that git keeps.
//
// A raw report (`results/raw/*.json`, not tracked) holds every counter of every run: 0.2–0.5 MB
// each. The summary keeps exactly what the tables are built from — per target its table columns
// and, per round, the figures the checks pair up — so `run.mjs --table` prints the same tables
// from either, and `summarise.mjs` refuses to write a summary for which it would not.

import { evaluateChecks, targetsTable, checksTable, memoryTable, transfersTable, fmt } from './report.mjs';
import { markdownSummary } from './cpuprofile-summary.mjs';

function machineLine(report) {
  const m = report.machine;
  const p = report.pinning;
  const pinT = p.enabled
    ? `targets on ${p.targets}, upstream on ${p.upstream}, load generator on ${p.loadGenerator} (${p.tool})`
    : `no pinning (${p.reason})`;
  const q = report.params;
  return (
    `machine: ${m.nproc} CPUs, ${m.cpuModel}${m.memGiB ? `, ${m.memGiB} GiB` : ''}, Linux ${m.kernel}, node ${m.node}${m.imageNode ? ` (gateways @node…: ${m.imageNode}, the image's)` : ''}, ${m.wrk}, ${m.nginx ?? 'no nginx'}; ` +
    `pinning: ${pinT}; wrk -t${q.wrkThreads} -c${q.connections}${q.postConnections ? ` (POST: -c${q.postConnections})` : ''} -d${q.durationS}s, ` +
    `${q.rate ? `open loop ${q.rate} req/s over ${q.olConnections} connections${q.olWarmupS ? ` (each run after ${q.olWarmupS}s of unmeasured load)` : ''}, ` : ''}${q.rounds} interleaved rounds, ${q.warmupS}s warm-up` +
    `${q.gatewayNodeFlags?.length ? `; gateways run with node ${q.gatewayNodeFlags.join(' ')}` : ''}` +
    `${report.build ? `; code: ${report.build.commit ?? '?'}${report.build.srcFilesChanged ? ` + ${report.build.srcFilesChanged} uncommitted src files` : ''}` : ''}`
  );
}

export function renderReport(report) {
  const parts = [targetsTable(report.targets)];
  if (report.checks?.length) parts.push(checksTable(report.checks));
  if (report.extras?.memoryPerCredential) parts.push(memoryTable(report.extras.memoryPerCredential));
  if (report.extras?.transfers?.length)
    parts.push(`1 GiB transfers (one each, fresh processes):\n\n${transfersTable(report.extras.transfers)}`);
  for (const p of report.extras?.profiles ?? []) {
    if (p.summary) {
      parts.push(
        `CPU profile of ${p.target} (${p.reason}; fresh process, ${p.seconds} s, node --cpu-prof, ${fmt(p.rps)} req/s, ${fmt(p.cpuUsPerReq, 1)} µs/req under the profiler):\n\n${markdownSummary(p.summary, 20)}`,
      );
    } else {
      parts.push(`CPU profile of ${p.target}: ${p.error}`);
    }
  }
  parts.push(machineLine(report));
  return parts.join('\n\n');
}

/** Whether a parsed JSON file is a report written by run.mjs (fleet, reload and A/B files are not). */
export function isRunReport(report) {
  return Array.isArray(report?.targets) && report.params !== undefined && report.machine !== undefined;
}

const pick = (obj, keys) => {
  const out = {};
  for (const k of keys) if (obj?.[k] !== undefined) out[k] = obj[k];
  return out;
};

// What targetsTable reads of a target's summary, and what evaluateChecks and targetsTable read of a round.
const SUMMARY_COLUMNS = ['rps', 'p50_us', 'p99_us', 'p999_us', 'cpu_us_per_req', 'upstream_cpu_us_per_req', 'store_reads_per_s'];
// Also the load generator's CPU, the foreign CPU and the load average: the machine's share of the figures.
const ROUND_FIELDS = [
  'round',
  'accepted',
  'disturbed',
  'rps',
  'cpu_us_per_req',
  'upstream_cpu_us_per_req',
  'unexpectedErrors',
  'errorsTotal',
  'durationS',
  'loadGeneratorCpuS',
  'foreignCpuPct',
  'loadavg1',
];
// markdownSummary prints at most this many rows of each list of a CPU profile.
const PROFILE_ROWS = { functions: 20, origins: 20, natives: 12, stages: 20 };

function summariseTarget(t) {
  if (t.skipped) return pick(t, ['name', 'scenario', 'description', 'process', 'skipped']);
  return {
    ...pick(t, ['name', 'scenario', 'description', 'process', 'peakRssKiB']),
    summary: pick(t.summary, SUMMARY_COLUMNS),
    rounds: (t.rounds ?? []).map((r) => ({
      ...pick(r, ROUND_FIELDS),
      latency_us: pick(r.latency_us, ['p50', 'p99', 'p999']),
    })),
  };
}

function summariseProfile(p) {
  if (!p.summary) return pick(p, ['target', 'reason', 'error']);
  const s = pick(p.summary, ['busyMs', 'idleMs', 'totalMs', 'samples', 'window']);
  for (const [k, n] of Object.entries(PROFILE_ROWS)) if (Array.isArray(p.summary[k])) s[k] = p.summary[k].slice(0, n);
  return { ...pick(p, ['target', 'reason', 'seconds', 'rps', 'cpuUsPerReq']), summary: s };
}

/** The compact summary of a run.mjs report: what its tables are built from, nothing else. */
export function summariseReport(report) {
  const processes = {};
  for (const [k, p] of Object.entries(report.processes ?? {})) processes[k] = pick(p, ['description', 'peakRssKiB', 'skipped']);
  const extras = {};
  const m = report.extras?.memoryPerCredential;
  if (m) extras.memoryPerCredential = m.error ? { error: m.error } : pick(m, ['primed', 'before', 'after', 'gc', 'entriesAdded']);
  if (report.extras?.transfers?.length) extras.transfers = report.extras.transfers;
  if (report.extras?.profiles?.length) extras.profiles = report.extras.profiles.map(summariseProfile);
  return {
    summaryOf: 'bench/run.mjs report: the fields its tables are built from (bench/lib/summary.mjs)',
    ...pick(report, ['scenario', 'date', 'machine', 'pinning', 'build', 'params', 'upstream']),
    processes,
    targets: report.targets.map(summariseTarget),
    checks: report.checks ?? [],
    extras,
  };
}

/** The tables of a saved report (raw or summary), with the checks evaluated again from its rounds. */
export function renderSaved(report) {
  // A report saved before a column was added gets it too.
  const checks = report.checks?.length && report.processes ? evaluateChecks(report.targets, report.processes) : report.checks;
  return renderReport({ ...report, checks });
}
