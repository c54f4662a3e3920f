/**
 * The process logger: pino, JSON lines on stdout. Events (startup, reload, shutdown, store and
 * upstream problems) and access-log lines go through it; nothing logged ever carries a secret.
 * docs/logging.md lists the events and the access-log fields.
 *
 * Stdout is written in batches of ~32 KiB (line-batcher.ts): pending lines are written at least
 * every second, by `logger.flush()` on shutdown, and when the process exits (also after an
 * uncaught exception). A reader that stops reading never stops the gateway: past a bounded
 * backlog lines are dropped and counted, with one `log.lines_dropped` warning when it reads
 * again (log-sink.ts).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createLineBatcher } from './line-batcher.js';
import { createLogSink, DEFAULT_MAX_PENDING_BYTES, type LogSink } from './log-sink.js';
import { createSharedStdoutSink } from './shared-stdout-sink.js';

export type { Logger };

export interface LoggerOptions {
  /** Where lines go. Default: stdout, in batches (line-batcher.ts). */
  readonly destination?: DestinationStream;
  /** `log.bufferBytes`: bytes held for a slow reader of stdout before lines are dropped. */
  readonly bufferBytes?: number;
  /**
   * Stdout is shared with other processes (the primary and its workers): every write is whole
   * lines of at most 4 KiB, so no line is cut by another process's (shared-stdout-sink.ts).
   */
  readonly sharedStdout?: boolean;
  /** Fields on every line after `service` (a worker's `worker` and `pid`), the logger's own warnings included. */
  readonly bindings?: Readonly<Record<string, string | number>>;
}

/**
 * The stdout sink behind each destination stream, for the dropped-lines counter. Keyed by the
 * stream, which a logger's children share (a worker counts through its `child({ worker })`).
 */
const sinks = new WeakMap<object, LogSink>();

/** Log lines this logger (or its parent) dropped because its reader did not keep up (0 for other destinations). */
export function logLinesDropped(logger: Logger): number {
  const stream: unknown = Reflect.get(logger, pino.symbols.streamSym);
  return typeof stream === 'object' && stream !== null ? (sinks.get(stream)?.dropped() ?? 0) : 0;
}

/** `level`: `log.level` of the configuration (trace, debug, info, warn, error, fatal, silent). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  // Lines are gathered up to 32 KiB and written at least every second: one write per ~100
  // access lines instead of one per request (line-batcher.ts), never waiting for the reader
  // (log-sink.ts). A silent logger writes nothing and gets no batcher.
  let sink: LogSink | undefined;
  // eslint-disable-next-line prefer-const -- declared before the closures that read it, which may run before it is set
  let logger: Logger | undefined;
  if (options.destination === undefined && level !== 'silent') {
    const onRecovered = (dropped: number): void => {
      logger?.warn(
        { event: 'log.lines_dropped', dropped },
        'the log reader fell behind: lines were dropped (portcullis_log_lines_dropped_total)',
      );
    };
    sink = options.sharedStdout
      ? createSharedStdoutSink({ maxPendingBytes: options.bufferBytes ?? DEFAULT_MAX_PENDING_BYTES, onRecovered })
      : createLogSink(process.stdout, {
          ...(options.bufferBytes !== undefined ? { maxPendingBytes: options.bufferBytes } : {}),
          onRecovered,
        });
  }
  const destination = options.destination ?? (sink === undefined ? pino.destination({ dest: 1, sync: true }) : createLineBatcher(sink));
  logger = pino(
    {
      level,
      base: { service: 'portcullis', ...options.bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: should a header object ever be logged, credentials are masked.
      redact: {
        paths: [
          'authorization',
          'cookie',
          '["proxy-authorization"]',
          '["set-cookie"]',
          '*.authorization',
          '*.cookie',
          '*["proxy-authorization"]',
          '*["set-cookie"]',
          '*.headers.authorization',
          '*.headers.cookie',
          '*.headers["proxy-authorization"]',
          '*.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
  if (sink !== undefined) sinks.set(destination, sink);
  return logger;
}

/** Where hand-built lines go: queued for the next batch when the logger batches, else written. */
export type LineSink = (line: string) => void;

/**
 * The sink for lines built without pino's serialiser (the access log), on the logger's own
 * stream so they keep their order among its other lines.
 */
export function lineSinkOf(logger: Logger): LineSink {
  const stream: unknown = Reflect.get(logger, pino.symbols.streamSym);
  if (typeof stream !== 'object' || stream === null) throw new TypeError('the logger has no stream');
  const queue: unknown = Reflect.get(stream, 'queue');
  const write: unknown = Reflect.get(stream, 'write');
  if (typeof queue === 'function') return (line) => void queue.call(stream, line);
  if (typeof write === 'function') return (line) => void write.call(stream, line);
  throw new TypeError('the logger has no writable stream');
}

/** The logger's base and child fields as pino writes them into each line (`,"service":"portcullis"…`). */
export function loggerBindings(logger: Logger): string {
  const bindings: unknown = Reflect.get(logger, pino.symbols.chindingsSym);
  if (typeof bindings !== 'string') throw new TypeError('the logger exposes no serialised bindings (pino internals changed?)');
  return bindings;
}
