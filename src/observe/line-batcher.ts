/**
 * Gathers access-log lines in memory and hands them to the output stream in batches: one write
 * per ~32 KiB of lines, or per `intervalMs` when traffic is low, instead of one per request.
 * (With workers the sink cuts each batch into atomic writes: shared-stdout-sink.ts.)
 * Other lines (pino's events: start, reload, errors) are written at once, after the queued
 * ones, so the output keeps the order in which lines were produced.
 *
 * The stream underneath (log-sink.ts, shared-stdout-sink.ts) never waits for a slow reader: it holds a bounded amount
 * for it and drops (and counts) what does not fit. `flush()` at shutdown waits a bounded time for
 * the reader to take what is pending; the `exit` hook (which also runs after an uncaught
 * exception) writes the last batch without waiting.
 *
 * Why not sonic-boom's own `minLength`: it measures the whole pending buffer with
 * `Buffer.byteLength` on every line, flattening and re-scanning a growing string per request
 * (the largest cost of the access log when profiled; docs/decisions/0003-request-path-costs.md).
 * Here a line costs an array push.
 */

/** What the lines are handed to: pino's sonic-boom destination, or a test's collector. */
export interface LineStream {
  write(chunk: string): unknown;
  /** Writes at process exit without waiting; default: `write`. */
  writeAtExit?(chunk: string): void;
  /** Calls back once what is pending was taken by the reader, or after `timeoutMs`. */
  settle?(timeoutMs: number, callback: () => void): void;
}

/** Longest `flush()` waits for a slow log reader at shutdown, in milliseconds. */
export const FLUSH_WAIT_MS = 2_000;

export interface LineBatcher {
  /** Queues one line (newline included) for the next batch. */
  queue(line: string): void;
  /** Writes the queued lines and this one now (pino's destination interface). */
  write(line: string): boolean;
  /** Writes the queued lines now (pino's `logger.flush()`), then calls back. */
  flush(callback?: (error?: Error) => void): void;
  /** Writes the queued lines now. */
  flushSync(): void;
  /** Writes the queued lines at process exit, without waiting for the reader. */
  flushAtExit(): void;
}

export interface LineBatcherOptions {
  /** Queued characters at which the lines are written at once. */
  readonly maxChars?: number;
  /** Longest a line waits in the queue, in milliseconds. */
  readonly intervalMs?: number;
}

/** Every batcher of the process (one per logger writing to stdout), written out by one `exit` hook. */
const open = new Set<LineBatcher>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const batcher of open) batcher.flushAtExit();
  });
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
  const handOverQuietly = (): void => {
    try {
      handOver();
    } catch {
      // The stream is closed: at exit or from a timer there is nobody left to tell.
    }
  };

  const timer = setInterval(handOverQuietly, intervalMs);
  timer.unref();

  const batcher: LineBatcher = {
    queue(line) {
      queued.push(line);
      queuedChars += line.length;
      if (queuedChars >= maxChars) handOver();
    },
    write(line) {
      queued.push(line);
      handOver();
      return true;
    },
    flush(callback) {
      try {
        handOver();
      } catch (error) {
        callback?.(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (stream.settle === undefined) callback?.();
      else stream.settle(FLUSH_WAIT_MS, () => callback?.());
    },
    flushSync: handOverQuietly,
    flushAtExit() {
      if (queued.length === 0) return;
      const chunk = queued.join('');
      queued = [];
      queuedChars = 0;
      try {
        if (stream.writeAtExit === undefined) stream.write(chunk);
        else stream.writeAtExit(chunk);
      } catch {
        // Nobody is left to tell.
      }
    },
  };
  open.add(batcher);
  installExitHook();
  return batcher;
}
