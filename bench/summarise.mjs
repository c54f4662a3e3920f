#!/usr/bin/env node
// Writes the compact summary of run.mjs reports: results/summaries/<run>.json, which git keeps,
// beside results/raw/<run>.json, which it does not (.gitignore). run.mjs writes both through
// writeSummary(); run this by hand for raw reports written before, or copied from elsewhere.
//
//   node bench/summarise.mjs                 every raw report: results/raw/*.json, and any run
//                                            report still at results/*.json (moved to raw/ first)
//   node bench/summarise.mjs FILE [FILE…]    those reports
//
// A summary is written only when it prints the same tables as its raw report (`--table`).

import { readFileSync, writeFileSync, mkdirSync, readdirSync, renameSync, existsSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunReport, summariseReport, renderSaved } from './lib/summary.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
export const resultsDir = join(benchDir, 'results');

/**
 * The summary of one report, written to `summariesDir/<basename>`; throws when it would not
 * print the same tables as the report. Returns the summary's path.
 */
export function writeSummary(rawFile, report, summariesDir = join(resultsDir, 'summaries')) {
  const summary = summariseReport(report);
  const text = JSON.stringify(summary);
  if (renderSaved(JSON.parse(text)) !== renderSaved(structuredClone(report)))
    throw new Error(`${rawFile}: the summary does not print the same tables as the raw report`);
  mkdirSync(summariesDir, { recursive: true });
  const out = join(summariesDir, basename(rawFile));
  writeFileSync(out, `${text}\n`);
  return out;
}

function main(args) {
  let files = args;
  if (files.length === 0) {
    const rawDir = join(resultsDir, 'raw');
    mkdirSync(rawDir, { recursive: true });
    for (const f of readdirSync(resultsDir).filter((x) => x.endsWith('.json'))) {
      const from = join(resultsDir, f);
      if (isRunReport(JSON.parse(readFileSync(from, 'utf8')))) renameSync(from, join(rawDir, f));
    }
    files = readdirSync(rawDir)
      .filter((x) => x.endsWith('.json'))
      .sort()
      .map((f) => join(rawDir, f));
  }
  let failed = 0;
  for (const f of files) {
    const report = JSON.parse(readFileSync(f, 'utf8'));
    if (!isRunReport(report)) {
      process.stderr.write(`skipped (not a run.mjs report): ${f}\n`);
      continue;
    }
    try {
      const out = writeSummary(f, report);
      process.stdout.write(`${relative(process.cwd(), f)} -> ${relative(process.cwd(), out)}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`${e.message}\n`);
    }
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] && existsSync(process.argv[1]) && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
