/**
 * Serialises read-modify-write cycles per key: a replica's merge and a coordinator's write of the
 * same key must not interleave across their awaits, or one would overwrite the other's result.
 * The number of keys held is bounded by the requests in flight, themselves bounded.
 */
export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier `run` for the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous === undefined ? mine : previous.then(() => mine);
    this.tails.set(key, tail);
    try {
      if (previous !== undefined) await previous;
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a cycle running or queued. */
  get size(): number {
    return this.tails.size;
  }
}
