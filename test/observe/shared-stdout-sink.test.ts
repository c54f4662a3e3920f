/**
 * The sink of a process that shares stdout with others (shared-stdout-sink.ts): batches are cut
 * into writes of whole lines of at most 4 KiB, and a reader that stops reading stalls nobody.
 * The whole host (workers on one pipe, unread) is exercised by
 * test/integration/stalled-log.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { piecesOfWholeLines } from '../../src/observe/shared-stdout-sink.js';

test('a batch is cut into pieces of whole lines within the bound; a longer line is a piece of its own', () => {
  const lines = [
    `${'a'.repeat(39)}\n`, // 40 bytes
    `${'é'.repeat(30)}\n`, // 31 characters, 61 bytes: with the first 71 characters but 101 bytes
    `${'b'.repeat(59)}\n`,
    `${'c'.repeat(150)}\n`, // longer than the bound on its own
    ...Array.from({ length: 5 }, (_, i) => `${String(i).repeat(19)}\n`), // five of 20 bytes: exactly the bound
    `${'d'.repeat(9)}\n`,
    'event\n',
  ];
  const bytes = Buffer.from(lines.join(''));
  const pieces = piecesOfWholeLines(bytes, 100);
  assert.deepEqual(
    pieces.map((piece) => piece.length),
    [40, 61, 60, 151, 100, 16],
  );
  assert.equal(Buffer.concat(pieces).toString(), lines.join(''));
  for (const piece of pieces) assert.equal(piece.at(-1), 0x0a, 'every piece ends at a line end');
  assert.deepEqual(piecesOfWholeLines(Buffer.from('short\n'), 100).map(String), ['short\n']);
  assert.deepEqual(piecesOfWholeLines(Buffer.alloc(0), 100), []);
});

const SINK_URL = pathToFileURL(new URL('../../src/observe/shared-stdout-sink.js', import.meta.url).pathname).href;

/** One writer: 400 batches of ten ~300-byte lines (1.2 MB) into a 64 KiB bound, then waits for the reader. */
const WRITER = `
  import { createSharedStdoutSink } from ${JSON.stringify(SINK_URL)};
  const who = process.env.WHO;
  let recovered = 0;
  const sink = createSharedStdoutSink({ maxPendingBytes: 64 * 1024, onRecovered: (n) => { recovered += n; } });
  for (let batch = 0; batch < 400; batch++) {
    let chunk = '';
    for (let i = 0; i < 10; i++) chunk += JSON.stringify({ who, batch, i, pad: 'x'.repeat(250) }) + '\\n';
    sink.write(chunk);
  }
  process.stderr.write('written ' + who + '\\n');
  sink.settle(30_000, () => process.stderr.write('done ' + JSON.stringify({ who, dropped: sink.dropped(), recovered }) + '\\n'));
`;

/** Two writers sharing this process's stdout, as workers share the primary's. */
const HOST = `
  import { spawn } from 'node:child_process';
  for (const who of ['first', 'second'])
    spawn(process.execPath, ['--input-type=module', '-e', process.env.WRITER], { env: { ...process.env, WHO: who }, stdio: ['ignore', 'inherit', 'inherit'] });
`;

test(
  'with the reader stalled, two writers on one stdout never block, drop and count what does not fit, and cut no line',
  { timeout: 60_000 },
  async () => {
    const host = spawn(process.execPath, ['--input-type=module', '-e', HOST], {
      env: { ...process.env, WRITER },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const closed = new Promise((resolve) => host.once('close', resolve));
  let stderr = '';
    host.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const chunks: Buffer[] = [];
    host.stdout.on('data', (data: Buffer) => chunks.push(data));
    host.stdout.pause();
    const until = async (what: () => boolean, label: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!what()) {
        assert.ok(Date.now() < deadline, `${label}; stderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // Nobody reads, yet both finish writing 1.2 MB each into a pipe that holds a few hundred KiB.
    await until(() => stderr.includes('written first') && stderr.includes('written second'), 'both writers finished while unread');
    assert.ok(!stderr.includes('done'), 'nothing was taken yet: the writers still hold lines for the reader');
    host.stdout.resume();
    await until(() => (stderr.match(/^done /gm) ?? []).length === 2, 'both writers caught up once read');
    await closed;

    const lines = Buffer.concat(chunks).toString().split('\n').slice(0, -1);
    const parsed = lines.map((line) => JSON.parse(line) as { who: string; batch: number; i: number });
    for (const who of ['first', 'second']) {
      const report = JSON.parse(
        /^done (.*)$/m.exec(
          stderr
            .split('\n')
            .filter((l) => l.includes(`"who":"${who}"`))
            .join('\n'),
        )?.[1] ?? '{}',
      ) as {
        dropped: number;
        recovered: number;
      };
      const arrived = parsed.filter((line) => line.who === who);
      assert.ok(report.dropped > 0, `${who} dropped lines: ${report.dropped}`);
      assert.equal(arrived.length + report.dropped, 4_000, `${who}: every line either arrived or was counted`);
      assert.equal(report.recovered, report.dropped, `${who}: the catching up reported every dropped line`);
      // Whole batches arrive or are dropped, in order.
      const order = arrived.map((line) => line.batch * 10 + line.i);
      assert.deepEqual(
        order,
        [...order].sort((x, y) => x - y),
      );
    }
  },
);
