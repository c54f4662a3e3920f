/**
 * The process's one change-feed follower (src/credentials/change-feed.ts) on real SQLite stores:
 * one read per period feeds every consumer; a push wake-up is applied before the next period;
 * freshness (cache.maxStaleness) is lost when the store fails or hangs, names why, and returns
 * only after the changes made meanwhile were handed to the consumers.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createChangeFeedFollower } from '../../src/credentials/change-feed.js';
import type { ChangeNotifier } from '../../src/credentials/change-notifier.js';
import { openStore } from '../../src/credentials/open-store.js';
import type { ChangeRow, CredentialStore } from '../../src/credentials/store.js';
import { CredentialStoreError } from '../../src/credentials/store-error.js';
import { tempStore } from './helpers.js';

/** The real store with a switch that makes feed reads and pings fail or hang, and a push channel the test drives. */
function controllable(inner: CredentialStore): {
  store: CredentialStore;
  mode: { value: 'ok' | 'fail' | 'hang' };
  reads: () => number;
  push: { wake: () => void; state: (c: boolean) => void };
} {
  const mode = { value: 'ok' as 'ok' | 'fail' | 'hang' };
  let reads = 0;
  const push = { wake: () => {}, state: (_connected: boolean) => {} };
  const gate = <T>(read: () => Promise<T>): Promise<T> => {
    if (mode.value === 'fail')
      return Promise.reject(new CredentialStoreError('unavailable', 'reading the change feed: the credential store is unavailable'));
    if (mode.value === 'hang') return new Promise<T>(() => {});
    return read();
  };
  const notifier: ChangeNotifier = {
    listen(wake, onState) {
      push.wake = wake;
      push.state = onState;
      return () => {
        push.wake = () => {};
      };
    },
  };
  const store: CredentialStore = Object.assign(Object.create(inner) as CredentialStore, {
    notifier,
    changesSince: (seq: number, limit?: number) =>
      gate(() => {
        reads++;
        return inner.changesSince(seq, limit);
      }),
    latestChangeSeq: () => gate(() => inner.latestChangeSeq()),
    ping: () => gate(() => inner.ping()),
    subscribe: inner.subscribe.bind(inner),
  });
  return { store, mode, reads: () => reads, push };
}

test('one follower feeds every consumer once per change; local changes are not applied twice', async (t) => {
  const { store, url } = await tempStore(t);
  const other = await openStore(url, { create: true });
  t.after(() => other.close());
  const feed = createChangeFeedFollower({ store, intervalMs: 20 });
  t.after(() => feed.close());
  const seen: [string[], string[]] = [[], []];
  const following = [0, 0];
  for (const i of [0, 1] as const) {
    feed.follow({
      apply: (rows) => seen[i].push(...rows.map((r) => r.kind)),
      onFollowing: () => {
        following[i] = (following[i] ?? 0) + 1;
      },
    });
  }
  await feed.start();
  assert.deepEqual(following, [1, 1]);
  let late = 0;
  feed.follow({
    apply: () => {},
    onFollowing: () => {
      late++;
    },
  });
  assert.equal(late, 1, 'a consumer added after start is told at once');

  const local = await store.tokens.create({ label: 'l', scope: 'read-only' });
  await store.tokens.revoke(local.record.id);
  const remote = await other.tokens.create({ label: 'r', scope: 'read-only' });
  await other.tokens.revoke(remote.record.id);
  await feed.poll();
  await feed.poll();
  assert.deepEqual(seen[0], ['token.revoked', 'token.revoked']);
  assert.deepEqual(seen[1], seen[0]);
});

test('a push wake-up is applied before the next poll period; a reconnection catches up at once', async (t) => {
  const { store: real, url } = await tempStore(t);
  const other = await openStore(url, { create: true });
  t.after(() => other.close());
  const { store, push } = controllable(real);
  const feed = createChangeFeedFollower({ store, intervalMs: 500, maxStalenessMs: 5_000 });
  t.after(() => feed.close());
  const applied: ChangeRow[] = [];
  let notify: (() => void) | undefined;
  feed.follow({
    apply: (rows) => {
      applied.push(...rows);
      notify?.();
    },
  });
  await feed.start();

  for (const kick of [() => push.wake(), () => push.state(true)]) {
    const issued = await other.tokens.create({ label: 'p', scope: 'read-only' });
    const arrived = new Promise<void>((resolve) => {
      notify = resolve;
    });
    const began = performance.now();
    await other.tokens.revoke(issued.record.id);
    kick();
    await arrived;
    const tookMs = performance.now() - began;
    t.diagnostic(`applied ${tookMs.toFixed(1)} ms after the commit`);
    assert.ok(tookMs < 450, `applied after ${tookMs} ms: not by the wake-up`);
    assert.equal(applied.at(-1)?.kind, 'token.revoked');
  }
});

test('freshness: lost when the store fails or hangs, and the reason says which', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, mode } = controllable(real);
  let clock = 0;
  const feed = createChangeFeedFollower({ store, intervalMs: 500, maxStalenessMs: 1_000, clock: () => clock });
  t.after(() => feed.close());
  assert.equal(feed.fresh(), false, 'never confirmed');
  assert.match(feed.health().reason ?? '', /has never been confirmed/);
  await feed.start();
  assert.equal(feed.fresh(), true);

  mode.value = 'fail';
  clock += 600;
  await feed.poll();
  assert.equal(feed.fresh(), true, 'still within maxStaleness');
  clock += 500;
  assert.equal(feed.fresh(), false);
  const failed = feed.health();
  assert.match(
    failed.reason ?? '',
    /last confirmed 1\.1 s ago \(cache\.maxStaleness 1\.0 s\): the last feed check failed: reading the change feed: the credential store is unavailable/,
  );
  assert.equal(failed.ageMs, 1_100);

  mode.value = 'hang';
  void feed.poll();
  clock += 1_500;
  assert.match(feed.health().reason ?? '', /a feed check has been waiting for the store for 1\.5 s/);
});

test('freshness returns only after the changes missed during an outage were applied', async (t) => {
  const { store: real, url } = await tempStore(t);
  const other = await openStore(url, { create: true });
  t.after(() => other.close());
  const { store, mode } = controllable(real);
  let clock = 0;
  const feed = createChangeFeedFollower({ store, intervalMs: 500, maxStalenessMs: 1_000, clock: () => clock });
  t.after(() => feed.close());
  const freshWhenApplied: boolean[] = [];
  feed.follow({ apply: () => freshWhenApplied.push(feed.fresh()) });
  await feed.start();
  mode.value = 'fail';
  clock += 2_000;
  await feed.poll();
  assert.equal(feed.fresh(), false);
  const issued = await other.tokens.create({ label: 'x', scope: 'read-only' });
  await other.tokens.revoke(issued.record.id);
  mode.value = 'ok';
  await feed.poll();
  assert.deepEqual(freshWhenApplied, [false], 'the missed revocation was applied while still stale');
  assert.equal(feed.fresh(), true, 'and only then fresh');
  assert.equal(feed.health().reason, null);
});

test('settings out of range are refused', async (t) => {
  const { store } = await tempStore(t);
  assert.throws(() => createChangeFeedFollower({ store, maxStalenessMs: 499 }), /cache\.maxStaleness must be between 500 ms/);
  assert.throws(() => createChangeFeedFollower({ store, maxStalenessMs: 25 * 3600 * 1000 }), TypeError);
  assert.throws(() => createChangeFeedFollower({ store, intervalMs: 501 }), TypeError);
});
