/**
 * The parts of src/core/version that replication uses, in one place, plus two small helpers.
 */
import type { KvObject } from '../version/object.js';
import type { VClock } from '../version/vclock.js';
import { compare } from '../version/vclock.js';

export {
  applyWrite, pruneObject, equalObjects, isTombstoneOnly, liveSiblings, mergeObjects, pickDeterministic, reconcile, isExpired,
  type KvObject, type Sibling,
} from '../version/object.js';
export { covers as clockCovers, get as clockCounter, emptyClock, merge as mergeClocks, type Dot, type VClock } from '../version/vclock.js';
export { decodeContext, decodeObject, encodeContext, encodeObject } from '../version/codec.js';

export const compareClocks = compare;

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
