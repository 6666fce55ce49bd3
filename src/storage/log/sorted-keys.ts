/**
 * An ordered set of keys for range scans, next to an engine's unordered index (a Map). Built lazily
 * on the first scan, then kept up to date: new keys go into a small sorted `pending` array (binary
 * insertion), merged into the big sorted `main` array when pending outgrows about sqrt(n); removed
 * keys are only marked `stale` and filtered out when enough of them pile up. Inserts cost
 * O(sqrt n) amortized, a walk O(log n + page). Order is JS string order (UTF-16 code units), the
 * order ScanOptions documents.
 */
import { assert } from '../../core/assert.js';

/** Smallest pending array merged into main (merging tiny arrays often is pure overhead). */
const MIN_PENDING_BEFORE_MERGE = 256;
/** Smallest number of stale keys worth a rebuild of main. */
const MIN_STALE_BEFORE_REBUILD = 1024;

/** Index of the first element >= key in a sorted array. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SortedKeys {
  private main: string[];
  private pending: string[] = [];
  private readonly stale = new Set<string>();

  constructor(keys: Iterable<string>) {
    this.main = Array.from(keys).sort();
  }

  /** Number of keys in the set. */
  get size(): number {
    return this.main.length - this.stale.size + this.pending.length;
  }

  /** Adds a key that is not in the set (the caller's index just gained it). */
  add(key: string): void {
    if (this.stale.delete(key)) return; // still physically in main: un-mark it
    const i = lowerBound(this.pending, key);
    assert(this.pending[i] !== key, 'SortedKeys.add of a key already pending');
    this.pending.splice(i, 0, key);
    if (this.pending.length > Math.max(MIN_PENDING_BEFORE_MERGE, Math.sqrt(this.main.length) * 4)) this.merge();
  }

  /** Removes a key that is in the set (the caller's index just lost it). */
  remove(key: string): void {
    const i = lowerBound(this.pending, key);
    if (this.pending[i] === key) {
      this.pending.splice(i, 1);
      return;
    }
    this.stale.add(key);
    if (this.stale.size > Math.max(MIN_STALE_BEFORE_REBUILD, this.main.length / 4)) this.merge();
  }

  /**
   * Visits keys in ascending order, starting at the first key >= `from`, until `visit` returns
   * false. `visit` must not modify the set (collect keys, then act on them).
   */
  walk(from: string, visit: (key: string) => boolean): void {
    const main = this.main;
    const pending = this.pending;
    const checkStale = this.stale.size > 0;
    let i = lowerBound(main, from);
    let j = lowerBound(pending, from);
    for (;;) {
      let key: string;
      if (i < main.length && (j >= pending.length || main[i]! < pending[j]!)) {
        key = main[i++]!;
        if (checkStale && this.stale.has(key)) continue;
      } else if (j < pending.length) {
        key = pending[j++]!;
      } else {
        return;
      }
      if (!visit(key)) return;
    }
  }

  /** Merges pending into main and drops stale keys: O(n). */
  private merge(): void {
    const main = this.main;
    const pending = this.pending;
    const out: string[] = [];
    let i = 0;
    let j = 0;
    while (i < main.length || j < pending.length) {
      if (i < main.length && (j >= pending.length || main[i]! < pending[j]!)) {
        const key = main[i++]!;
        if (!this.stale.has(key)) out.push(key);
      } else {
        out.push(pending[j++]!);
      }
    }
    this.main = out;
    this.pending = [];
    this.stale.clear();
  }
}
