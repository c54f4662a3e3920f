/**
 * The process logger: pino, JSON lines on stdout. Events (startup, reload, shutdown, store and
 * upstream problems) and access-log lines go through it; nothing logged ever carries a secret.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'portcullis' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Defence in depth: should a header object ever be logged, credentials are masked.
    redact: { paths: ['*.authorization', '*.headers.authorization', '*.cookie', '*.headers.cookie'], censor: '[redacted]' },
  });
}
