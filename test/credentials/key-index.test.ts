import assert from 'node:assert/strict';
import test from 'node:test';
import { KeyIndex } from '../../src/credentials/key-index.js';

test('an id owning one key, then several, then none', () => {
  const index = new KeyIndex();
  index.add('tok_a', 'k1');
  index.add('tok_a', 'k1');
  assert.deepEqual(index.take('tok_a'), ['k1'], 'the same key twice is one key');
  assert.equal(index.size, 0, 'take forgets the id');

  index.add('tok_a', 'k1');
  index.add('tok_a', 'k2');
  index.add('tok_a', 'k3');
  index.remove('tok_a', 'k2');
  assert.deepEqual([...index.take('tok_a')].sort(), ['k1', 'k3']);

  index.add('tok_b', 'k1');
  index.remove('tok_b', 'other');
  assert.equal(index.size, 1, 'removing a key the id does not own changes nothing');
  index.remove('tok_b', 'k1');
  assert.equal(index.size, 0, 'an id without keys is dropped');

  index.add('tok_c', 'k1');
  index.add('tok_c', 'k2');
  index.remove('tok_c', 'k1');
  index.remove('tok_c', 'k2');
  assert.equal(index.size, 0, 'also after it held several');
});

test('null ids are not indexed; unknown ids own nothing', () => {
  const index = new KeyIndex();
  index.add(null, 'k1');
  index.remove(null, 'k1');
  assert.equal(index.size, 0);
  assert.deepEqual(index.take('nobody'), []);
  index.add('acct', 'k1');
  index.clear();
  assert.deepEqual(index.take('acct'), []);
});

test('what take returns is a copy: evicting its keys may edit the index', () => {
  const index = new KeyIndex();
  for (const key of ['k1', 'k2', 'k3']) index.add('acct', key);
  const taken = index.take('acct');
  index.add('acct', 'k4');
  for (const key of taken) index.remove('acct', key);
  assert.deepEqual(taken, ['k1', 'k2', 'k3']);
  assert.deepEqual(index.take('acct'), ['k4']);
});
