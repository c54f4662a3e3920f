/**
 * Where log batches go: the process's stdout, written without ever waiting for the reader.
 *
 * A log reader that stalls (a hung log shipper, a blocked container log driver) must not stall
 * the gateway. Writes go through `process.stdout`, which on a pipe or socket hands them to the
 * event loop and returns; what the reader has not taken yet is held in memory up to
 * `maxPendingBytes`. Beyond that, a batch is dropped and its lines counted
 * (`portcullis_log_lines_dropped_total`); when the reader catches up again (`drain`), one warning
 * line says how many lines were lost. Files and terminals are written synchronously by Node, as
 * before.
 *
 * At exit (also after an uncaught exception) a last batch is written straight to the file
 * descriptor, once and only if nothing is waiting before it: a stalled pipe loses that batch
 * rather than keeping the process alive.
 */
import { writeSync } from 'node:fs';

/** What the sink writes to: `process.stdout`, or a test's stream. */
export interface SinkStream {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
  readonly writableLength: number;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface LogSink {
  /** Writes a batch of whole lines, or drops and counts them when too much is pending. */
  write(chunk: string): void;
  /** Writes a batch at exit, best effort, without waiting (see the module comment). */
  writeAtExit(chunk: string): void;
  /** Calls back once what is pending has been handed to the reader, or after `timeoutMs`. */
  settle(timeoutMs: number, callback: () => void): void;
  /** Lines dropped since the process started. */
  dropped(): number;
}

export interface LogSinkOptions {
  /** Bytes waiting for the reader beyond which batches are dropped. Default 4 MiB. */
  readonly maxPendingBytes?: number;
  /** The file descriptor for `writeAtExit`. Default 1 (stdout); undefined: none. */
  readonly fd?: number | undefined;
  /** Called once when the reader caught up after lines were dropped, with their count. */
  readonly onRecovered?: (dropped: number) => void;
}

/** Bytes held for a slow reader: ~14 000 access lines, a few seconds of a stall at full load. */
export const DEFAULT_MAX_PENDING_BYTES = 4 * 1024 * 1024;

/**
 * `callback` once, when the returned function is called or after `timeoutMs`, whichever comes
 * first. `holdProcess`: the timer keeps the process alive meanwhile.
 */
export function callOnceWithin(timeoutMs: number, callback: () => void, holdProcess: boolean): () => void {
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    callback();
  };
  const timer = setTimeout(finish, timeoutMs);
  if (!holdProcess) timer.unref();
  return finish;
}

function countLines(chunk: string): number {
  let lines = 0;
  for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lines++;
  return lines;
}

/**
 * Whether a stream's reader closed its end (EPIPE): gone for good. One 'error' listener per
 * stream, however many loggers write to it (tests create many).
 */
const brokenStreams = new WeakMap<SinkStream, { broken: boolean; onBroken: Set<() => void> }>();

function brokenStateOf(stream: SinkStream): { broken: boolean; onBroken: Set<() => void> } {
  let state = brokenStreams.get(stream);
  if (state === undefined) {
    const created = { broken: false, onBroken: new Set<() => void>() };
    stream.on('error', () => {
      created.broken = true;
      for (const callback of created.onBroken) callback();
    });
    brokenStreams.set(stream, created);
    state = created;
  }
  return state;
}

export function createLogSink(stream: SinkStream, options: LogSinkOptions = {}): LogSink {
  const maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  const fd = 'fd' in options ? options.fd : 1;
  let droppedTotal = 0;
  // Lines dropped since the reader last caught up; reported once when it does.
  let droppedInEpisode = 0;
  const state = brokenStateOf(stream);
  // The reader has caught up when the callback of the latest write runs (writes complete in
  // order). 'drain' is not enough: it only follows a write that crossed the stream's own mark.
  let writesIssued = 0;
  let settled: (() => void)[] = [];

  // A reader that closed its end (EPIPE) is gone for good: every later line is dropped and counted.
  state.onBroken.add(() => {
    const waiting = settled;
    settled = [];
    for (const callback of waiting) callback();
  });

  const written = (sequence: number): void => {
    if (sequence !== writesIssued) return;
    if (droppedInEpisode > 0) {
      const lost = droppedInEpisode;
      droppedInEpisode = 0;
      options.onRecovered?.(lost);
    }
    if (settled.length > 0) {
      const waiting = settled;
      settled = [];
      for (const callback of waiting) callback();
    }
  };

  return {
    write(chunk) {
      const pending = stream.writableLength;
      // Something is pending whenever a batch is dropped, so a later write callback reports it.
      if (state.broken || (pending > 0 && pending + chunk.length > maxPending)) {
        const lines = countLines(chunk);
        droppedTotal += lines;
        if (!state.broken) droppedInEpisode += lines;
        return;
      }
      const sequence = ++writesIssued;
      stream.write(chunk, () => written(sequence));
    },
    writeAtExit(chunk) {
      if (state.broken || fd === undefined || stream.writableLength > 0) {
        droppedTotal += countLines(chunk);
        return;
      }
      try {
        // stdout's pipe is non-blocking once Node opened it: a full pipe answers EAGAIN at once.
        writeSync(fd, chunk);
      } catch {
        droppedTotal += countLines(chunk);
      }
    },
    settle(timeoutMs, callback) {
      if (state.broken || stream.writableLength === 0) {
        callback();
        return;
      }
      // Not held: a pending libuv write keeps the process alive by itself.
      settled.push(callOnceWithin(timeoutMs, callback, false));
    },
    dropped: () => droppedTotal,
  };
}
