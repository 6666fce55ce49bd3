/**
 * The stored object: a set of siblings with their dots, under one clock (DESIGN.md §4). This is
 * a dotted version vector set (Almeida et al., "Scalable and Accurate Causality Tracking for
 * Eventually Consistent Stores"; Riak's dvvset.erl) spelled out with one explicit dot per sibling.
 *
 * Meaning of the fields, which every function here preserves:
 * - `clock` is everything this object has seen: a dot (n, c) with clock[n] >= c was either kept
 *   as a sibling or superseded by a later write whose context covered it.
 * - every sibling's dot is covered by `clock`, and no two siblings share a dot;
 * - siblings are in canonical order: by dot (node id, then counter). Two objects holding the same
 *   data are therefore structurally equal, and encode to the same bytes.
 *
 * Why dots rather than one clock per sibling (classic Dynamo/Riak): a blind write through
 * coordinator X gets a fresh dot (X, c+1) and supersedes nothing, so many blind writers through
 * one coordinator keep all their writes as siblings instead of the later one silently replacing
 * the earlier (lost write) or every write getting a clock that wrongly descends the others.
 * And a write whose context covered a sibling's dot supersedes exactly that sibling, so a client
 * that read all siblings and writes back leaves one sibling, with no false siblings.
 *
 * What the replication layer must guarantee for these rules to hold (dot uniqueness):
 * - a coordinator passes as `current` its own stored object for the key, which must include every
 *   write it coordinated for that key; a replica only ever replaces its object by
 *   `applyWrite(local, ...)` or `mergeObjects(local, incoming)`, never by an incoming object alone;
 * - a node that may have forgotten a key it coordinated (disk loss, handoff that deleted the
 *   data, tombstone reaping followed by a stale replica coming back) must not issue dots under
 *   the same id for that key again (Riak's "kv679" problem); otherwise a new write can reuse an
 *   old dot, and a replica that saw the old one drops the new one. The usual fix is an actor id
 *   with an epoch ("n1.2") bumped whenever local state may have been lost.
 */
import { InvalidArgumentError, InvalidConfigError, TooManySiblingsError } from '../../errors.js';
import { assert } from '../assert.js';
import type { NodeId } from '../wire.js';
import {
  compareNodeIds,
  covers,
  DEFAULT_SMALL_VCLOCK_ENTRIES,
  emptyClock,
  equalClocks,
  get,
  increment,
  merge,
  prune,
  type Dot,
  type VClock,
  type VClockPruneOptions,
} from './vclock.js';

/** One version of a value. */
export interface Sibling {
  /** The value, or null for a delete (tombstone). */
  readonly value: Uint8Array | null;
  /** The write that created this sibling: [coordinator, coordinator's counter]. Unique within an object. */
  readonly dot: Dot;
  /** Coordinator's time when it accepted the write, ms (wall clock in the runtime). */
  readonly writtenAtMs: number;
  /** The node that coordinated the write (shown to clients). */
  readonly node: NodeId;
  /** When the value expires, ms on the same clock as writtenAtMs; absent = never. */
  readonly expiresAtMs?: number;
}

/** The object one replica stores for one key. */
export interface KvObject {
  /** Everything this object has seen; also the context a read hands to clients. */
  readonly clock: VClock;
  /** Concurrent versions, in canonical order (by dot). */
  readonly siblings: readonly Sibling[];
}

const EMPTY_OBJECT: KvObject = Object.freeze({ clock: emptyClock(), siblings: Object.freeze([]) as readonly Sibling[] });

/** The object of a key nobody wrote: no siblings, empty clock. Writing with its clock is a blind write. */
export function emptyObject(): KvObject {
  return EMPTY_OBJECT;
}

/** Canonical sibling order: by node id, then counter. */
export function compareDots(a: Dot, b: Dot): number {
  return compareNodeIds(a[0], b[0]) || a[1] - b[1];
}

/** Bounds on how many siblings one key may hold, after Riak (warn at 25, refuse at 100). */
export interface SiblingLimits {
  /**
   * `applyWrite` refuses (TooManySiblingsError) a write that would leave more siblings than this.
   * Default 100 (Riak's max_siblings): every read returns every sibling, so an unbounded set
   * makes each read of the key slower and larger; at 100 something is clearly writing blind
   * in a loop and must resolve.
   */
  readonly maxSiblings?: number;
  /**
   * `siblingsOverWarnThreshold` is true above this many siblings, so the caller can log a warning
   * long before writes are refused. Default 25 (Riak's warn_siblings).
   */
  readonly siblingsWarnThreshold?: number;
}

export const DEFAULT_MAX_SIBLINGS = 100;
export const DEFAULT_SIBLINGS_WARN_THRESHOLD = 25;

/** Options of one coordinated write. */
export interface ApplyWriteOptions extends SiblingLimits {
  /** Time to live in ms from nowMs; absent = the value never expires. Positive integer. */
  readonly ttlMs?: number | undefined;
  /** The key being written; used only in the TooManySiblingsError message so the user sees which key. Default ''. */
  readonly key?: string | undefined;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigError(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
  }
  return value;
}

/**
 * The coordinator's put (value) or delete (value null).
 *
 * - The new dot is (coordinator, max(current.clock[coordinator], context[coordinator]) + 1).
 * - Siblings of `current` whose dots `context` covers were seen by the client and are superseded;
 *   the others are concurrent with this write and stay.
 * - The result's clock is merge(current.clock, context) plus the new dot.
 * - A blind write (no context) supersedes nothing: it becomes one more sibling.
 *
 * Throws TooManySiblingsError when the result would hold more than `maxSiblings` siblings, and
 * InvalidArgumentError for a bad ttlMs. `current` must be the coordinator's own stored object
 * (see the module comment).
 */
export function applyWrite(
  current: KvObject | undefined,
  context: VClock | undefined,
  coordinator: NodeId,
  value: Uint8Array | null,
  nowMs: number,
  options: ApplyWriteOptions = {},
): KvObject {
  assert(coordinator.length > 0, 'coordinator ids are non-empty');
  assert(Number.isFinite(nowMs), 'nowMs is a finite number');
  const maxSiblings = positiveInteger('maxSiblings', options.maxSiblings, DEFAULT_MAX_SIBLINGS);
  const ttlMs = options.ttlMs;
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1)) {
    throw new InvalidArgumentError(`ttlMs must be a positive integer number of milliseconds, got ${String(ttlMs)}`, { ttlMs });
  }

  const base = current ?? EMPTY_OBJECT;
  const seen = context ?? emptyClock();
  const clock = increment(merge(base.clock, seen), coordinator, nowMs);
  const dot: Dot = [coordinator, get(clock, coordinator)];
  assert(dot[1] > get(base.clock, coordinator), 'a new dot is newer than every dot the coordinator issued before');

  const sibling: Sibling = ttlMs === undefined
    ? { value, dot, writtenAtMs: nowMs, node: coordinator }
    : { value, dot, writtenAtMs: nowMs, node: coordinator, expiresAtMs: nowMs + ttlMs };

  const siblings: Sibling[] = [];
  let inserted = false;
  for (const s of base.siblings) {
    if (covers(seen, s.dot)) continue;
    if (!inserted && compareDots(dot, s.dot) < 0) {
      siblings.push(sibling);
      inserted = true;
    }
    assert(compareDots(dot, s.dot) !== 0, 'the new dot is unique in the object');
    siblings.push(s);
  }
  if (!inserted) siblings.push(sibling);

  if (siblings.length > maxSiblings) {
    throw new TooManySiblingsError(options.key ?? '', siblings.length, maxSiblings);
  }
  return { clock, siblings };
}

/** True when `obj` holds more siblings than the warn threshold: the caller should log a warning. */
export function siblingsOverWarnThreshold(obj: KvObject, limits: SiblingLimits = {}): boolean {
  const threshold = positiveInteger('siblingsWarnThreshold', limits.siblingsWarnThreshold, DEFAULT_SIBLINGS_WARN_THRESHOLD);
  return obj.siblings.length > threshold;
}

/**
 * Orders siblings that carry the same dot but different contents. That only happens when a dot
 * was reused (see the module comment); the order just makes merging deterministic then.
 */
function compareSiblingContents(a: Sibling, b: Sibling): number {
  if (a.writtenAtMs !== b.writtenAtMs) return a.writtenAtMs - b.writtenAtMs;
  const byNode = compareNodeIds(a.node, b.node);
  if (byNode !== 0) return byNode;
  const ea = a.expiresAtMs ?? -Infinity;
  const eb = b.expiresAtMs ?? -Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.value === null || b.value === null) return (a.value === null ? 0 : 1) - (b.value === null ? 0 : 1);
  return compareBytes(a.value, b.value);
}

/**
 * Below this many bytes a JS loop beats Buffer.compare, whose native call and argument checks
 * cost more than comparing a short value (most values, and every value the simulator writes).
 */
const SHORT_BYTES = 64;

// Values can be megabytes and every read compares the copies its replicas returned, so long
// values are compared with Buffer.compare (native memcmp; pure, no I/O); short ones in JS.
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  if (n > SHORT_BYTES) return Buffer.compare(a, b);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Replica synchronisation (DVV-set "sync"): read repair, hinted handoff delivery, anti-entropy.
 * A sibling of `a` survives unless `b` has seen its dot (b.clock covers it) and no longer holds
 * it, meaning some write on b's side superseded it; symmetrically for `b`. Siblings held by both
 * are kept once. The clock is the merge of both.
 *
 * Commutative, associative and idempotent (results are canonical, so compare with
 * `equalObjects`), and it drops only siblings a write has superseded. It never refuses: a merge
 * may exceed maxSiblings, since refusing would lose data already acknowledged.
 * Returns `a` itself when `b` adds nothing to it.
 */
export function mergeObjects(a: KvObject, b: KvObject): KvObject {
  if (a === b) return a;
  const siblings: Sibling[] = [];
  const as = a.siblings;
  const bs = b.siblings;
  let i = 0;
  let j = 0;
  let sameAsA = true;
  while (i < as.length || j < bs.length) {
    const x = as[i];
    const y = bs[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareDots(x.dot, y.dot);
    if (order < 0) {
      assert(x !== undefined, 'walk stays in bounds');
      if (!covers(b.clock, x.dot)) siblings.push(x);
      else sameAsA = false;
      i++;
    } else if (order > 0) {
      assert(y !== undefined, 'walk stays in bounds');
      if (!covers(a.clock, y.dot)) {
        siblings.push(y);
        sameAsA = false;
      }
      j++;
    } else {
      assert(x !== undefined && y !== undefined, 'equal dots come from both sides');
      if (x === y || equalSiblings(x, y) || compareSiblingContents(x, y) >= 0) {
        siblings.push(x);
      } else {
        siblings.push(y);
        sameAsA = false;
      }
      i++;
      j++;
    }
  }
  const clock = merge(a.clock, b.clock);
  if (sameAsA && clock === a.clock) return a;
  return { clock, siblings };
}

/** The coordinator's read path: merges every replica's object into one (the empty object for none). */
export function reconcile(objects: readonly KvObject[]): KvObject {
  let result = EMPTY_OBJECT;
  for (const obj of objects) result = result === EMPTY_OBJECT ? obj : mergeObjects(result, obj);
  return result;
}

function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Structural equality of two siblings. */
export function equalSiblings(a: Sibling, b: Sibling): boolean {
  return a.dot[0] === b.dot[0] &&
    a.dot[1] === b.dot[1] &&
    a.writtenAtMs === b.writtenAtMs &&
    a.node === b.node &&
    a.expiresAtMs === b.expiresAtMs &&
    equalBytes(a.value, b.value);
}

/** Structural equality (objects are canonical, so equal data means equal objects). */
export function equalObjects(a: KvObject, b: KvObject): boolean {
  if (a === b) return true;
  if (!equalClocks(a.clock, b.clock)) return false;
  if (a.siblings.length !== b.siblings.length) return false;
  for (let i = 0; i < a.siblings.length; i++) {
    if (!equalSiblings(a.siblings[i]!, b.siblings[i]!)) return false;
  }
  return true;
}

/** True when the sibling has a expiry time and `nowMs` has reached it. */
export function isExpired(sibling: Sibling, nowMs: number): boolean {
  return sibling.expiresAtMs !== undefined && nowMs >= sibling.expiresAtMs;
}

/**
 * True when no sibling holds a value: every sibling is a tombstone (or, when `nowMs` is given,
 * a tombstone or expired). True for an object with no siblings at all. Such an object reads as
 * "not found" and is a candidate for tombstone reaping.
 */
export function isTombstoneOnly(obj: KvObject, nowMs?: number): boolean {
  return obj.siblings.every((s) => s.value === null || (nowMs !== undefined && isExpired(s, nowMs)));
}

/** The siblings a read returns: not tombstones, and (when `nowMs` is given) not expired. */
export function liveSiblings(obj: KvObject, nowMs?: number): readonly Sibling[] {
  return obj.siblings.filter((s) => s.value !== null && (nowMs === undefined || !isExpired(s, nowMs)));
}

/**
 * One sibling for clients that cannot see siblings (the Redis protocol): the one with the
 * greatest writtenAtMs; ties go to the greater coordinator node id, then the greater dot (node id,
 * then counter). The rule only looks at data every replica holds identically, so every node picks
 * the same sibling from the same object. Tombstones and expired siblings take part (a delete that
 * came last wins); the caller checks `value === null` and `isExpired`. Undefined when there are
 * no siblings. This is last-writer-wins by the coordinators' wall clocks, so with clock skew an
 * earlier write can win: only a presentation rule, nothing is discarded.
 */
export function pickDeterministic(obj: KvObject): Sibling | undefined {
  let best: Sibling | undefined;
  for (const s of obj.siblings) {
    if (best === undefined ||
      s.writtenAtMs > best.writtenAtMs ||
      (s.writtenAtMs === best.writtenAtMs &&
        (compareNodeIds(s.node, best.node) || compareDots(s.dot, best.dot)) > 0)) {
      best = s;
    }
  }
  return best;
}

/** Options of `pruneObject`: the clock bounds plus the id of the node that prunes. */
export interface PruneObjectOptions extends Omit<VClockPruneOptions, 'keepNodeIds'> {
  /**
   * The node running the prune; its own entry is never dropped. Required: if a coordinator
   * forgot its own counter for a key it would issue old dots again, and a replica that saw the
   * old dot would drop the new write.
   */
  readonly localNodeId: NodeId;
}

/**
 * Prunes the object's clock (see VClockPruneOptions for the bounds and their consequence: false
 * siblings, never lost writes). Entries of the local node and of every node whose dot a current
 * sibling carries are kept, so the clock still covers every sibling and the local node never
 * reuses a dot. Returns `obj` itself when nothing is pruned.
 */
export function pruneObject(obj: KvObject, nowMs: number, options: PruneObjectOptions): KvObject {
  assert(options.localNodeId.length > 0, 'localNodeId is non-empty');
  // The common case, on every write: a small clock is never pruned (prune's own first check).
  if (obj.clock.length <= (options.smallVclockEntries ?? DEFAULT_SMALL_VCLOCK_ENTRIES)) return obj;
  const keepNodeIds = new Set<NodeId>([options.localNodeId]);
  for (const s of obj.siblings) keepNodeIds.add(s.dot[0]);
  const clock = prune(obj.clock, nowMs, { ...options, keepNodeIds });
  if (clock === obj.clock) return obj;
  for (const s of obj.siblings) assert(covers(clock, s.dot), 'a pruned clock still covers every sibling');
  return { clock, siblings: obj.siblings };
}
