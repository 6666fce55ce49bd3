/**
 * Vector clocks keyed by node id (DESIGN.md §4), with Riak-style pruning.
 *
 * Representation: an array of `[nodeId, counter, lastUpdatedMs]` entries sorted by node id
 * (UTF-16 code unit order, the order of `<` on strings), one entry per node, counters >= 1.
 * Why this shape:
 * - It is canonical: one clock has exactly one representation, so two nodes that hold the same
 *   clock encode the same CBOR bytes (anti-entropy hashes them) and equality is a plain walk.
 * - Sorted arrays make merge, compare and descends a single O(n + m) merge-walk with no hashing
 *   and no allocation beyond the result; clocks are small (one entry per coordinating node).
 * - It is plain CBOR data (arrays, strings, numbers): no Map, no tags, no records, so it
 *   round-trips through cbor-x unchanged and other CBOR decoders read it too.
 * Clocks are immutable: every function here returns a new array (or its input, unchanged) and
 * never writes into an argument; the `readonly` types make the compiler hold callers to the same.
 *
 * `lastUpdatedMs` is only used for pruning. Merging takes the pointwise maximum of both the
 * counter and the timestamp, which keeps merge a semilattice (commutative, associative,
 * idempotent) whatever the timestamps are, and errs towards keeping entries (a newer timestamp
 * only delays pruning).
 */
import { InvalidConfigError } from '../../errors.js';
import { assert } from '../assert.js';
import type { NodeId } from '../wire.js';

/** One clock entry: the node, how many events of that node this clock has seen, and when the entry last advanced. */
export type VClockEntry = readonly [nodeId: NodeId, counter: number, lastUpdatedMs: number];

/** A vector clock: entries sorted strictly by node id, counters >= 1. Build with the functions below. */
export type VClock = readonly VClockEntry[];

/** One event: the node that coordinated it and that node's counter for it. */
export type Dot = readonly [nodeId: NodeId, counter: number];

/** How clock `a` relates to clock `b`. */
export type ClockOrder = 'before' | 'after' | 'equal' | 'concurrent';

const EMPTY_CLOCK: VClock = Object.freeze([]) as VClock;

/** The clock that has seen nothing. */
export function emptyClock(): VClock {
  return EMPTY_CLOCK;
}

/**
 * Builds a clock from entries in any order (tests, tools). Entries with counter 0 are dropped;
 * duplicate node ids are a programmer error.
 */
export function clockFromEntries(entries: Iterable<readonly [NodeId, number, number]>): VClock {
  const result: VClockEntry[] = [];
  for (const [nodeId, counter, lastUpdatedMs] of entries) {
    assert(Number.isSafeInteger(counter) && counter >= 0, 'clock counters are non-negative safe integers');
    if (counter > 0) result.push([nodeId, counter, lastUpdatedMs]);
  }
  result.sort((x, y) => compareNodeIds(x[0], y[0]));
  for (let i = 1; i < result.length; i++) {
    assert(result[i - 1]![0] !== result[i]![0], 'a clock has one entry per node');
  }
  return result;
}

/** Total order on node ids used everywhere in this module (code unit order, the same on every node). */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function indexOf(clock: VClock, nodeId: NodeId): number {
  let lo = 0;
  let hi = clock.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const id = clock[mid]![0];
    if (id === nodeId) return mid;
    if (id < nodeId) lo = mid + 1;
    else hi = mid - 1;
  }
  return -(lo + 1);
}

/** The counter `clock` holds for `nodeId` (0 when it has no entry). */
export function get(clock: VClock, nodeId: NodeId): number {
  const i = indexOf(clock, nodeId);
  return i >= 0 ? clock[i]![1] : 0;
}

/** True when `clock` has seen the event `dot`. */
export function covers(clock: VClock, dot: Dot): boolean {
  return get(clock, dot[0]) >= dot[1];
}

/**
 * Advances `nodeId`'s counter by one and stamps the entry with `nowMs` (never moving the stamp
 * backwards, so a coordinator whose clock stepped back does not make the entry look older).
 */
export function increment(clock: VClock, nodeId: NodeId, nowMs: number): VClock {
  assert(nodeId.length > 0, 'node ids are non-empty');
  assert(Number.isFinite(nowMs), 'nowMs is a finite number');
  const i = indexOf(clock, nodeId);
  const result = clock.slice();
  if (i >= 0) {
    const [, counter, lastUpdatedMs] = clock[i]!;
    assert(counter < Number.MAX_SAFE_INTEGER, 'clock counter overflow');
    result[i] = [nodeId, counter + 1, Math.max(lastUpdatedMs, nowMs)];
  } else {
    result.splice(-(i + 1), 0, [nodeId, 1, nowMs]);
  }
  return result;
}

/** Pointwise maximum of counters (and of timestamps). Returns an input unchanged when it already is the result. */
export function merge(a: VClock, b: VClock): VClock {
  if (a === b || b.length === 0) return a;
  if (a.length === 0) return b;
  const result: VClockEntry[] = [];
  let i = 0;
  let j = 0;
  let sameAsA = true;
  let sameAsB = true;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x[0] < y[0]) {
      result.push(x);
      sameAsB = false;
      i++;
    } else if (x[0] > y[0]) {
      result.push(y);
      sameAsA = false;
      j++;
    } else {
      if (x[1] >= y[1] && x[2] >= y[2]) {
        result.push(x);
        if (x[1] !== y[1] || x[2] !== y[2]) sameAsB = false;
      } else if (y[1] >= x[1] && y[2] >= x[2]) {
        result.push(y);
        sameAsA = false;
      } else {
        result.push([x[0], Math.max(x[1], y[1]), Math.max(x[2], y[2])]);
        sameAsA = false;
        sameAsB = false;
      }
      i++;
      j++;
    }
  }
  if (i < a.length) sameAsB = false;
  if (j < b.length) sameAsA = false;
  while (i < a.length) result.push(a[i++]!);
  while (j < b.length) result.push(b[j++]!);
  if (sameAsA) return a;
  if (sameAsB) return b;
  return result;
}

/**
 * Causal order of `a` relative to `b` (timestamps are ignored): 'before' when b has seen
 * everything a has and more, 'after' for the reverse, 'equal', or 'concurrent'.
 */
export function compare(a: VClock, b: VClock): ClockOrder {
  let aAhead = false;
  let bAhead = false;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x[0] < y[0]) {
      aAhead = true;
      i++;
    } else if (x[0] > y[0]) {
      bAhead = true;
      j++;
    } else {
      if (x[1] > y[1]) aAhead = true;
      else if (x[1] < y[1]) bAhead = true;
      i++;
      j++;
    }
    if (aAhead && bAhead) return 'concurrent';
  }
  if (i < a.length) aAhead = true;
  if (j < b.length) bAhead = true;
  if (aAhead && bAhead) return 'concurrent';
  if (aAhead) return 'after';
  if (bAhead) return 'before';
  return 'equal';
}

/** True when `a` has seen everything `b` has (a >= b); timestamps are ignored. */
export function descends(a: VClock, b: VClock): boolean {
  const order = compare(a, b);
  return order === 'after' || order === 'equal';
}

/** Structural equality, timestamps included (clocks are canonical, so this is equality of values). */
export function equalClocks(a: VClock, b: VClock): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) return false;
  }
  return true;
}

/**
 * Pruning bounds, after Riak's small_vclock / big_vclock / young_vclock / old_vclock.
 *
 * Why pruning exists: a clock gains one entry per node that ever coordinated a write to the key.
 * Node ids are cluster members, so in a stable cluster clocks stay small and pruning never
 * triggers; it matters when nodes come and go over months and dead ids pile up in old keys.
 *
 * Consequence, honestly: dropping an entry makes the clock forget that it saw that node's
 * writes. When the object later meets a stale replica still holding a value the dropped entry
 * had superseded, that old value comes back as a FALSE SIBLING (the next read shows it next to
 * the current value; writing back with the read's context resolves it). Pruning never loses a
 * write by itself: forgetting can only make the store keep more siblings, never fewer. It could
 * lose writes only through dot reuse (a coordinator forgetting its own counter and issuing an
 * old dot again), which `pruneObject` prevents by never pruning the local node's own entry nor
 * any entry a current sibling's dot needs.
 */
export interface VClockPruneOptions {
  /**
   * A clock with at most this many entries is never pruned. Default 50 (Riak's small_vclock):
   * far more nodes than ever coordinate one key in a cluster of ringkv's size, so pruning is rare.
   */
  readonly smallVclockEntries?: number;
  /**
   * Above this many entries, the oldest entries are dropped (down to this size) as long as they
   * are not young. Default 50 (Riak's big_vclock). With small == big, the age of an entry only
   * matters through youngVclockMs; oldVclockMs acts only when small < big.
   */
  readonly bigVclockEntries?: number;
  /**
   * An entry updated less than this long ago is never dropped, whatever the size. Default 20 000 ms
   * (Riak's young_vclock, 20 s): a write still in flight between replicas keeps its causality, so
   * pruning cannot make a just-written value a false sibling of itself.
   */
  readonly youngVclockMs?: number;
  /**
   * Between small and big entries, entries last updated more than this long ago are dropped.
   * Default 86 400 000 ms (Riak's old_vclock, 1 day): by then every replica has long converged,
   * so forgetting the entry is very unlikely to resurrect anything.
   */
  readonly oldVclockMs?: number;
  /**
   * Entries for these nodes are never dropped (they still count towards the size bounds). Used by
   * `pruneObject` for the local node and for nodes whose dots the current siblings carry.
   * Default: none.
   */
  readonly keepNodeIds?: ReadonlySet<NodeId> | undefined;
}

export const DEFAULT_SMALL_VCLOCK_ENTRIES = 50;
export const DEFAULT_BIG_VCLOCK_ENTRIES = 50;
export const DEFAULT_YOUNG_VCLOCK_MS = 20_000;
export const DEFAULT_OLD_VCLOCK_MS = 86_400_000;

function nonNegativeInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidConfigError(`${name} must be a non-negative integer, got ${String(value)}`, { [name]: value });
  }
  return value;
}

/**
 * Drops entries oldest-first (by lastUpdatedMs, ties by node id, so every node prunes the same
 * clock the same way) while the clock has more than smallVclockEntries entries and the oldest
 * droppable entry is not young, and either the clock is above bigVclockEntries or that entry is
 * older than oldVclockMs. Returns `clock` itself when nothing is dropped.
 */
export function prune(clock: VClock, nowMs: number, options: VClockPruneOptions = {}): VClock {
  const small = nonNegativeInteger('smallVclockEntries', options.smallVclockEntries, DEFAULT_SMALL_VCLOCK_ENTRIES);
  const big = nonNegativeInteger('bigVclockEntries', options.bigVclockEntries, DEFAULT_BIG_VCLOCK_ENTRIES);
  const youngMs = nonNegativeInteger('youngVclockMs', options.youngVclockMs, DEFAULT_YOUNG_VCLOCK_MS);
  const oldMs = nonNegativeInteger('oldVclockMs', options.oldVclockMs, DEFAULT_OLD_VCLOCK_MS);
  assert(Number.isFinite(nowMs), 'nowMs is a finite number');
  if (clock.length <= small) return clock;

  const keep = options.keepNodeIds;
  const candidates = clock
    .filter((entry) => keep === undefined || !keep.has(entry[0]))
    .sort((x, y) => x[2] - y[2] || compareNodeIds(x[0], y[0]));
  const dropped = new Set<NodeId>();
  let size = clock.length;
  for (const [nodeId, , lastUpdatedMs] of candidates) {
    if (size <= small) break;
    const ageMs = nowMs - lastUpdatedMs;
    if (ageMs < youngMs) break;
    if (!(size > big || ageMs > oldMs)) break;
    dropped.add(nodeId);
    size--;
  }
  if (dropped.size === 0) return clock;
  const result = clock.filter((entry) => !dropped.has(entry[0]));
  assert(result.length === size, 'pruned exactly the chosen entries');
  return result;
}

/**
 * Validates the shape of an untrusted clock (decoded from disk, a peer or a client). Returns a
 * reason when it is not a canonical clock, undefined when it is.
 */
export function clockProblem(value: unknown, limits: { readonly maxNodeIdChars: number; readonly maxCounter: number }): string | undefined {
  if (!Array.isArray(value)) return 'clock is not an array';
  let previous: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    if (!Array.isArray(entry) || entry.length !== 3) return `clock entry ${i} is not a [node, counter, ms] triple`;
    const [nodeId, counter, lastUpdatedMs] = entry as unknown[];
    if (typeof nodeId !== 'string' || nodeId.length === 0 || nodeId.length > limits.maxNodeIdChars) {
      return `clock entry ${i} has a bad node id`;
    }
    if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1 || counter > limits.maxCounter) {
      return `clock entry ${i} has a bad counter`;
    }
    if (typeof lastUpdatedMs !== 'number' || !Number.isFinite(lastUpdatedMs)) return `clock entry ${i} has a bad timestamp`;
    if (previous !== undefined && !(previous < nodeId)) return 'clock entries are not sorted by node id without duplicates';
    previous = nodeId;
  }
  return undefined;
}
