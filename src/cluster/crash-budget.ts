/**
 * When a crashed worker comes back, and when the primary gives up. A worker that crashes is
 * restarted after a delay that doubles with each crash in the window (100 ms, 200 ms, … up to
 * 5 s); the fifth crash within 30 s is a crash loop: restarting again would only repeat it
 * (a port taken, a store that cannot be opened, a bug on every request), so the primary stops
 * and exits non-zero, and the supervisor above it (systemd, Kubernetes) sees the failure.
 */

export const CRASH_LOOP = { crashes: 5, windowMs: 30_000 } as const;
export const RESTART_BACKOFF = { firstMs: 100, maxMs: 5_000 } as const;

export interface CrashVerdict {
  /** Crashes within the window, this one included. */
  readonly recent: number;
  /** True when the primary must give up. */
  readonly loop: boolean;
  /** Wait before the restart (when not a loop). */
  readonly delayMs: number;
}

export interface CrashBudget {
  crashed(): CrashVerdict;
}

export function createCrashBudget(
  now: () => number = Date.now,
  limits: { readonly crashes: number; readonly windowMs: number } = CRASH_LOOP,
  backoff: { readonly firstMs: number; readonly maxMs: number } = RESTART_BACKOFF,
): CrashBudget {
  const times: number[] = [];
  return {
    crashed() {
      const at = now();
      times.push(at);
      while (times.length > 0 && (times[0] ?? at) <= at - limits.windowMs) times.shift();
      const recent = times.length;
      return {
        recent,
        loop: recent >= limits.crashes,
        delayMs: Math.min(backoff.maxMs, backoff.firstMs * 2 ** (recent - 1)),
      };
    },
  };
}
