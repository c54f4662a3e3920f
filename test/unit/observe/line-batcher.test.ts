import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLineBatcher } from '../../../src/observe/line-batcher.js';

function recordingStream(): { chunks: string[]; flushes: number; syncFlushes: number; write(chunk: string): boolean; flush(cb?: () => void): void; flushSync(): void } {
  return {
    chunks: [],
    flushes: 0,
    syncFlushes: 0,
    write(chunk) {
      this.chunks.push(chunk);
      return true;
    },
    flush(cb) {
      this.flushes++;
      cb?.();
    },
    flushSync() {
      this.syncFlushes++;
    },
  };
}

test('lines are held until maxChars is reached, then handed over as one chunk, in order', () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 30, intervalMs: 60_000 });
  batcher.write('line-1 abcdefgh\n');
  assert.deepEqual(stream.chunks, [], 'below maxChars: nothing written yet');
  batcher.write('line-2 abcdefgh\n');
  assert.deepEqual(stream.chunks, ['line-1 abcdefgh\nline-2 abcdefgh\n']);
  batcher.write('line-3\n');
  batcher.flush();
  assert.deepEqual(stream.chunks, ['line-1 abcdefgh\nline-2 abcdefgh\n', 'line-3\n']);
  assert.equal(stream.flushes, 1);
});

test('a quiet period still delivers the lines within intervalMs', async () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 1 << 20, intervalMs: 20 });
  batcher.write('only line\n');
  assert.deepEqual(stream.chunks, []);
  const deadline = Date.now() + 2_000;
  while (stream.chunks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(stream.chunks, ['only line\n']);
});

test('flush hands the queue over and calls back; flushSync flushes the stream synchronously', () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 1 << 20, intervalMs: 60_000 });
  let called = false;
  batcher.write('a\n');
  batcher.flush(() => {
    called = true;
  });
  assert.ok(called);
  batcher.write('b\n');
  batcher.flushSync();
  assert.deepEqual(stream.chunks, ['a\n', 'b\n']);
  assert.equal(stream.syncFlushes, 1);
  batcher.flush();
  assert.deepEqual(stream.chunks, ['a\n', 'b\n'], 'an empty queue writes nothing');
});
