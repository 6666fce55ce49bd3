/**
 * The in-memory index: key → location of the key's newest record (segment handle, offset, frame
 * length) and its expiry. One Map<string, slot> plus typed-array columns indexed by slot, so a key
 * costs its string, one Map entry holding a small integer, and 20 bytes of columns, instead of a
 * JS object per key (which alone would be ~80 bytes).
 *
 * Tombstones stay in the index (expiry column = -Infinity) until compaction drops them from disk:
 * compaction needs to know which tombstone is a key's newest record.
 */
import { assert } from '../../core/assert.js';

/** Expiry column value of a record that never expires. */
export const NEVER_EXPIRES = Infinity;
/** Expiry column value of a tombstone: absent at every time. */
export const TOMBSTONE = -Infinity;

const INITIAL_CAPACITY = 1024;

export class KeyIndex {
  private readonly slots = new Map<string, number>();
  /** Segment handle of the record. */
  seg = new Uint32Array(INITIAL_CAPACITY);
  /** Byte offset of the frame in its segment. */
  off = new Uint32Array(INITIAL_CAPACITY);
  /** Frame length in bytes. */
  len = new Uint32Array(INITIAL_CAPACITY);
  /** Expiry in ms on the engine clock; NEVER_EXPIRES or TOMBSTONE. */
  exp = new Float64Array(INITIAL_CAPACITY);
  private nextSlot = 0;
  private freeSlots: number[] = [];

  get size(): number {
    return this.slots.size;
  }

  slot(key: string): number | undefined {
    return this.slots.get(key);
  }

  /** Adds a key that is not in the index; returns its slot. */
  insert(key: string, seg: number, off: number, len: number, exp: number): number {
    assert(!this.slots.has(key), 'insert of a key already indexed');
    let slot = this.freeSlots.pop();
    if (slot === undefined) {
      slot = this.nextSlot++;
      if (slot >= this.seg.length) this.grow();
    }
    this.slots.set(key, slot);
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
    const slot = this.slots.get(key);
    assert(slot !== undefined, 'remove of an indexed key');
    this.slots.delete(key);
    this.freeSlots.push(slot);
  }

  keys(): IterableIterator<string> {
    return this.slots.keys();
  }

  entries(): IterableIterator<[string, number]> {
    return this.slots.entries();
  }

  private grow(): void {
    const capacity = this.seg.length * 2;
    const seg = new Uint32Array(capacity);
    seg.set(this.seg);
    this.seg = seg;
    const off = new Uint32Array(capacity);
    off.set(this.off);
    this.off = off;
    const len = new Uint32Array(capacity);
    len.set(this.len);
    this.len = len;
    const exp = new Float64Array(capacity);
    exp.set(this.exp);
    this.exp = exp;
  }
}
