/**
 * The narrow store interface the RESP server talks to. The node implements it with its
 * quorum-replicated store; `MapRespBackend` is an in-memory implementation for tests and
 * benchmarks of the protocol layer alone.
 */
import { assert } from '../../core/assert.js';
import type { Clock } from '../../core/env.js';

export interface RespSetOptions {
  /** Time to live in ms (> 0); absent = never expires. */
  readonly ttlMs?: number | undefined;
  /** NX: only when the key does not exist; XX: only when it does. Absent = always. */
  readonly condition?: 'NX' | 'XX' | undefined;
}

/**
 * What the RESP commands need from a store. Keys are strings (ringkv keys; the server has checked
 * they are valid UTF-8); values are bytes. Errors are thrown as RingkvError subclasses (typed,
 * with a stable code): the server turns them into Redis-style error replies (see error-reply.ts).
 *
 * Values passed to `set` may be views into a larger network buffer: an implementation that keeps
 * a value beyond the call must copy it (or it pins the whole chunk it arrived in). Values returned
 * by `get` are written to the socket by reference and must not be mutated afterwards.
 */
export interface RespBackend {
  /** The value, or undefined when the key does not exist (or has expired). */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Writes the value; false when the NX/XX condition prevented it. */
  set(key: string, value: Uint8Array, options: RespSetOptions): Promise<boolean>;
  /** Deletes the keys; returns how many existed. A key listed twice counts once (it is gone the second time). */
  del(keys: readonly string[]): Promise<number>;
  /** How many of the keys exist, counting a key listed twice twice (as Redis does). */
  exists(keys: readonly string[]): Promise<number>;
  /** Facts for the `# Ringkv` section of INFO (node id, ring size, ...). Keys must match [a-z0-9_]+. */
  info(): Record<string, string | number>;
}

export interface MapRespBackendOptions {
  /** Time source for TTLs; default wall-clock `Date.now`. Tests inject a manual clock. */
  readonly clock?: Clock | undefined;
}

interface MapEntry {
  readonly value: Uint8Array;
  /** Clock time at which the entry expires; Infinity when it never does. */
  readonly expiresAtMs: number;
}

const wallClock: Clock = { now: () => Date.now() };

/**
 * An in-memory RespBackend with lazy TTL expiry (an expired entry is dropped when next touched),
 * for tests and protocol benchmarks. Values are copied into Node's shared 8 KiB buffer pool: fast,
 * but a value below 4 KiB can keep its whole pool slab alive, so memory is not tight (over 10x
 * the payload after many random overwrites of 100-byte values). It has no bound on entries.
 */
export class MapRespBackend implements RespBackend {
  private readonly entries = new Map<string, MapEntry>();
  private readonly clock: Clock;
  private commandsServed = 0;

  constructor(options: MapRespBackendOptions = {}) {
    this.clock = options.clock ?? wallClock;
  }

  /** Live entries, counting expired ones not yet touched. */
  get size(): number {
    return this.entries.size;
  }

  get(key: string): Promise<Uint8Array | undefined> {
    this.commandsServed += 1;
    return Promise.resolve(this.live(key)?.value);
  }

  set(key: string, value: Uint8Array, options: RespSetOptions): Promise<boolean> {
    this.commandsServed += 1;
    if (options.ttlMs !== undefined) assert(Number.isSafeInteger(options.ttlMs) && options.ttlMs > 0, 'ttlMs is a positive integer');
    if (options.condition !== undefined) {
      const exists = this.live(key) !== undefined;
      if (options.condition === 'NX' ? exists : !exists) return Promise.resolve(false);
    }
    const expiresAtMs = options.ttlMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + options.ttlMs;
    // Copy: the value may be a view into a network chunk (see RespBackend). Buffer.from serves
    // small copies from Node's shared pool, far cheaper than one ArrayBuffer per value.
    this.entries.set(key, { value: Buffer.from(value), expiresAtMs });
    return Promise.resolve(true);
  }

  del(keys: readonly string[]): Promise<number> {
    this.commandsServed += 1;
    let deleted = 0;
    for (const key of keys) {
      if (this.live(key) !== undefined) {
        this.entries.delete(key);
        deleted += 1;
      }
    }
    return Promise.resolve(deleted);
  }

  exists(keys: readonly string[]): Promise<number> {
    this.commandsServed += 1;
    let found = 0;
    for (const key of keys) if (this.live(key) !== undefined) found += 1;
    return Promise.resolve(found);
  }

  info(): Record<string, string | number> {
    return { backend: 'map', keys: this.entries.size, backend_commands_served: this.commandsServed };
  }

  private live(key: string): MapEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Only entries with a TTL read the clock.
    if (entry.expiresAtMs !== Number.POSITIVE_INFINITY && entry.expiresAtMs <= this.clock.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}
