/**
 * Where log batches go when several processes write to one stdout (the primary and its workers).
 * It keeps log-sink.ts's promise — a reader that stalls never stalls the process: what the reader
 * has not taken is held up to a bound, beyond which whole batches are dropped and counted — and
 * adds one: a line is never cut by another process's write.
 *
 * Every write(2) is whole lines of at most PIPE_BUF bytes, made without waiting. On Linux a pipe
 * takes such a write whole or not at all (EAGAIN; POSIX promises it up to 512 bytes, Linux up to
 * 4 KiB), and it is then tried again whole. `process.stdout` cannot promise that: while the
 * reader lags it gathers the waiting writes into one writev, which the pipe may take in part, and
 * the next process's write then lands mid-line. A batch is turned into bytes once and cut at its
 * last newline within each PIPE_BUF, so no line is measured on its own (docs/decisions/0016,
 * "The workers' log path").
 *
 * A line longer than PIPE_BUF could only be written in parts, and another process's line could
 * land between them, damaging both. It is written shortened instead: its string values cut to
 * SHORTENED_VALUE characters and `"truncated":true` added (a request's id, status and principal
 * stay), or, should that not fit either, a `log.line_truncated` line in its place.
 *
 * The writes go to a descriptor of the process's own where stdout is a pipe (opened anew through
 * /proc, non-blocking): the non-blocking flag of the descriptor the host's processes share belongs
 * to none of them, and Node puts back the flag it found when any of them exits. On a socket
 * (journald, Node's own child stdio) that is not possible, and fd 1 is used, made non-blocking by
 * opening `process.stdout`. Files and terminals are written synchronously, as Node writes them.
 */
import { constants, fstatSync, openSync, writeSync } from 'node:fs';
import { callOnceWithin, type LogSink } from './log-sink.js';

/** Bytes up to which a pipe write is atomic on Linux. */
export const PIPE_BUF = 4096;

/** Characters kept of each string value of a line longer than PIPE_BUF. */
export const SHORTENED_VALUE = 256;

/** How soon a full pipe is tried again. */
const RETRY_MS = 10;

export interface SharedStdoutSinkOptions {
  /** Bytes waiting for the reader beyond which batches are dropped (`log.bufferBytes`). */
  readonly maxPendingBytes: number;
  /** Called once when the reader caught up after lines were dropped, with their count. */
  readonly onRecovered?: (dropped: number) => void;
  /** The file descriptor written (default: stdout, reopened when it is a pipe). */
  readonly fd?: number;
  /** Largest write (default PIPE_BUF). */
  readonly pieceBytes?: number;
}

const NEWLINE = 0x0a;

function countLines(bytes: Uint8Array): number {
  let lines = 0;
  for (let i = bytes.indexOf(NEWLINE); i !== -1; i = bytes.indexOf(NEWLINE, i + 1)) lines++;
  return lines;
}

/**
 * `bytes` (whole lines) cut into pieces of at most `limit` bytes, each ending at a line's end;
 * a line longer than `limit` is a piece of its own.
 */
export function piecesOfWholeLines(bytes: Buffer, limit: number): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  while (bytes.length - start > limit) {
    let end = bytes.lastIndexOf(NEWLINE, start + limit - 1);
    if (end < start) end = bytes.indexOf(NEWLINE, start + limit);
    if (end === -1) break;
    pieces.push(bytes.subarray(start, end + 1));
    start = end + 1;
  }
  if (start < bytes.length) pieces.push(bytes.subarray(start));
  return pieces;
}

/** `text` cut to SHORTENED_VALUE characters and marked, never between the two halves of a surrogate pair. */
function cutValue(text: string): string {
  if (text.length <= SHORTENED_VALUE) return text;
  const last = text.charCodeAt(SHORTENED_VALUE - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? SHORTENED_VALUE - 1 : SHORTENED_VALUE;
  return `${text.slice(0, end)}…`;
}

/**
 * A JSON line longer than `limit` bytes, made to fit: every string value (at any depth) cut to
 * SHORTENED_VALUE characters and `"truncated":true` added; failing that, a `log.line_truncated`
 * line with the fields that identify it.
 */
export function shortenedLine(line: Buffer, limit: number): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  const cut = JSON.stringify({ ...record, truncated: true }, (_key, value: unknown) =>
    typeof value === 'string' ? cutValue(value) : value,
  );
  const shortened = Buffer.from(`${cut}\n`);
  if (shortened.length <= limit) return shortened;
  const kept = Object.fromEntries(
    ['level', 'time', 'service', 'worker', 'pid', 'role', 'event', 'requestId'].flatMap((key) =>
      typeof record[key] === 'string' || typeof record[key] === 'number' ? [[key, record[key]]] : [],
    ),
  );
  const marker = { ...kept, lineEvent: kept.event, event: 'log.line_truncated', bytes: line.length - 1 };
  const markerLine = Buffer.from(
    `${JSON.stringify(marker, (_key, value: unknown) => (typeof value === 'string' ? cutValue(value) : value))}\n`,
  );
  if (markerLine.length <= limit) return markerLine;
  return Buffer.from(`${JSON.stringify({ event: 'log.line_truncated', bytes: line.length - 1 })}\n`);
}

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** The reader can take nothing more, ever: every later line is dropped. */
const isGone = (error: unknown): boolean => codeOf(error) === 'EPIPE' || codeOf(error) === 'EBADF';

/**
 * A descriptor of this process's own on stdout's pipe, non-blocking; else fd 1 (a socket, a file,
 * a terminal), after opening `process.stdout`, which makes a socket non-blocking.
 */
function openStdout(): number {
  let isPipe = false;
  try {
    isPipe = fstatSync(1).isFIFO();
    // Left open to the end: the last batch is written from the 'exit' event.
    if (isPipe) return openSync('/proc/self/fd/1', constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    // No /proc (ENOENT), a pipe another user owns after a privilege drop (EACCES), no reader
    // left (ENXIO): fd 1 as it is, as on a socket. Said once, since it weakens the promise.
    if (isPipe) {
      try {
        writeSync(
          2,
          `portcullis: stdout is a pipe, but it could not be opened anew (${codeOf(error) ?? 'error'}); a stalled log reader may hold this process for a moment after a worker starts (docs/logging.md)\n`,
        );
      } catch {
        // Nobody to tell.
      }
    }
  }
  Reflect.get(process, 'stdout');
  return 1;
}

export function createSharedStdoutSink(options: SharedStdoutSinkOptions): LogSink {
  const fd = options.fd ?? openStdout();
  const pieceBytes = options.pieceBytes ?? PIPE_BUF;
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let broken = false;
  let droppedTotal = 0;
  // Lines dropped since the reader last caught up; reported once when it does.
  let droppedInEpisode = 0;
  let retry: NodeJS.Timeout | undefined;
  let settled: (() => void)[] = [];
  let failureTold = false;

  const releaseSettled = (): void => {
    if (settled.length === 0) return;
    const waiting = settled;
    settled = [];
    for (const callback of waiting) callback();
  };

  /** The reader is gone (EPIPE): everything now and later is dropped. */
  const giveUp = (): void => {
    broken = true;
    for (const piece of pending) droppedTotal += countLines(piece);
    pending.length = 0;
    pendingBytes = 0;
    releaseSettled();
  };

  /**
   * A write failed otherwise (a full disk, an I/O error): that piece is lost and counted, the rest
   * goes on. Told once on stderr, not by a warning line, which would fail the same way.
   */
  const dropFailed = (piece: Buffer, error: unknown): void => {
    pending.shift();
    pendingBytes -= piece.length;
    droppedTotal += countLines(piece);
    if (failureTold) return;
    failureTold = true;
    try {
      writeSync(2, `portcullis: writing the log failed (${codeOf(error) ?? 'error'}); lines are dropped and counted\n`);
    } catch {
      // Nobody to tell.
    }
  };

  const drain = (): void => {
    retry = undefined;
    while (pending.length > 0) {
      const piece = pending[0] as Buffer;
      let written: number;
      try {
        written = writeSync(fd, piece);
      } catch (error) {
        if (isGone(error)) {
          giveUp();
          return;
        }
        if (codeOf(error) !== 'EAGAIN') {
          dropFailed(piece, error);
          continue;
        }
        written = 0;
      }
      if (written === 0) {
        retry = setTimeout(drain, RETRY_MS);
        retry.unref();
        return;
      }
      pendingBytes -= written;
      // A pipe takes a piece whole; a file or a terminal may take part of it.
      if (written < piece.length) pending[0] = piece.subarray(written);
      else pending.shift();
    }
    if (droppedInEpisode > 0) {
      const lost = droppedInEpisode;
      droppedInEpisode = 0;
      // The warning this writes may find the pipe full again: then the retry releases the waiters.
      options.onRecovered?.(lost);
    }
    if (pending.length === 0) releaseSettled();
  };

  const piecesOf = (chunk: string): Buffer[] =>
    piecesOfWholeLines(Buffer.from(chunk, 'utf8'), pieceBytes).map((piece) =>
      piece.length > pieceBytes ? shortenedLine(piece, pieceBytes) : piece,
    );

  return {
    write(chunk) {
      // The reader is gone: counted without being cut or shortened first.
      if (broken) {
        droppedTotal += countLines(Buffer.from(chunk, 'utf8'));
        return;
      }
      const pieces = piecesOf(chunk);
      const bytes = pieces.reduce((sum, piece) => sum + piece.length, 0);
      // Something is pending whenever a batch is dropped, so the catching up reports it.
      if (pendingBytes > 0 && pendingBytes + bytes > options.maxPendingBytes) {
        const lines = pieces.reduce((sum, piece) => sum + countLines(piece), 0);
        droppedTotal += lines;
        droppedInEpisode += lines;
        return;
      }
      for (const piece of pieces) pending.push(piece);
      pendingBytes += bytes;
      if (retry === undefined) drain();
    },
    writeAtExit(chunk) {
      const pieces = piecesOf(chunk);
      if (broken || pending.length > 0) {
        for (const piece of pieces) droppedTotal += countLines(piece);
        return;
      }
      for (let i = 0; i < pieces.length; i++) {
        const piece = pieces[i] as Buffer;
        let written: number;
        try {
          // Once, without waiting: a full pipe answers EAGAIN at once.
          written = writeSync(fd, piece);
        } catch {
          written = 0;
        }
        if (written < piece.length) {
          // The rest of this piece (its last line at least) and every later one are lost.
          droppedTotal += countLines(piece.subarray(written));
          for (const rest of pieces.slice(i + 1)) droppedTotal += countLines(rest);
          return;
        }
      }
    },
    settle(timeoutMs, callback) {
      if (broken || pending.length === 0) {
        callback();
        return;
      }
      // Held: at shutdown this wait is what keeps the retries going.
      settled.push(callOnceWithin(timeoutMs, callback, true));
    },
    dropped: () => droppedTotal,
  };
}
