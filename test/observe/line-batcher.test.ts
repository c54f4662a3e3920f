import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createLineBatcher } from '../../src/observe/line-batcher.js';

function recordingStream(): { chunks: string[]; write(chunk: string): boolean } {
  return {
    chunks: [],
    write(chunk) {
      this.chunks.push(chunk);
      return true;
    },
  };
}

test('queued lines are held until maxChars is reached, then written as one chunk, in order', () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 30, intervalMs: 60_000 });
  batcher.queue('line-1 abcdefgh\n');
  assert.deepEqual(stream.chunks, [], 'below maxChars: nothing written yet');
  batcher.queue('line-2 abcdefgh\n');
  assert.deepEqual(stream.chunks, ['line-1 abcdefgh\nline-2 abcdefgh\n']);
  batcher.queue('line-3\n');
  let called = false;
  batcher.flush(() => {
    called = true;
  });
  assert.ok(called);
  assert.deepEqual(stream.chunks, ['line-1 abcdefgh\nline-2 abcdefgh\n', 'line-3\n']);
  batcher.flush();
  assert.equal(stream.chunks.length, 2, 'an empty queue writes nothing');
});

test('a written line goes out at once, after the lines queued before it', () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 1 << 20, intervalMs: 60_000 });
  batcher.queue('access 1\n');
  batcher.queue('access 2\n');
  batcher.write('event\n');
  assert.deepEqual(stream.chunks, ['access 1\naccess 2\nevent\n']);
  batcher.write('event 2\n');
  assert.deepEqual(stream.chunks.at(-1), 'event 2\n');
});

test('a quiet period still delivers queued lines within intervalMs', async () => {
  const stream = recordingStream();
  const batcher = createLineBatcher(stream, { maxChars: 1 << 20, intervalMs: 20 });
  batcher.queue('only line\n');
  assert.deepEqual(stream.chunks, []);
  const deadline = Date.now() + 2_000;
  while (stream.chunks.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(stream.chunks, ['only line\n']);
});

// The real stdout logger in a child process: queued access lines must survive every way out.
const LOGGER_URL = pathToFileURL(new URL('../../src/observe/logger.js', import.meta.url).pathname).href;
const ACCESS_URL = pathToFileURL(new URL('../../src/observe/access-log.js', import.meta.url).pathname).href;

function childOutput(ending: string): { stdout: string; status: number | null } {
  const script = `
    const { createLogger } = await import(${JSON.stringify(LOGGER_URL)});
    const { createAccessLog } = await import(${JSON.stringify(ACCESS_URL)});
    const logger = createLogger('info');
    const access = createAccessLog(logger, []);
    for (let i = 0; i < 50; i++) {
      access.write({ id: 'req-' + i, startedAt: 0n, req: { method: 'GET', url: '/x' }, socket: null, path: '/x', search: '',
        route: undefined, principal: undefined, decision: 'ok', upstreamStartedAt: undefined, upstreamHeadersAt: undefined }, 200, 1000n);
    }
    ${ending}
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  return { stdout: result.stdout, status: result.status };
}

for (const [how, ending, status] of [
  ['a normal exit', '', 0],
  ['process.exit()', 'process.exit(3);', 3],
  ['an uncaught exception', "setTimeout(() => { throw new Error('boom'); }, 0);", 1],
  ['logger.flush() then a hard stop', 'logger.flush(); process.reallyExit(4);', 4],
] as const) {
  test(`queued access lines reach stdout on ${how}`, () => {
    const out = childOutput(ending);
    assert.equal(out.status, status);
    const lines = out.stdout.split('\n').filter((line) => line.includes('"http.access"'));
    assert.equal(lines.length, 50, `all 50 lines, got ${lines.length}`);
    assert.ok(
      lines.every((line, i) => line.includes(`"requestId":"req-${i}"`)),
      'in order',
    );
  });
}
