/**
 * Decoded objects of recently used storage keys, so that a read-modify-write or a read of a key
 * this replica just wrote or read does not decode its stored bytes again (decoding was the largest
 * single cost of a replica's hot path).
 *
 * An entry is the bytes it was decoded from plus the object. It answers only for a caller holding
 * those very bytes: the same instance (the engines return the same value instance for a key until
 * it changes) or, failing that, bytes equal to them (then the instance is remembered for next
 * time). So an entry can never be stale: after an overwrite, a delete or an expiry the engine no
 * longer returns those bytes, and there is nothing to invalidate. Deletes are still forwarded, to
 * free the memory early.
 *
 * Objects handed out are shared: KvObjects are immutable (object.ts builds new ones for every
 * change), and their values are views on bytes nobody mutates (the stored record's, or a copy the
 * cache owns), never on a caller's buffer.
 *
 * The cache is direct-mapped: a key's fingerprint picks its slot, and a new entry replaces
 * whatever held the slot. A lookup of a key that is not cached (the common case under uniform
 * access to many keys) then costs a hash of the key and one load from a small typed array; a Map
 * cost several times that, in cache misses on its table.
 *
 * Admission: an object is cached only when its key is cached already or was offered before,
 * recently (a second table of fingerprints remembers the last offer per slot). Caching costs more
 * than the decode it saves when the key is not used again soon: the entry lives just long enough
 * to be copied by the young generation's collector and promoted, then dies in the old one. Under
 * uniform access to more keys than the cache holds, that tripled the collector's share of a node's
 * CPU; the filter keeps such keys out, at the price of one more miss for a key that does return.
 */
import { assert } from '../assert.js';
import type { KvObject } from './version-adapter.js';

/** Bookkeeping charged per entry on top of its bytes: the object, clock and sibling shells. */
const ENTRY_OVERHEAD_BYTES = 192;
/** Charged per sibling on top of ENTRY_OVERHEAD_BYTES: the sibling, its dot and its value view. */
const SIBLING_OVERHEAD_BYTES = 160;
/** Charged per clock entry. */
const CLOCK_ENTRY_OVERHEAD_BYTES = 48;
/** Characters of a key (its last ones: keys often share a prefix) that its fingerprint covers. */
const FINGERPRINT_MAX_CHARS = 64;

export interface DecodedObjectCacheOptions {
  /**
   * Entries held at most (slots), objects. Default 0: off. The slots and the admission filter
   * (twice as many slots) take 20 bytes per entry besides the entries themselves.
   *
   * Off by default because it did not pay where measured: in the simulator's speed bench (5 nodes,
   * hot keys, memory engine with peek) 10 000 entries cost about 8% more CPU than none (4.40 s
   * against 4.06 s), 1 024 about 10%: the decodes it saves cost less than priming entries on every
   * write and the collector's work on objects that live that long. Turn it on only where a
   * measurement of the workload shows a gain.
   */
  readonly maxEntries?: number | undefined;
  /**
   * Bytes held at most: each entry's encoded bytes plus an estimate of its decoded object's
   * memory (ENTRY_OVERHEAD_BYTES + SIBLING_OVERHEAD_BYTES per sibling + CLOCK_ENTRY_OVERHEAD_BYTES
   * per clock entry). Default 16 MiB. An object larger than a sixteenth of it is not cached.
   */
  readonly maxBytes?: number | undefined;
}

export const DEFAULT_DECODED_CACHE_MAX_ENTRIES = 0;
export const DEFAULT_DECODED_CACHE_MAX_BYTES = 16 * 1024 * 1024;

export class DecodedObjectCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Per slot: fingerprint of the key cached there (0: empty), the key, its bytes, its object, its cost. */
  private readonly fingerprints: Int32Array;
  private readonly keys: (string | undefined)[];
  private readonly bytes: (Uint8Array | undefined)[];
  private readonly objects: (KvObject | undefined)[];
  private readonly costs: Float64Array;
  /** Fingerprint of the key last offered, per slot of the admission filter (0: none). */
  private readonly offered: Int32Array;
  private entryCount = 0;
  private heldBytes = 0;
  /** Next slot the byte budget evicts from. */
  private hand = 0;
  private lastKey = '';
  private lastFingerprint = fingerprint('');
  hits = 0;
  misses = 0;
  /** Offers turned away by the admission filter. */
  notAdmitted = 0;

  constructor(options: DecodedObjectCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_DECODED_CACHE_MAX_ENTRIES;
    this.maxBytes = options.maxBytes ?? DEFAULT_DECODED_CACHE_MAX_BYTES;
    assert(Number.isSafeInteger(this.maxEntries) && this.maxEntries >= 0, 'maxEntries is a non-negative integer');
    assert(Number.isSafeInteger(this.maxBytes) && this.maxBytes >= 0, 'maxBytes is a non-negative integer');
    const slots = Math.max(1, this.maxEntries);
    this.fingerprints = new Int32Array(slots);
    this.keys = new Array<string | undefined>(slots).fill(undefined);
    this.bytes = new Array<Uint8Array | undefined>(slots).fill(undefined);
    this.objects = new Array<KvObject | undefined>(slots).fill(undefined);
    this.costs = new Float64Array(slots);
    this.offered = new Int32Array(2 * slots);
  }

  get size(): number {
    return this.entryCount;
  }

  get sizeBytes(): number {
    return this.heldBytes;
  }

  /** The object `bytes` (the current stored value of `key`) decodes to, when this cache holds it. */
  get(key: string, bytes: Uint8Array): KvObject | undefined {
    if (this.maxEntries === 0) return undefined;
    const fp = this.fingerprint(key);
    const slot = (fp >>> 0) % this.maxEntries;
    if (this.fingerprints[slot] === fp && this.keys[slot] === key) {
      const cached = this.bytes[slot]!;
      if (cached === bytes) {
        this.hits++;
        return this.objects[slot];
      }
      if (bytesEqual(cached, bytes)) {
        // Both are immutable and equal: keep the caller's instance, which the storage will return
        // again, so the next lookup is a reference comparison.
        this.bytes[slot] = bytes;
        this.hits++;
        return this.objects[slot];
      }
    }
    this.misses++;
    return undefined;
  }

  /**
   * Whether to cache an object of `key` now: when the key is cached already or was offered
   * recently (see the module comment). Notes the offer. Call it at most once per use of a key, or
   * the filter admits everything; only then build what `set` takes.
   */
  admits(key: string): boolean {
    if (this.maxEntries === 0) return false;
    const fp = this.fingerprint(key);
    const slot = (fp >>> 0) % this.maxEntries;
    if (this.fingerprints[slot] === fp && this.keys[slot] === key) return true;
    const offerSlot = ((fp ^ (fp >>> 15)) >>> 0) % this.offered.length;
    if (this.offered[offerSlot] === fp) return true;
    this.offered[offerSlot] = fp;
    this.notAdmitted++;
    return false;
  }

  /**
   * Remembers that `bytes` decode to `obj` (normally after `admits`), in place of whatever held the
   * key's slot. Both must stay unchanged for as long as anyone holds them, and `obj`'s values must
   * be views on `bytes` or on other memory nobody mutates.
   */
  set(key: string, bytes: Uint8Array, obj: KvObject): void {
    if (this.maxEntries === 0) return;
    const fp = this.fingerprint(key);
    const slot = (fp >>> 0) % this.maxEntries;
    this.clear(slot);
    const cost = bytes.byteLength + key.length * 2 + ENTRY_OVERHEAD_BYTES +
      obj.siblings.length * SIBLING_OVERHEAD_BYTES + obj.clock.length * CLOCK_ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxBytes / 16) return;
    // The byte budget: clear slots from the hand on. Every slot holds less than a sixteenth of the
    // budget, so one pass over the slots always makes room.
    for (let steps = 0; this.heldBytes + cost > this.maxBytes && steps < this.maxEntries; steps++) {
      this.clear(this.hand);
      this.hand = (this.hand + 1) % this.maxEntries;
    }
    assert(this.heldBytes + cost <= this.maxBytes, 'one pass of the hand makes room');
    this.fingerprints[slot] = fp;
    this.keys[slot] = key;
    this.bytes[slot] = bytes;
    this.objects[slot] = obj;
    this.costs[slot] = cost;
    this.entryCount++;
    this.heldBytes += cost;
    assert(this.entryCount <= this.maxEntries, 'at most one entry per slot');
  }

  delete(key: string): void {
    if (this.maxEntries === 0) return;
    const fp = this.fingerprint(key);
    const slot = (fp >>> 0) % this.maxEntries;
    if (this.fingerprints[slot] === fp && this.keys[slot] === key) this.clear(slot);
  }

  /** The key's fingerprint; the last one is remembered, since a load looks its key up, then offers and sets it. */
  private fingerprint(key: string): number {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastFingerprint = fingerprint(key);
    }
    return this.lastFingerprint;
  }

  private clear(slot: number): void {
    if (this.fingerprints[slot] === 0) return;
    this.fingerprints[slot] = 0;
    this.keys[slot] = undefined;
    this.bytes[slot] = undefined;
    this.objects[slot] = undefined;
    this.entryCount--;
    this.heldBytes -= this.costs[slot]!;
    assert(this.entryCount >= 0 && this.heldBytes >= 0, 'counters never negative');
  }
}

/** A 32-bit hash of the key's length and its last characters (FNV-1a style); never 0, the empty slot. */
function fingerprint(key: string): number {
  let h = key.length ^ 0x811c9dc5;
  for (let i = Math.max(0, key.length - FINGERPRINT_MAX_CHARS); i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  // Native memcmp (pure, no I/O): the bytes are a whole object, and a JS loop costs more than the call.
  return Buffer.compare(a, b) === 0;
}
