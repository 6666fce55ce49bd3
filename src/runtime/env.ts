/**
 * The real environment for the core: wall-clock time, Node timers, a random source seeded from
 * the OS. The simulator builds its own Env instead (simulations/).
 */
import { randomInt } from 'node:crypto';
import type { Clock, Env, Logger, Random, TimerHandle, Timers } from '../core/env.js';
import { SeededRandom } from '../core/random.js';

export const systemClock: Clock = { now: () => Date.now() };

export class NodeTimers implements Timers {
  private nextId = 1;
  private readonly pending = new Map<number, NodeJS.Timeout>();

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.pending.delete(id);
      callback();
    }, Math.max(0, delayMs));
    // Timers never keep the process alive by themselves: servers and sockets do.
    t.unref();
    this.pending.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.pending.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.pending.delete(handle.id);
    }
  }

  /** Cancels every pending timer (on shutdown). */
  clearAll(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}

/** A random source seeded from the OS (or from `seed` when given, for reproducible runs). */
export function systemRandom(seed?: number): Random {
  return new SeededRandom(seed ?? randomInt(0, 2 ** 31));
}

export function realEnv(logger: Logger, seed?: number): Env & { timers: NodeTimers } {
  return { clock: systemClock, timers: new NodeTimers(), random: systemRandom(seed), logger };
}
