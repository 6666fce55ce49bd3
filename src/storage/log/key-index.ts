/**
 * The in-memory index: key → location of the key's newest record (segment handle, offset, frame
 * length) and its expiry.
 *
 * Memory is the constraint (millions of keys), so there is no object per key and no JS Map: keys
 * live in slots, and each slot's fields are typed-array columns; a hash table of its own (open
 * addressing, linear probing, backward-shift deletion) maps a key to its slot. Per key that is the
 * key string, 8 bytes for its reference, 20 for the columns and about 16 for the table (a cell is
 * the slot and the key's hash; the table is kept at most half full): roughly 44 bytes plus the
 * string, against ~30 bytes of Map entry alone for a Map<string, number>. It is also faster to load: one hash per key instead of
 * a Map.get plus a Map.set, which is most of the restart time.
 *
 * Tombstones stay in the index (expiry column = -Infinity) until compaction drops them from disk:
 * compaction needs to know which tombstone is a key's newest record.
 */
import { randomInt } from 'node:crypto';
import { assert } from '../../core/assert.js';

/** Expiry column value of a record that never expires. */
export const NEVER_EXPIRES = Infinity;
/** Expiry column value of a tombstone: absent at every time. */
export const TOMBSTONE = -Infinity;

const INITIAL_SLOTS = 1024;

/**
 * Seed of the key hash, random per process so that keys chosen by a client cannot be made to
 * collide on purpose (which would turn lookups linear).
 */
const HASH_SEED = randomInt(0, 2 ** 32 - 1);

/** FNV-1a over UTF-16 code units, seeded. */
export function hashKey(key: string): number {
  let h = (0x811c9dc5 ^ HASH_SEED) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  // A final avalanche step, so that keys differing only in their last characters spread over the
  // low bits the table uses.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

export class KeyIndex {
  /**
   * Open-addressing table of cells, each two ints: slot + 1 (0 = empty cell) and the hash of that
   * slot's key. The hash sits next to the slot so that a probe compares hashes without a second
   * random memory access (a lookup's cost is its cache misses). The cell count is a power of two.
   */
  private table = new Int32Array(INITIAL_SLOTS * 4);
  private cellMask = INITIAL_SLOTS * 2 - 1;
  private count = 0;
  /** Key of each slot (undefined = free slot). */
  private keyOf: (string | undefined)[] = [];
  /** Segment handle of the record. */
  seg = new Uint32Array(INITIAL_SLOTS);
  /** Byte offset of the frame in its segment. */
  off = new Uint32Array(INITIAL_SLOTS);
  /** Frame length in bytes. */
  len = new Uint32Array(INITIAL_SLOTS);
  /** Expiry in ms on the engine clock; NEVER_EXPIRES or TOMBSTONE. */
  exp = new Float64Array(INITIAL_SLOTS);
  private nextSlot = 0;
  private freeSlots: number[] = [];
  /** The last key looked up and its hash: insert() after a failed slot() does not hash again. */
  private lastKey: string | undefined;
  private lastHash = 0;
  /**
   * The empty cell where the last failed lookup of lastKey ended (-1: none): insert() of that key
   * goes there without probing again. Any change to the table resets it.
   */
  private missCell = -1;

  get size(): number {
    return this.count;
  }

  private hashOfKey(key: string): number {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastHash = hashKey(key);
      this.missCell = -1;
    }
    return this.lastHash;
  }

  /** The slot of `key`, or undefined. */
  slot(key: string): number | undefined {
    const h = this.hashOfKey(key);
    const table = this.table;
    const mask = this.cellMask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[2 * i]!;
      if (e === 0) {
        this.missCell = i;
        return undefined;
      }
      if (table[2 * i + 1] === h && this.keyOf[e - 1] === key) return e - 1;
    }
  }

  /** Adds a key that is not in the index (the caller just got undefined from slot()); returns its slot. */
  insert(key: string, seg: number, off: number, len: number, exp: number): number {
    const h = this.hashOfKey(key);
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.seg.length) this.growColumns();
    }
    if ((this.count + 1) * 2 > this.cellMask + 1) this.growTable();
    this.keyOf[slot] = key;
    const table = this.table;
    let i = this.missCell;
    if (i === -1) {
      const mask = this.cellMask;
      for (i = h & mask; table[2 * i] !== 0; i = (i + 1) & mask) assert(this.keyOf[table[2 * i]! - 1] !== key, 'insert of a key already indexed');
    }
    assert(table[2 * i] === 0, 'insert into an empty cell');
    table[2 * i] = slot + 1;
    table[2 * i + 1] = h;
    this.missCell = -1;
    this.count++;
    this.write(slot, seg, off, len, exp);
    return slot;
  }

  write(slot: number, seg: number, off: number, len: number, exp: number): void {
    assert(len > 0, 'a record has a length');
    assert(!Number.isNaN(exp), 'expiry is a number, NEVER_EXPIRES or TOMBSTONE');
    this.seg[slot] = seg;
    this.off[slot] = off;
    this.len[slot] = len;
    this.exp[slot] = exp;
  }

  /** Removes a key (compaction dropped its last record). */
  remove(key: string): void {
    const h = this.hashOfKey(key);
    const table = this.table;
    const mask = this.cellMask;
    let i = h & mask;
    for (;; i = (i + 1) & mask) {
      const e = table[2 * i]!;
      assert(e !== 0, 'remove of an indexed key');
      if (table[2 * i + 1] === h && this.keyOf[e - 1] === key) break;
    }
    const slot = table[2 * i]! - 1;
    this.keyOf[slot] = undefined;
    this.freeSlots.push(slot);
    this.count--;
    this.missCell = -1;
    // Backward-shift deletion: move later entries of the probe run into the hole when their home
    // position allows it, so that lookups never need tombstones in the table.
    for (let j = (i + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j + 1]! & mask;
      // The entry at j may move to i when its home is not in the cyclic range (i, j].
      const inRange = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!inRange) {
        table[2 * i] = table[2 * j]!;
        table[2 * i + 1] = table[2 * j + 1]!;
        i = j;
      }
    }
    table[2 * i] = 0;
    table[2 * i + 1] = 0;
  }

  /** Keys in slot order. */
  *keys(): IterableIterator<string> {
    for (let s = 0; s < this.nextSlot; s++) {
      const key = this.keyOf[s];
      if (key !== undefined) yield key;
    }
  }

  /** [key, slot] pairs in slot order. */
  *entries(): IterableIterator<[string, number]> {
    for (let s = 0; s < this.nextSlot; s++) {
      const key = this.keyOf[s];
      if (key !== undefined) yield [key, s];
    }
  }

  /** Calls `visit(key, slot)` for every key (faster than entries() for whole-index passes). */
  forEach(visit: (key: string, slot: number) => void): void {
    for (let s = 0; s < this.nextSlot; s++) {
      const key = this.keyOf[s];
      if (key !== undefined) visit(key, s);
    }
  }

  /** Makes room for `keys` keys in total, so that a bulk load does not grow step by step. */
  reserve(keys: number): void {
    while (this.seg.length < keys) this.growColumns();
    // The key column too (a JS array grows by copying itself; pushing keeps its elements packed).
    while (this.keyOf.length < keys) this.keyOf.push(undefined);
    let cells = this.cellMask + 1;
    while (keys * 2 > cells) cells *= 2;
    if (cells > this.cellMask + 1) this.growTable(cells);
  }

  private growTable(cells = (this.cellMask + 1) * 2): void {
    const old = this.table;
    const table = new Int32Array(cells * 2);
    const mask = cells - 1;
    for (let c = 0; c < old.length; c += 2) {
      if (old[c] === 0) continue;
      const h = old[c + 1]!;
      let i = h & mask;
      while (table[2 * i] !== 0) i = (i + 1) & mask;
      table[2 * i] = old[c]!;
      table[2 * i + 1] = h;
    }
    this.table = table;
    this.cellMask = mask;
    this.missCell = -1;
  }

  private growColumns(): void {
    const capacity = this.seg.length * 2;
    const grow = <T extends Uint32Array | Int32Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.seg = grow(this.seg, (n) => new Uint32Array(n));
    this.off = grow(this.off, (n) => new Uint32Array(n));
    this.len = grow(this.len, (n) => new Uint32Array(n));
    this.exp = grow(this.exp, (n) => new Float64Array(n));
  }
}
