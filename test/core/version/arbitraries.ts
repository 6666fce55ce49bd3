// Generators and small helpers shared by the version tests.
import fc from 'fast-check';
import type { KvObject, Sibling } from '../../../src/core/version/object.js';
import { compareDots } from '../../../src/core/version/object.js';
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
