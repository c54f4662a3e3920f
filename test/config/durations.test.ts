import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../src/config/durations.js';

test('parseDuration converts each unit to milliseconds', () => {
  const table: readonly [string, number][] = [
    ['0ms', 0],
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['30d', 2_592_000_000],
  ];
  for (const [text, ms] of table) assert.equal(parseDuration(text), ms, text);
});

test('parseDuration throws TypeError on anything else', () => {
  const bad = ['', '30', 's', '1.5s', '-5s', '30 s', ' 30s', '30S', '1h30m', '5w', '30sec', '99999999999999999d'];
  for (const text of bad) assert.throws(() => parseDuration(text), TypeError, text);
  assert.throws(() => parseDuration(30 as unknown as string), TypeError);
});

test('formatDuration picks the largest exact unit', () => {
  const table: readonly [number, string][] = [
    [0, '0ms'],
    [1, '1ms'],
    [1_500, '1500ms'],
    [30_000, '30s'],
    [90_000, '90s'],
    [1_800_000, '30m'],
    [3_600_000, '1h'],
    [2_592_000_000, '30d'],
  ];
  for (const [ms, text] of table) {
    assert.equal(formatDuration(ms), text, String(ms));
    assert.equal(parseDuration(text), ms, `round trip of ${text}`);
  }
  assert.throws(() => formatDuration(-1), TypeError);
  assert.throws(() => formatDuration(1.5), TypeError);
});
