/**
 * The key walk shared by both engines' `scan`: from the validated bounds, the keys of one page in
 * ascending order, and whether more may follow. The walk is synchronous, so it sees one consistent
 * state of the key set; the engine fetches values afterwards.
 */
import type { SortedKeys } from './sorted-keys.js';
import type { ScanBounds } from './validate.js';
import { inScanRange, pastScanRange, scanLowerBound } from './validate.js';

export interface ScanKeys {
  /** At most `limit` keys, ascending. */
  readonly keys: string[];
  /** True when at least one more visible key follows the last one. */
  readonly more: boolean;
}

/**
 * Walks `sorted` within `bounds`, keeping keys for which `visible` is true. `visible` may record
 * keys to clean up later but must not change `sorted` during the walk.
 */
export function collectScanKeys(sorted: SortedKeys, bounds: ScanBounds, visible: (key: string) => boolean): ScanKeys {
  const keys: string[] = [];
  let more = false;
  sorted.walk(scanLowerBound(bounds), (key) => {
    if (pastScanRange(key, bounds)) return false;
    if (!inScanRange(key, bounds) || !visible(key)) return true;
    if (keys.length === bounds.limit) {
      more = true;
      return false;
    }
    keys.push(key);
    return true;
  });
  return { keys, more };
}
