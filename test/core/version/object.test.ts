import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidConfigError, TooManySiblingsError } from '../../../src/errors.js';
import {
  applyWrite,
  emptyObject,
  equalObjects,
  isExpired,
  isTombstoneOnly,
  liveSiblings,
  mergeObjects,
  pickDeterministic,
  pruneObject,
  reconcile,
  siblingsOverWarnThreshold,
  type KvObject,
  type Sibling,
} from '../../../src/core/version/object.js';
import { clockFromEntries, covers, emptyClock, get } from '../../../src/core/version/vclock.js';
import { bytes, objectArb, objectInvariantProblem, text } from './arbitraries.js';

const RUNS = { numRuns: 200 };

function values(obj: KvObject): (string | null)[] {
  return obj.siblings.map((s) => text(s.value));
}

describe('applyWrite scenarios', () => {
  // Two blind writes through one coordinator are both kept, as two siblings with consecutive dots.
  it('keeps blind writes through one coordinator as siblings', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('v1'), 10);
    const v2 = applyWrite(v1, undefined, 'n1', bytes('v2'), 20);
    expect(values(v2)).toEqual(['v1', 'v2']);
    expect(v2.siblings.map((s) => s.dot)).toEqual([['n1', 1], ['n1', 2]]);
    expect(v2.clock).toEqual([['n1', 2, 20]]);
  });

  // A read-modify-write with the read's context replaces what was read: one sibling.
  it('replaces the read value on a write with its context', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('v1'), 10);
    const v2 = applyWrite(v1, v1.clock, 'n1', bytes('v2'), 20);
    expect(values(v2)).toEqual(['v2']);
    expect(v2.siblings[0]!.dot).toEqual(['n1', 2]);
  });

  // Two clients read the same context and write through two coordinators: after replica sync there are two siblings.
  it('keeps concurrent writes through two coordinators with the same context', () => {
    const base = applyWrite(undefined, undefined, 'n1', bytes('v0'), 10);
    const atN1 = applyWrite(base, base.clock, 'n1', bytes('from-n1'), 20);
    const atN2 = applyWrite(base, base.clock, 'n2', bytes('from-n2'), 21);
    const merged = mergeObjects(atN1, atN2);
    expect(values(merged)).toEqual(['from-n1', 'from-n2']);
    // A client that read both and writes back leaves one sibling.
    const resolved = applyWrite(merged, merged.clock, 'n2', bytes('resolved'), 30);
    expect(values(resolved)).toEqual(['resolved']);
  });

  // Two clients read the same context and write through one coordinator: two siblings (dvvset: two siblings, not one).
  it('keeps concurrent writes through one coordinator with the same context', () => {
    const base = applyWrite(undefined, undefined, 'n1', bytes('v0'), 10);
    const first = applyWrite(base, base.clock, 'n1', bytes('alice'), 20);
    const second = applyWrite(first, base.clock, 'n1', bytes('bob'), 21);
    expect(values(second)).toEqual(['alice', 'bob']);
  });

  // A delete with the read's context leaves one tombstone, and a later write with the tombstone's context removes it.
  it('deletes into a tombstone and writes over it', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('v1'), 10);
    const deleted = applyWrite(v1, v1.clock, 'n2', null, 20);
    expect(deleted.siblings).toHaveLength(1);
    expect(deleted.siblings[0]!.value).toBeNull();
    expect(isTombstoneOnly(deleted)).toBe(true);
    expect(liveSiblings(deleted)).toEqual([]);
    const rewritten = applyWrite(deleted, deleted.clock, 'n1', bytes('v2'), 30);
    expect(values(rewritten)).toEqual(['v2']);
    expect(isTombstoneOnly(rewritten)).toBe(false);
  });

  // A blind delete supersedes nothing: the old value stays next to the tombstone.
  it('keeps the value next to a blind delete', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('v1'), 10);
    const deleted = applyWrite(v1, undefined, 'n1', null, 20);
    expect(values(deleted)).toEqual(['v1', null]);
    expect(isTombstoneOnly(deleted)).toBe(false);
  });

  // A context newer than the coordinator's copy (read from another replica) still supersedes what it covers and advances the dot past it.
  it('uses the larger of the local and context counters for the new dot', () => {
    const context = clockFromEntries([['n1', 5, 0], ['n2', 1, 0]]);
    const local = applyWrite(undefined, undefined, 'n1', bytes('old'), 10);
    const written = applyWrite(local, context, 'n1', bytes('new'), 20);
    expect(written.siblings.map((s) => s.dot)).toEqual([['n1', 6]]);
    expect(get(written.clock, 'n2')).toBe(1);
  });

  // ttlMs sets expiresAtMs, isExpired and liveSiblings honour it, and a bad ttl is an argument error.
  it('handles expiry', () => {
    const obj = applyWrite(undefined, undefined, 'n1', bytes('v'), 1_000, { ttlMs: 500 });
    const sibling = obj.siblings[0]!;
    expect(sibling.expiresAtMs).toBe(1_500);
    expect(isExpired(sibling, 1_499)).toBe(false);
    expect(isExpired(sibling, 1_500)).toBe(true);
    expect(liveSiblings(obj, 1_499)).toHaveLength(1);
    expect(liveSiblings(obj, 1_500)).toHaveLength(0);
    expect(isTombstoneOnly(obj, 1_500)).toBe(true);
    expect(isTombstoneOnly(obj)).toBe(false);
    expect(() => applyWrite(undefined, undefined, 'n1', bytes('v'), 0, { ttlMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => applyWrite(undefined, undefined, 'n1', bytes('v'), 0, { ttlMs: 1.5 })).toThrow(InvalidArgumentError);
  });

  // Blind writes past maxSiblings are refused with the typed error; the warn helper fires above its threshold.
  it('bounds the number of siblings', () => {
    let obj: KvObject = emptyObject();
    for (let i = 0; i < 4; i++) obj = applyWrite(obj, undefined, 'n1', bytes(`v${i}`), i, { maxSiblings: 4 });
    expect(obj.siblings).toHaveLength(4);
    expect(siblingsOverWarnThreshold(obj, { siblingsWarnThreshold: 3 })).toBe(true);
    expect(siblingsOverWarnThreshold(obj, { siblingsWarnThreshold: 4 })).toBe(false);
    expect(siblingsOverWarnThreshold(obj)).toBe(false);
    let error: unknown;
    try {
      applyWrite(obj, undefined, 'n1', bytes('v4'), 9, { maxSiblings: 4, key: 'k1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TooManySiblingsError);
    expect((error as TooManySiblingsError).details).toEqual({ key: 'k1', count: 5, max: 4 });
    // A resolving write is accepted even when the object is at the limit.
    expect(applyWrite(obj, obj.clock, 'n1', bytes('r'), 10, { maxSiblings: 4 }).siblings).toHaveLength(1);
    expect(() => applyWrite(obj, undefined, 'n1', null, 0, { maxSiblings: 0 })).toThrow(InvalidConfigError);
  });

  // The default limit is 100 siblings, as in Riak.
  it('refuses the 101st sibling by default', () => {
    let obj: KvObject = emptyObject();
    for (let i = 0; i < 100; i++) obj = applyWrite(obj, undefined, 'n1', null, i);
    expect(siblingsOverWarnThreshold(obj)).toBe(true);
    expect(() => applyWrite(obj, undefined, 'n1', null, 100)).toThrow(TooManySiblingsError);
  });
});

describe('dvvset parity (the update and sync tests of Riak dvvset.erl)', () => {
  // update_test: the same histories give the same surviving values.
  it('matches dvvset update_test', () => {
    const a0 = applyWrite(undefined, undefined, 'a', bytes('v1'), 0);
    const a1 = applyWrite(a0, a0.clock, 'a', bytes('v2'), 0);
    const a2 = applyWrite(a1, a1.clock, 'b', bytes('v3'), 0);
    const a3 = applyWrite(a1, a0.clock, 'b', bytes('v4'), 0);
    const a4 = applyWrite(a1, a0.clock, 'a', bytes('v5'), 0);
    expect(values(a0)).toEqual(['v1']);
    expect(values(a1)).toEqual(['v2']);
    expect(values(a2)).toEqual(['v3']);
    expect(a2.clock.map(([id, n]) => [id, n])).toEqual([['a', 2], ['b', 1]]);
    expect(values(a3)).toEqual(['v2', 'v4']);
    expect(values(a4)).toEqual(['v2', 'v5']);
    expect(get(a4.clock, 'a')).toBe(3);
  });

  // syn_update_test: Mary writes v1 and v2 blind, Peter writes v3 with the context of v1: v2 and v3 remain.
  it('matches dvvset syn_update_test', () => {
    const a0 = applyWrite(undefined, undefined, 'a', bytes('v1'), 0);
    const vv1 = a0.clock;
    const a1 = applyWrite(a0, undefined, 'a', bytes('v2'), 0);
    const a2 = applyWrite(a1, vv1, 'a', bytes('v3'), 0);
    expect(values(a1)).toEqual(['v1', 'v2']);
    expect(values(a2)).toEqual(['v2', 'v3']);
  });

  // sync_test: a replica that superseded a value removes it from a replica that still holds it, in either order.
  it('matches dvvset sync_test', () => {
    const a = applyWrite(undefined, undefined, 'a', bytes('v1'), 0);
    const a1 = applyWrite(a, a.clock, 'a', bytes('v2'), 0);
    const a3 = applyWrite(a1, a1.clock, 'b', bytes('v3'), 0);
    const a4 = applyWrite(a1, a1.clock, 'c', bytes('v3'), 0);
    expect(values(mergeObjects(a, a1))).toEqual(['v2']);
    expect(equalObjects(mergeObjects(a, a1), mergeObjects(a1, a))).toBe(true);
    const m = mergeObjects(a4, a3);
    expect(m.siblings.map((s) => s.dot)).toEqual([['b', 1], ['c', 1]]);
    expect(equalObjects(m, mergeObjects(a3, a4))).toBe(true);
    const y = applyWrite(undefined, undefined, 'b', bytes('v2'), 0);
    expect(values(mergeObjects(a, y))).toEqual(['v1', 'v2']);
  });
});

describe('mergeObjects and reconcile', () => {
  // Merging is commutative, associative and idempotent on canonical forms, and keeps the object invariants.
  it('is a semilattice', () => {
    fc.assert(fc.property(objectArb, objectArb, objectArb, (a, b, c) => {
      const ab = mergeObjects(a, b);
      expect(objectInvariantProblem(ab)).toBeUndefined();
      expect(equalObjects(ab, mergeObjects(b, a))).toBe(true);
      expect(equalObjects(mergeObjects(ab, c), mergeObjects(a, mergeObjects(b, c)))).toBe(true);
      expect(equalObjects(mergeObjects(a, a), a)).toBe(true);
      expect(equalObjects(reconcile([a, b, c]), reconcile([c, a, b]))).toBe(true);
    }), RUNS);
  });

  // A sibling survives a merge exactly when the other side has not seen its dot or still holds it.
  it('drops exactly the siblings the other side superseded', () => {
    fc.assert(fc.property(objectArb, objectArb, (a, b) => {
      const merged = mergeObjects(a, b);
      const kept = new Set(merged.siblings.map((s) => `${s.dot[0]}:${s.dot[1]}`));
      const held = (o: KvObject, s: Sibling) => o.siblings.some((t) => t.dot[0] === s.dot[0] && t.dot[1] === s.dot[1]);
      for (const [self, other] of [[a, b], [b, a]] as const) {
        for (const s of self.siblings) {
          const survives = !covers(other.clock, s.dot) || held(other, s);
          expect(kept.has(`${s.dot[0]}:${s.dot[1]}`)).toBe(survives);
        }
      }
    }), RUNS);
  });

  // Merging returns its first argument unchanged when the second adds nothing, so callers can skip a rewrite.
  it('returns the same object when nothing changes', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('v1'), 10);
    const v2 = applyWrite(v1, v1.clock, 'n1', bytes('v2'), 20);
    expect(mergeObjects(v2, v1)).toBe(v2);
    expect(mergeObjects(v1, v2)).not.toBe(v1);
    expect(reconcile([])).toEqual(emptyObject());
  });

  // A write whose context is the reconciled clock leaves exactly one sibling, whatever the replicas held.
  it('writing with the reconciled context resolves to one sibling', () => {
    fc.assert(fc.property(fc.array(objectArb, { minLength: 1, maxLength: 4 }), fc.boolean(), (objects, del) => {
      const read = reconcile(objects);
      for (const local of [read, objects[0]!]) {
        const written = applyWrite(local, read.clock, 'a', del ? null : bytes('w'), 100);
        expect(written.siblings).toHaveLength(1);
        expect(covers(written.clock, written.siblings[0]!.dot)).toBe(true);
      }
    }), RUNS);
  });
});

describe('pickDeterministic', () => {
  // The latest write wins; equal times go to the greater node id, then the greater dot; a tombstone can win.
  it('picks the latest write with a documented tie-break', () => {
    const s = (node: string, counter: number, writtenAtMs: number, value: Uint8Array | null = bytes(node)): Sibling =>
      ({ value, dot: [node, counter], writtenAtMs, node });
    const obj = (siblings: Sibling[]): KvObject => ({ clock: emptyClock(), siblings });
    expect(pickDeterministic(obj([]))).toBeUndefined();
    expect(pickDeterministic(obj([s('a', 1, 5), s('b', 1, 3)]))!.node).toBe('a');
    expect(pickDeterministic(obj([s('a', 1, 5), s('b', 1, 5)]))!.node).toBe('b');
    expect(pickDeterministic(obj([s('a', 1, 5), s('a', 2, 5)]))!.dot).toEqual(['a', 2]);
    expect(pickDeterministic(obj([s('a', 1, 5), s('b', 1, 9, null)]))!.value).toBeNull();
  });

  // Every replica picks the same sibling from the same data, whatever order it merged in.
  it('is independent of merge order', () => {
    fc.assert(fc.property(objectArb, objectArb, (a, b) => {
      expect(pickDeterministic(mergeObjects(a, b))).toEqual(pickDeterministic(mergeObjects(b, a)));
    }), RUNS);
  });
});

describe('pruneObject', () => {
  // Pruning keeps the local node's entry and every entry a sibling's dot needs, and drops the rest oldest-first.
  it('never drops the local entry or an entry a sibling needs', () => {
    const clock = clockFromEntries([['a', 3, 0], ['b', 2, 0], ['c', 1, 0], ['d', 4, 0]]);
    const obj: KvObject = { clock, siblings: [{ value: bytes('x'), dot: ['c', 1], writtenAtMs: 0, node: 'c' }] };
    const options = { smallVclockEntries: 0, bigVclockEntries: 0, youngVclockMs: 0, localNodeId: 'b' };
    const pruned = pruneObject(obj, 1_000, options);
    expect(pruned.clock.map((e) => e[0])).toEqual(['b', 'c']);
    expect(pruned.siblings).toBe(obj.siblings);
    expect(pruneObject(obj, 1_000, { localNodeId: 'b' })).toBe(obj);
  });

  // Why the local entry is kept: had node a forgotten its own counter, its next blind write would
  // reuse dot (a, 1), which replica b has seen and superseded, and b would drop the new write.
  it('keeps the local entry so a coordinator never reuses a dot', () => {
    const a1 = applyWrite(undefined, undefined, 'a', bytes('first'), 0);
    const b1 = applyWrite(undefined, a1.clock, 'b', bytes('second'), 1);
    const a2 = mergeObjects(a1, b1);
    const a3 = pruneObject(a2, 100_000, { smallVclockEntries: 1, bigVclockEntries: 1, localNodeId: 'a' });
    const a4 = applyWrite(a3, undefined, 'a', bytes('third'), 100_001);
    expect(a4.siblings.map((s) => s.dot)).toEqual([['a', 2], ['b', 1]]);
    expect(values(mergeObjects(b1, a4))).toEqual(['third', 'second']);
    // The same prune run on b (which holds no sibling of a) may drop a's entry: only false siblings can follow.
    expect(get(pruneObject(a2, 100_000, { smallVclockEntries: 1, bigVclockEntries: 1, localNodeId: 'b' }).clock, 'a')).toBe(0);
  });

  // The false sibling pruning can cause: a pruned replica meets a stale one and an old, superseded value comes back.
  it('can resurrect a superseded value as a false sibling (documented consequence)', () => {
    const old = applyWrite(undefined, undefined, 'x', bytes('old'), 0);
    const current = applyWrite(old, old.clock, 'y', bytes('new'), 1);
    expect(values(mergeObjects(current, old))).toEqual(['new']);
    const pruned = pruneObject(current, 100_000, { smallVclockEntries: 0, bigVclockEntries: 0, localNodeId: 'y' });
    expect(get(pruned.clock, 'x')).toBe(0);
    expect(values(mergeObjects(pruned, old))).toEqual(['old', 'new']);
  });
});
