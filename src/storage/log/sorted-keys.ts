/**
 * An ordered set of keys for range scans, next to an engine's unordered index (a Map). Built lazily
 * on the first scan, then kept up to date: new keys go into an unordered `pending` set (O(1), so
 * writes that no scan follows pay almost nothing); a walk sorts pending, and first merges it into
 * the big sorted `main` array when it outgrew about sqrt(n). Removed keys are only marked `stale`
 * and filtered out when enough of them pile up. Inserts cost O(1) plus, when scans happen,
 * O(sqrt n) amortized; a walk O(log n + page) once pending is sorted. Order is JS string order (UTF-16 code units), the
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
  /** Keys added since the last merge, unordered. */
  private readonly pending = new Set<string>();
  /** `pending` sorted, while no key was added or removed since it was sorted. */
  private pendingSorted: string[] | undefined = [];
  private readonly stale = new Set<string>();

  constructor(keys: Iterable<string>) {
    this.main = Array.from(keys).sort();
  }

  /** Number of keys in the set. */
  get size(): number {
    return this.main.length - this.stale.size + this.pending.size;
  }

  /** Adds a key that is not in the set (the caller's index just gained it). */
  add(key: string): void {
    if (this.stale.delete(key)) return; // still physically in main: un-mark it
    assert(!this.pending.has(key), 'SortedKeys.add of a key already pending');
    this.pending.add(key);
    this.pendingSorted = undefined;
  }

  /** Removes a key that is in the set (the caller's index just lost it). */
  remove(key: string): void {
    if (this.pending.delete(key)) {
      this.pendingSorted = undefined;
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
    if (this.pending.size > Math.max(MIN_PENDING_BEFORE_MERGE, Math.sqrt(this.main.length) * 4)) this.merge();
    const main = this.main;
    const pending = this.sortedPending();
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

  private sortedPending(): string[] {
    this.pendingSorted ??= Array.from(this.pending).sort();
    return this.pendingSorted;
  }

  /** Merges pending into main and drops stale keys: O(n + p log p). */
  private merge(): void {
    const main = this.main;
    const pending = this.sortedPending();
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
    this.pending.clear();
    this.pendingSorted = [];
    this.stale.clear();
  }
}
