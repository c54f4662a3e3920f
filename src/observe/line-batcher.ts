/**
 * Gathers log lines in memory and hands them to the output stream in batches: one stream write
 * per ~32 KiB of lines (or per `intervalMs` when traffic is low) instead of one per request.
 *
 * Why not sonic-boom's own `minLength`: it measures the whole pending buffer with
 * `Buffer.byteLength` on every line, which flattens and re-scans a growing string per request
 * (the largest cost of the access log in the bench profile). Here a line costs an array push;
 * the stream underneath (sonic-boom) still does the writing: partial writes, EAGAIN, EPIPE.
 */

/** What the lines are handed to: pino's sonic-boom destination, or a test's collector. */
export interface LineStream {
  write(chunk: string): unknown;
  flush?(callback?: (error?: Error) => void): void;
  flushSync?(): void;
}

export interface LineBatcher {
  /** Queues one line (newline included). */
  write(line: string): boolean;
  /** Hands the queued lines to the stream and asks it to flush (pino's `logger.flush()`). */
  flush(callback?: (error?: Error) => void): void;
  /** Hands the queued lines over and flushes synchronously (process exit). */
  flushSync(): void;
}

export interface LineBatcherOptions {
  /** Queued characters at which the lines are handed over at once. */
  readonly maxChars?: number;
  /** Longest a line waits in the queue, in milliseconds. */
  readonly intervalMs?: number;
}

export function createLineBatcher(stream: LineStream, options: LineBatcherOptions = {}): LineBatcher {
  const maxChars = options.maxChars ?? 32 * 1024;
  const intervalMs = options.intervalMs ?? 1000;
  let queued: string[] = [];
  let queuedChars = 0;

  const handOver = (): void => {
    if (queued.length === 0) return;
    const chunk = queued.length === 1 ? (queued[0] as string) : queued.join('');
    queued = [];
    queuedChars = 0;
    stream.write(chunk);
  };

  const timer = setInterval(handOver, intervalMs);
  timer.unref();

  const flushSync = (): void => {
    handOver();
    try {
      stream.flushSync?.();
    } catch {
      // The stream is not open yet or already closed: nothing more can be done at exit.
    }
  };
  process.once('exit', flushSync);

  return {
    write(line) {
      queued.push(line);
      queuedChars += line.length;
      if (queuedChars >= maxChars) handOver();
      return true;
    },
    flush(callback) {
      handOver();
      if (stream.flush) stream.flush(callback);
      else callback?.();
    },
    flushSync,
  };
}
