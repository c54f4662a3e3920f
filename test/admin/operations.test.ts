/**
 * The audit listing's inputs as users type them (src/admin/operations.ts): `since` as a duration
 * back from now or an ISO-8601 instant, `limit` as a whole number in range; anything else is an
 * InvalidInputError naming the parameter.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { InvalidInputError, parseAuditLimit, parseSince } from '../../src/admin/operations.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

test('since: durations count back from now; ISO-8601 instants and dates are taken as written', () => {
  const cases: [string, number][] = [
    ['1h', NOW - 3_600_000],
    ['30m', NOW - 1_800_000],
    ['7d', NOW - 7 * 86_400_000],
    ['500ms', NOW - 500],
    ['0s', NOW],
    ['2026-12-06T11:00:00Z', Date.UTC(2026, 11, 6, 11)],
    ['2026-12-06T11:00:00.250Z', Date.UTC(2026, 11, 6, 11, 0, 0, 250)],
    ['2026-12-06T13:00:00+02:00', Date.UTC(2026, 11, 6, 11)],
    ['2026-12-06', Date.UTC(2026, 11, 6)],
    [' 1h ', NOW - 3_600_000],
  ];
  for (const [text, expected] of cases) assert.equal(parseSince(text, NOW), expected, text);
});

test('since: anything else is refused with the parameter name, never parsed loosely', () => {
  for (const text of [
    '',
    'yesterday',
    '1y',
    '-1h',
    '1.5h',
    '1h30m',
    '+1h',
    '2026-13-01',
    '2026-12-06T11:00:00',
    'Dec 6 2026',
    '1e3s',
    '0x10m',
    '99999999999999999d',
  ]) {
    assert.throws(
      () => parseSince(text, NOW, '--since'),
      (error: unknown) => error instanceof InvalidInputError && /^--since /.test(error.message),
      JSON.stringify(text),
    );
  }
});

test('limit: a whole number from 1 to 1000', () => {
  assert.equal(parseAuditLimit('1', 'limit'), 1);
  assert.equal(parseAuditLimit('1000', 'limit'), 1000);
  assert.equal(parseAuditLimit(250, 'limit'), 250);
  assert.equal(parseAuditLimit(undefined, 'limit'), undefined);
  for (const value of ['0', '1001', '-1', '1.5', '1e2', ' 5', 'ten', '', 0, 1.5, Number.NaN]) {
    assert.throws(() => parseAuditLimit(value, '--limit'), /--limit must be a whole number from 1 to 1000/, JSON.stringify(value));
  }
});
