/** Shared helpers for the ring tests: a hasher whose tokens the test chooses, and sample keys. */
import type { KeyHasher } from '../../../src/core/ring/hash.js';

/**
 * A hasher with hand-placed tokens: labels in `tokens` get their listed token, keys written
 * "@<number>" get that number, anything else throws (a test asked for a token it did not place).
 */
export function fixedHasher(tokens: Record<string, number>): KeyHasher {
  return {
    token(key: string): number {
      const placed = tokens[key];
      if (placed !== undefined) return placed;
      if (key.startsWith('@')) return Number(key.slice(1));
      throw new Error(`fixedHasher: no token placed for ${JSON.stringify(key)}`);
    },
  };
}

/** Keys shaped like real ones ("user:123456"), deterministic. */
export function sampleKeys(count: number, prefix = 'user:'): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(`${prefix}${(i * 2654435761) % 1_000_000_007}`);
  return keys;
}
