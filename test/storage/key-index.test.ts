// The log engine's hash index behaves like a Map<string, slot> under random inserts, removals and
// lookups, through table growth and backward-shift deletions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex, NEVER_EXPIRES } from '../../src/storage/log/key-index.js';

describe('KeyIndex', () => {
  it('agrees with a Map under random inserts, removals and lookups', () => {
    // Shows lookups, inserts and removals match a Map's, whatever the order and through growth.
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 6000 }), (ops) => {
      const index = new KeyIndex();
      const model = new Map<string, number>();
      for (const [insert, n] of ops) {
        const key = `k${n}`;
        const slot = index.slot(key);
        expect(slot).toBe(model.get(key));
        if (insert && slot === undefined) {
          const s = index.insert(key, 1, n, 10, NEVER_EXPIRES);
          model.set(key, s);
          expect(index.off[s]).toBe(n);
        } else if (!insert && slot !== undefined) {
          index.remove(key);
          model.delete(key);
        }
      }
      expect(index.size).toBe(model.size);
      for (const [key, slot] of model) expect(index.slot(key)).toBe(slot);
      expect(new Map(index.entries())).toEqual(model);
      expect([...index.keys()].sort()).toEqual([...model.keys()].sort());
    }), { numRuns: 40 });
  });

  it('finds every key after many removals in a crowded table', () => {
    // Shows backward-shift deletion keeps probe runs intact: remove every other key, the rest stay.
    const index = new KeyIndex();
    for (let i = 0; i < 20_000; i++) index.insert(`key-${i}`, 0, i, 1, NEVER_EXPIRES);
    for (let i = 0; i < 20_000; i += 2) index.remove(`key-${i}`);
    const wrong = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => (index.slot(`key-${i}`) === undefined) !== (i % 2 === 0));
    expect(wrong).toEqual([]);
    expect(index.size).toBe(10_000);
  });
});
