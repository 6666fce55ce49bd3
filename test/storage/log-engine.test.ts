// What is specific to the log engine: durability policies (group commit, interval fsync),
// persistence across reopen, segment rolling with hints, the value cache, and openStorage.
import * as fs from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimerHandle, Timers } from '../../src/core/env.js';
import { ErrorCode } from '../../src/errors.js';
import { openStorage } from '../../src/storage/index.js';
import { LogEngine } from '../../src/storage/log/engine.js';
import { NOT_IN_MEMORY } from '../../src/storage/types.js';
import { bytes, dump, FakeClock, TempDirs, text } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.removeAll());

/** Timers the test fires by hand. */
function manualTimers(): Timers & { fire(): void } {
  const pending = new Map<number, () => void>();
  let next = 1;
  return {
    setTimer: (_ms: number, cb: () => void): TimerHandle => {
      const id = next++;
      pending.set(id, cb);
      return { id };
    },
    clearTimer: (h) => void pending.delete(h.id),
    fire: () => {
      const cbs = [...pending.values()];
      pending.clear();
      for (const cb of cbs) cb();
    },
  };
}

describe('log engine', () => {
  it('peeks at cached values and absent keys without I/O, and says NOT_IN_MEMORY for the rest', async () => {
    // Shows when the sync peek answers: value cache hit or key absent; a value only on disk needs get.
    const clock = new FakeClock();
    const cached = await LogEngine.open({ dir: await dirs.make(), clock, fsync: 'never', compactionCheckIntervalMs: 0 });
    await cached.put('k', bytes('v'));
    const peeked = cached.peek('k');
    expect(peeked).not.toBe(NOT_IN_MEMORY);
    expect(peeked === NOT_IN_MEMORY ? undefined : peeked?.value).toBe((await cached.get('k'))?.value);
    expect(cached.peek('absent')).toBeUndefined();
    await cached.close();

    const uncached = await LogEngine.open({ dir: await dirs.make(), clock, fsync: 'never', valueCacheMaxBytes: 0, compactionCheckIntervalMs: 0 });
    await uncached.put('k', bytes('v'));
    expect(uncached.peek('k')).toBe(NOT_IN_MEMORY);
    expect(text((await uncached.get('k'))?.value)).toBe('v');
    expect(uncached.peek('absent')).toBeUndefined();
    await uncached.close();
  });

  it('shares one write and one fsync among concurrent writes under fsync=always (group commit)', async () => {
    // Shows group commit: 64 concurrent puts need far fewer than 64 fsyncs, and each resolves after one.
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), fsync: 'always' });
    await engine.put('warm-up', bytes('x'));
    const before = engine.stats();
    await Promise.all(Array.from({ length: 64 }, (_, i) => engine.put(`k${i}`, bytes(`v${i}`))));
    const after = engine.stats();
    const fsyncs = after.fsyncs - before.fsyncs;
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThan(64);
    expect(after.groupCommits - before.groupCommits).toBe(fsyncs);
    for (let i = 0; i < 64; i++) expect(text((await engine.get(`k${i}`))?.value)).toBe(`v${i}`);
    await engine.close();
  });

  it('writes the next group while a group fsync runs, and acknowledges nothing once an fsync failed', async () => {
    // Shows the pipelined group commit under fsync=always: 16 queued writes go out as two groups
    // with two fsyncs in flight; when the first fails, the second group is rejected too even though
    // its own fsync then succeeds (the kernel reports a writeback error to one fsync only).
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), fsync: 'always', preallocateBytes: 0, compactionCheckIntervalMs: 0 });
    await engine.put('before', bytes('ok'));
    const fh = (engine as unknown as { active: { fh: { datasync(): Promise<void> } } }).active.fh;
    const pending: { resolve(): void; reject(e: Error): void }[] = [];
    fh.datasync = () => new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    const results = Promise.allSettled(Array.from({ length: 16 }, (_, i) => engine.put(`k${i}`, bytes(`v${i}`))));
    await expect.poll(() => pending.length).toBe(2);
    expect(engine.stats().groupCommits).toBe(3); // 'before', then both halves written before either fsync ended
    pending[0]!.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    pending[1]!.resolve();
    const settled = await results;
    expect(settled.map((r) => r.status)).toEqual(Array.from({ length: 16 }, () => 'rejected'));
    expect(settled[15]).toMatchObject({ reason: { code: ErrorCode.STORAGE_IO } });
    await expect(engine.put('after', bytes('v'))).rejects.toMatchObject({ code: ErrorCode.STORAGE_IO });
    expect(text((await engine.get('before'))?.value)).toBe('ok');
    await engine.close();
  });

  it('fsyncs on the interval timer under fsync=interval, and only when something was written', async () => {
    // Shows the interval policy: writes resolve without an fsync, the timer fsyncs dirty data.
    const timers = manualTimers();
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), fsync: 'interval', timers, compactionCheckIntervalMs: 0 });
    await engine.put('k', bytes('v'));
    expect(engine.stats().fsyncs).toBe(0);
    timers.fire();
    await expect.poll(() => engine.stats().fsyncs).toBe(1);
    timers.fire(); // nothing new written: no fsync
    await engine.put('k2', bytes('v'));
    timers.fire();
    await expect.poll(() => engine.stats().fsyncs).toBe(2);
    await engine.close();
  });

  it('never fsyncs writes under fsync=never', async () => {
    // Shows the never policy: no fsync on the write path.
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), fsync: 'never' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => engine.put(`k${i}`, bytes('v'))));
    expect(engine.stats().fsyncs).toBe(0);
    await engine.close();
  });

  it('persists puts, deletes, batches and expiry across a reopen', async () => {
    // Shows that a clean close and reopen gives back exactly the same contents.
    const dir = await dirs.make();
    const clock = new FakeClock();
    let engine = await LogEngine.open({ dir, clock, maxSegmentBytes: 1024 });
    for (let i = 0; i < 100; i++) await engine.put(`k${i}`, bytes(`v${i}`.repeat(5)));
    for (let i = 0; i < 100; i += 3) await engine.delete(`k${i}`);
    await engine.batch([{ type: 'put', key: 'b', value: bytes('b') }, { type: 'delete', key: 'k1' }]);
    await engine.put('ttl', bytes('t'), { expiresAtMs: clock.now() + 500 });
    const before = await dump(engine);
    expect(engine.segments().length).toBeGreaterThan(3);
    await engine.close();
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.hint')).length).toBeGreaterThan(3);
    engine = await LogEngine.open({ dir, clock, maxSegmentBytes: 1024 });
    expect(await dump(engine)).toEqual(before);
    expect((await engine.get('ttl'))?.expiresAtMs).toBe(clock.now() + 500);
    clock.advance(500);
    expect(await engine.get('ttl')).toBeUndefined();
    await engine.put('after-reopen', bytes('x'));
    await engine.close();
  });

  it('serves repeated reads from the value cache within its budget', async () => {
    // Shows the value cache: hits counted, bytes bounded by valueCacheMaxBytes.
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), valueCacheMaxBytes: 4096 });
    for (let i = 0; i < 100; i++) await engine.put(`k${i}`, new Uint8Array(100).fill(i));
    expect(engine.stats().cacheBytes).toBeLessThanOrEqual(4096);
    const hitsBefore = engine.stats().cacheHits;
    for (let round = 0; round < 3; round++) expect((await engine.get('k99'))?.value[0]).toBe(99);
    expect(engine.stats().cacheHits - hitsBefore).toBe(3);
    for (let i = 0; i < 100; i++) expect((await engine.get(`k${i}`))?.value[5]).toBe(i); // misses read from disk
    expect(engine.stats().cacheBytes).toBeLessThanOrEqual(4096);
    await engine.close();
  });

  it('refuses new writes when the write queue is full', async () => {
    // Shows the queue bound: OverloadedError instead of unbounded memory.
    const engine = await LogEngine.open({ dir: await dirs.make(), clock: new FakeClock(), maxQueuedWriteBytes: 1000, fsync: 'always' });
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => engine.put(`k${i}`, new Uint8Array(200))));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.OVERLOADED });
    await engine.close();
  });

  it('is what openStorage gives for kind "log", and refuses bad options', async () => {
    // Shows the factory and option validation.
    const dir = await dirs.make();
    const engine = await openStorage({ kind: 'log', dir, clock: new FakeClock() });
    expect(engine.kind).toBe('log');
    await engine.close();
    await expect(openStorage({ kind: 'log', clock: new FakeClock() })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    await expect(openStorage({ kind: 'nope' as never, clock: new FakeClock() })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    await expect(LogEngine.open({ dir, clock: new FakeClock(), maxSegmentBytes: 2 ** 40 })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
    await expect(LogEngine.open({ dir, clock: new FakeClock(), fsync: 'sometimes' as never })).rejects.toMatchObject({ code: ErrorCode.INVALID_CONFIG });
  });
});
