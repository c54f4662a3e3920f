/**
 * The first half of a SIGHUP reload, the same for the single process (main.ts) and the workers'
 * primary (cluster/primary.ts): read the file off the main thread, drop the result quietly when
 * the process began stopping or a newer SIGHUP superseded this one, and refuse a file that could
 * not be read or did not pass the checks. What to do with an accepted file differs between them.
 */
import { loggedIssues, type ConfigIssue } from './issues.js';

export type ReloadRefusal = { readonly problems: string[] } | { readonly problem: string };

export interface ReloadRead {
  readonly logger: { info(fields: object, message: string): void };
  readonly stopping: () => boolean;
  /** From the coalescing runner: another SIGHUP arrived while this one was reading. */
  readonly superseded: () => boolean;
  /** Logs and counts the refusal; the previous configuration keeps serving. */
  readonly refuse: (why: ReloadRefusal) => void;
}

type Read<Accepted> = Accepted | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** The accepted result, or undefined when there is nothing (more) to apply. */
export async function readForReload<Accepted extends { readonly ok: true }>(
  read: () => Promise<Read<Accepted>>,
  step: ReloadRead,
): Promise<Accepted | undefined> {
  step.logger.info({ event: 'config.reload_started' }, 'reading the configuration file');
  let next: Read<Accepted>;
  try {
    next = await read();
  } catch (error) {
    if (!step.stopping()) step.refuse({ problem: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
  if (step.stopping()) return undefined;
  if (step.superseded()) {
    // The file may have changed again since it was read: what it held then never goes live.
    step.logger.info({ event: 'config.reload_superseded' }, 'another SIGHUP arrived during the reload; reading the file again');
    return undefined;
  }
  if (!next.ok) {
    step.refuse({ problems: loggedIssues(next.issues) });
    return undefined;
  }
  return next;
}
