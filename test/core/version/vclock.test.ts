import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../../src/errors.js';
import {
  clockFromEntries,
  clockProblem,
  compare,
  covers,
  descends,
  emptyClock,
  equalClocks,
  get,
  increment,
  merge,
  prune,
  type VClock,
} from '../../../src/core/version/vclock.js';
import { clockArb, clockModel } from './arbitraries.js';

const RUNS = { numRuns: 200 };

describe('vector clock basics', () => {
  // increment creates an entry at 1, then advances it, keeping entries sorted by node id.
  it('increments a node counter and keeps entries sorted', () => {
    let c = emptyClock();
    c = increment(c, 'n2', 10);
    c = increment(c, 'n1', 20);
    c = increment(c, 'n2', 30);
    expect(c).toEqual([['n1', 1, 20], ['n2', 2, 30]]);
    expect(get(c, 'n2')).toBe(2);
    expect(get(c, 'n3')).toBe(0);
  });

  // increment never moves an entry's timestamp backwards, even when the caller's clock stepped back.
  it('keeps the newest timestamp on increment', () => {
    const c = increment(increment(emptyClock(), 'n1', 100), 'n1', 50);
    expect(c).toEqual([['n1', 2, 100]]);
  });

  // increment and merge return new arrays and leave their arguments untouched.
  it('never mutates its inputs', () => {
    const a = clockFromEntries([['n1', 1, 0]]);
    const b = clockFromEntries([['n2', 3, 5]]);
    const snapshot = JSON.stringify([a, b]);
    increment(a, 'n0', 1);
    increment(a, 'n1', 1);
    merge(a, b);
    prune(merge(a, b), 1e12, { smallVclockEntries: 0, bigVclockEntries: 0, youngVclockMs: 0 });
    expect(JSON.stringify([a, b])).toBe(snapshot);
  });

  // compare returns each of its four outcomes in the textbook cases.
  it('compares in all four outcomes', () => {
    const a = clockFromEntries([['n1', 1, 0]]);
    const b = clockFromEntries([['n1', 2, 0]]);
    const c = clockFromEntries([['n1', 1, 0], ['n2', 1, 0]]);
    expect(compare(a, b)).toBe('before');
    expect(compare(b, a)).toBe('after');
    expect(compare(a, clockFromEntries([['n1', 1, 99]]))).toBe('equal');
    expect(compare(b, c)).toBe('concurrent');
    expect(compare(emptyClock(), a)).toBe('before');
    expect(compare(emptyClock(), emptyClock())).toBe('equal');
  });

  // covers is true exactly for dots at or below the clock's counter for that node.
  it('covers dots up to the counter', () => {
    const c = clockFromEntries([['n1', 3, 0]]);
    expect(covers(c, ['n1', 3])).toBe(true);
    expect(covers(c, ['n1', 4])).toBe(false);
    expect(covers(c, ['n2', 1])).toBe(false);
  });

  // clockProblem accepts canonical clocks and names what is wrong with malformed ones.
  it('validates untrusted clocks', () => {
    const limits = { maxNodeIdChars: 4, maxCounter: 100 };
    expect(clockProblem([['a', 1, 0], ['b', 2, 5]], limits)).toBeUndefined();
    expect(clockProblem({}, limits)).toMatch(/not an array/);
    expect(clockProblem([['b', 1, 0], ['a', 1, 0]], limits)).toMatch(/sorted/);
    expect(clockProblem([['a', 1, 0], ['a', 2, 0]], limits)).toMatch(/sorted/);
    expect(clockProblem([['a', 0, 0]], limits)).toMatch(/counter/);
    expect(clockProblem([['a', 1.5, 0]], limits)).toMatch(/counter/);
    expect(clockProblem([['a', 101, 0]], limits)).toMatch(/counter/);
    expect(clockProblem([['', 1, 0]], limits)).toMatch(/node id/);
    expect(clockProblem([['abcde', 1, 0]], limits)).toMatch(/node id/);
    expect(clockProblem([['a', 1, Number.NaN]], limits)).toMatch(/timestamp/);
    expect(clockProblem([['a', 1]], limits)).toMatch(/triple/);
  });
});

describe('vector clock properties', () => {
  // merge is commutative, associative and idempotent, timestamps included.
  it('merge is a semilattice', () => {
    fc.assert(fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
      expect(equalClocks(merge(a, b), merge(b, a))).toBe(true);
      expect(equalClocks(merge(merge(a, b), c), merge(a, merge(b, c)))).toBe(true);
      expect(equalClocks(merge(a, a), a)).toBe(true);
    }), RUNS);
  });

  // merge is the pointwise maximum of the counters, checked against a map model.
  it('merge is the pointwise maximum', () => {
    fc.assert(fc.property(clockArb, clockArb, (a, b) => {
      const ma = clockModel(a);
      const mb = clockModel(b);
      const m = merge(a, b);
      for (const id of new Set([...ma.keys(), ...mb.keys()])) {
        expect(get(m, id)).toBe(Math.max(ma.get(id) ?? 0, mb.get(id) ?? 0));
      }
      expect(m.length).toBe(new Set([...ma.keys(), ...mb.keys()]).size);
      expect(clockProblem(m, { maxNodeIdChars: 8, maxCounter: 100 })).toBeUndefined();
    }), RUNS);
  });

  // compare agrees with a map model, with its mirror image, and with descends.
  it('compare is consistent with descends and with the model', () => {
    const mirror = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' } as const;
    fc.assert(fc.property(clockArb, clockArb, (a, b) => {
      const ma = clockModel(a);
      const mb = clockModel(b);
      const ids = new Set([...ma.keys(), ...mb.keys()]);
      const aGeB = [...ids].every((id) => (ma.get(id) ?? 0) >= (mb.get(id) ?? 0));
      const bGeA = [...ids].every((id) => (mb.get(id) ?? 0) >= (ma.get(id) ?? 0));
      const expected = aGeB && bGeA ? 'equal' : aGeB ? 'after' : bGeA ? 'before' : 'concurrent';
      expect(compare(a, b)).toBe(expected);
      expect(compare(b, a)).toBe(mirror[expected]);
      expect(descends(a, b)).toBe(aGeB);
      expect(descends(merge(a, b), a)).toBe(true);
      expect(['before', 'equal']).toContain(compare(a, merge(a, b)));
    }), RUNS);
  });

  // After increment the clock strictly descends its input and covers the new dot.
  it('increment moves strictly forward', () => {
    fc.assert(fc.property(clockArb, fc.constantFrom('a', 'b', 'z'), (a, id) => {
      const next = increment(a, id, 10);
      expect(compare(next, a)).toBe('after');
      expect(covers(next, [id, get(a, id) + 1])).toBe(true);
      expect(covers(a, [id, get(a, id) + 1])).toBe(false);
    }), RUNS);
  });
});

describe('vector clock pruning', () => {
  function clockOf(count: number, lastUpdatedMs: (i: number) => number): VClock {
    return clockFromEntries(Array.from({ length: count }, (_, i) => [`n${String(i).padStart(3, '0')}`, 1, lastUpdatedMs(i)] as const));
  }

  // With the defaults (small = big = 50), a 60-entry clock whose entries are all older than 20 s loses its 10 oldest entries.
  it('drops the oldest entries beyond the size bound', () => {
    const now = 1_000_000_000;
    const clock = clockOf(60, (i) => now - 100_000 + i);
    const pruned = prune(clock, now);
    expect(pruned.length).toBe(50);
    expect(pruned).toEqual(clock.slice(10));
  });

  // Young entries are never dropped, however many there are: the loop stops at the first young entry.
  it('keeps young entries above the size bound', () => {
    const now = 1_000_000_000;
    expect(prune(clockOf(60, () => now - 19_999), now)).toHaveLength(60);
    // 5 old entries, 55 young: only the 5 old ones can go, leaving 55 (> 50).
    const mixed = clockOf(60, (i) => (i < 5 ? now - 30_000 : now - 1_000));
    expect(prune(mixed, now)).toEqual(mixed.slice(5));
  });

  // Between small and big, only entries older than oldVclockMs are dropped; at or below small nothing is.
  it('drops entries older than oldVclockMs between the small and big bounds', () => {
    const options = { smallVclockEntries: 5, bigVclockEntries: 10, youngVclockMs: 10, oldVclockMs: 1_000 };
    const now = 10_000;
    // 8 entries, three of them older than 1 s: all three go (8 -> 5).
    const clock = clockOf(8, (i) => (i < 3 ? now - 5_000 : now - 500));
    expect(prune(clock, now, options)).toEqual(clock.slice(3));
    // 8 entries, six of them old: dropping stops at small (5).
    const manyOld = clockOf(8, (i) => (i < 6 ? now - 5_000 + i : now - 500));
    expect(prune(manyOld, now, options)).toEqual(manyOld.slice(3));
    // 8 entries, none older than 1 s, none young: the size is between small and big, so nothing goes.
    const notOld = clockOf(8, () => now - 500);
    expect(prune(notOld, now, options)).toBe(notOld);
    // 12 entries, none old: above big, so the oldest go down to big (10).
    const big = clockOf(12, (i) => now - 500 - (12 - i));
    expect(prune(big, now, options)).toEqual(big.slice(2));
  });

  // Oldest-first ties are broken by node id, and protected node ids are skipped but still counted.
  it('breaks ties by node id and respects keepNodeIds', () => {
    const clock = clockFromEntries([['c', 1, 0], ['a', 1, 0], ['b', 1, 0], ['d', 1, 5]]);
    const options = { smallVclockEntries: 2, bigVclockEntries: 2, youngVclockMs: 0 };
    expect(prune(clock, 100, options).map((e) => e[0])).toEqual(['c', 'd']);
    expect(prune(clock, 100, { ...options, keepNodeIds: new Set(['a']) }).map((e) => e[0])).toEqual(['a', 'd']);
    expect(prune(clock, 100, { ...options, keepNodeIds: new Set(['a', 'b', 'c', 'd']) })).toBe(clock);
  });

  // Invalid bounds are configuration errors, not crashes.
  it('rejects invalid bounds', () => {
    expect(() => prune(emptyClock(), 0, { smallVclockEntries: -1 })).toThrow(InvalidConfigError);
    expect(() => prune(emptyClock(), 0, { youngVclockMs: 1.5 })).toThrow(InvalidConfigError);
  });

  // A pruned clock only ever loses entries: the original descends it.
  it('only removes entries', () => {
    fc.assert(fc.property(clockArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 10 }), (clock, small, nowMs) => {
      const pruned = prune(clock, nowMs, { smallVclockEntries: small, bigVclockEntries: small, youngVclockMs: 2 });
      expect(descends(clock, pruned)).toBe(true);
      for (const entry of pruned) expect(clock).toContainEqual(entry);
      expect(pruned.length).toBeGreaterThanOrEqual(Math.min(small, clock.length));
    }), RUNS);
  });
});
