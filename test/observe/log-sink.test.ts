/**
 * The log sink's accounting (log-sink.ts) against a stream whose reader is held by the test:
 * nothing is waited for, what exceeds the bound is dropped and counted by lines, one recovery
 * report per stall, and the exit write never waits behind pending data. The real pipe is
 * exercised by test/integration/stalled-log.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogSink, type SinkStream } from '../../src/observe/log-sink.js';

/** A writable whose reader takes what is pending only when `read()` is called. */
function heldStream() {
  const pending: { chunk: string; done: (error?: Error | null) => void }[] = [];
  const taken: string[] = [];
  const stream: SinkStream & { read(): void; readonly taken: string[] } = {
    get writableLength() {
      return pending.reduce((n, p) => n + p.chunk.length, 0);
    },
    write(chunk, done) {
      pending.push({ chunk, done });
      return false;
    },
    on() {
      return stream;
    },
    read() {
      for (const { chunk, done } of pending.splice(0)) {
        taken.push(chunk);
        done();
      }
    },
    taken,
  };
  return stream;
}

const line = (n: number): string => `${JSON.stringify({ n, pad: 'x'.repeat(80) })}\n`;

test('beyond the bound, whole batches are dropped and counted by lines; one report when the reader catches up', () => {
  const stream = heldStream();
  const reports: number[] = [];
  const sink = createLogSink(stream, { maxPendingBytes: 1_000, fd: undefined, onRecovered: (n) => reports.push(n) });
  const batch = line(1) + line(2) + line(3);
  for (let i = 0; i < 10; i++) sink.write(batch);
  const written = Math.floor(1_000 / batch.length);
  assert.ok(stream.writableLength <= 1_000);
  assert.equal(sink.dropped(), (10 - written) * 3);
  assert.deepEqual(reports, [], 'no report while the reader is stalled');
  stream.read();
  assert.deepEqual(reports, [(10 - written) * 3]);
  // A second stall is reported on its own; the total keeps counting.
  for (let i = 0; i < 10; i++) sink.write(batch);
  stream.read();
  assert.equal(reports.length, 2);
  // The cast undoes the narrowing of assert.deepEqual above, which typed `reports` as the empty list it compared.
  assert.equal(
    sink.dropped(),
    (reports as number[]).reduce((sum, n) => sum + n, 0),
  );
  assert.equal(stream.taken.join('').split('\n').length - 1 + sink.dropped(), 60, 'every line is either taken or counted');
});

test('a batch larger than the bound is written when nothing is pending (never dropped for its size alone)', () => {
  const stream = heldStream();
  const sink = createLogSink(stream, { maxPendingBytes: 100, fd: undefined });
  sink.write(line(1) + line(2));
  assert.equal(sink.dropped(), 0);
  assert.ok(stream.writableLength > 100);
});

test('settle calls back once the reader took everything, or after its timeout; writeAtExit never waits behind pending data', async () => {
  const stream = heldStream();
  const sink = createLogSink(stream, { maxPendingBytes: 10_000, fd: undefined });
  sink.write(line(1));
  let settled = false;
  sink.settle(60_000, () => (settled = true));
  assert.equal(settled, false);
  stream.read();
  assert.equal(settled, true);
  sink.write(line(2));
  // The sink's timer does not keep a process alive; this one keeps the test's alive meanwhile.
  const alive = setTimeout(() => undefined, 5_000);
  await new Promise<void>((resolve) => sink.settle(50, resolve));
  clearTimeout(alive);
  const before = sink.dropped();
  sink.writeAtExit(line(3) + line(4));
  assert.equal(sink.dropped(), before + 2, 'data is pending: the exit batch is counted, not waited for');
});
