/**
 * The process logger: pino, JSON lines on stdout. Events (startup, reload, shutdown, store and
 * upstream problems) and access-log lines go through it; nothing logged ever carries a secret.
 * docs/logging.md lists the events and the access-log fields.
 *
 * Stdout is written asynchronously and in batches (a request never waits for the terminal or
 * the pipe); pending lines are flushed every second, when the process exits, and by
 * `logger.flush()` on shutdown.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { createLineBatcher } from './line-batcher.js';

export type { Logger };

export interface LoggerOptions {
  /** Where lines go. Default: stdout, written asynchronously. */
  readonly destination?: DestinationStream;
}

/** `level`: `log.level` of the configuration (trace, debug, info, warn, error, fatal, silent). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  // Lines are gathered up to 32 KiB and handed over at least every second: one write per ~100
  // access lines instead of one per request (the write was the largest single cost per request
  // in the bench profile), at the price of a log line appearing up to 1 s late.
  const destination = options.destination ?? createLineBatcher(pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      level,
      base: { service: 'portcullis' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: should a header object ever be logged, credentials are masked.
      redact: {
        paths: [
          'authorization', 'cookie', '["proxy-authorization"]', '["set-cookie"]',
          '*.authorization', '*.cookie', '*["proxy-authorization"]', '*["set-cookie"]',
          '*.headers.authorization', '*.headers.cookie', '*.headers["proxy-authorization"]', '*.headers["set-cookie"]',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * The stream a logger writes to, for lines built without pino's serialiser (the access log).
 * Lines written there keep their order with the logger's own.
 */
export function lineStreamOf(logger: Logger): { write(line: string): unknown } {
  const stream: unknown = Reflect.get(logger, pino.symbols.streamSym);
  if (typeof stream !== 'object' || stream === null || typeof Reflect.get(stream, 'write') !== 'function') {
    throw new TypeError('the logger has no writable stream');
  }
  return stream as { write(line: string): unknown };
}

/** The logger's base and child fields as pino writes them into each line (`,"service":"portcullis"…`). */
export function loggerBindings(logger: Logger): string {
  const bindings: unknown = Reflect.get(logger, pino.symbols.chindingsSym);
  return typeof bindings === 'string' ? bindings : '';
}
