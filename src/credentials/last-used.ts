/**
 * Last-use times, collected in memory on the request path and written in batches by a timer
 * (SPEC §4: "last used (recorded off the request path)"). A request only does a Map.set.
 */
import type { CredentialStore } from './store.js';

/** Default flush period, in ms. */
export const DEFAULT_LAST_USED_FLUSH_MS = 5000;

/** The collector. */
export interface LastUsedRecorder {
  /** Notes that `credentialId` was used at `at` (epoch ms). Synchronous, no I/O. */
  touch(credentialId: string, at: number): void;
  /** Starts the periodic flush (unref'd timer). */
  start(): void;
  /** Writes what was collected; on failure keeps it for the next flush. Never rejects. */
  flush(): Promise<void>;
  /** Stops the timer and flushes one last time. */
  close(): Promise<void>;
  pending(): number;
}

export function createLastUsedRecorder(
  store: CredentialStore,
  options: { readonly intervalMs?: number; readonly onError?: (error: unknown) => void } = {},
): LastUsedRecorder {
  const intervalMs = options.intervalMs ?? DEFAULT_LAST_USED_FLUSH_MS;
  let batch = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;

  async function writeBatch(): Promise<void> {
    if (batch.size === 0) return;
    const sending = batch;
    batch = new Map();
    try {
      await store.recordLastUsed(sending);
    } catch (error) {
      // Keep the times for the next attempt; newer touches win.
      for (const [id, at] of sending) if (!((batch.get(id) ?? -Infinity) >= at)) batch.set(id, at);
      options.onError?.(error);
    }
  }

  function flush(): Promise<void> {
    flushing ??= writeBatch().finally(() => { flushing = undefined; });
    return flushing;
  }

  return {
    touch(credentialId, at) {
      batch.set(credentialId, at);
    },
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => { void flush(); }, intervalMs);
      timer.unref();
    },
    flush,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await flushing;
      await flush();
    },
    pending: () => batch.size,
  };
}
