/**
 * V8 settings for a process that serves requests, applied when the gateway starts.
 *
 * Allocation-site pretenuring is turned off. V8 makes an object or array literal allocate
 * straight into the old generation once most of its objects have survived scavenges while the
 * young generation was at its largest. In a gateway that happens to the per-request literals
 * whenever requests live long for a while (1 MiB uploads, a slow upstream), and the decision
 * sticks: afterwards every request's objects start old and keep what they point to alive through
 * every scavenge, so each scavenge promotes a lot and takes several times longer, and the tail
 * latency rises with it (figures in docs/decisions/0008-no-allocation-site-pretenuring.md). A
 * process started with either form of the flag keeps what it was given.
 */
import { setFlagsFromString } from 'node:v8';

const PRETENURING_FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring$/;

/** Applies the settings unless the command line chose otherwise; returns whether it did. */
export function tuneV8ForRequests(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((arg) => PRETENURING_FLAG.test(arg))) return false;
  setFlagsFromString('--no-allocation-site-pretenuring');
  return true;
}
