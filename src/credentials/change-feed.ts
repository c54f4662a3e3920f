/**
 * Follows the store's change feed so that a change made by ANY process sharing the store
 * (CLI, admin API, another gateway) reaches this process's caches. One follower per process
 * (src/services.ts): the credential verifier and the OAuth layer are its consumers.
 *
 *   push   when the store has a {@link ChangeNotifier} (PostgreSQL LISTEN/NOTIFY), a wake-up
 *          polls at once: a change reaches every instance in one round trip;
 *   poll   every `intervalMs` (250 ms) in any case: the fallback when the push channel is down
 *          or absent (SQLite), and the feed's confirmation (below);
 *   local  changes made through this process's store (store.subscribe) apply synchronously;
 *          the poll skips them when it sees them again.
 *
 * Freshness (partition safety, docs/decisions/0010-feed-staleness.md): the follower records when it
 * last CONFIRMED the feed — a poll that read to the end of the feed and then saw the store answer a
 * ping, so every change committed before that poll began has been applied. When that moment is older
 * than `maxStalenessMs` (the store is unreachable, queries fail or hang, the poll loop died),
 * `fresh()` turns false: consumers stop trusting what they cached and refuse with
 * auth.store_unavailable, and /readyz names the reason. Freshness returns only with a poll
 * that has applied every change since the last position, so nothing cached is trusted before
 * the changes made meanwhile have evicted it.
 */
import type { ChangeRow, CredentialStore } from './store.js';
import { CredentialStoreError } from './store-error.js';

/** Default poll period, in ms. */
export const DEFAULT_POLL_INTERVAL_MS = 250;
/** Longest poll period accepted, in ms: above it the 1-second promise could not hold. */
export const MAX_POLL_INTERVAL_MS = 500;
/** Default `cache.maxStaleness`, in ms. */
export const DEFAULT_MAX_STALENESS_MS = 1_000;
/** Shortest `cache.maxStaleness` accepted, in ms: two default poll periods. */
export const MIN_MAX_STALENESS_MS = 500;
/** Longest `cache.maxStaleness` accepted, in ms (one day, the longest cache TTL). */
export const MAX_MAX_STALENESS_MS = 24 * 3600 * 1000;
const PAGE = 500;

/** What a follower feeds. */
export interface ChangeFeedConsumer {
  /** Applies changes, oldest first (from this process's store at once, or from a poll). */
  apply(changes: readonly ChangeRow[]): void;
  /** The feed's position is known: caching may begin. Called at once if it is known already. */
  onFollowing?(): void;
}

/** Why the feed is not fresh, for /readyz and the logs. */
export interface FeedHealth {
  /** True while the feed was confirmed within `maxStalenessMs`. */
  readonly fresh: boolean;
  /** Milliseconds since the last confirmation (since the follower was created if never). */
  readonly ageMs: number;
  /** One sentence naming the reason when not fresh (no secret in it); null when fresh. */
  readonly reason: string | null;
}

/** The follower. */
export interface ChangeFeedFollower {
  /** Registers a consumer; returns the function that removes it. */
  follow(consumer: ChangeFeedConsumer): () => void;
  /**
   * Reads the feed's position, then polls (and listens, when the store can push). Resolves
   * after the first poll; never rejects (a store that is down is retried by the next poll).
   * Idempotent: later calls return the first call's promise.
   */
  start(): Promise<void>;
  /** Polls now (also used by tests); never rejects, reports failures to `onError`. */
  poll(): Promise<void>;
  /** The last applied `seq`, or undefined while the starting position is unknown. */
  cursor(): number | undefined;
  /** Hot path: whether the feed was confirmed within `maxStalenessMs`. */
  fresh(): boolean;
  health(): FeedHealth;
  close(): void;
}

export interface ChangeFeedOptions {
  readonly store: CredentialStore;
  /** Poll period in ms, 10-500. Default 250. */
  readonly intervalMs?: number;
  /** `cache.maxStaleness` in ms (500 ms - 1 day). Default 1000. */
  readonly maxStalenessMs?: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  readonly clock?: () => number;
  /** A poll failed (the follower keeps polling). */
  readonly onError?: (error: unknown) => void;
  /** The feed turned stale (false) or fresh again (true); seen at the next poll or check. */
  readonly onFreshness?: (fresh: boolean, health: FeedHealth) => void;
  /** The store's push channel dropped (false) or is back (true). */
  readonly onPushState?: (connected: boolean) => void;
}

/** The failure named in /readyz: a store error's own message (they carry no secret), else a class. */
function describeFailure(error: unknown): string {
  if (error instanceof CredentialStoreError) return error.message;
  return 'an unexpected error';
}

export function createChangeFeedFollower(options: ChangeFeedOptions): ChangeFeedFollower {
  const intervalMs = options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!Number.isFinite(intervalMs) || intervalMs < 10 || intervalMs > MAX_POLL_INTERVAL_MS) {
    throw new TypeError(`change-feed poll interval must be between 10 and ${MAX_POLL_INTERVAL_MS} ms (got ${intervalMs})`);
  }
  const maxStalenessMs = options.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS;
  if (!Number.isFinite(maxStalenessMs) || maxStalenessMs < MIN_MAX_STALENESS_MS || maxStalenessMs > MAX_MAX_STALENESS_MS) {
    throw new TypeError(
      `cache.maxStaleness must be between ${MIN_MAX_STALENESS_MS} ms and ${MAX_MAX_STALENESS_MS} ms (got ${maxStalenessMs})`,
    );
  }
  const { store } = options;
  const clock = options.clock ?? (() => performance.now());
  const createdAt = clock();
  const consumers = new Set<ChangeFeedConsumer>();
  let cursor: number | undefined;
  /** Clock reading at the start of the last poll that confirmed the feed; -Infinity: never. */
  let confirmedAt = -Infinity;
  /** Clock reading at the start of the poll in progress, or undefined. */
  let pollingSince: number | undefined;
  let lastFailure: string | undefined;
  let reportedFresh = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let started: Promise<void> | undefined;
  let stopListening: (() => void) | undefined;
  /** Seqs already applied through the local subscription, skipped when a poll sees them. */
  const appliedLocally = new Set<number>();

  function dispatch(changes: readonly ChangeRow[]): void {
    for (const consumer of consumers) consumer.apply(changes);
  }

  function applyLocal(changes: readonly ChangeRow[]): void {
    for (const change of changes) appliedLocally.add(change.seq);
    dispatch(changes);
  }

  function applyPolled(rows: readonly ChangeRow[]): void {
    const fresh = appliedLocally.size === 0 ? rows : rows.filter((row) => !appliedLocally.delete(row.seq));
    const last = rows[rows.length - 1];
    if (last !== undefined) for (const seq of appliedLocally) if (seq <= last.seq) appliedLocally.delete(seq);
    if (fresh.length > 0) dispatch(fresh);
  }

  function health(): FeedHealth {
    const at = clock();
    const ageMs = at - (confirmedAt === -Infinity ? createdAt : confirmedAt);
    if (at - confirmedAt <= maxStalenessMs) return { fresh: true, ageMs, reason: null };
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    const since = confirmedAt === -Infinity ? 'has never been confirmed' : `was last confirmed ${seconds(ageMs)} ago`;
    let why: string;
    if (closed) why = 'the follower is stopped';
    else if (pollingSince !== undefined && at - pollingSince > maxStalenessMs)
      why = `a feed check has been waiting for the store for ${seconds(at - pollingSince)}`;
    else if (lastFailure !== undefined) why = `the last feed check failed: ${lastFailure}`;
    else why = 'no feed check has completed since';
    return { fresh: false, ageMs, reason: `the change feed ${since} (cache.maxStaleness ${seconds(maxStalenessMs)}): ${why}` };
  }

  function noteFreshness(): void {
    if (options.onFreshness === undefined) return;
    const now = health();
    if (now.fresh !== reportedFresh) {
      reportedFresh = now.fresh;
      options.onFreshness(now.fresh, now);
    }
  }

  async function pollOnce(): Promise<void> {
    const began = clock();
    pollingSince = began;
    try {
      if (cursor === undefined) {
        cursor = await store.latestChangeSeq();
        appliedLocally.clear(); // changes up to the starting position are never polled
        for (const consumer of consumers) consumer.onFollowing?.();
      } else {
        for (;;) {
          const rows = await store.changesSince(cursor, PAGE);
          const last = rows[rows.length - 1];
          if (last === undefined) break;
          cursor = last.seq;
          applyPolled(rows);
          if (rows.length < PAGE) break;
        }
      }
      // A feed read can succeed on a store this process no longer shares with the others (an
      // SQLite file moved or replaced under it); the ping says whether it still does.
      await store.ping();
      confirmedAt = Math.max(confirmedAt, began);
      lastFailure = undefined;
    } catch (error) {
      lastFailure = describeFailure(error);
      options.onError?.(error);
    } finally {
      pollingSince = undefined;
      noteFreshness();
    }
  }

  function poll(): Promise<void> {
    if (running !== undefined) {
      // A wake-up during a poll may announce a change that poll has already missed.
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pollOnce();
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set by a wake-up or close() while pollOnce() was awaited
        } while (again && !closed);
      } finally {
        // Cleared in the same step as the last `again` check: a wake-up arriving after it
        // starts a new poll instead of joining one that has already decided to end.
        running = undefined;
      }
    })();
    return running;
  }

  function schedule(): void {
    if (closed) return;
    timer = setTimeout(() => {
      noteFreshness();
      void poll().then(schedule);
    }, intervalMs);
    timer.unref();
  }

  const unsubscribe = store.subscribe(applyLocal);

  return {
    follow(consumer) {
      consumers.add(consumer);
      if (cursor !== undefined) consumer.onFollowing?.();
      return () => {
        consumers.delete(consumer);
      };
    },
    start() {
      started ??= (async () => {
        if (closed) return;
        stopListening = store.notifier?.listen(
          () => {
            void poll();
          },
          (connected) => {
            options.onPushState?.(connected);
            // Back: catch up from our own position at once rather than at the next period.
            if (connected) void poll();
          },
        );
        await poll();
        schedule();
      })();
      return started;
    },
    poll,
    cursor: () => cursor,
    fresh: () => clock() - confirmedAt <= maxStalenessMs,
    health,
    close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      stopListening?.();
      unsubscribe();
    },
  };
}
