/**
 * Serialises read-modify-write cycles per key: a replica's merge and a coordinator's write of the
 * same key must not interleave across their awaits, or one would overwrite the other's result.
 *
 * Each key seen recently has an entry: the tail of its queue and how many cycles have not settled.
 * Entries of idle keys are not deleted one by one (a Map that grows and shrinks by a few entries
 * per request rebuilds its table over and over; that was ~1.4% of the simulator's profile) but
 * swept once the table reaches `sweepAt`, which then becomes twice the entries still busy (at least
 * MIN_SWEEP_AT). So the table holds at most max(MIN_SWEEP_AT, 2 × the keys with cycles in flight),
 * and those are bounded by the requests in flight, themselves bounded.
 */
const MIN_SWEEP_AT = 1024;

const SETTLED: Promise<void> = Promise.resolve();

interface LockEntry {
  /** Settles (never rejects) once the latest cycle queued for the key settled. */
  tail: Promise<void>;
  /** Cycles queued or running whose tail has not settled yet. */
  pending: number;
}

export class KeyLock {
  private readonly entries = new Map<string, LockEntry>();
  private sweepAt = MIN_SWEEP_AT;

  /**
   * Runs `fn` once every earlier `run` for the same key has settled. The uncontended case (the
   * common one) calls `fn` at once and adds a single settlement callback, no extra async frame.
   */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.sweepAt) this.sweep();
      entry = { tail: SETTLED, pending: 0 };
      this.entries.set(key, entry);
    }
    let result: Promise<T>;
    if (entry.pending === 0) {
      try {
        result = fn();
      } catch (err) {
        result = Promise.reject(err);
      }
    } else {
      result = entry.tail.then(fn);
    }
    const held = entry;
    const release = (): void => {
      held.pending--;
    };
    held.pending++;
    held.tail = result.then(release, release);
    return result;
  }

  /** Keys with a cycle running or queued. */
  get size(): number {
    let busy = 0;
    for (const entry of this.entries.values()) if (entry.pending > 0) busy++;
    return busy;
  }

  /** Forgets idle keys; the next sweep waits until the table doubles what is left. */
  private sweep(): void {
    for (const [key, entry] of this.entries) if (entry.pending === 0) this.entries.delete(key);
    this.sweepAt = Math.max(MIN_SWEEP_AT, 2 * this.entries.size);
  }
}
