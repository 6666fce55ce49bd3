// The value cache evicts entries not used since its eviction hand last passed (second chance, close
// to least recently used) and stays within its byte budget.
import { describe, expect, it } from 'vitest';
import { ValueCache } from '../../src/storage/log/value-cache.js';

describe('ValueCache', () => {
  it('evicts the oldest entry not used since, counting a hit as a use', () => {
    // Shows the second chance: the entry read since it was cached survives, the oldest untouched one goes.
    const cache = new ValueCache(3 * (100 + 2 + 64), 1024);
    for (const k of ['a', 'b', 'c']) cache.set(k, new Uint8Array(100));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', new Uint8Array(100)); // evicts b
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
    expect(cache.entries).toBe(3);
  });

  it('gives every entry one second chance per pass, so a hot entry outlives many evictions', () => {
    // Shows that an entry read between insertions is never evicted while colder ones come and go.
    const cache = new ValueCache(4 * (100 + 2 * 4 + 64), 1024);
    cache.set('hot0', new Uint8Array(100));
    for (let i = 0; i < 1000; i++) {
      expect(cache.get('hot0')).toBeDefined();
      cache.set(`c${String(i).padStart(3, '0')}`, new Uint8Array(100));
    }
    expect(cache.entries).toBe(4);
    expect(cache.get('c999')).toBeDefined();
  });

  it('stays within its budget over many inserts and hits, and skips oversized values', () => {
    // Shows the byte budget holds under churn and that a value above the entry limit is not cached.
    const cache = new ValueCache(64 * 1024, 4096);
    for (let i = 0; i < 200_000; i++) {
      cache.set(`k${i}`, new Uint8Array(i % 500));
      if (i % 7 === 0) cache.get(`k${i - 3}`);
    }
    expect(cache.sizeBytes).toBeLessThanOrEqual(64 * 1024);
    expect(cache.get('k199999')).toBeDefined();
    cache.set('huge', new Uint8Array(5000));
    expect(cache.get('huge')).toBeUndefined();
  });
});
