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
import { createLogSink, type LogSink } from './log-sink.js';

export type { Logger };

export interface LoggerOptions {
  /** Where lines go. Default: stdout, in batches (line-batcher.ts). */
  readonly destination?: DestinationStream;
  /** `log.bufferBytes`: bytes held for a slow reader of stdout before lines are dropped. */
  readonly bufferBytes?: number;
}

/** The stdout sink of each logger that writes to stdout, for the dropped-lines counter. */
const sinks = new WeakMap<Logger, LogSink>();

/** Log lines this logger dropped because its reader did not keep up (0 for other destinations). */
export function logLinesDropped(logger: Logger): number {
  return sinks.get(logger)?.dropped() ?? 0;
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
    sink = createLogSink(process.stdout, {
      ...(options.bufferBytes !== undefined ? { maxPendingBytes: options.bufferBytes } : {}),
      onRecovered: (dropped) => {
        logger?.warn(
          { event: 'log.lines_dropped', dropped },
          'the log reader fell behind: lines were dropped (portcullis_log_lines_dropped_total)',
        );
      },
    });
  }
  const destination = options.destination ?? (sink === undefined ? pino.destination({ dest: 1, sync: true }) : createLineBatcher(sink));
  logger = pino(
    {
      level,
      base: { service: 'portcullis' },
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
  if (sink !== undefined) sinks.set(logger, sink);
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
