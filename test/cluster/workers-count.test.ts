import assert from 'node:assert/strict';
import test from 'node:test';
import { parseWorkersFlag, resolveWorkers, workersOfThisHost } from '../../src/cluster/workers-count.js';

test('auto is one worker per available core; a number is kept', () => {
  assert.equal(
    resolveWorkers('auto', () => 4),
    4,
  );
  assert.equal(
    resolveWorkers('auto', () => 0),
    1,
  );
  assert.equal(
    resolveWorkers('auto', () => 1_000),
    256,
  );
  assert.equal(
    resolveWorkers(3, () => 4),
    3,
  );
});

test('--workers takes auto or 1…256, nothing else', () => {
  assert.equal(parseWorkersFlag('auto'), 'auto');
  assert.equal(parseWorkersFlag('1'), 1);
  assert.equal(parseWorkersFlag('256'), 256);
  for (const bad of ['0', '257', '-1', '1.5', '2 ', ' 2', '02', '0x2', '1e2', 'AUTO', '', 'two'])
    assert.equal(parseWorkersFlag(bad), undefined, bad);
});

test('a worker learns how many serve the host from the primary (PORTCULLIS_WORKERS); alone, 1', () => {
  assert.equal(workersOfThisHost({}), 1);
  assert.equal(workersOfThisHost({ PORTCULLIS_WORKERS: '4' }), 4);
  for (const bad of ['0', '-2', '1.5', 'x', '', '257']) assert.equal(workersOfThisHost({ PORTCULLIS_WORKERS: bad }), 1, bad);
});
