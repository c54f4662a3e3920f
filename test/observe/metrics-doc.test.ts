/**
 * docs/metrics.md and the registry must not drift: every metric documented with its type and
 * labels, nothing documented that the registry does not have.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../../src/config/repo-root.js';
import { createObservability } from '../../src/observe/index.js';
import { AUTH_OUTCOME_CODES, METHOD_LABELS } from '../../src/observe/labels.js';
import { createLogger } from '../../src/observe/logger.js';
import { minimalConfig } from './fixtures.js';

const ROOT = findRepoRoot(fileURLToPath(new URL('.', import.meta.url)));
const DOC = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');

interface DocumentedMetric {
  readonly name: string;
  readonly type: string;
  readonly unit: string;
  readonly labels: readonly string[];
  readonly meaning: string;
}

function cells(line: string): string[] {
  return line
    .slice(1, line.lastIndexOf('|'))
    .split('|')
    .map((cell) => cell.trim());
}

/** Rows of the `| Metric | Type | Unit | Labels | Meaning |` tables. */
function documentedMetrics(markdown: string): DocumentedMetric[] {
  const out: DocumentedMetric[] = [];
  let inTable = false;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    const row = cells(line);
    if (row[0] === 'Metric' && row[1] === 'Type') {
      inTable = true;
      continue;
    }
    if (!inTable || /^-+$/.test(row[0] ?? '')) continue;
    const [name = '', type = '', unit = '', labels = '', meaning = ''] = row;
    assert.match(name, /^`[a-z_:][a-z0-9_:]*`$/, `metric name cell: ${line}`);
    out.push({
      name: name.slice(1, -1),
      type,
      unit,
      labels: labels === '—' ? [] : labels.split(',').map((label) => label.trim().replace(/^`|`$/g, '')),
      meaning,
    });
  }
  return out;
}

/** The row of the label-values table whose first cell is `label`. */
function labelValuesRow(markdown: string, label: string): string {
  const line = markdown.split('\n').find((l) => l.startsWith(`| \`${label}\` |`));
  assert.ok(line, `label ${label} documented`);
  return cells(line)[1] ?? '';
}

function registryMetrics(): Map<string, { type: string; labels: string[] }> {
  const obs = createObservability({ config: minimalConfig(), logger: createLogger('silent'), version: 'test' });
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const metric of obs.registry.getMetricsAsArray() as unknown as { name: string; type: unknown; labelNames: string[] }[]) {
    out.set(metric.name, { type: String(metric.type), labels: [...metric.labelNames] });
  }
  return out;
}

test('docs/metrics.md documents exactly the metrics of the registry, with their types and labels', () => {
  const documented = documentedMetrics(DOC);
  const registry = registryMetrics();
  assert.ok(documented.length >= 40, `${documented.length} rows parsed`);

  const names = documented.map((m) => m.name);
  assert.equal(new Set(names).size, names.length, 'each metric documented once');
  assert.deepEqual(
    [...registry.keys()].filter((n) => !names.includes(n)),
    [],
    'registered but not documented',
  );
  assert.deepEqual(
    names.filter((n) => !registry.has(n)),
    [],
    'documented but not registered',
  );

  for (const metric of documented) {
    const actual = registry.get(metric.name);
    assert.equal(metric.type, actual?.type, `${metric.name}: type`);
    assert.deepEqual([...metric.labels].sort(), [...(actual?.labels ?? [])].sort(), `${metric.name}: labels`);
    assert.ok(metric.unit !== '', `${metric.name}: unit`);
    assert.ok(metric.meaning.length > 10, `${metric.name}: meaning`);
    if (metric.name.endsWith('_seconds') || metric.name.endsWith('_seconds_total'))
      assert.match(metric.unit, /seconds/, `${metric.name}: unit`);
    if (metric.name.endsWith('_bytes')) assert.equal(metric.unit, 'bytes', `${metric.name}: unit`);
    if (metric.type === 'counter') assert.match(metric.name, /_total$/, `${metric.name}: counters end in _total`);
  }
  assert.ok(names.filter((n) => n.startsWith('portcullis_')).length >= 18);
});

test('docs/metrics.md lists every value of the bounded labels the code uses', () => {
  const methods = labelValuesRow(DOC, 'method');
  for (const method of METHOD_LABELS) assert.ok(methods.includes(`\`${method}\``), `method ${method}`);
  const codes = labelValuesRow(DOC, 'code');
  const documentedCodes = [...codes.matchAll(/`([a-z_.]+)`/g)].map((m) => m[1]);
  assert.deepEqual(
    [...documentedCodes].sort(),
    [...AUTH_OUTCOME_CODES].sort(),
    'the code label values are ok + every auth.* code of errors.ts',
  );
  const kinds = labelValuesRow(DOC, 'kind');
  for (const kind of ['unavailable', 'tls', 'timeout', 'reset']) assert.ok(kinds.includes(`\`${kind}\``), `kind ${kind}`);
});
