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

export type { Logger };

export interface LoggerOptions {
  /** Where lines go. Default: stdout, written asynchronously. */
  readonly destination?: DestinationStream;
}

/** `level`: `log.level` of the configuration (trace, debug, info, warn, error, fatal, silent). */
export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  // Lines are gathered up to 4 KiB and flushed at least every second: one write per ~20 access
  // lines instead of one per request (the write was the largest single cost per request in the
  // bench profile), at the price of a log line appearing up to 1 s late.
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 1000 });
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
