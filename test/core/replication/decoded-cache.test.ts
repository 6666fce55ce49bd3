// The decoded-object cache answers only for the very bytes an object was decoded from, admits a
// key on its second offer, and stays within its entry and byte bounds.
import { describe, expect, it } from 'vitest';
import { DecodedObjectCache } from '../../../src/core/replication/decoded-cache.js';
import type { KvObject } from '../../../src/core/version/object.js';

const obj = (counter: number): KvObject => ({
  clock: [['n1', counter, 0]],
  siblings: [{ value: new Uint8Array([counter]), dot: ['n1', counter], writtenAtMs: 0, node: 'n1' }],
});

describe('DecodedObjectCache', () => {
  it('answers for the same bytes instance or equal bytes, and for nothing else', () => {
    // Shows validity by identity (then by content): other bytes for the key are a miss, never a stale hit.
    const cache = new DecodedObjectCache({ maxEntries: 8 });
    const bytes = new Uint8Array([1, 2, 3]);
    const o = obj(1);
    cache.set('k', bytes, o);
    expect(cache.get('k', bytes)).toBe(o);
    const equal = new Uint8Array([1, 2, 3]);
    expect(cache.get('k', equal)).toBe(o);
    expect(cache.get('k', new Uint8Array([1, 2, 4]))).toBeUndefined();
    expect(cache.get('k', new Uint8Array([1, 2]))).toBeUndefined();
    expect(cache.get('other', bytes)).toBeUndefined();
    cache.delete('k');
    expect(cache.get('k', bytes)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.sizeBytes).toBe(0);
  });

  it('admits a key only when it was offered before or is cached', () => {
    // Shows the admission filter: a key seen once is not cached; seen twice it is.
    const cache = new DecodedObjectCache({ maxEntries: 64 });
    expect(cache.admits('k')).toBe(false);
    expect(cache.admits('k')).toBe(true);
    cache.set('k', new Uint8Array([1]), obj(1));
    expect(cache.admits('k')).toBe(true);
    expect(cache.notAdmitted).toBe(1);
  });

  it('holds at most maxEntries entries and maxBytes bytes over many inserts', () => {
    // Shows both bounds hold whatever the keys, and that a disabled cache holds nothing.
    const cache = new DecodedObjectCache({ maxEntries: 16, maxBytes: 16 * 1024 });
    for (let i = 0; i < 5000; i++) {
      cache.set(`key-${i}`, new Uint8Array(200 + (i % 700)), obj(i + 1));
      expect(cache.size).toBeLessThanOrEqual(16);
      expect(cache.sizeBytes).toBeLessThanOrEqual(16 * 1024);
    }
    expect(cache.size).toBeGreaterThan(0);
    const last = new Uint8Array(10);
    cache.set('last', last, obj(1));
    expect(cache.get('last', last)).toBeDefined();
    // An object above a sixteenth of the budget is not cached.
    const big = new Uint8Array(2000);
    cache.set('big', big, obj(1));
    expect(cache.get('big', big)).toBeUndefined();

    const off = new DecodedObjectCache({ maxEntries: 0 });
    off.set('k', last, obj(1));
    expect(off.admits('k')).toBe(false);
    expect(off.get('k', last)).toBeUndefined();
    expect(off.size).toBe(0);
  });
});
