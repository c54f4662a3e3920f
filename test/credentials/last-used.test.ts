/**
 * The last-use recorder against a real SQLite store: batches are written in chunks, and what a
 * failed write did not store is kept for the next flush without overwriting newer touches.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { createLastUsedRecorder } from '../../src/credentials/last-used.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import { tempStore } from './helpers.js';

/** The real store, with every `recordLastUsed` call's batch size noted and chosen calls failing. */
function observedStore(inner: CredentialStore, failOnCall: number | null = null): { store: CredentialStore; chunks: number[] } {
  const chunks: number[] = [];
  const store: CredentialStore = Object.create(inner) as CredentialStore;
  store.recordLastUsed = (batch) => {
    chunks.push(batch.size);
    if (chunks.length === failOnCall) return Promise.reject(new Error('disk full'));
    return inner.recordLastUsed(batch);
  };
  return { store, chunks };
}

async function issueTokens(store: CredentialStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await store.tokens.create({ label: `t${i}`, scope: 'read-only' })).record.id);
  return ids;
}

const lastUsedAt = async (store: CredentialStore, id: string): Promise<string | null> => (await store.tokens.get(id))?.lastUsedAt ?? null;

test('a large batch is written in chunks of 500, every time reaching the store', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, chunks } = observedStore(real);
  const ids = await issueTokens(real, 1201);
  const recorder = createLastUsedRecorder(store);
  const at = Date.parse('2026-11-23T10:00:00.000Z');
  for (const id of ids) recorder.touch(id, at);
  assert.equal(recorder.pending(), 1201);
  await recorder.flush();
  assert.deepEqual(chunks, [500, 500, 201]);
  assert.equal(recorder.pending(), 0);
  for (const id of [ids[0]!, ids[500]!, ids[1200]!]) assert.equal(await lastUsedAt(real, id), '2026-11-23T10:00:00.000Z');
});

test('a failed chunk and the chunks after it are kept for the next flush; newer touches win', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, chunks } = observedStore(real, 2);
  const ids = await issueTokens(real, 1201);
  const errors: unknown[] = [];
  const recorder = createLastUsedRecorder(store, { onError: (error) => errors.push(error) });
  const t1 = Date.parse('2026-11-23T10:00:00.000Z');
  const t2 = t1 + 60_000;
  for (const id of ids) recorder.touch(id, t1);
  const flushing = recorder.flush();
  // Touched while the flush runs: one later than the batch (must win), one earlier (must not).
  recorder.touch(ids[600]!, t2);
  recorder.touch(ids[700]!, t1 - 60_000);
  await flushing;
  assert.deepEqual(chunks, [500, 500]);
  assert.equal(errors.length, 1);
  assert.equal(recorder.pending(), 701, 'the second and third chunks are kept');
  assert.equal(await lastUsedAt(real, ids[0]!), '2026-11-23T10:00:00.000Z', 'the first chunk was written');
  assert.equal(await lastUsedAt(real, ids[600]!), null);

  await recorder.flush();
  assert.deepEqual(chunks, [500, 500, 500, 201]);
  assert.equal(recorder.pending(), 0);
  assert.equal(await lastUsedAt(real, ids[600]!), '2026-11-23T10:01:00.000Z');
  assert.equal(await lastUsedAt(real, ids[700]!), '2026-11-23T10:00:00.000Z');
  assert.equal(await lastUsedAt(real, ids[1200]!), '2026-11-23T10:00:00.000Z');
  await recorder.close();
});

test('an exact multiple of the chunk makes no empty write; the event loop turns between chunks', async (t) => {
  const { store: real } = await tempStore(t);
  const { store, chunks } = observedStore(real);
  const ids = await issueTokens(real, 1000);
  const recorder = createLastUsedRecorder(store);
  for (const id of ids) recorder.touch(id, Date.now());
  let turned = -1;
  setImmediate(() => {
    turned = chunks.length;
  });
  await recorder.flush();
  assert.deepEqual(chunks, [500, 500]);
  assert.equal(turned, 1, 'a queued setImmediate ran after the first chunk, before the second');
});

test('when the first chunk fails everything is kept; when the last fails only it is', async (t) => {
  const { store: real } = await tempStore(t);
  const ids = await issueTokens(real, 700);
  const first = observedStore(real, 1);
  const recorder = createLastUsedRecorder(first.store);
  for (const id of ids) recorder.touch(id, Date.now());
  await recorder.flush();
  assert.deepEqual(first.chunks, [500]);
  assert.equal(recorder.pending(), 700);

  const last = observedStore(real, 2);
  const again = createLastUsedRecorder(last.store);
  for (const id of ids) again.touch(id, Date.now());
  await again.flush();
  assert.deepEqual(last.chunks, [500, 200]);
  assert.equal(again.pending(), 200);
  assert.equal(await lastUsedAt(real, ids[699]!), null);
  assert.notEqual(await lastUsedAt(real, ids[499]!), null);
});
