/**
 * Where log batches go when several processes write to one stdout (the primary and its workers).
 * It keeps log-sink.ts's promise — a reader that stalls never stalls the process: what the reader
 * has not taken is held up to a bound, beyond which whole batches are dropped and counted — and
 * adds one: a line is never cut by another process's write.
 *
 * Every write(2) is whole lines of at most PIPE_BUF bytes on stdout's non-blocking pipe, which
 * POSIX makes all or nothing: it either goes in whole or fails with EAGAIN, and is then retried
 * whole. `process.stdout` cannot promise that: while the reader lags it gathers the waiting
 * writes into one writev, which the pipe may take in part, and the next process's write then
 * lands mid-line. A batch is turned into bytes once and cut at its last newline within each
 * PIPE_BUF, so no line is measured on its own (docs/decisions/0016, "The workers' log path").
 * A single line longer than PIPE_BUF is written alone and is the only one that can be cut.
 *
 * Files and terminals are written synchronously, as Node writes them.
 */
import { writeSync } from 'node:fs';
import type { LogSink } from './log-sink.js';

/** Bytes up to which a pipe write is atomic on Linux (and the least POSIX allows: 512). */
export const PIPE_BUF = 4096;

/** How soon a full pipe is tried again. */
const RETRY_MS = 10;

export interface SharedStdoutSinkOptions {
  /** Bytes waiting for the reader beyond which batches are dropped (`log.bufferBytes`). */
  readonly maxPendingBytes: number;
  /** Called once when the reader caught up after lines were dropped, with their count. */
  readonly onRecovered?: (dropped: number) => void;
  /** The file descriptor written (default 1, stdout). */
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

const isFullPipe = (error: unknown): boolean =>
  error instanceof Error && ((error as NodeJS.ErrnoException).code === 'EAGAIN' || (error as NodeJS.ErrnoException).code === 'EWOULDBLOCK');

export function createSharedStdoutSink(options: SharedStdoutSinkOptions): LogSink {
  const fd = options.fd ?? 1;
  const pieceBytes = options.pieceBytes ?? PIPE_BUF;
  if (fd === 1) {
    // Node opens stdout on first use, and opening a pipe makes it non-blocking (libuv), for every
    // process that shares it. Without that a full pipe would block writeSync below.
    Reflect.get(process, 'stdout');
  }
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let broken = false;
  let droppedTotal = 0;
  // Lines dropped since the reader last caught up; reported once when it does.
  let droppedInEpisode = 0;
  let retry: NodeJS.Timeout | undefined;
  let settled: (() => void)[] = [];

  const releaseSettled = (): void => {
    if (settled.length === 0) return;
    const waiting = settled;
    settled = [];
    for (const callback of waiting) callback();
  };

  /** The reader is gone (EPIPE, or the descriptor failed): everything now and later is dropped. */
  const giveUp = (): void => {
    broken = true;
    for (const piece of pending) droppedTotal += countLines(piece);
    pending.length = 0;
    pendingBytes = 0;
    releaseSettled();
  };

  const drain = (): void => {
    retry = undefined;
    while (pending.length > 0) {
      const piece = pending[0] as Buffer;
      let written: number;
      try {
        written = writeSync(fd, piece);
      } catch (error) {
        if (!isFullPipe(error)) {
          giveUp();
          return;
        }
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
      options.onRecovered?.(lost);
    }
    releaseSettled();
  };

  return {
    write(chunk) {
      const bytes = Buffer.from(chunk, 'utf8');
      // Something is pending whenever a batch is dropped, so the catching up reports it.
      if (broken || (pendingBytes > 0 && pendingBytes + bytes.length > options.maxPendingBytes)) {
        const lines = countLines(bytes);
        droppedTotal += lines;
        if (!broken) droppedInEpisode += lines;
        return;
      }
      for (const piece of piecesOfWholeLines(bytes, pieceBytes)) pending.push(piece);
      pendingBytes += bytes.length;
      if (retry === undefined) drain();
    },
    writeAtExit(chunk) {
      const bytes = Buffer.from(chunk, 'utf8');
      if (broken || pending.length > 0) {
        droppedTotal += countLines(bytes);
        return;
      }
      const pieces = piecesOfWholeLines(bytes, pieceBytes);
      for (let i = 0; i < pieces.length; i++) {
        try {
          // Once, without waiting: a full pipe answers EAGAIN at once.
          writeSync(fd, pieces[i] as Buffer);
        } catch {
          for (const rest of pieces.slice(i)) droppedTotal += countLines(rest);
          return;
        }
      }
    },
    settle(timeoutMs, callback) {
      if (broken || pending.length === 0) {
        callback();
        return;
      }
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        callback();
      };
      // Held (not unref'd): at shutdown this wait is what keeps the retries going.
      const timer = setTimeout(finish, timeoutMs);
      settled.push(finish);
    },
    dropped: () => droppedTotal,
  };
}
