/**
 * V8 settings for a process that serves requests, applied when the gateway starts.
 *
 * Allocation-site pretenuring is turned off. V8 makes an object or array literal allocate
 * straight into the old generation once most of its objects have survived scavenges while the
 * young generation was at its largest. In a gateway that happens to the per-request literals
 * whenever requests live long for a while (1 MiB uploads, a slow upstream), and the decision
 * sticks: afterwards every request's objects start old, keep what they point to alive through
 * every scavenge, and at 2,000 req/s ~1.5 MB is promoted every 300 ms; scavenges take 4–6 ms
 * instead of ~1 and the p99 rises by 20–30 ms (docs/decisions/0008). A process started with
 * either form of the flag keeps what it was given.
 */
import { setFlagsFromString } from 'node:v8';

const PRETENURING_FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/** Applies the settings unless the command line chose otherwise; returns whether it did. */
export function tuneV8ForRequests(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => PRETENURING_FLAG.test(arg))) return false;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return true;
}
