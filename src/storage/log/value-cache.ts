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
    if (this.bytes > this.maxBytes) {
      for (const oldest of this.map.keys()) {
        this.delete(oldest);
        if (this.bytes <= this.maxBytes) break;
      }
    }
    assert(this.bytes <= this.maxBytes, 'cache within its budget');
  }

  delete(key: string): void {
    const cost = this.charges.get(key);
    if (cost === undefined) return;
    this.map.delete(key);
    this.charges.delete(key);
    this.bytes -= cost;
  }

  clear(): void {
    this.map.clear();
    this.charges.clear();
    this.bytes = 0;
  }

  private readonly charges = new Map<string, number>();
}
