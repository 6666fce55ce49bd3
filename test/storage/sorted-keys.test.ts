// The ordered key set behind scans agrees with a sorted array through inserts, removals, merges of
// its pending keys and rebuilds after many removals.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortedKeys } from '../../src/storage/log/sorted-keys.js';

function walkAll(set: SortedKeys, from: string, max = Infinity): string[] {
  const out: string[] = [];
  set.walk(from, (k) => {
    out.push(k);
    return out.length < max;
  });
  return out;
}

describe('SortedKeys', () => {
  it('walks the same keys as a sorted model after random adds and removes', () => {
    // Shows the walk order and content match the model from any start, with small and large batches
    // of changes (so both the pending merge and the stale rebuild run).
    fc.assert(fc.property(
      fc.array(fc.string({ maxLength: 4 }), { maxLength: 300 }),
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 4000 })), { maxLength: 4000 }),
      fc.string({ maxLength: 3 }),
      (initial, ops, from) => {
        const model = new Set(initial);
        const set = new SortedKeys(model);
        for (const [add, n] of ops) {
          const key = `k${n}`;
          if (add && !model.has(key)) {
            set.add(key);
            model.add(key);
          } else if (!add && model.has(key)) {
            set.remove(key);
            model.delete(key);
          }
        }
        const sorted = [...model].sort();
        expect(set.size).toBe(model.size);
        expect(walkAll(set, '')).toEqual(sorted);
        expect(walkAll(set, from)).toEqual(sorted.filter((k) => k >= from));
        expect(walkAll(set, from, 5)).toEqual(sorted.filter((k) => k >= from).slice(0, 5));
      }), { numRuns: 60 });
  });

  it('re-adds a removed key exactly once', () => {
    // Shows that a key removed (marked stale) and added again is walked once, not twice.
    const set = new SortedKeys(['a', 'b', 'c']);
    set.remove('b');
    set.add('b');
    set.add('bb');
    set.remove('bb');
    expect(walkAll(set, '')).toEqual(['a', 'b', 'c']);
  });
});
