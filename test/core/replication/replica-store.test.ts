// The replica store loads a key's object without a promise when the storage has it in memory
// (peek), and falls back to the asynchronous get otherwise; either way every load answers what
// decoding the stored bytes answers, through overwrites, merges, deletes and expiry.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Env } from '../../../src/core/env.js';
import { silentLogger } from '../../../src/core/env.js';
import { ActorAllocator, hintStorageKey, ReplicaStore, type ReplicaStoreOptions } from '../../../src/core/replication/replica-store.js';
import { emptyReplicationStats, type ReplicationStats } from '../../../src/core/replication/stats.js';
import { decodeObject, encodeObject } from '../../../src/core/version/codec.js';
import { applyWrite, isTombstoneOnly, type KvObject } from '../../../src/core/version/object.js';
import { MemoryEngine } from '../../../src/storage/memory.js';
import type { StorageEngine } from '../../../src/storage/types.js';
import { bytes, FakeClock, text } from '../../storage/helpers.js';
import { replicaPairArb } from '../version/arbitraries.js';

function setup(options: Partial<ReplicaStoreOptions> = {}, wrap?: (engine: MemoryEngine) => StorageEngine): {
  store: ReplicaStore; storage: StorageEngine; clock: FakeClock; stats: ReplicationStats;
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
  const stats = emptyReplicationStats();
  const store = new ReplicaStore(storage, env, new ActorAllocator('n1', 1), {
    maxHints: 100, maxHintBytes: 1 << 20, maxSiblings: 100, ...options,
  }, stats);
  return { store, storage, clock, stats };
}

/** The engine without its peek: every load takes the asynchronous get. */
function withoutPeek(engine: MemoryEngine): StorageEngine {
  return {
    kind: 'memory',
    get: (key) => engine.get(key),
    put: (key, value, options) => engine.put(key, value, options),
    delete: (key) => engine.delete(key),
    batch: (ops) => engine.batch(ops),
    scan: (options) => engine.scan(options),
    entries: () => engine.entries(),
    stats: () => engine.stats(),
    close: () => engine.close(),
  };
}

/** What decoding the stored bytes gives: every load must agree with it. */
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

describe('ReplicaStore loads', () => {
  it('take the peek path and never the asynchronous get when the storage has the record in memory', async () => {
    // Shows reads, writes and merges over a storage with peek do not call its get.
    let gets = 0;
    const { store, storage, clock } = setup({}, (engine) => ({
      ...withoutPeek(engine),
      peek: (key) => engine.peek(key),
      get: (key) => { gets++; return engine.get(key); },
    }));
    await store.coordinate('k', put('v1'));
    await store.coordinate('k', put('v2'));
    const other = applyWrite(undefined, undefined, 'n2.1.1', bytes('other'), clock.now());
    await store.merge('k', other, undefined, encodeObject(other));
    const read = await store.read('k');
    expect(await store.read('absent')).toBeUndefined();
    expect(gets).toBe(0);
    expect(read).toEqual(await decodedFromStorage(storage, 'k'));
  });

  it('agree with the stored bytes after an overwrite, a merge, a reap or an expiry', async () => {
    // Shows each change of the key is seen by the next load.
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

  it('do not keep views on the caller\'s value buffer', async () => {
    // Shows a client reusing its buffer after a write cannot change what later reads return.
    const { store } = setup();
    await store.coordinate('k', put('warm-up'));
    const value = bytes('original');
    await store.coordinate('k', { value, context: undefined, contextMode: 'local' });
    value.fill(0x21);
    expect(text((await store.read('k'))!.siblings[0]!.value!)).toBe('original');
  });

  it('never mutate a loaded object: frozen objects survive writes, merges and reads', async () => {
    // Shows KvObjects are treated as immutable by the store's read-modify-writes.
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

  it('work the same over a storage without peek', async () => {
    // Shows the fallback to the asynchronous get answers what the stored bytes hold.
    const { store, storage } = setup({}, withoutPeek);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) await store.coordinate(`k${i}`, put(`v${round}.${i}`));
    }
    for (let i = 0; i < 20; i++) {
      const obj = await store.read(`k${i}`);
      expect(obj).toEqual(await decodedFromStorage(storage, `k${i}`));
      expect(text(obj!.siblings[0]!.value!)).toBe(`v2.${i}`);
    }
    expect(await store.read('absent')).toBeUndefined();
  });

  it('fail as rejected promises, not synchronous throws, once the storage is closed', async () => {
    // peek throws at once on a closed engine; callers chain .then on every read.
    const { store, storage } = setup();
    await store.coordinate('k', put('v'));
    await storage.close();
    let readPromise: Promise<unknown> | undefined;
    let encodedPromise: Promise<unknown> | undefined;
    expect(() => {
      readPromise = store.read('k');
      encodedPromise = store.readEncoded('k');
    }).not.toThrow();
    await expect(readPromise).rejects.toMatchObject({ code: 'ERR_STORAGE_CLOSED' });
    await expect(encodedPromise).rejects.toMatchObject({ code: 'ERR_STORAGE_CLOSED' });
  });
});

describe('ReplicaStore after a reap', () => {
  /** Writes two values, deletes them with a tombstone, reaps it; returns the stale pre-delete copy. */
  async function reapedWithStaleCopy(store: ReplicaStore): Promise<KvObject> {
    await store.coordinate('k', put('v1'));
    const stale = (await store.coordinate('k', put('v2'))).obj;
    const deleted = await store.coordinate('k', { value: null, context: stale.clock, contextMode: 'given' });
    expect(await store.reap('k', deleted.obj)).toBe(true);
    expect(await store.read('k')).toBeUndefined();
    return stale;
  }

  it('drops a stale copy that arrives late, as the reaped tombstone would have', async () => {
    // Shows the seed-1359 story: a fallback delivers a hint written before the delete, after the reap.
    const { store } = setup();
    const stale = await reapedWithStaleCopy(store);
    await store.merge('k', stale, undefined, encodeObject(stale));
    expect(await store.read('k')).toBeUndefined();
    expect(store.reapedClocks).toBe(1);
  });

  it('keeps a concurrent write, and a new write supersedes what the tombstone superseded', async () => {
    // Shows only what the tombstone covered is dropped: a write it never saw survives the merge.
    const { store, clock } = setup();
    const stale = await reapedWithStaleCopy(store);
    const concurrent = applyWrite(undefined, undefined, 'n2.1.1', bytes('concurrent'), clock.now());
    await store.merge('k', concurrent, undefined, encodeObject(concurrent));
    expect((await store.read('k'))!.siblings.map((s) => text(s.value!))).toEqual(['concurrent']);
    // The key lives again: the stale copy still cannot bring v2 back.
    await store.merge('k', stale, undefined, encodeObject(stale));
    expect((await store.read('k'))!.siblings.map((s) => text(s.value!))).toEqual(['concurrent']);

    // A blind write to another reaped key starts from the tombstone's clock.
    const second = setup();
    const staleTwo = await reapedWithStaleCopy(second.store);
    await second.store.coordinate('k', put('after'));
    await second.store.merge('k', staleTwo, undefined, encodeObject(staleTwo));
    expect((await second.store.read('k'))!.siblings.map((s) => text(s.value!))).toEqual(['after']);
  });

  it('forgets the oldest clock beyond maxReapedClocks and every clock after the retention', async () => {
    // Shows both bounds, and the documented limit: a stale copy past them comes back.
    const { store, clock } = setup({ maxReapedClocks: 2, reapedClockRetentionMs: 60_000 });
    for (const key of ['a', 'b', 'c']) {
      const written = await store.coordinate(key, put(key));
      const deleted = await store.coordinate(key, { value: null, context: written.obj.clock, contextMode: 'given' });
      expect(await store.reap(key, deleted.obj)).toBe(true);
    }
    expect(store.reapedClocks).toBe(2);
    clock.advance(60_001);
    const late = applyWrite(undefined, undefined, 'n9.1.1', bytes('late'), clock.now());
    await store.merge('b', late, undefined, encodeObject(late));
    expect((await store.read('b'))!.siblings.map((s) => text(s.value!))).toEqual(['late']);
  });
});

describe('ReplicaStore.mergeEncoded', () => {
  /** The stored record of `storageKey`, the hint gauges, and how the merge settled. */
  async function outcome(
    local: KvObject | undefined, incomingBytes: Uint8Array, hintFor: string | undefined, reap: boolean, encoded: boolean,
  ): Promise<unknown> {
    const { store, storage, stats } = setup({ maxHintBytes: 600 });
    const storageKey = hintFor === undefined ? 'k' : hintStorageKey(hintFor, 'k');
    if (local !== undefined) await storage.put(storageKey, encodeObject(local));
    await store.init();
    // A reaped tombstone leaves no record but its clock, which the merge must take as its base.
    if (reap && local !== undefined && hintFor === undefined && isTombstoneOnly(local)) expect(await store.reap('k', local)).toBe(true);
    let settled: unknown;
    try {
      if (encoded) {
        const merging = store.mergeEncoded('k', incomingBytes, hintFor);
        settled = merging === undefined ? 'not scanned' : await merging.then(() => 'stored');
      } else {
        settled = await store.merge('k', decodeObject(incomingBytes, { copyValues: false }), hintFor, incomingBytes).then(() => 'stored');
      }
    } catch (err) {
      settled = (err as { code?: string }).code;
    }
    const record = await storage.get(storageKey);
    return { settled, record, hints: [stats.hintsPending, stats.hintBytesPending, stats.hintsStored, stats.hintsRefused] };
  }

  it('stores exactly what merge stores, with the same expiry, hint accounting and errors', async () => {
    // Shows the decision on encoded bytes never changes what a replica write leaves behind.
    await fc.assert(fc.asyncProperty(
      replicaPairArb, fc.boolean(), fc.constantFrom(undefined, 'n9'), fc.boolean(),
      async ([local, incoming], hasLocal, hintFor, reap) => {
        const incomingBytes = encodeObject(incoming);
        let valid = true;
        try {
          decodeObject(incomingBytes);
          decodeObject(encodeObject(local));
        } catch {
          valid = false;
        }
        if (!valid) return;
        const before = hasLocal ? local : undefined;
        const slow = await outcome(before, incomingBytes, hintFor, reap, false);
        const fast = await outcome(before, incomingBytes, hintFor, reap, true);
        expect(fast).toEqual(slow);
      },
    ), { numRuns: 1500 });
  });

  it('leaves bytes it cannot scan to the caller, untouched', async () => {
    // Shows non-canonical input is not merged here: the caller decodes it and reports what is wrong.
    const { store } = setup();
    const bytesIn = encodeObject(applyWrite(undefined, undefined, 'nœud', bytes('v'), 1));
    expect(store.mergeEncoded('k', bytesIn)).toBeUndefined();
    expect(store.mergeEncoded('k', new Uint8Array([0x83, 0x01]))).toBeUndefined();
    expect(await store.read('k')).toBeUndefined();
  });
});
