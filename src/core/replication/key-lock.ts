/**
 * Serialises read-modify-write cycles per key: a replica's merge and a coordinator's write of the
 * same key must not interleave across their awaits, or one would overwrite the other's result.
 * The number of keys held is bounded by the requests in flight, themselves bounded.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /**
   * Runs `fn` once every earlier `run` for the same key has settled. The uncontended case (the
   * common one) calls `fn` at once and adds a single settlement callback, no extra async frame.
   */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let result: Promise<T>;
    if (previous === undefined) {
      try {
        result = fn();
      } catch (err) {
        result = Promise.reject(err);
      }
    } else {
      result = previous.then(fn);
    }
    const release = (): void => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    // Settles (never rejects) once `fn` settled; the next run for the key waits on it.
    const tail: Promise<void> = result.then(release, release);
    this.tails.set(key, tail);
    return result;
  }

  /** Keys with a cycle running or queued. */
  get size(): number {
    return this.tails.size;
  }
}
