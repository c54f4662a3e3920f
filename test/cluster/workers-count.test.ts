import assert from 'node:assert/strict';
import test from 'node:test';
import { parseWorkersFlag, resolveWorkers, usableCpus, workersOfThisHost } from '../../src/cluster/workers-count.js';

test('auto is one worker per available core; a number is kept', () => {
  const noLimit = (): undefined => undefined;
  assert.equal(
    resolveWorkers('auto', () => 4, noLimit),
    4,
  );
  assert.equal(
    resolveWorkers('auto', () => 0, noLimit),
    1,
  );
  assert.equal(
    resolveWorkers('auto', () => 1_000, noLimit),
    256,
  );
  assert.equal(
    resolveWorkers(3, () => 4, noLimit),
    3,
  );
});

test("auto is held to the container's CPU limit; a number is not", () => {
  assert.equal(
    resolveWorkers(
      'auto',
      () => 64,
      () => 2,
    ),
    2,
  );
  assert.equal(
    resolveWorkers(
      'auto',
      () => 2,
      () => 8,
    ),
    2,
    'the limit never adds cores',
  );
  assert.equal(
    resolveWorkers(
      6,
      () => 64,
      () => 2,
    ),
    6,
    'an operator who names a number gets it',
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

test('the usable CPUs are the affinity held to the container limit, at least one', () => {
  assert.equal(
    usableCpus(
      () => 8,
      () => undefined,
    ),
    8,
  );
  assert.equal(
    usableCpus(
      () => 8,
      () => 2,
    ),
    2,
  );
  assert.equal(
    usableCpus(
      () => 1,
      () => 4,
    ),
    1,
  );
  assert.equal(
    usableCpus(
      () => 0,
      () => undefined,
    ),
    1,
  );
});
