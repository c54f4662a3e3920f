/**
 * The log line of an unexpected failure (`request.internal_error`): the client gets
 * `internal.error` and its request id, the log keeps the original error against that id.
 *
 * The message and stack are the error's own, so they are masked as defence in depth: anything
 * shaped like a Portcullis secret or a JWT, and the user-info of URLs (a database URL's
 * password), is replaced by `[redacted]`.
 */
import { MASK, maskSecretShapes } from './access-log.js';
import type { Logger } from './logger.js';

/** Reports the unexpected failure behind an `internal.error` answer to request `requestId`. */
export type ReportInternalError = (requestId: string, error: unknown) => void;

/** What the log line says of an error. */
export interface LoggedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Longest message or stack logged, in characters. */
const MAX_LOGGED_TEXT = 8_192;

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi;

function masked(text: string): string {
  const cut = text.length > MAX_LOGGED_TEXT ? `${text.slice(0, MAX_LOGGED_TEXT)}…` : text;
  return maskSecretShapes(cut).replace(URL_USERINFO, `$1${MASK}@`);
}

export function loggedError(error: unknown): LoggedError {
  if (!(error instanceof Error)) return { name: typeof error, message: masked(String(error)) };
  return {
    name: error.name,
    message: masked(error.message),
    ...(error.stack !== undefined ? { stack: masked(error.stack) } : {}),
  };
}

export function createInternalErrorLog(logger: Logger): ReportInternalError {
  return (requestId, error) => {
    try {
      logger.error(
        { event: 'request.internal_error', requestId, error: loggedError(error) },
        'an unexpected failure was answered internal.error',
      );
    } catch {
      // Logging must never turn one failure into two.
    }
  };
}
