/**
 * The parts of src/core/version that replication uses, in one place, plus two small helpers.
 */
import type { KvObject } from '../version/object.js';
import type { VClock } from '../version/vclock.js';
import { compare, equalClocks } from '../version/vclock.js';

export {
  applyWrite, pruneObject, equalObjects, isTombstoneOnly, liveSiblings, mergeObjects, pickDeterministic, reconcile, isExpired,
  type KvObject, type Sibling,
} from '../version/object.js';
export { covers as clockCovers, get as clockCounter, emptyClock, merge as mergeClocks, type Dot, type VClock } from '../version/vclock.js';
export { decodeContext, decodeObject, encodeContext, encodeObject } from '../version/codec.js';
export { decideEncodedMerge, EncodedMerge, ObjectScan } from '../version/encoded.js';

export const compareClocks = compare;

/**
 * True when `a` holds exactly `b`'s clock and the very same sibling objects (by reference): what a
 * merge that took everything from `b` returns. Cheap (no value bytes compared), and false only
 * means "not known to be the same".
 */
export function sameSiblingsAs(a: KvObject, b: KvObject): boolean {
  if (a === b) return true;
  if (a.siblings.length !== b.siblings.length || !equalClocks(a.clock, b.clock)) return false;
  for (let i = 0; i < a.siblings.length; i++) if (a.siblings[i] !== b.siblings[i]) return false;
  return true;
}

/** The actor ids a clock has entries for. */
export function clockActors(clock: VClock): Iterable<string> {
  return clock.map((entry) => entry[0]);
}

/** Siblings that hold a value (not tombstones). */
export function liveSiblingCount(obj: KvObject): number {
  let n = 0;
  for (const s of obj.siblings) if (s.value !== null) n++;
  return n;
}
