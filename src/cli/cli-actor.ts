/**
 * Who runs a `portcullis` command that changes the store, for the audit trail (docs/audit.md):
 * `cli:<operating-system user>`. The user comes from the password database (os.userInfo), else
 * from $USER or $LOGNAME (a container may run as a uid with no entry), else `uid-<n>`.
 */
import { userInfo } from 'node:os';
import { type AuditActor, cliActor } from '../credentials/audit.js';

/** A user name as an actor may show it: printable, no spaces, at most 64 characters. */
function usable(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const cleaned = name.replace(/[^\x21-\x7e]/g, '').slice(0, 64);
  return cleaned === '' ? undefined : cleaned;
}

export function currentCliActor(): AuditActor {
  let user: string | undefined;
  try {
    user = usable(userInfo().username);
  } catch {
    // No entry in the password database for this uid: fall back to the environment.
  }
  user ??= usable(process.env.USER) ?? usable(process.env.LOGNAME);
  user ??= typeof process.getuid === 'function' ? `uid-${process.getuid()}` : 'unknown';
  return cliActor(user);
}
