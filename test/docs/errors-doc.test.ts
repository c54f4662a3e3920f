/**
 * docs/errors.md and the code's table of error codes (src/errors.ts) are the same list: users
 * match on the codes they read in the docs, so the docs must list exactly what the code answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../src/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

interface DocRow {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly when: string;
}

/** The rows of the table under "## Codes": `| status | \`code\` | title | when |`. */
function documentedCodes(): DocRow[] {
  const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const section = text.split(/^## /m).find((s) => s.startsWith('Codes'));
  assert.ok(section, 'docs/errors.md has a "## Codes" section');
  const rows: DocRow[] = [];
  for (const line of section.split('\n')) {
    const cells = line
      .trim()
      .replace(/\\\|/g, '\u0000')
      .split('|')
      .slice(1, -1)
      .map((c) => c.replace(/\u0000/g, '|').trim());
    if (cells.length !== 4 || !/^\d{3}$/.test(cells[0] ?? '')) continue;
    const code = /^`([a-z_.]+)`$/.exec(cells[1] ?? '')?.[1];
    assert.ok(code, `a code in backticks: ${line}`);
    rows.push({ status: Number(cells[0]), code, title: cells[2] ?? '', when: cells[3] ?? '' });
  }
  return rows;
}

test('docs/errors.md lists exactly the codes of ERROR_CODES', () => {
  const documented = documentedCodes().map((r) => r.code);
  assert.equal(new Set(documented).size, documented.length, 'no code is listed twice');
  assert.deepEqual([...documented].sort(), Object.keys(ERROR_CODES).sort());
});

test('docs/errors.md gives each code the status and title of ERROR_CODES, and says when it happens', () => {
  for (const row of documentedCodes()) {
    const entry = ERROR_CODES[row.code as keyof typeof ERROR_CODES];
    assert.ok(entry, row.code);
    assert.equal(row.status, entry.status, `${row.code}: status`);
    assert.equal(row.title, entry.title, `${row.code}: title`);
    assert.ok(row.when.length > 10, `${row.code}: a "when" explanation`);
  }
});

test('every code is of the form area.name, and its status is an error status', () => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[a-z]+\.[a-z_]+$/, code);
    assert.ok(entry.status >= 400 && entry.status <= 599, code);
    assert.ok(entry.title.length > 0 && entry.description.length > 0, code);
  }
});
