// Compaction of the log engine: live records and needed tombstones survive, expired records are
// reclaimed without resurrecting older values, reads and writes go on during a compaction, and a
// restart after it (or after a crash in the middle of it) gives the same contents.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TimerHandle, Timers } from '../../src/core/env.js';
import { LogEngine } from '../../src/storage/log/engine.js';
import type { LogEngineOptions } from '../../src/storage/log/options.js';
import { bytes, dump, FakeClock, TempDirs, text } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.removeAll());

const open = (dir: string, extra: Partial<LogEngineOptions> = {}) =>
  LogEngine.open({ dir, clock: new FakeClock(), fsync: 'never', compactionCheckIntervalMs: 0, ...extra });

async function removeHints(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir)) if (f.endsWith('.hint')) await fs.rm(path.join(dir, f));
}

/** Reopens (with hints, then without) and checks the contents are `expected` both times. */
async function expectAfterRestart(dir: string, expected: Map<string, string>, extra: Partial<LogEngineOptions> = {}): Promise<void> {
  for (const withHints of [true, false]) {
    if (!withHints) await removeHints(dir);
    const engine = await open(dir, extra);
    expect(await dump(engine), `restart ${withHints ? 'with' : 'without'} hints`).toEqual(expected);
    await engine.close();
  }
}

describe('log engine compaction', () => {
  it('keeps a tombstone an older segment still needs, and drops it once that segment is compacted too', async () => {
    // Shows the tombstone rule: key written in segment 1, deleted in segment 3; compacting 3 alone
    // must not drop the tombstone, or the old value would come back.
    const dir = await dirs.make();
    const engine = await open(dir);
    await engine.put('k', bytes('old value'));
    await engine.put('filler1', bytes('f'));
    await engine.rollSegment();
    await engine.put('filler2', bytes('f'));
    await engine.rollSegment();
    await engine.delete('k');
    await engine.put('filler3', bytes('f'));
    await engine.rollSegment();
    const [s1, s2, s3] = engine.segments();
    expect([s1!.id, s2!.id, s3!.id]).toEqual([1, 2, 3]);

    const first = await engine.compact({ segments: [s3!] });
    expect(first).toMatchObject({ inputs: [{ id: 3, gen: 0 }], output: { id: 3, gen: 1 }, droppedKeys: 0 });
    expect(await engine.get('k')).toBeUndefined();
    const expected = await dump(engine);
    expect(expected.has('k')).toBe(false);
    await engine.close();
    await expectAfterRestart(dir, expected);

    const again = await open(dir);
    const segs = again.segments().filter((s) => !s.active);
    const second = await again.compact({ segments: segs });
    expect(second?.droppedKeys).toBe(1); // now nothing older can resurrect k
    expect(await again.get('k')).toBeUndefined();
    expect(again.stats().indexKeys).toBe(3);
    expect(await dump(again)).toEqual(expected);
    expect(again.segments().filter((s) => !s.active)).toHaveLength(1);
    await again.close();
    await expectAfterRestart(dir, expected);
  });

  it('keeps every live record, and shrinks the files', async () => {
    // Shows that compacting every sealed segment changes nothing visible and reclaims dead bytes.
    const dir = await dirs.make();
    const clock = new FakeClock();
    const engine = await open(dir, { clock, maxSegmentBytes: 4096 });
    for (let i = 0; i < 600; i++) {
      const key = `k${i % 50}`;
      if (i % 9 === 0) await engine.delete(key);
      else if (i % 17 === 0) await engine.batch([{ type: 'put', key, value: bytes(`b${i}`) }, { type: 'put', key: `x${i}`, value: bytes('x') }]);
      else await engine.put(key, bytes(`value ${i} `.repeat(3)));
    }
    const before = await dump(engine);
    const totalBefore = engine.stats().totalBytes;
    const summary = await engine.compact({ segments: engine.segments().filter((s) => !s.active) });
    expect(summary?.inputs.length).toBeGreaterThan(5);
    expect(await dump(engine)).toEqual(before);
    expect(engine.stats().totalBytes).toBeLessThan(totalBefore / 2);
    expect(engine.stats().compactions).toBe(1);
    await engine.close();
    await expectAfterRestart(dir, before, { clock });
  });

  it('reclaims expired records without resurrecting an older value', async () => {
    // Shows that an expired record is dropped or turned into a tombstone, never simply forgotten
    // while an older value of the key sits in a segment outside the compaction.
    const dir = await dirs.make();
    const clock = new FakeClock();
    const engine = await open(dir, { clock });
    await engine.put('k', bytes('old, never expires'));
    await engine.rollSegment();
    await engine.put('k', bytes('new, expires'), { expiresAtMs: clock.now() + 1000 });
    for (let i = 0; i < 50; i++) await engine.put(`t${i}`, new Uint8Array(200), { expiresAtMs: clock.now() + 1000 });
    await engine.rollSegment();
    clock.advance(1000);
    const [, s2] = engine.segments();
    const sizeBefore = s2!.sizeBytes;
    await engine.compact({ segments: [s2!] });
    expect(await engine.get('k')).toBeUndefined();
    expect(engine.stats().keys).toBe(0);
    const out = engine.segments().find((s) => s.id === 2);
    expect(out!.sizeBytes).toBeLessThan(sizeBefore / 5); // only tombstones are left
    await engine.close();
    await expectAfterRestart(dir, new Map(), { clock });
  });

  it('serves reads and takes writes while a compaction runs', async () => {
    // Shows that compaction blocks nothing: reads see the right values throughout, and writes made
    // during the copy win over the copies.
    const dir = await dirs.make();
    const engine = await open(dir, { maxSegmentBytes: 24 * 1024, valueCacheMaxBytes: 0 });
    const model = new Map<string, string>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 500; i++) {
        const v = `r${round}-${i}`.padEnd(60, '.');
        await engine.put(`k${i}`, bytes(v));
        model.set(`k${i}`, v);
      }
    }
    const sealed = engine.segments().filter((s) => !s.active);
    expect(sealed.length).toBeGreaterThan(2);
    let compactionDone = false;
    const compaction = engine.compact({ segments: sealed }).finally(() => (compactionDone = true));
    let opsDuringCompaction = 0;
    for (let i = 0; !compactionDone; i = (i + 1) % 500) {
      const key = `k${i}`;
      if (i % 3 === 0) {
        const v = `during-${i}`;
        await engine.put(key, bytes(v));
        model.set(key, v);
      } else {
        expect(text((await engine.get(key))?.value)).toBe(model.get(key));
      }
      opsDuringCompaction++;
    }
    await compaction;
    expect(opsDuringCompaction).toBeGreaterThan(0);
    for (const [k, v] of model) expect(text((await engine.get(k))?.value)).toBe(v);
    const expected = await dump(engine);
    await engine.close();
    await expectAfterRestart(dir, expected);
  });

  it('gives the same contents when a crash left the inputs next to the output', async () => {
    // Shows the crash window between renaming the output and deleting the inputs is harmless, and
    // that unfinished temporary files are cleaned up.
    const dir = await dirs.make();
    const engine = await open(dir);
    await engine.put('a', bytes('1'));
    await engine.put('b', bytes('1'));
    await engine.rollSegment();
    await engine.delete('a');
    await engine.put('b', bytes('2'));
    await engine.put('c', bytes('3'));
    await engine.rollSegment();
    const sealed = engine.segments().filter((s) => !s.active);
    const saved = new Map<string, Buffer>();
    for (const s of sealed) saved.set(s.file, await fs.readFile(path.join(dir, s.file)));
    await engine.compact({ segments: sealed });
    const expected = await dump(engine);
    await engine.close();
    for (const [file, content] of saved) await fs.writeFile(path.join(dir, file), content);
    await fs.writeFile(path.join(dir, '0000000009-0003.seg.tmp'), 'half a compaction');
    await expectAfterRestart(dir, expected);
    expect((await fs.readdir(dir)).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('compacts by itself when the dead share passes the threshold', async () => {
    // Shows automatic compaction, driven by the injected timers.
    const dir = await dirs.make();
    const pending: (() => void)[] = [];
    const timers: Timers = {
      setTimer: (_ms: number, cb: () => void): TimerHandle => ({ id: pending.push(cb) }),
      clearTimer: () => {},
    };
    const engine = await open(dir, { timers, compactionCheckIntervalMs: 1000, compactionDeadRatio: 0.5, maxSegmentBytes: 8192 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 40; i++) await engine.put(`k${i}`, bytes(`round ${round}`.padEnd(100, '.')));
    }
    const before = await dump(engine);
    for (const cb of pending.splice(0)) cb();
    await vi.waitFor(() => expect(engine.stats().compactions).toBeGreaterThan(0), { timeout: 10_000, interval: 10 });
    expect(await dump(engine)).toEqual(before);
    await engine.close();
  });
});
