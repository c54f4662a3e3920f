/**
 * The sink of a process that shares stdout with others (shared-stdout-sink.ts): batches are cut
 * into writes of whole lines of at most 4 KiB, and a reader that stops reading stalls nobody.
 * The whole host (workers on one pipe, unread) is exercised by
 * test/integration/stalled-log.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { piecesOfWholeLines, shortenedLine, SHORTENED_VALUE } from '../../src/observe/shared-stdout-sink.js';

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

test('a line longer than the bound is shortened to fit, still one JSON object, or replaced by a marker', () => {
  const line = {
    level: 30,
    time: 't',
    service: 'portcullis',
    worker: 2,
    pid: 7,
    event: 'http.access',
    requestId: 'r-1',
    status: 200,
    path: `/${'p'.repeat(6000)}`,
  };
  const shortened = shortenedLine(Buffer.from(`${JSON.stringify(line)}\n`), 4096);
  assert.ok(shortened.length <= 4096);
  assert.equal(shortened.at(-1), 0x0a);
  const parsed = JSON.parse(shortened.toString()) as typeof line & { truncated: boolean };
  assert.deepEqual({ ...parsed, path: undefined }, { ...line, path: undefined, truncated: true });
  assert.equal(parsed.path, `/${'p'.repeat(SHORTENED_VALUE - 1)}…`);

  // Too many long values to fit even cut: a marker that says which line it replaces.
  const wide: Record<string, unknown> = Object.fromEntries<unknown>([
    ...Object.entries(line),
    ...Array.from({ length: 40 }, (_, i): [string, string] => [`q${i}`, 'v'.repeat(300)]),
  ]);
  const marker = JSON.parse(shortenedLine(Buffer.from(`${JSON.stringify(wide)}\n`), 4096).toString()) as Record<string, unknown>;
  assert.deepEqual(marker, {
    level: 30,
    time: 't',
    service: 'portcullis',
    worker: 2,
    pid: 7,
    event: 'log.line_truncated',
    requestId: 'r-1',
    lineEvent: 'http.access',
    bytes: JSON.stringify(wide).length,
  });
});

test('a shortened value never ends between the halves of a surrogate pair', () => {
  const line = { event: 'http.access', requestId: 'r-2', path: `/${'😀'.repeat(3000)}`, query: `é${'😀'.repeat(3000)}` };
  const shortened = shortenedLine(Buffer.from(`${JSON.stringify(line)}\n`), 4096);
  assert.ok(shortened.length <= 4096);
  assert.ok(!/\\ud[89ab]/i.test(shortened.toString()), 'no lone surrogate written as an escape');
  const parsed = JSON.parse(shortened.toString()) as { path: string; query: string };
  for (const value of [parsed.path, parsed.query]) {
    assert.ok(value.endsWith('…'));
    assert.equal(Buffer.from(value).toString(), value, 'valid Unicode: survives a round trip through UTF-8');
    assert.ok(value.length <= SHORTENED_VALUE + 1);
  }
});

test('the marker stands in within the bound whatever the identifying fields hold', () => {
  const line = Object.fromEntries([
    ...['level', 'time', 'service', 'worker', 'pid', 'role', 'event', 'requestId'].map((key): [string, string] => [
      key,
      '\u0001'.repeat(300),
    ]),
    ...Array.from({ length: 40 }, (_, i): [string, string] => [`q${i}`, 'v'.repeat(300)]),
  ]);
  const marker = shortenedLine(Buffer.from(`${JSON.stringify(line)}\n`), 4096);
  assert.ok(marker.length <= 4096, `${marker.length} bytes`);
  assert.equal((JSON.parse(marker.toString()) as { event: string }).event, 'log.line_truncated');
});

/**
 * Runs `body` (an ES module that has `createSharedStdoutSink` and `openSync` imported) in a child;
 * `closed`: the reading end of its stdout closed at once. Resolves to its stdout and stderr.
 */
async function inChild(body: string, stdout: 'pipe' | 'closed' = 'pipe'): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { createSharedStdoutSink } from ${JSON.stringify(SINK_URL)};\nimport { openSync } from 'node:fs';\n${body}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  if (stdout === 'closed') child.stdout.destroy();
  else child.stdout.on('data', (data: Buffer) => (out += data.toString()));
  child.stderr.on('data', (data: Buffer) => (err += data.toString()));
  await new Promise((resolve) => child.once('close', resolve));
  return { stdout: out, stderr: err };
}

test('a write that fails otherwise (a full disk) drops and counts that batch, says so once on stderr, and the next is tried', async () => {
  const { stderr } = await inChild(`
    const sink = createSharedStdoutSink({ fd: openSync('/dev/full', 'w'), maxPendingBytes: 1 << 20 });
    sink.write('one\\ntwo\\nthree\\n');
    sink.write('four\\nfive\\n');
    sink.writeAtExit('six\\n');
    process.stderr.write('dropped ' + sink.dropped() + '\\n');
  `);
  assert.match(stderr, /^dropped 6$/m);
  assert.equal(stderr.match(/writing the log failed \(ENOSPC\)/g)?.length, 1, stderr);
});

test('a reader that closed its end (EPIPE): every line from then on is dropped and counted, nothing waits', async () => {
  const { stderr } = await inChild(
    `
    await new Promise((resolve) => setTimeout(resolve, 300)); // the parent closes its end meanwhile
    const sink = createSharedStdoutSink({ maxPendingBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) sink.write('line ' + i + '\\n' + 'line ' + i + 'b\\n');
    sink.writeAtExit('last\\n');
    sink.settle(30_000, () => process.stderr.write('dropped ' + sink.dropped() + '\\n'));
  `,
    'closed',
  );
  assert.match(stderr, /^dropped 21$/m);
});

/**
 * One writer: creates its sink and, when the host leaves, waits until it has (Node then puts
 * back the blocking flag the host found on the shared stdout); then writes 200 batches of forty ~300-byte lines
 * (12 KB, cut into pieces), every 25th with a 10 KB line, into a 64 KiB bound, and waits for the
 * reader.
 */
const WRITER = `
  import { createSharedStdoutSink } from ${JSON.stringify(SINK_URL)};
  const who = process.env.WHO;
  let recovered = 0;
  const sink = createSharedStdoutSink({ maxPendingBytes: 64 * 1024, onRecovered: (n) => { recovered += n; } });
  // Tells the host its sink is open; when the host leaves, writes only once it has.
  const hostLeft = new Promise((resolve) => process.once('disconnect', resolve));
  process.send('ready');
  if (process.env.HOST_LEAVES === '1') await hostLeft;
  else process.disconnect();
  for (let batch = 0; batch < 200; batch++) {
    let chunk = '';
    for (let i = 0; i < 40; i++) chunk += JSON.stringify({ who, batch, i, pad: (i === 0 && batch % 25 === 0 ? 'y'.repeat(10_000) : 'x'.repeat(250)) }) + '\\n';
    sink.write(chunk);
  }
  process.stderr.write('written ' + who + '\\n');
  sink.settle(30_000, () => process.stderr.write('done ' + JSON.stringify({ who, dropped: sink.dropped(), recovered }) + '\\n'));
`;

/**
 * Two writers sharing this process's stdout, as workers share the primary's. The host opens its
 * stdout first (non-blocking, as the primary's logger does). With HOST_LEAVES it exits once both
 * opened their sinks, before they write, and Node puts back the blocking flag it found on the description
 * they share: a writer on a FIFO, which writes through a description of its own, must not mind.
 * (On a socket the writers have no other description: docs/decisions/0013, "With workers".)
 */
const HOST = `
  import { spawn } from 'node:child_process';
  process.stdout;
  let ready = 0;
  for (const who of ['first', 'second'])
    spawn(process.execPath, ['--input-type=module', '-e', process.env.WRITER], { env: { ...process.env, WHO: who }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      .once('message', () => {
        if (++ready === 2 && process.env.HOST_LEAVES === '1') process.exit(0);
      });
`;

interface Reader {
  readonly stdout: NodeJS.ReadableStream;
  stall(): void;
  resume(): void;
}

/**
 * The host with stdout on Node's own child pipe (a Unix socket pair): stalled by not reading it.
 */
function onSocketPair(): { host: ReturnType<typeof spawn>; reader: Reader } {
  const host = spawn(process.execPath, ['--input-type=module', '-e', HOST], {
    env: { ...process.env, WRITER },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout = host.stdout as NodeJS.ReadableStream;
  return { host, reader: { stdout, stall: () => stdout.pause(), resume: () => stdout.resume() } };
}

/** The host with stdout on a FIFO read by `cat`, as a container runtime or a shell pipeline gives it: stalled by stopping cat. */
function onFifo(dir: string): { host: ReturnType<typeof spawn>; reader: Reader } {
  const fifo = join(dir, 'stdout.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  const writeEnd = openSync(fifo, 'w'); // returns once cat opened it for reading
  const host = spawn(process.execPath, ['--input-type=module', '-e', HOST], {
    env: { ...process.env, WRITER, HOST_LEAVES: '1' },
    stdio: ['ignore', writeEnd, 'pipe'],
  });
  closeSync(writeEnd);
  return {
    host,
    reader: { stdout: cat.stdout, stall: () => cat.kill('SIGSTOP'), resume: () => cat.kill('SIGCONT') },
  };
}

for (const kind of ['a Unix socket pair', 'a FIFO'] as const) {
  test(
    `with the reader of ${kind} stalled, two writers never block, drop and count what does not fit, and cut no line`,
    { timeout: 60_000 },
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'pcl-shared-stdout-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const { host, reader } = kind === 'a FIFO' ? onFifo(dir) : onSocketPair();
      t.after(() => reader.resume());
      reader.stall();
      let stderr = '';
      host.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
      const chunks: Buffer[] = [];
      const ended = new Promise((resolve) => reader.stdout.once('end', resolve));
      reader.stdout.on('data', (data: Buffer) => chunks.push(data));
      if (kind === 'a Unix socket pair') reader.stall(); // 'data' set it flowing again
      const until = async (what: () => boolean, label: string): Promise<void> => {
        const deadline = Date.now() + 30_000;
        while (!what()) {
          assert.ok(Date.now() < deadline, `${label}; stderr: ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      // Nobody reads, yet both finish writing 2.4 MB each into a pipe that holds a few hundred KiB.
      await until(() => stderr.includes('written first') && stderr.includes('written second'), 'both writers finished while unread');
      assert.ok(!stderr.includes('done'), 'nothing was taken yet: the writers still hold lines for the reader');
      reader.resume();
      await until(() => (stderr.match(/^done /gm) ?? []).length === 2, 'both writers caught up once read');
      await ended;

      const lines = Buffer.concat(chunks).toString().split('\n').slice(0, -1);
      const parsed = lines.map((line) => JSON.parse(line) as { who: string; batch: number; i: number; pad: string; truncated?: true });
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
        assert.equal(arrived.length + report.dropped, 8_000, `${who}: every line either arrived or was counted`);
        assert.equal(report.recovered, report.dropped, `${who}: the catching up reported every dropped line`);
        const order = arrived.map((line) => line.batch * 40 + line.i);
        assert.deepEqual(
          order,
          [...order].sort((x, y) => x - y),
          'in order',
        );
        // The 10 KB lines that arrived, arrived shortened (they are in the first batches, which fit).
        const long = arrived.filter((line) => line.i === 0 && line.batch % 25 === 0);
        assert.ok(long.length > 0, 'the first batch arrived');
        for (const line of long) assert.deepEqual([line.truncated, line.pad.length], [true, SHORTENED_VALUE + 1]);
      }
    },
  );
}
