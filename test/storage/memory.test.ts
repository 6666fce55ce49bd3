// Runs the storage compliance suite against the memory engine, plus what is specific to it.
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/storage/memory.js';
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
