/**
 * bench/: git keeps one compact summary per run (bench/results/summaries/), the raw reports stay
 * local. The summaries must be what bench/README.md's tables are built from, and summarising a
 * raw report must keep exactly that and drop the rest.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../support/repo.js';

interface SummaryModule {
  summariseReport(report: unknown): Record<string, unknown>;
  renderSaved(report: unknown): string;
  isRunReport(report: unknown): boolean;
}

const ROOT = repoRoot();
const RUN_15 = join(ROOT, 'bench/results/summaries/2026-11-23-3.json');

async function summaryModule(): Promise<SummaryModule> {
  return (await import(pathToFileURL(join(ROOT, 'bench/lib/summary.mjs')).href)) as SummaryModule;
}

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

test("bench/README.md's per-target table of run 15 is the table printed from its tracked summary", async () => {
  const { renderSaved } = await summaryModule();
  const printed = renderSaved(readJson(RUN_15)).split('\n');
  const readme = readFileSync(join(ROOT, 'bench/README.md'), 'utf8').split('\n');
  const start = readme.indexOf('### Per target (run 15)');
  assert.ok(start > 0, 'the README has the section');
  const after = readme.slice(start + 1);
  const first = after.findIndex((l) => l.startsWith('| '));
  const end = after.findIndex((l, i) => i > first && !l.startsWith('| '));
  const table = after.slice(first, end);
  assert.equal(table.length, 24, 'header, separator and 22 targets');
  assert.deepEqual(printed.slice(0, table.length), table);
});

test('a raw report summarises to the known summary: the fields the tables read, and nothing else', async () => {
  const { summariseReport, renderSaved, isRunReport } = await summaryModule();
  const known = readJson(RUN_15);
  // A raw report as run.mjs writes it: the same figures plus everything the tables do not print.
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unnecessary-type-assertion -- the raw report is built field by field, as loosely as run.mjs writes it */
  const raw = structuredClone(known) as any;
  raw.notes = ['cpu_us_per_req: …'];
  raw.setup = { tokens: 100_000 };
  for (const p of Object.values(raw.processes) as any[]) Object.assign(p, { gateway: 'main', startupMs: 812, readyRssKiB: 90_000 });
  for (const t of raw.targets) {
    if (t.skipped) continue;
    Object.assign(t, { driver: 'wrk', url: 'http://127.0.0.1:1/x', lua: null });
    Object.assign(t.summary, {
      p90_us: { median: 1, min: 1, max: 1 },
      gc_major_ms: null,
      rss_after_run_kib: { median: 2, min: 2, max: 2 },
    });
    for (const r of t.rounds) {
      Object.assign(r, { requests: 1000, cpuS: 0.1, gateway: { storeReadsPerS: 0, gc_major_ms: 3 }, cpuUtilisation: { cpu0: 100 } });
      r.latency_us.p90 = 123;
    }
  }
  raw.extras.memoryPerCredential.statuses = { 200: 10_000 };
  for (const p of raw.extras.profiles) {
    Object.assign(p, { sizeBytes: 1_000_000, kept: null, note: 'the profiler itself costs CPU' });
    // Rows beyond those printed (functions, origins and stages: 20; natives: 12).
    for (const k of ['functions', 'origins', 'natives', 'stages']) p.summary[k].push(...Array.from({ length: 40 }, () => p.summary[k][0]));
  }
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unnecessary-type-assertion */
  assert.ok(isRunReport(raw));

  // The machine's share of each round is kept: the load generator's CPU, the foreign CPU, the load.
  const expected = structuredClone(known) as { targets: { rounds?: object[] }[] };
  for (const report of [raw as typeof expected, expected]) {
    for (const t of report.targets)
      for (const r of t.rounds ?? []) Object.assign(r, { durationS: 8, loadGeneratorCpuS: 0.4, foreignCpuPct: 4, loadavg1: [1, 2] });
  }

  const summary = summariseReport(raw);
  assert.deepEqual(summary, expected);
  assert.equal(renderSaved(summary), renderSaved(raw), 'the same tables from either');
  assert.ok(JSON.stringify(summary).length < JSON.stringify(raw).length / 2);
});

test('fleet, reload and other scripts’ files are not run reports, and are not summarised', async () => {
  const { isRunReport } = await summaryModule();
  assert.equal(isRunReport(readJson(join(ROOT, 'bench/results/fleet-2026-12-06-2.json'))), false);
  assert.equal(isRunReport(readJson(join(ROOT, 'bench/results/2026-11-22-reload.json'))), false);
});
