/**
 * Decisions taken on encoded objects (codec.ts) without decoding them into KvObjects.
 *
 * A replica write (ReplicaPut, HintDelivery) merges an incoming object into the stored one. In the
 * usual cases the merge adds nothing to the stored object (a duplicate or stale delivery) or takes
 * everything from the incoming one (the coordinator's newer write): deciding that only needs both
 * clocks and every sibling's dot, and the bytes of siblings that carry the same dot. Decoding both
 * objects (a sibling object, a dot tuple and a value view per sibling) cost more than the rest of
 * the replica's work, so `ObjectScan` reads just those parts into reusable arrays and
 * `decideEncodedMerge` answers exactly as `mergeObjects` would, or says it cannot tell.
 *
 * Exactness rests on one property: a scan succeeds only on bytes in the canonical form
 * `encodeObject` writes, of an object `decodeObject` accepts with its default limits. So equal
 * bytes mean equal siblings, and the bytes of an object equal to the scanned one are the scanned
 * bytes. Anything else (other encoders' forms, non-ASCII ids, invalid objects) fails the scan and
 * the caller takes the decoding path, which gives its usual result or error.
 */
import { assert } from '../assert.js';
import { numberLength } from './cbor-subset.js';
import { CONTEXT_FORMAT_VERSION, DEFAULT_MAX_COUNTER, DEFAULT_MAX_NODE_ID_CHARS, OBJECT_FORMAT_VERSION } from './codec.js';

const CBOR_NULL = 0xf6;
const CBOR_FLOAT64 = 0xfb;
const CBOR_ARRAY_OF_3 = 0x83;
const CBOR_ARRAY_OF_4 = 0x84;

const EMPTY = new Uint8Array(0);
// The scanner's cursor: module state rather than an object per scan, since a scan runs to its
// end synchronously and scans never nest.
let src: Uint8Array = EMPTY;
let pos = 0;

/** The argument of a head of major type `major` in its shortest form (the only one the writer makes), or -1. */
function head(major: number): number {
  const b = src[pos];
  if (b === undefined || b >> 5 !== major) return -1;
  const info = b & 0x1f;
  if (info < 0x18) {
    pos++;
    return info;
  }
  const p = pos + 1;
  if (info === 0x18) {
    if (p >= src.length) return -1;
    const n = src[p]!;
    if (n < 0x18) return -1;
    pos = p + 1;
    return n;
  }
  if (info === 0x19) {
    if (p + 1 >= src.length) return -1;
    const n = (src[p]! << 8) | src[p + 1]!;
    if (n < 0x100) return -1;
    pos = p + 2;
    return n;
  }
  if (info === 0x1a) {
    if (p + 3 >= src.length) return -1;
    const n = ((src[p]! << 24) >>> 0) + ((src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!);
    if (n < 0x10000) return -1;
    pos = p + 4;
    return n;
  }
  return -1;
}

const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A number in the form CborWriter.number writes for it, or NaN (never a valid field: every number
 * of an object is finite). A float64 is canonical only for a value the writer would not write as
 * an integer; 64-bit integer heads, which the writer never makes, are refused.
 */
function number(): number {
  const b = src[pos];
  if (b === undefined) return NaN;
  if (b === CBOR_FLOAT64) {
    const p = pos + 1;
    if (p + 8 > src.length) return NaN;
    if (LITTLE_ENDIAN) for (let k = 0; k < 8; k++) float64Bytes[7 - k] = src[p + k]!;
    else for (let k = 0; k < 8; k++) float64Bytes[k] = src[p + k]!;
    const v = float64[0]!;
    if (numberLength(v) !== 9) return NaN;
    pos = p + 8;
    return v;
  }
  const major = b >> 5;
  if (major === 0) {
    const n = head(0);
    return n < 0 ? NaN : n;
  }
  if (major === 1) {
    const n = head(1);
    return n < 0 ? NaN : -1 - n;
  }
  return NaN;
}

/**
 * The length of the node id text at `pos` (its bytes follow the head), after checking it is
 * 1 to DEFAULT_MAX_NODE_ID_CHARS ASCII characters (decodeObject's bound, in UTF-16 code units,
 * which for ASCII are bytes); -1 otherwise. Leaves `pos` at the id's first byte.
 */
function nodeIdHead(): number {
  const length = head(3);
  if (length < 1 || length > DEFAULT_MAX_NODE_ID_CHARS || pos + length > src.length) return -1;
  for (let k = pos; k < pos + length; k++) if (src[k]! >= 0x80) return -1;
  return length;
}

/**
 * Compares id bytes `x[a..a+aLength)` with `y[b..b+bLength)` as the ids compare as strings (for
 * ASCII, byte order is UTF-16 code unit order): negative, zero or positive.
 */
function compareIds(x: Uint8Array, a: number, aLength: number, y: Uint8Array, b: number, bLength: number): number {
  const n = aLength < bLength ? aLength : bLength;
  for (let k = 0; k < n; k++) {
    const d = x[a + k]! - y[b + k]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** A clock counter as decodeObject accepts it: a safe integer from 1 to DEFAULT_MAX_COUNTER. */
function validCounter(c: number): boolean {
  return Number.isSafeInteger(c) && c >= 1 && c <= DEFAULT_MAX_COUNTER;
}

/**
 * The parts of one encoded object that merge decisions need, in arrays reused from scan to scan
 * (one ObjectScan per role, kept for the process): no allocation per sibling or clock entry, and
 * no string per node id (ids are compared as bytes).
 */
export class ObjectScan {
  /** The bytes of the last successful scan; undefined before one or after a failed one. */
  source: Uint8Array | undefined = undefined;
  /** Byte range of the clock (`[[nodeId, counter, lastUpdatedMs], ...]`) in `source`. */
  clockStart = 0;
  clockEnd = 0;
  /** Entries of the clock; the arrays below hold them from index 0 (entries past it are stale). */
  clockEntries = 0;
  /** Where each entry's node id starts in `source`, and its length in bytes (= characters: ASCII). */
  readonly clockIdStarts: number[] = [];
  readonly clockIdLengths: number[] = [];
  readonly clockCounters: number[] = [];
  readonly clockTimes: number[] = [];
  /** Siblings of the object, in their (canonical) order. */
  siblings = 0;
  /** Each sibling's dot: the clock entry of its node id (the clock covers every dot), and its counter. */
  readonly dotEntries: number[] = [];
  readonly dotCounters: number[] = [];
  /** Byte range of each sibling's encoding in `source`. */
  readonly siblingStarts: number[] = [];
  readonly siblingEnds: number[] = [];
  /**
   * When the storage engine may drop the object (replica-store.ts storageExpiry): the latest
   * sibling expiry (at least 0) when every sibling expires, undefined when one never does or
   * there are none.
   */
  storageExpiryMs: number | undefined = undefined;
  /**
   * Scratch of decideEncodedMerge, per clock entry: its position in the union of both clocks'
   * ids (equal ids share one), and the other clock's entry of the same id (-1 for none).
   */
  readonly clockRanks: number[] = [];
  readonly clockPartners: number[] = [];

  /**
   * Reads `bytes`; true when they are an object in canonical form that decodeObject accepts with
   * its default limits (the fields above then describe it), false otherwise (decode it instead).
   */
  scan(bytes: Uint8Array): boolean {
    this.source = undefined;
    src = bytes;
    pos = 2;
    const ok = bytes.length >= 2 && bytes[0] === CBOR_ARRAY_OF_3 && bytes[1] === OBJECT_FORMAT_VERSION &&
      this.scanClockAt() && this.scanSiblings() && pos === bytes.length;
    src = EMPTY;
    if (!ok) return false;
    this.source = bytes;
    return true;
  }

  /** The node id of clock entry `i` of the last successful scan, as a string (for tests and logs). */
  clockId(i: number): string {
    assert(this.source !== undefined && i >= 0 && i < this.clockEntries, 'a clock entry of a scanned object');
    const start = this.clockIdStarts[i]!;
    return String.fromCharCode(...this.source.subarray(start, start + this.clockIdLengths[i]!));
  }

  /**
   * Reads only the header and the clock of `bytes` (the clock fields above); true when they are
   * canonical and valid. `source` stays undefined: the siblings were not read.
   */
  scanClockOnly(bytes: Uint8Array): boolean {
    this.source = undefined;
    src = bytes;
    pos = 2;
    const ok = bytes.length >= 2 && bytes[0] === CBOR_ARRAY_OF_3 && bytes[1] === OBJECT_FORMAT_VERSION && this.scanClockAt();
    src = EMPTY;
    return ok;
  }

  /** The clock at the cursor: canonical, entries sorted strictly by node id, valid counters and times. */
  private scanClockAt(): boolean {
    this.clockStart = pos;
    const entries = head(4);
    if (entries < 0 || entries > src.length) return false;
    const starts = this.clockIdStarts;
    const lengths = this.clockIdLengths;
    const counters = this.clockCounters;
    const times = this.clockTimes;
    for (let i = 0; i < entries; i++) {
      if (src[pos] !== CBOR_ARRAY_OF_3) return false;
      pos++;
      const length = nodeIdHead();
      if (length < 0) return false;
      if (i > 0 && compareIds(src, starts[i - 1]!, lengths[i - 1]!, src, pos, length) >= 0) return false;
      starts[i] = pos;
      lengths[i] = length;
      pos += length;
      const counter = number();
      if (!validCounter(counter)) return false;
      const time = number();
      if (!Number.isFinite(time)) return false;
      counters[i] = counter;
      times[i] = time;
    }
    this.clockEntries = entries;
    this.clockEnd = pos;
    return true;
  }

  /**
   * The siblings at `pos`: `[value, dotNode, dotCounter, writtenAtMs]`, then expiresAtMs (or null)
   * and the coordinator exactly when the writer puts them, dots covered by the clock and sorted
   * strictly.
   */
  private scanSiblings(): boolean {
    const count = head(4);
    if (count < 0 || count > src.length) return false;
    const starts = this.clockIdStarts;
    const lengths = this.clockIdLengths;
    let latestExpiryMs = 0;
    let allExpire = true;
    // The clock entry of the previous sibling's dot: dots are sorted, so each dot's entry is found
    // by walking the clock forward from there.
    let entry = 0;
    for (let i = 0; i < count; i++) {
      const start = pos;
      const tag = src[pos];
      if (tag === undefined || tag < CBOR_ARRAY_OF_4 || tag > CBOR_ARRAY_OF_4 + 2) return false;
      const arity = tag - CBOR_ARRAY_OF_4 + 4;
      pos++;
      if (src[pos] === CBOR_NULL) pos++;
      else {
        const length = head(2);
        if (length < 0 || pos + length > src.length) return false;
        pos += length;
      }
      // The dot's node id must have a clock entry (the clock covers the dot), at or after the
      // previous dot's (dots are sorted); an id no entry has fails the search.
      const dotIdLength = head(3);
      if (dotIdLength < 1 || pos + dotIdLength > src.length) return false;
      const dotIdStart = pos;
      let found = -1;
      for (let e = entry; e < this.clockEntries; e++) {
        const order = compareIds(src, starts[e]!, lengths[e]!, src, dotIdStart, dotIdLength);
        if (order === 0) found = e;
        if (order >= 0) break;
      }
      if (found < 0) return false;
      pos += dotIdLength;
      const dotCounter = number();
      if (!validCounter(dotCounter) || this.clockCounters[found]! < dotCounter) return false;
      if (i > 0 && found === entry && this.dotCounters[i - 1]! >= dotCounter) return false;
      entry = found;
      if (!Number.isFinite(number())) return false; // writtenAtMs
      let expiresAtMs: number | undefined;
      if (arity >= 5) {
        if (src[pos] === CBOR_NULL) {
          // The writer puts a null expiry only before a coordinator (arity 6).
          if (arity === 5) return false;
          pos++;
        } else {
          expiresAtMs = number();
          if (!Number.isFinite(expiresAtMs)) return false;
        }
      }
      if (arity === 6) {
        // The coordinator: an id other than the dot's node (else the writer leaves it out).
        const length = nodeIdHead();
        if (length < 0 || compareIds(src, pos, length, src, dotIdStart, dotIdLength) === 0) return false;
        pos += length;
      }
      this.dotEntries[i] = found;
      this.dotCounters[i] = dotCounter;
      this.siblingStarts[i] = start;
      this.siblingEnds[i] = pos;
      if (expiresAtMs === undefined) allExpire = false;
      else latestExpiryMs = Math.max(latestExpiryMs, expiresAtMs);
    }
    this.siblings = count;
    this.storageExpiryMs = allExpire && count > 0 ? latestExpiryMs : undefined;
    return true;
  }
}

/** What `decideEncodedMerge` found. */
export const EncodedMerge = {
  /** The merge is not decided on the encoded bytes: decode both objects and merge them. */
  Undecided: 0,
  /** mergeObjects(local, incoming) equals local: nothing to store. */
  KeepsLocal: 1,
  /** mergeObjects(local, incoming) equals incoming: its bytes are the merged object's encoding. */
  TakesIncoming: 2,
} as const;
export type EncodedMerge = (typeof EncodedMerge)[keyof typeof EncodedMerge];

/** Whether the two scanned siblings have the same encoding (for canonical objects: are equal). */
function sameSiblingBytes(a: ObjectScan, i: number, b: ObjectScan, j: number): boolean {
  const x = a.source!;
  const y = b.source!;
  const xStart = a.siblingStarts[i]!;
  const yStart = b.siblingStarts[j]!;
  const length = a.siblingEnds[i]! - xStart;
  if (b.siblingEnds[j]! - yStart !== length) return false;
  for (let k = 0; k < length; k++) if (x[xStart + k] !== y[yStart + k]) return false;
  return true;
}

/**
 * How `mergeObjects(local, incoming)` relates to its inputs, decided on two successful scans:
 * KeepsLocal when the result equals `local` (a duplicate or stale delivery), else TakesIncoming
 * when it equals `incoming`, else Undecided. Undecided also when two siblings share a dot but
 * differ (only after dot reuse), where mergeObjects' tie rule would need the decoded siblings.
 *
 * Why this is mergeObjects: its clock is the pointwise maximum of counters and of timestamps, so
 * it equals one side's clock exactly when that side's entries are each at least the other's, in
 * both counter and timestamp. Its siblings are: a sibling of one side that the other side's clock
 * covers is dropped unless the other side holds it too; any other sibling is kept. So the result
 * equals `local` when every local sibling survives and every incoming one is dropped or held by
 * `local`, and symmetrically for `incoming`.
 */
export function decideEncodedMerge(local: ObjectScan, incoming: ObjectScan): EncodedMerge {
  const x = local.source;
  const y = incoming.source;
  assert(x !== undefined, 'the local object was scanned');
  assert(y !== undefined, 'the incoming object was scanned');
  // Clocks: is local's <= incoming's entry by entry (incoming's is then the merged clock), and the
  // reverse? The same walk ranks the ids of both clocks and pairs equal ones, for the dots below.
  let localBelow = true;
  let incomingBelow = true;
  let i = 0;
  let j = 0;
  let rank = 0;
  const li = local.clockEntries;
  const ij = incoming.clockEntries;
  while (i < li || j < ij) {
    const order = i === li ? 1 : j === ij ? -1
      : compareIds(x, local.clockIdStarts[i]!, local.clockIdLengths[i]!, y, incoming.clockIdStarts[j]!, incoming.clockIdLengths[j]!);
    if (order === 0) {
      const ac = local.clockCounters[i]!;
      const bc = incoming.clockCounters[j]!;
      const at = local.clockTimes[i]!;
      const bt = incoming.clockTimes[j]!;
      if (ac > bc || at > bt) localBelow = false;
      if (bc > ac || bt > at) incomingBelow = false;
      local.clockRanks[i] = rank;
      local.clockPartners[i] = j;
      incoming.clockRanks[j] = rank;
      incoming.clockPartners[j] = i;
      i++;
      j++;
    } else if (order < 0) {
      localBelow = false;
      local.clockRanks[i] = rank;
      local.clockPartners[i] = -1;
      i++;
    } else {
      incomingBelow = false;
      incoming.clockRanks[j] = rank;
      incoming.clockPartners[j] = -1;
      j++;
    }
    rank++;
    if (!localBelow && !incomingBelow) return EncodedMerge.Undecided;
  }
  let keepsLocal = incomingBelow;
  let takesIncoming = localBelow;

  // Siblings, walked in dot order as mergeObjects walks them (ids by rank, then counters).
  i = 0;
  j = 0;
  const ls = local.siblings;
  const is = incoming.siblings;
  while (i < ls || j < is) {
    const order = i === ls ? 1 : j === is ? -1
      : local.clockRanks[local.dotEntries[i]!]! - incoming.clockRanks[incoming.dotEntries[j]!]! ||
        local.dotCounters[i]! - incoming.dotCounters[j]!;
    if (order < 0) {
      // Only local holds it: dropped when incoming's clock has seen its dot.
      const partner = local.clockPartners[local.dotEntries[i]!]!;
      if (partner >= 0 && incoming.clockCounters[partner]! >= local.dotCounters[i]!) keepsLocal = false;
      else takesIncoming = false;
      i++;
    } else if (order > 0) {
      // Only incoming holds it: dropped when local's clock has seen its dot.
      const partner = incoming.clockPartners[incoming.dotEntries[j]!]!;
      if (partner >= 0 && local.clockCounters[partner]! >= incoming.dotCounters[j]!) takesIncoming = false;
      else keepsLocal = false;
      j++;
    } else {
      if (!sameSiblingBytes(local, i, incoming, j)) return EncodedMerge.Undecided;
      i++;
      j++;
    }
    if (!keepsLocal && !takesIncoming) return EncodedMerge.Undecided;
  }
  return keepsLocal ? EncodedMerge.KeepsLocal : takesIncoming ? EncodedMerge.TakesIncoming : EncodedMerge.Undecided;
}

/** Scratch of encodeContextFromObjectBytes (it reads only the clock). */
const contextScan = new ObjectScan();

/**
 * The context of the object encoded in `bytes` (codec.ts: the base64url of `[1, clock]`), made
 * from the bytes of its clock without decoding it: exactly `encodeContext(decodeObject(bytes).clock)`
 * when the clock is in the canonical form encodeObject writes (always, for bytes it wrote), since
 * both encodings write the clock with the same writer. Undefined otherwise (a non-ASCII id, another
 * encoder's form): the caller then encodes the decoded clock. Only the header and the clock are
 * read, so `bytes` must be an object the caller knows to be valid (it decoded them, or encoded them).
 */
export function encodeContextFromObjectBytes(bytes: Uint8Array): string | undefined {
  return contextScan.scanClockOnly(bytes) ? contextOf(bytes, contextScan.clockStart, contextScan.clockEnd) : undefined;
}

/**
 * The context (codec.ts encodeContext) of the object a successful scan read: the base64url of
 * `[1, clock]`, whose clock is the very bytes of the object's clock.
 */
export function contextOfScan(scan: ObjectScan): string {
  const bytes = scan.source;
  assert(bytes !== undefined, 'the object was scanned');
  return contextOf(bytes, scan.clockStart, scan.clockEnd);
}

function contextOf(bytes: Uint8Array, clockStart: number, clockEnd: number): string {
  const out = Buffer.allocUnsafe(2 + clockEnd - clockStart);
  out[0] = 0x82; // an array of 2
  out[1] = CONTEXT_FORMAT_VERSION;
  out.set(bytes.subarray(clockStart, clockEnd), 2);
  return out.toString('base64url');
}
