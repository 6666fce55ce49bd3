// Runs the storage compliance suite against the memory engine, plus what is specific to it.
import { describe, expect, it } from 'vitest';
import { MemoryEngine, POOLED_VALUE_MAX_BYTES, VALUE_POOL_BYTES } from '../../src/storage/memory.js';
import { openStorage } from '../../src/storage/index.js';
import { storageCompliance } from './compliance.js';
import { bytes, FakeClock } from './helpers.js';

storageCompliance('memory', async (o) => new MemoryEngine(o));

describe('memory engine', () => {
  it('is what openStorage gives for kind "memory"', async () => {
    // Shows the factory picks the engine by kind.
    const engine = await openStorage({ kind: 'memory', clock: new FakeClock() });
    expect(engine.kind).toBe('memory');
    await engine.put('k', bytes('v'));
    expect(engine.stats().keys).toBe(1);
    await engine.close();
  });

  it('frees expired entries lazily', async () => {
    // Shows that an expired entry stops counting in totalBytes once something touched it.
    const clock = new FakeClock();
    const engine = new MemoryEngine({ clock });
    await engine.put('k', new Uint8Array(1000), { expiresAtMs: clock.now() + 1 });
    expect(engine.stats().totalBytes).toBe(1001);
    clock.advance(1);
    expect(engine.stats().totalBytes).toBe(1001);
    expect(await engine.get('k')).toBeUndefined();
    expect(engine.stats().totalBytes).toBe(0);
    await engine.close();
  });

  it('pools small values without letting copies overlap, and gives large ones a buffer of their own', async () => {
    // Shows the pooled copies (ValuePool): many small records share pool buffers, yet no record's
    // bytes overlap another's, each equals what was put, and rewriting a key leaves the others intact.
    const engine = new MemoryEngine({ clock: new FakeClock() });
    const sizes = [0, 1, 7, 300, POOLED_VALUE_MAX_BYTES, POOLED_VALUE_MAX_BYTES + 1, 5000];
    const puts: Array<[string, Uint8Array]> = [];
    for (let i = 0; i < 3 * VALUE_POOL_BYTES / 100; i++) {
      const size = sizes[i % sizes.length]!;
      puts.push([`k${i}`, new Uint8Array(size).fill(i % 251)]);
    }
    for (const [key, value] of puts) await engine.put(key, value);
    await engine.put('k3', new Uint8Array(300).fill(250));
    puts[3] = ['k3', new Uint8Array(300).fill(250)];
    const stored = await Promise.all(puts.map(async ([key]) => (await engine.get(key))!.value));
    const ranges = stored.map((v) => ({ buffer: v.buffer, start: v.byteOffset, end: v.byteOffset + v.byteLength, size: v.byteLength }));
    for (let i = 0; i < stored.length; i++) {
      expect(stored[i]).toEqual(puts[i]![1]);
      expect(stored[i]!.buffer).not.toBe(puts[i]![1].buffer);
      if (ranges[i]!.size > POOLED_VALUE_MAX_BYTES) expect(ranges[i]!.buffer.byteLength).toBe(ranges[i]!.size);
      for (let j = 0; j < i; j++) {
        const [a, b] = [ranges[i]!, ranges[j]!];
        if (a.buffer === b.buffer && a.size > 0 && b.size > 0) expect(a.end <= b.start || b.end <= a.start).toBe(true);
      }
    }
    expect(new Set(ranges.filter((r) => r.size <= POOLED_VALUE_MAX_BYTES).map((r) => r.buffer)).size).toBeGreaterThan(1);
    await engine.close();
  });

  it('keeps its own copy of a value, also when the caller passes a Buffer it changes later', async () => {
    // Buffer's slice() is a view, not a copy: the engine must not keep the caller's memory.
    const engine = new MemoryEngine({ clock: new FakeClock() });
    const value = Buffer.from('before');
    await engine.put('k', value);
    value.write('after!');
    expect(Buffer.from((await engine.get('k'))!.value).toString()).toBe('before');
    await engine.close();
  });
});
