/**
 * A small LRU cache of values with a byte budget. A Map keeps insertion order, so re-inserting on
 * each hit makes its first key the least recently used one.
 */
import { assert } from '../../core/assert.js';

/** Bookkeeping bytes charged per entry on top of key and value (Map entry, key string header). */
const ENTRY_OVERHEAD_BYTES = 64;

export class ValueCache {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
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
    const value = this.map.get(key);
    if (value === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Caches `value` as the current value of `key`, evicting least recently used entries. */
  set(key: string, value: Uint8Array, chargeBytes = value.byteLength): void {
    this.delete(key);
    const cost = chargeBytes + key.length * 2 + ENTRY_OVERHEAD_BYTES;
    if (cost > this.maxEntryBytes || cost > this.maxBytes) return;
    this.map.set(key, value);
    this.bytes += cost;
    this.charges.set(key, cost);
    while (this.bytes > this.maxBytes && this.evictOldest());
    assert(this.bytes <= this.maxBytes, 'cache within its budget');
  }

  /**
   * Evicts the least recently used entry. One iterator lives across calls: a fresh iterator would
   * walk over every entry deleted so far (V8 leaves holes until it rehashes), which makes eviction
   * quadratic. The live iterator only ever passes deleted entries, and entries moved to the end by
   * a hit come after it, so it always points at the least recently used entry.
   */
  private evictOldest(): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.evictor ??= this.map.keys();
      const next = this.evictor.next();
      if (!next.done) {
        this.delete(next.value);
        return true;
      }
      this.evictor = undefined;
    }
    return false;
  }

  private evictor: Iterator<string> | undefined;

  delete(key: string): void {
    const cost = this.charges.get(key);
    if (cost === undefined) return;
    this.map.delete(key);
    this.charges.delete(key);
    this.bytes -= cost;
  }

  clear(): void {
    this.evictor = undefined;
    this.map.clear();
    this.charges.clear();
    this.bytes = 0;
  }

  private readonly charges = new Map<string, number>();
}
