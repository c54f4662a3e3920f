/**
 * Last-use times, collected in memory on the request path and written in batches by a timer
 * (docs/credentials.md): the request path never waits on a write. A request only does a Map.set.
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

  /** Keeps times that were not written for the next attempt; newer touches win. */
  function keepUnwritten(unwritten: Iterable<readonly [string, number]>): void {
    for (const [id, at] of unwritten) if (!((batch.get(id) ?? -Infinity) >= at)) batch.set(id, at);
  }

  async function writeBatch(): Promise<void> {
    if (batch.size === 0) return;
    // Chunks are taken from the Map's own iterator: under a large working set the batch holds
    // tens of thousands of ids, and copying them into an array of pairs first made garbage that
    // lived through the whole flush, long enough to be promoted
    // (docs/decisions/0007-cached-credential-memory.md).
    const sending = batch.entries();
    batch = new Map();
    for (let next = sending.next(); !next.done;) {
      const chunk = new Map<string, number>();
      for (; !next.done && chunk.size < WRITE_CHUNK; next = sending.next()) chunk.set(next.value[0], next.value[1]);
      try {
        await store.recordLastUsed(chunk);
      } catch (error) {
        keepUnwritten(chunk);
        if (!next.done) {
          keepUnwritten([next.value]);
          keepUnwritten(sending);
        }
        options.onError?.(error);
        return;
      }
      // Small transactions with a turn of the event loop between them: with a synchronous store
      // (better-sqlite3), one transaction for the whole batch would stall every request meanwhile
      // (docs/decisions/0002-performance.md).
      if (!next.done) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  function flush(): Promise<void> {
    flushing ??= writeBatch().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  return {
    touch(credentialId, at) {
      batch.set(credentialId, at);
    },
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        void flush();
      }, intervalMs);
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
