/**
 * One seed, many streams. Every random source of a run is derived from the run's seed and a
 * label naming its purpose ("network", "node:n3:1", "workload"), so the streams are independent of
 * each other: adding a draw in one component never shifts the numbers another component sees, and
 * a parameter overridden on the command line does not change any other derived parameter.
 */
import type { Random } from '../../src/core/env.js';
import { SeededRandom } from '../../src/core/random.js';

/** FNV-1a over the label's UTF-16 code units, mixed with the seed (splitmix32 finaliser). */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.floor(seed / 0x1_0000_0000) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A random source for one purpose of one run. */
export function deriveRandom(seed: number, label: string): SeededRandom {
  return new SeededRandom(deriveSeed(seed, label));
}

/** A float in [min, max). */
export function uniform(random: Random, min: number, max: number): number {
  return min + random.next() * (max - min);
}

/** An integer in [min, max] (both inclusive). */
export function intBetween(random: Random, min: number, max: number): number {
  return min + random.int(max - min + 1);
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick() needs a non-empty list');
  return items[random.int(items.length)] as T;
}

/** A shuffled copy (Fisher-Yates). */
export function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    const tmp = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = tmp;
  }
  return copy;
}

/** True with probability `p`. */
export function chance(random: Random, p: number): boolean {
  return p > 0 && random.next() < p;
}

/** An exponentially distributed float with the given mean. */
export function exponential(random: Random, mean: number): number {
  // 1 - next() is in (0, 1], so the log is finite.
  return -Math.log(1 - random.next()) * mean;
}
