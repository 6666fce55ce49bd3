// Generators and small helpers shared by the version tests.
import fc from 'fast-check';
import type { KvObject, Sibling } from '../../../src/core/version/object.js';
import { applyWrite, compareDots, mergeObjects, pruneObject } from '../../../src/core/version/object.js';
import { clockFromEntries, get, type Dot, type VClock } from '../../../src/core/version/vclock.js';

export const NODE_IDS = ['a', 'b', 'c', 'd', 'e'] as const;

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(value: Uint8Array | null): string | null {
  return value === null ? null : new TextDecoder().decode(value);
}

/** A canonical clock over a few node ids, small counters and timestamps (so merges collide often). */
export const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.tuple(fc.constantFrom(...NODE_IDS), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 5 })),
    { selector: (e) => e[0], maxLength: NODE_IDS.length },
  )
  .map((entries) => clockFromEntries(entries));

/**
 * An object that satisfies the stored-object invariants (its clock covers every sibling's dot,
 * dots are unique and sorted) but otherwise arbitrary, including contents that would only arise
 * from dot reuse: merge must stay a semilattice even then.
 */
export const objectArb: fc.Arbitrary<KvObject> = clockArb.chain((clock) => {
  const dots: Dot[] = [];
  for (const [nodeId, counter] of clock) for (let c = 1; c <= counter; c++) dots.push([nodeId, c]);
  const siblingArb = (dot: Dot): fc.Arbitrary<Sibling> =>
    fc.record({
      // Short values, one a prefix of another, and long ones differing only in their last byte:
      // value order is compared in JS below 64 bytes and natively above.
      value: fc.constantFrom<Uint8Array | null>(null, bytes('x'), bytes('y'), bytes('xy'), bytes(`${'v'.repeat(80)}a`), bytes(`${'v'.repeat(80)}b`)),
      writtenAtMs: fc.integer({ min: 0, max: 2 }),
      expiresAtMs: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    }).map(({ value, writtenAtMs, expiresAtMs }) =>
      expiresAtMs === undefined
        ? { value, dot, writtenAtMs, node: dot[0] }
        : { value, dot, writtenAtMs, node: dot[0], expiresAtMs });
  return fc
    .subarray(dots, { maxLength: Math.min(6, dots.length) })
    .chain((chosen) => fc.tuple(...chosen.map(siblingArb)))
    .map((siblings) => ({ clock, siblings: [...siblings].sort((x, y) => compareDots(x.dot, y.dot)) }));
});

/** Clock as a plain map, the obviously-correct model the clock functions are checked against. */
export function clockModel(clock: VClock): Map<string, number> {
  return new Map(clock.map(([nodeId, counter]) => [nodeId, counter]));
}

export function dotKey(dot: Dot): string {
  return `${dot[0]}:${dot[1]}`;
}

/** Checks the stored-object invariants; returns a reason or undefined. */
export function objectInvariantProblem(obj: KvObject): string | undefined {
  for (let i = 0; i < obj.siblings.length; i++) {
    const s = obj.siblings[i]!;
    if (get(obj.clock, s.dot[0]) < s.dot[1]) return `sibling ${dotKey(s.dot)} not covered by its clock`;
    if (i > 0 && compareDots(obj.siblings[i - 1]!.dot, s.dot) >= 0) return 'siblings not in canonical order';
  }
  return undefined;
}

const WIDE_IDS = ['a', 'b', 'c', 'n1.0.1', 'n2.k.3'] as const;

/** Counters: mostly small, some beyond 2^32 (written as float64), up to the decode limit 2^48. */
const wideCounterArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(23, 24, 255, 256, 65_535, 65_536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 48) },
);

/** Times: small ones (so merges tie often), negative, fractional, and large. */
const wideTimeArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(-1, -24, -25, -(2 ** 32), -(2 ** 32) - 1, 0.5, 1.5e12, 2 ** 33, 1e300) },
);

const wideClockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...WIDE_IDS), wideCounterArb, wideTimeArb), { selector: (e) => e[0], maxLength: WIDE_IDS.length })
  .map((entries) => clockFromEntries(entries));

const wideValueArb = fc.constantFrom<Uint8Array | null>(null, bytes(''), bytes('x'), bytes('y'), bytes('v'.repeat(30)), bytes('w'.repeat(300)));

function wideSiblingArb(dot: Dot): fc.Arbitrary<Sibling> {
  return fc.record({
    value: wideValueArb,
    writtenAtMs: wideTimeArb,
    expiresAtMs: fc.option(wideTimeArb, { nil: undefined }),
    node: fc.option(fc.constantFrom(...WIDE_IDS), { nil: undefined }),
  }).map(({ value, writtenAtMs, expiresAtMs, node }) => {
    const s: Sibling = { value, dot, writtenAtMs, node: node ?? dot[0] };
    return expiresAtMs === undefined ? s : { ...s, expiresAtMs };
  });
}

/**
 * A valid object over the codec's whole range: ids of several lengths, counters and times in
 * every CBOR form the writer uses (large counters as float64), coordinators other than the dot's
 * node, tombstones, expiries; contents arbitrary (so two objects may reuse a dot).
 */
export const wideObjectArb: fc.Arbitrary<KvObject> = wideClockArb.chain((clock) => {
  const dots: Dot[] = [];
  for (const [id, counter] of clock) for (const c of [1, 2, counter - 1, counter]) if (c >= 1 && c <= counter) dots.push([id, c]);
  const unique = [...new Map(dots.map((d) => [`${d[0]}:${d[1]}`, d])).values()];
  return fc
    .subarray(unique, { maxLength: Math.min(7, unique.length) })
    .chain((chosen) => fc.tuple(...chosen.map(wideSiblingArb)))
    .map((siblings) => ({ clock, siblings: [...siblings].sort((x, y) => compareDots(x.dot, y.dot)) }));
});

/** A copy of `obj` with one clock entry's timestamp moved (a merge then takes the larger one). */
function withTime(obj: KvObject, index: number, deltaMs: number): KvObject {
  if (obj.clock.length === 0) return obj;
  const k = index % obj.clock.length;
  const clock = obj.clock.map((e, i) => (i === k ? ([e[0], e[1], e[2] + deltaMs] as const) : e));
  return { clock, siblings: obj.siblings };
}

/**
 * Pairs (local, incoming) in the relations replicas meet: unrelated, equal, one a later state of
 * the other (a merge, a coordinated write, a pruned clock, a newer timestamp), and the reverse.
 */
export const replicaPairArb: fc.Arbitrary<[KvObject, KvObject]> = fc
  .tuple(wideObjectArb, wideObjectArb, fc.integer({ min: 0, max: 9 }), fc.constantFrom(...WIDE_IDS), wideValueArb, fc.boolean(), fc.integer({ min: -2, max: 2 }))
  .map(([x, y, relation, coordinator, value, swap, deltaMs]): [KvObject, KvObject] => {
    let pair: [KvObject, KvObject];
    switch (relation) {
      case 0: pair = [x, y]; break;
      case 1: pair = [x, x]; break;
      case 2: pair = [x, mergeObjects(x, y)]; break;
      case 3: pair = [x, applyWrite(x, x.clock, coordinator, value, 3)]; break;
      case 4: pair = [x, applyWrite(x, undefined, coordinator, value, 1)]; break;
      case 5: pair = [x, applyWrite(mergeObjects(x, y), y.clock, coordinator, value, 2)]; break;
      case 6: pair = [x, pruneObject(x, 10, { localNodeId: coordinator, smallVclockEntries: 1, bigVclockEntries: 1, youngVclockMs: 0, oldVclockMs: 0 })]; break;
      case 7: pair = [x, withTime(x, y.clock.length, deltaMs)]; break;
      case 8: pair = [mergeObjects(x, y), mergeObjects(y, x)]; break;
      default: pair = [x, withTime(mergeObjects(x, y), x.siblings.length, deltaMs)]; break;
    }
    return swap ? [pair[1], pair[0]] : pair;
  });
