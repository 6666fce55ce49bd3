/**
 * The environment injected into every core component (DESIGN.md §2). Code under src/core never
 * reads the clock, draws randomness, sets timers or does I/O by itself: it receives these. The real
 * runtime (src/runtime/env.ts) passes wall-clock time and Node timers; the simulator passes a
 * virtual clock whose timers fire when simulated time reaches them.
 */

/** Milliseconds since an arbitrary epoch, monotonic non-decreasing within one process/simulation. */
export interface Clock {
  /** Current time in milliseconds. Wall-clock (Unix epoch) in the real runtime, virtual in the simulator. */
  now(): number;
}

/** An opaque handle to a pending timer. */
export interface TimerHandle {
  readonly id: number;
}

/** One-shot timers. Periodic work re-arms itself, so every loop has an explicit step. */
export interface Timers {
  /** Calls `callback` once, `delayMs` from now. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Cancels a pending timer; cancelling a fired or cancelled timer is a no-op. */
  clearTimer(handle: TimerHandle): void;
}

/** A deterministic random source. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** A new independent source derived from this one (for sub-components). */
  fork(): Random;
}

/** The subset of pino's logger the core uses; pino loggers satisfy it. */
export interface Logger {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Everything a core component may use to touch the world. */
export interface Env {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
  readonly logger: Logger;
}

/** A logger that drops everything (tests that do not care about logs). */
export const silentLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
