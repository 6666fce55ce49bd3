import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError, InvalidConfigError } from '../../../src/errors.js';
import { createKeyHasher, type KeyHasher } from '../../../src/core/ring/hash.js';
import { Ring, vnodeLabel, DEFAULT_VNODES_PER_NODE } from '../../../src/core/ring/ring.js';
import { fixedHasher, sampleKeys } from './fixtures.js';

let hasher: KeyHasher;
beforeAll(async () => {
  hasher = await createKeyHasher();
});

/** Five nodes, one token each: a=100, b=200, c=300, d=400, e=500. */
function smallRing(): Ring {
  const tokens: Record<string, number> = {};
  ['a', 'b', 'c', 'd', 'e'].forEach((node, i) => (tokens[vnodeLabel(node, 0)] = (i + 1) * 100));
  return Ring.build(['c', 'e', 'a', 'd', 'b'], fixedHasher(tokens), { vnodesPerNode: 1 });
}

describe('Ring placement', () => {
  // Shows a key belongs to the first token at or after its own, wrapping past the largest token.
  it('places keys on the first token clockwise, inclusive, with wrap-around', () => {
    const ring = smallRing();
    expect(ring.owner('@0')).toBe('a');
    expect(ring.owner('@100')).toBe('a');
    expect(ring.owner('@101')).toBe('b');
    expect(ring.owner('@500')).toBe('e');
    expect(ring.owner('@501')).toBe('a');
    expect(ring.owner('@4294967295')).toBe('a');
    expect(ring.preferenceList('@150', 3)).toEqual(['b', 'c', 'd']);
    expect(ring.preferenceList('@450', 3)).toEqual(['e', 'a', 'b']);
    expect(ring.preferenceList('@450', 9)).toEqual(['e', 'a', 'b', 'c', 'd']);
  });

  // Shows that the same membership in any order gives the same ring: same owners, preference
  // lists and ownership, so nodes agree without coordination.
  it('is deterministic whatever the order of the members', () => {
    const members = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6', 'node-7'];
    const reference = Ring.build(members, hasher);
    const keys = sampleKeys(300);
    fc.assert(fc.property(fc.shuffledSubarray(members, { minLength: members.length }), (shuffled) => {
      const ring = Ring.build(shuffled, hasher);
      expect(ring.nodes).toEqual(reference.nodes);
      expect(ring.ownership()).toEqual(reference.ownership());
      for (const key of keys) expect(ring.preferenceList(key, 3)).toEqual(reference.preferenceList(key, 3));
    }), { numRuns: 5 });
  });

  // Shows equal tokens of two nodes order by node id, whatever the input order, and the later
  // one owns an empty arc.
  it('breaks token collisions by node id', () => {
    const tokens = { [vnodeLabel('a', 0)]: 100, [vnodeLabel('b', 0)]: 100, [vnodeLabel('c', 0)]: 300 };
    for (const order of [['a', 'b', 'c'], ['c', 'b', 'a'], ['b', 'c', 'a']]) {
      const ring = Ring.build(order, fixedHasher(tokens), { vnodesPerNode: 1 });
      expect(ring.owner('@100')).toBe('a');
      expect(ring.preferenceList('@100', 3)).toEqual(['a', 'b', 'c']);
      expect(ring.ownership().get('b')).toBe(0);
    }
  });

  // Shows preference lists hold n distinct nodes (or all of them), start at the owner, and that a
  // shorter list is a prefix of a longer one.
  it('gives preference lists of distinct nodes starting at the owner', () => {
    for (const size of [1, 2, 3, 5, 12]) {
      const ring = Ring.build(Array.from({ length: size }, (_, i) => `n${i}`), hasher);
      for (const key of sampleKeys(200)) {
        const full = ring.preferenceList(key, size + 2);
        expect(full.length).toBe(size);
        expect(new Set(full).size).toBe(size);
        expect(full[0]).toBe(ring.owner(key));
        for (const n of [1, 2, 3, 5]) expect(ring.preferenceList(key, n)).toEqual(full.slice(0, n));
        expect(ring.preferenceListForToken(ring.tokenOf(key), 3)).toEqual(full.slice(0, 3));
      }
    }
  });

  // Shows the precomputed preference table and the ring walk give the same lists, for every n.
  it('answers the same from the preference table as from a walk', () => {
    const members = Array.from({ length: 11 }, (_, i) => `10.0.0.${i}:7000`);
    const tabled = Ring.build(members, hasher, { vnodesPerNode: 64, preferenceTableMaxN: 8 });
    const walked = Ring.build(members, hasher, { vnodesPerNode: 64, preferenceTableMaxN: 1 });
    for (const key of sampleKeys(300)) {
      for (let n = 1; n <= 12; n++) expect(tabled.preferenceList(key, n)).toEqual(walked.preferenceList(key, n));
    }
  });

  // Shows tokenOf is the hasher's token, and that vnode labels hash to the tokens of the ring.
  it('derives vnode tokens from the node id alone', () => {
    const ring = Ring.build(['x'], hasher, { vnodesPerNode: 4 });
    expect(ring.tokenOf('user:1')).toBe(hasher.token('user:1'));
    expect(ring.tokenCount).toBe(4);
    const token = hasher.token(vnodeLabel('x', 2));
    expect(ring.preferenceListForToken(token, 1)).toEqual(['x']);
    expect(ring.vnodesPerNode).toBe(4);
    expect(Ring.build(['x', 'y'], hasher).vnodesPerNode).toBe(DEFAULT_VNODES_PER_NODE);
  });
});

describe('Ring membership changes', () => {
  // Shows that when a node joins, every key whose owner changes moves to the new node, and that a
  // key's new preference list without the new node is a prefix of its old one (nothing else moves).
  it('moves keys only to a joining node', () => {
    const before = Ring.build(['n1', 'n2', 'n3', 'n4', 'n5'], hasher);
    const after = Ring.build(['n1', 'n2', 'n3', 'n4', 'n5', 'n6'], hasher);
    let moved = 0;
    const keys = sampleKeys(10_000);
    for (const key of keys) {
      const oldOwner = before.owner(key);
      const newOwner = after.owner(key);
      if (oldOwner !== newOwner) {
        moved++;
        expect(newOwner).toBe('n6');
      }
      const oldList = before.preferenceList(key, 3);
      const newList = after.preferenceList(key, 3).filter((node) => node !== 'n6');
      expect(oldList.slice(0, newList.length)).toEqual(newList);
    }
    // The keys that move are the new node's share, up to sampling noise.
    const share = after.ownership().get('n6') ?? 0;
    expect(Math.abs(moved / keys.length - share)).toBeLessThan(0.02);
    expect(share).toBeGreaterThan(0.12);
    expect(share).toBeLessThan(0.22);
  });

  // Shows that when a node leaves, only the keys it owned change owner.
  it('moves only the leaving node\'s keys', () => {
    const before = Ring.build(['a', 'b', 'c', 'd'], hasher);
    const after = Ring.build(['a', 'b', 'd'], hasher);
    for (const key of sampleKeys(5000)) {
      const oldOwner = before.owner(key);
      if (oldOwner !== 'c') expect(after.owner(key)).toBe(oldOwner);
    }
  });
});

describe('Ring annotated preference list', () => {
  const up = (...nodes: string[]) => (id: string) => nodes.includes(id);

  // Shows that with every node up the list is the preference list, all primaries.
  it('is all primaries when all are up', () => {
    const ring = smallRing();
    expect(ring.annotatedPreferenceList('@150', 3, () => true)).toEqual([
      { node: 'b', role: 'primary' }, { node: 'c', role: 'primary' }, { node: 'd', role: 'primary' },
    ]);
  });

  // Shows a down primary is replaced by the next up node past the primaries, tagged with whom it
  // stands for, and that up primaries come first, then fallbacks in the order of the primaries.
  it('replaces down primaries with the next up nodes clockwise, in order', () => {
    const ring = smallRing();
    expect(ring.annotatedPreferenceList('@150', 3, up('a', 'b', 'd', 'e'))).toEqual([
      { node: 'b', role: 'primary' }, { node: 'd', role: 'primary' },
      { node: 'e', role: 'fallback', standsFor: 'c' },
    ]);
    expect(ring.annotatedPreferenceList('@150', 3, up('a', 'd', 'e'))).toEqual([
      { node: 'd', role: 'primary' },
      { node: 'e', role: 'fallback', standsFor: 'b' }, { node: 'a', role: 'fallback', standsFor: 'c' },
    ]);
    // e is down too: the walk wraps around to a.
    expect(ring.annotatedPreferenceList('@150', 3, up('a', 'c', 'd'))).toEqual([
      { node: 'c', role: 'primary' }, { node: 'd', role: 'primary' },
      { node: 'a', role: 'fallback', standsFor: 'b' },
    ]);
  });

  // Shows the list is shorter when too few nodes are up, and empty when none is.
  it('is shorter when not enough nodes are up', () => {
    const ring = smallRing();
    expect(ring.annotatedPreferenceList('@150', 3, up('a'))).toEqual([{ node: 'a', role: 'fallback', standsFor: 'b' }]);
    expect(ring.annotatedPreferenceList('@150', 3, up('c', 'e'))).toEqual([
      { node: 'c', role: 'primary' }, { node: 'e', role: 'fallback', standsFor: 'b' },
    ]);
    expect(ring.annotatedPreferenceList('@150', 3, up())).toEqual([]);
    expect(ring.annotatedPreferenceList('@150', 9, up('b', 'c'))).toEqual([
      { node: 'b', role: 'primary' }, { node: 'c', role: 'primary' },
    ]);
  });

  // Shows, on a real ring with random down sets, the annotated list against its definition: up
  // primaries in order, then the first up non-primaries clockwise, one per down primary, in order;
  // no duplicates; isUp asked once per node at most.
  it('matches its definition on random down sets', () => {
    const members = Array.from({ length: 9 }, (_, i) => `node-${i}`);
    const ring = Ring.build(members, hasher, { vnodesPerNode: 128 });
    const keys = sampleKeys(50);
    fc.assert(fc.property(fc.subarray(members), fc.integer({ min: 1, max: 10 }), fc.constantFrom(...keys),
      (downNodes, n, key) => {
        const down = new Set(downNodes);
        const asked: string[] = [];
        const list = ring.annotatedPreferenceList(key, n, (id) => {
          asked.push(id);
          return !down.has(id);
        });
        expect(new Set(asked).size).toBe(asked.length);
        const clockwise = ring.preferenceList(key, members.length);
        const primaries = clockwise.slice(0, n);
        const downPrimaries = primaries.filter((node) => down.has(node));
        const standIns = clockwise.slice(n).filter((node) => !down.has(node)).slice(0, downPrimaries.length);
        expect(list).toEqual([
          ...primaries.filter((node) => !down.has(node)).map((node) => ({ node, role: 'primary' })),
          ...standIns.map((node, i) => ({ node, role: 'fallback', standsFor: downPrimaries[i] })),
        ]);
        expect(new Set(list.map((entry) => entry.node)).size).toBe(list.length);
      }), { numRuns: 300 });
  });
});

describe('Ring ownership', () => {
  // Shows the exact arcs on a hand-placed ring: each token owns the space since the previous one.
  it('computes exact shares', () => {
    const ring = smallRing();
    const shares = ring.ownership();
    expect(shares.get('b')).toBe(100 / 2 ** 32);
    expect(shares.get('a')).toBe((2 ** 32 - 500 + 100) / 2 ** 32);
    const report = ring.ownershipReport(3);
    const a = report.rows.find((row) => row.node === 'a');
    // a is in the preference lists of the arcs owned by a, e (e, a, b) and d (d, e, a).
    expect(a?.replicaShare).toBe((2 ** 32 - 500 + 100 + 100 + 100) / 2 ** 32);
  });

  // Shows shares sum to 1, replica shares to min(N, nodes), vnode counts to the token count, and
  // that the default vnode count keeps the largest share within 10% of the mean at 10 nodes.
  it('sums to one and reports balance', () => {
    for (const size of [1, 2, 10]) {
      const ring = Ring.build(Array.from({ length: size }, (_, i) => `host-${i}`), hasher);
      const total = [...ring.ownership().values()].reduce((sum, share) => sum + share, 0);
      expect(total).toBeCloseTo(1, 12);
      const report = ring.ownershipReport();
      expect(report.rows.map((row) => row.node)).toEqual(ring.nodes);
      expect(report.rows.reduce((sum, row) => sum + row.replicaShare, 0)).toBeCloseTo(Math.min(3, size), 12);
      expect(report.rows.reduce((sum, row) => sum + row.vnodes, 0)).toBe(ring.tokenCount);
      expect(report.maxShareOverMean).toBeGreaterThanOrEqual(1);
      expect(report.minShareOverMean).toBeLessThanOrEqual(1);
      if (size === 10) expect(report.maxShareOverMean).toBeLessThan(1.1);
    }
  });

  // Shows the share of sampled keys a node owns matches its computed share.
  it('agrees with where keys actually land', () => {
    const ring = Ring.build(['a', 'b', 'c'], hasher);
    const counts = new Map<string, number>();
    const keys = sampleKeys(30_000, 'order-');
    for (const key of keys) counts.set(ring.owner(key), (counts.get(ring.owner(key)) ?? 0) + 1);
    for (const [node, share] of ring.ownership()) expect(Math.abs((counts.get(node) ?? 0) / keys.length - share)).toBeLessThan(0.015);
  });
});

describe('Ring invalid input', () => {
  // Shows bad arguments and options fail with typed errors that say what is wrong.
  it('rejects bad n, tokens, memberships and options', () => {
    const ring = smallRing();
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expect(() => ring.preferenceList('@1', n)).toThrow(InvalidArgumentError);
      expect(() => ring.annotatedPreferenceList('@1', n, () => true)).toThrow(InvalidArgumentError);
      expect(() => ring.preferenceListForToken(1, n)).toThrow(InvalidArgumentError);
    }
    expect(() => ring.preferenceList('@1', 0)).toThrow(/n \(replicas in a preference list\) must be an integer >= 1/);
    for (const token of [-1, 2 ** 32, 0.5]) expect(() => ring.preferenceListForToken(token, 1)).toThrow(InvalidArgumentError);
    expect(() => Ring.build([], hasher)).toThrow(InvalidArgumentError);
    expect(() => Ring.build([], hasher)).toThrow(/at least one node/);
    expect(() => Ring.build(['a', 'b', 'a'], hasher)).toThrow(/appears twice/);
    expect(() => Ring.build(['a', ''], hasher)).toThrow(InvalidArgumentError);
    expect(() => Ring.build(['a'], hasher, { vnodesPerNode: 0 })).toThrow(InvalidConfigError);
    expect(() => Ring.build(['a'], hasher, { vnodesPerNode: 2.5 })).toThrow(InvalidConfigError);
    expect(() => Ring.build(['a'], hasher, { preferenceTableMaxN: 0 })).toThrow(InvalidConfigError);
    expect(() => ring.ownershipReport(0)).toThrow(InvalidArgumentError);
  });
});
