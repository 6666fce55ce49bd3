// The replica store's decoded-object cache is invisible: every load answers what decoding the
// stored bytes answers, through overwrites, merges, deletes, expiry and storages without peek.
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../src/core/env.js';
import { silentLogger } from '../../../src/core/env.js';
import { ActorAllocator, ReplicaStore, type ReplicaStoreOptions } from '../../../src/core/replication/replica-store.js';
import { emptyReplicationStats } from '../../../src/core/replication/stats.js';
import { decodeObject, encodeObject } from '../../../src/core/version/codec.js';
import { applyWrite, type KvObject } from '../../../src/core/version/object.js';
import { MemoryEngine } from '../../../src/storage/memory.js';
import type { StorageEngine } from '../../../src/storage/types.js';
import { bytes, FakeClock, text } from '../../storage/helpers.js';

function setup(options: Partial<ReplicaStoreOptions> = {}, wrap?: (engine: MemoryEngine) => StorageEngine): {
  store: ReplicaStore; storage: StorageEngine; clock: FakeClock;
} {
  const clock = new FakeClock();
  const engine = new MemoryEngine({ clock });
  const storage = wrap === undefined ? engine : wrap(engine);
  const env: Env = {
    clock,
    timers: { setTimer: () => ({ id: 0 }), clearTimer: () => {} },
    random: { next: () => 0.5, int: () => 0, fork() { return this; } },
    logger: silentLogger,
  };
  const store = new ReplicaStore(storage, env, new ActorAllocator('n1', 1), {
    maxHints: 100, maxHintBytes: 1 << 20, maxSiblings: 100, decodedCacheMaxEntries: 64, ...options,
  }, emptyReplicationStats());
  return { store, storage, clock };
}

/** What decoding the stored bytes gives: the cache must always agree with it. */
async function decodedFromStorage(storage: StorageEngine, key: string): Promise<KvObject | undefined> {
  const record = await storage.get(key);
  return record === undefined ? undefined : decodeObject(record.value);
}

/** Freezes an object's arrays and records (not its value bytes), so that any mutation throws. */
function deepFreeze(obj: KvObject): KvObject {
  for (const entry of obj.clock) Object.freeze(entry);
  Object.freeze(obj.clock);
  for (const s of obj.siblings) {
    Object.freeze(s.dot);
    Object.freeze(s);
  }
  Object.freeze(obj.siblings);
  return Object.freeze(obj);
}

const put = (value: string, ttlMs?: number) => ({ value: bytes(value), context: undefined, contextMode: 'local' as const, ttlMs });

describe('ReplicaStore decoded-object cache', () => {
  it('serves repeated loads of a key from the cache, equal to what decoding the stored bytes gives', async () => {
    // Shows the cache is used (one object instance for repeated reads) and agrees with the bytes.
    const { store, storage } = setup();
    await store.coordinate('k', put('v1'));
    await store.coordinate('k', put('v2'));
    const first = await store.read('k');
    const second = await store.read('k');
    expect(second).toBe(first);
    expect(first).toEqual(await decodedFromStorage(storage, 'k'));
    expect(store.decoded.hits).toBeGreaterThan(0);
    expect(text(first!.siblings[0]!.value!)).toBe('v2');
  });

  it('is never stale after an overwrite, a merge, a reap or an expiry', async () => {
    // Shows validity by the stored bytes: each change of the key is seen by the next load.
    const { store, storage, clock } = setup();
    for (let i = 0; i < 3; i++) await store.coordinate('k', put(`v${i}`));
    expect(await store.read('k')).toEqual(await decodedFromStorage(storage, 'k'));

    // A concurrent write from another coordinator becomes a sibling.
    const other = applyWrite(undefined, undefined, 'n2.1.1', bytes('other'), clock.now());
    await store.merge('k', other, undefined, encodeObject(other));
    const merged = await store.read('k');
    expect(merged!.siblings.map((s) => text(s.value!)).sort()).toEqual(['other', 'v2']);
    expect(merged).toEqual(await decodedFromStorage(storage, 'k'));

    // Delete (a tombstone superseding both), then reap it.
    const deleted = await store.coordinate('k', { value: null, context: merged!.clock, contextMode: 'given' });
    expect((await store.read('k'))!.siblings.every((s) => s.value === null)).toBe(true);
    expect(await store.reap('k', deleted.obj)).toBe(true);
    expect(await store.read('k')).toBeUndefined();

    // A value with a TTL: gone from the storage at expiry, and so from every load.
    await store.coordinate('t', put('short', 100));
    await store.coordinate('t', put('short again', 100));
    expect(text((await store.read('t'))!.siblings[0]!.value!)).toBe('short again');
    clock.advance(100);
    expect(await store.read('t')).toBeUndefined();
  });

  it('does not keep views on the caller\'s value buffer', async () => {
    // Shows a client reusing its buffer after a write cannot change what later reads return.
    const { store } = setup();
    await store.coordinate('k', put('warm-up'));
    const value = bytes('original');
    await store.coordinate('k', { value, context: undefined, contextMode: 'local' });
    value.fill(0x21);
    expect(text((await store.read('k'))!.siblings[0]!.value!)).toBe('original');
    expect(text((await store.read('k'))!.siblings[0]!.value!)).toBe('original');
  });

  it('never mutates a loaded object: frozen cached objects survive writes, merges and reads', async () => {
    // Shows KvObjects are treated as immutable, which is what makes sharing cached objects sound.
    const { store, storage, clock } = setup();
    await store.coordinate('k', put('a'));
    await store.coordinate('k', put('b'));
    for (let i = 0; i < 5; i++) {
      const loaded = await store.read('k');
      deepFreeze(loaded!);
      const other = applyWrite(undefined, undefined, `n${i + 2}.1.1`, bytes(`o${i}`), clock.now());
      await store.merge('k', other, undefined, encodeObject(other));
      deepFreeze((await store.read('k'))!);
      await store.coordinate('k', { value: bytes(`c${i}`), context: undefined, contextMode: 'given' });
    }
    expect(await store.read('k')).toEqual(await decodedFromStorage(storage, 'k'));
  });

  it('works the same over a storage without peek, and within its entry bound', async () => {
    // Shows the fallback to the async get (content-equal bytes still hit) and the maxEntries bound.
    const { store, storage } = setup({ decodedCacheMaxEntries: 4 }, (engine) => ({
      kind: 'memory',
      get: (key) => engine.get(key),
      put: (key, value, options) => engine.put(key, value, options),
      delete: (key) => engine.delete(key),
      batch: (ops) => engine.batch(ops),
      scan: (options) => engine.scan(options),
      entries: () => engine.entries(),
      stats: () => engine.stats(),
      close: () => engine.close(),
    }));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await store.coordinate(`k${i}`, put(`v${round}.${i}`));
    }
    expect(store.decoded.size).toBeLessThanOrEqual(4);
    for (let i = 0; i < 20; i++) {
      const obj = await store.read(`k${i}`);
      expect(obj).toEqual(await decodedFromStorage(storage, `k${i}`));
      expect(text(obj!.siblings[0]!.value!)).toBe(`v2.${i}`);
    }
    await store.coordinate('hot', put('1'));
    await store.coordinate('hot', put('2'));
    const hits = store.decoded.hits;
    expect(text((await store.read('hot'))!.siblings[0]!.value!)).toBe('2');
    expect(store.decoded.hits).toBe(hits + 1);
  });

  it('holds nothing when disabled', async () => {
    // Shows decodedCacheMaxEntries 0 turns the cache off without changing any answer.
    const { store, storage } = setup({ decodedCacheMaxEntries: 0 });
    for (let i = 0; i < 3; i++) await store.coordinate('k', put(`v${i}`));
    expect(await store.read('k')).toEqual(await decodedFromStorage(storage, 'k'));
    expect(store.decoded.size).toBe(0);
  });
});
