/**
 * A seeded pseudo-random generator (sfc32, seeded through splitmix32). Pure and deterministic:
 * the same seed gives the same sequence on every machine, which is what makes a simulator run
 * replayable from one number.
 */
import type { Random } from './env.js';
import { assert } from './assert.js';

function splitmix32(state: number): [value: number, next: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer; only its low 32 bits matter. */
  constructor(seed: number) {
    assert(Number.isFinite(seed), 'seed must be a finite number');
    let s = seed | 0;
    let v: number;
    [v, s] = splitmix32(s);
    this.a = v;
    [v, s] = splitmix32(s);
    this.b = v;
    [v, s] = splitmix32(s);
    this.c = v;
    [v] = splitmix32(s);
    this.d = v;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** An unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    assert(Number.isInteger(maxExclusive) && maxExclusive > 0, 'int() needs a positive integer bound');
    return Math.floor(this.next() * maxExclusive);
  }

  fork(): Random {
    return new SeededRandom(this.nextUint32());
  }
}
