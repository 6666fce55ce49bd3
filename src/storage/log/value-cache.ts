/**
 * A small value cache with a byte budget, evicting in second-chance (CLOCK) order, an
 * approximation of least-recently-used. A Map keeps insertion order; a hit only marks its entry
 * as referenced, and eviction walks from the oldest entry: a referenced one loses its mark and
 * moves to the end (a second chance), an unreferenced one is evicted. An exact LRU would move the
 * entry on every hit (a Map delete and set, the most expensive part of a cached read); here an
 * entry moves at most once per pass of the eviction hand, and not at all while the cache has room.
 */
import { assert } from '../../core/assert.js';

/** Bookkeeping bytes charged per entry on top of key and value (Map entry, entry object, key string header). */
const ENTRY_OVERHEAD_BYTES = 64;

interface CacheEntry {
  value: Uint8Array;
  cost: number;
  /** Read or written since the eviction hand last passed it. */
  referenced: boolean;
}

export class ValueCache {
  private readonly map = new Map<string, CacheEntry>();
  private bytes = 0;
  /** The eviction hand: a live iterator over the map (see evictOne). */
  private hand: Iterator<[string, CacheEntry]> | undefined;
  hits = 0;
  misses = 0;

  /**
   * @param maxBytes total budget; 0 disables the cache.
   * @param maxEntryBytes largest single entry cached, so that one huge value cannot flush the rest.
   */
  constructor(readonly maxBytes: number, readonly maxEntryBytes: number) {
    assert(maxBytes >= 0, 'cache budget is not negative');
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entries(): number {
    return this.map.size;
  }

  get(key: string): Uint8Array | undefined {
    const value = this.peek(key);
    if (value === undefined) this.misses++;
    return value;
  }

  /** `get`, except that a miss is not counted (the caller counts it once it reads the value elsewhere). */
  peek(key: string): Uint8Array | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    this.hits++;
    entry.referenced = true;
    return entry.value;
  }

  /** Caches `value` as the current value of `key`, evicting entries that were not used lately. */
  set(key: string, value: Uint8Array, chargeBytes = value.byteLength): void {
    const cost = chargeBytes + key.length * 2 + ENTRY_OVERHEAD_BYTES;
    const entry = this.map.get(key);
    if (cost > this.maxEntryBytes || cost > this.maxBytes) {
      if (entry !== undefined) this.remove(key, entry);
      return;
    }
    if (entry === undefined) {
      this.map.set(key, { value, cost, referenced: false });
    } else {
      // An overwrite keeps the entry's place and counts as a use.
      this.bytes -= entry.cost;
      entry.value = value;
      entry.cost = cost;
      entry.referenced = true;
    }
    this.bytes += cost;
    while (this.bytes > this.maxBytes && this.evictOne());
    assert(this.bytes <= this.maxBytes, 'cache within its budget');
  }

  /**
   * Advances the hand until it evicts one entry; false when the map is empty. One iterator lives
   * across calls: a fresh iterator would walk over every entry deleted so far (V8 leaves holes
   * until it rehashes), which makes eviction quadratic. Entries moved to the end come after the
   * hand, so it sees them again on its next pass. It passes at most every entry once before it
   * finds one whose mark it already cleared, so one call is bounded by the entry count.
   */
  private evictOne(): boolean {
    for (let steps = 0; steps <= 2 * this.map.size + 1; steps++) {
      this.hand ??= this.map.entries();
      const next = this.hand.next();
      if (next.done === true) {
        this.hand = undefined;
        if (this.map.size === 0) return false;
        continue;
      }
      const [key, entry] = next.value;
      if (entry.referenced) {
        entry.referenced = false;
        this.map.delete(key);
        this.map.set(key, entry);
        continue;
      }
      this.remove(key, entry);
      return true;
    }
    return false;
  }

  delete(key: string): void {
    const entry = this.map.get(key);
    if (entry !== undefined) this.remove(key, entry);
  }

  private remove(key: string, entry: CacheEntry): void {
    this.map.delete(key);
    this.bytes -= entry.cost;
  }

  clear(): void {
    this.hand = undefined;
    this.map.clear();
    this.bytes = 0;
  }
}
