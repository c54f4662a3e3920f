/**
 * Last-use times, collected in memory on the request path and written in batches by a timer
 * (SPEC §4: "last used (recorded off the request path)"). A request only does a Map.set.
 */
import type { CredentialStore } from './store.js';

/** Rows written per store transaction. */
const WRITE_CHUNK = 500;

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
    const sending = [...batch];
    batch = new Map();
    // Small transactions with a turn of the event loop between them: with a synchronous store
    // (better-sqlite3), one transaction of 20,000 rows would stall every request for ~100 ms.
    for (let start = 0; start < sending.length; start += WRITE_CHUNK) {
      const chunk = new Map(sending.slice(start, start + WRITE_CHUNK));
      try {
        await store.recordLastUsed(chunk);
      } catch (error) {
        // Keep the unwritten times for the next attempt; newer touches win.
        for (const [id, at] of sending.slice(start)) if (!((batch.get(id) ?? -Infinity) >= at)) batch.set(id, at);
        options.onError?.(error);
        return;
      }
      if (start + WRITE_CHUNK < sending.length) await new Promise((resolve) => setImmediate(resolve));
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
