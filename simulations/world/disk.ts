/**
 * The simulated disk of one node, which outlives the node's incarnations. It models fsync policy
 * `interval` (the log engine's default, like Redis everysec): a write is visible at once and
 * acknowledged at once, but durable only after the next sync tick; a crash reverts the disk to its
 * durable state, losing every write since the last tick. Policy `always` makes every write durable
 * before it resolves.
 *
 * Each incarnation gets its own handle (a StorageEngine): after a crash the old handle refuses
 * every call, so promises of the dead incarnation that resolve later cannot write to the disk the
 * restarted node reads. The sync tick runs on the incarnation's timers, so it stops when the node
 * crashes and waits while the node is paused, as an fsync thread in the process would.
 */
import { assert } from '../../src/core/assert.js';
import type { Clock, Timers } from '../../src/core/env.js';
import { StorageClosedError } from '../../src/errors.js';
import { MemoryEngine } from '../../src/storage/memory.js';
import type {
  BatchOp, PutOptions, ScanEntry, ScanOptions, ScanPage, StorageEngine, StorageStats, StoredRecord,
} from '../../src/storage/types.js';

export interface SimDiskOptions {
  /** 'interval' (default, as the log engine's default) or 'always'. */
  readonly fsync?: 'interval' | 'always' | undefined;
  /** Sync period for fsync 'interval', ms. Default 1000 (the log engine's default fsyncIntervalMs). */
  readonly fsyncIntervalMs?: number | undefined;
  /** Largest key accepted, bytes; replication keys plus the hint prefix must fit. Default 8 KiB + 256. */
  readonly maxKeyBytes?: number | undefined;
}

export interface SimDiskStats {
  writes: number;
  syncs: number;
  crashes: number;
  /** Writes lost because a crash came before their sync tick. */
  writesLostInCrashes: number;
}

type LoggedOp = { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly expiresAtMs: number | undefined } | { readonly type: 'delete'; readonly key: string };

export class SimDisk {
  private readonly durable = new Map<string, StoredRecord>();
  private unsynced: LoggedOp[] = [];
  private engine: MemoryEngine;
  private handle: DiskHandle | undefined;
  private rebuildNeeded = false;
  readonly fsync: 'interval' | 'always';
  readonly fsyncIntervalMs: number;
  readonly stats: SimDiskStats = { writes: 0, syncs: 0, crashes: 0, writesLostInCrashes: 0 };

  constructor(private readonly clock: Clock, private readonly options: SimDiskOptions = {}) {
    this.fsync = options.fsync ?? 'interval';
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 1000;
    assert(this.fsyncIntervalMs > 0, 'the sync period is positive');
    this.engine = this.newEngine();
  }

  private newEngine(): MemoryEngine {
    return new MemoryEngine({ clock: this.clock, maxKeyBytes: this.options.maxKeyBytes ?? 8 * 1024 + 256 });
  }

  /** Opens the disk for a new incarnation, whose timers drive the sync tick. */
  async open(timers: Timers): Promise<StorageEngine> {
    assert(this.handle === undefined || this.handle.closed, 'one incarnation at a time opens the disk');
    if (this.rebuildNeeded) {
      // What the restarted process reads back: exactly the durable state.
      this.engine = this.newEngine();
      for (const [key, record] of this.durable) await this.engine.put(key, record.value, { expiresAtMs: record.expiresAtMs });
      this.rebuildNeeded = false;
    }
    const handle = new DiskHandle(this, this.engine);
    this.handle = handle;
    if (this.fsync === 'interval') {
      const tick = (): void => {
        if (handle.closed) return;
        this.sync();
        timers.setTimer(this.fsyncIntervalMs, tick);
      };
      timers.setTimer(this.fsyncIntervalMs, tick);
    }
    return handle;
  }

  /** kill -9 / power loss: the open handle dies and every unsynced write is gone. */
  crash(): void {
    this.stats.crashes++;
    this.stats.writesLostInCrashes += this.unsynced.length;
    this.unsynced = [];
    if (this.handle !== undefined) this.handle.closed = true;
    this.rebuildNeeded = true;
  }

  /** Makes every write so far durable. */
  sync(): void {
    if (this.unsynced.length === 0) return;
    this.stats.syncs++;
    for (const op of this.unsynced) {
      if (op.type === 'put') this.durable.set(op.key, op.expiresAtMs === undefined ? { value: op.value } : { value: op.value, expiresAtMs: op.expiresAtMs });
      else this.durable.delete(op.key);
    }
    this.unsynced = [];
  }

  /** Keys currently stored (visible to the running incarnation) that start with `prefix`. */
  async keysWithPrefix(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.engine.scan({ prefix, cursor, limit: 1000 });
      for (const entry of page.entries) keys.push(entry.key);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return keys;
  }

  /** @internal */
  logged(op: LoggedOp): void {
    this.stats.writes++;
    this.unsynced.push(op);
    if (this.fsync === 'always') this.sync();
  }
}

/** One incarnation's view of the disk. */
class DiskHandle implements StorageEngine {
  readonly kind = 'memory' as const;
  closed = false;

  constructor(private readonly disk: SimDisk, private readonly engine: MemoryEngine) {}

  private check(): void {
    if (this.closed) throw new StorageClosedError();
  }

  get(key: string): Promise<StoredRecord | undefined> {
    if (this.closed) return Promise.reject(new StorageClosedError());
    return this.engine.get(key);
  }

  /** The memory engine's peek: the simulated node's hot path without a promise, as on a real node. */
  peek(key: string): StoredRecord | undefined {
    this.check();
    return this.engine.peek(key);
  }

  async put(key: string, value: Uint8Array, options?: PutOptions): Promise<void> {
    this.check();
    await this.engine.put(key, value, options);
    this.check();
    this.disk.logged({ type: 'put', key, value: this.storedCopy(key, value), expiresAtMs: options?.expiresAtMs });
  }

  /**
   * The bytes the disk keeps for a put just applied: the engine's own copy (the memory engine
   * copies every value it stores, and stored values are immutable), so the caller's buffer is not
   * copied a second time; a copy when the engine no longer shows the key (already expired, or
   * deleted later in the same batch). Two puts of one key in a batch both log the last value: a
   * batch is synced whole, so the durable result is the same.
   */
  private storedCopy(key: string, value: Uint8Array): Uint8Array {
    return this.engine.peek(key)?.value ?? value.slice();
  }

  async delete(key: string): Promise<void> {
    this.check();
    await this.engine.delete(key);
    this.check();
    this.disk.logged({ type: 'delete', key });
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    this.check();
    await this.engine.batch(ops);
    this.check();
    for (const op of ops) {
      this.disk.logged(op.type === 'put'
        ? { type: 'put', key: op.key, value: this.storedCopy(op.key, op.value), expiresAtMs: op.expiresAtMs }
        : { type: 'delete', key: op.key });
    }
  }

  async scan(options?: ScanOptions): Promise<ScanPage> {
    this.check();
    return this.engine.scan(options);
  }

  async *entries(): AsyncIterable<ScanEntry> {
    this.check();
    yield* this.engine.entries();
  }

  stats(): StorageStats {
    this.check();
    return this.engine.stats();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.disk.sync();
    this.closed = true;
  }
}
