import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, suggest } from '../../src/config/suggest.js';

test('editDistance counts insertions, deletions, substitutions and adjacent transpositions', () => {
  const table: readonly [string, string, number][] = [
    ['', '', 0],
    ['abc', 'abc', 0],
    ['', 'abc', 3],
    ['upstreem', 'upstream', 1],
    ['hots', 'host', 1],
    ['listne', 'listen', 1],
    ['kitten', 'sitting', 3],
    ['ca', 'abc', 3],
  ];
  for (const [a, b, d] of table) {
    assert.equal(editDistance(a, b), d, `${a} → ${b}`);
    assert.equal(editDistance(b, a), d, `${b} → ${a}`);
  }
});

test('suggest returns the closest plausible candidate or nothing', () => {
  const keys = ['name', 'match', 'upstream', 'upstreamCa', 'auth', 'access', 'credentials', 'require', 'timeout'];
  const table: readonly [string, string | undefined][] = [
    ['upstreem', 'upstream'],
    ['upstreamCA', 'upstreamCa'],
    ['acess', 'access'],
    ['credential', 'credentials'],
    ['timout', 'timeout'],
    ['colour', undefined],
    ['x', undefined],
    ['authentication', undefined],
  ];
  for (const [word, expected] of table) assert.equal(suggest(word, keys), expected, word);
});
