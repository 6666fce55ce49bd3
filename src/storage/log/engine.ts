/**
 * The log engine (DESIGN.md §7): an append-only log of CRC-checked records in segment files, an
 * in-memory index of where each key's newest record is, a value cache, group commit, hint
 * files, compaction and crash recovery. One concern per module:
 *
 *   record.ts     frame and body codec             scan.ts         sequential segment reading
 *   segment.ts    file naming, open handles         hint.ts         hint files
 *   key-index.ts  the index (hash table + columns)  value-cache.ts  value cache (CLOCK)
 *   recovery.ts   replay on open, torn tails, corruption modes
 *   compaction.ts rewriting sealed segments         lock.ts         the data directory lock
 *   options.ts    options and defaults              sorted-keys.ts  ordered keys for scans
 *
 * Writes go through one queue drained by one pump: each turn takes everything queued (up to
 * maxGroupCommitBytes), writes it with one syscall at the end of the active segment, updates the
 * index, and under fsync=always resolves every write of the group once an fsync that started after
 * the write completes (group commit: the writes that queued up during one fsync share the next).
 * The pump does not wait for that fsync: the next group is written while it runs, with up to two
 * fsyncs in flight. With preallocateBytes (opt-in) the active segment is zero-filled ahead of the
 * writes so that an fsync flushes data only (see LogEngineOptions.preallocateBytes for what that
 * means for recovery).
 */
import { writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../core/assert.js';
import type { Clock, Logger, TimerHandle, Timers } from '../../core/env.js';
import { silentLogger } from '../../core/env.js';
import type { RingkvError } from '../../errors.js';
import { CorruptRecordError, OverloadedError, StorageClosedError, StorageIoError, isRingkvError } from '../../errors.js';
import type { BatchOp, PutOptions, ScanEntry, ScanOptions, ScanPage, StorageEngine, StorageStats, StoredRecord } from '../types.js';
import { NOT_IN_MEMORY } from '../types.js';
import type { CompactionOutput } from './compaction.js';
import { copyLiveRecords, deleteInputs } from './compaction.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { StorageReadOnlyError } from './errors.js';
import { writeHintFile } from './hint.js';
import type { HintEntry } from './hint.js';
import { KeyIndex, NEVER_EXPIRES, TOMBSTONE } from './key-index.js';
import { DirLock } from './lock.js';
import type { LogEngineOptions, ResolvedLogOptions } from './options.js';
import { resolveLogOptions } from './options.js';
import { decodeFrame, encodeRecord, FLAG_BATCH_CONTINUES, FLAG_TOMBSTONE, FRAME_HEADER_BYTES, maxBodyBytesFor, recordValue } from './record.js';
import { recover } from './recovery.js';
import { scanSegment } from './scan.js';
import { collectScanKeys } from './scan-walk.js';
import type { SegmentName } from './segment.js';
import { compareSegmentNames, MAX_SEGMENT_ID, Segment, segmentFileName } from './segment.js';
import { SortedKeys } from './sorted-keys.js';
import { ValueCache } from './value-cache.js';
import { validateBatch, validateExpiry, validateKey, validateScan, validateValue } from './validate.js';

/** One record waiting to be written. */
interface WriteOp {
  readonly key: string;
  readonly frame: Buffer;
  /** Index expiry: NEVER_EXPIRES, a time, or TOMBSTONE. */
  readonly exp: number;
}

/** A put, delete, batch, or a request to seal the active segment, waiting in the write queue. */
interface PendingWrite {
  readonly ops: readonly WriteOp[];
  readonly bytes: number;
  readonly roll: boolean;
  resolve(): void;
  reject(e: unknown): void;
}

/** Per-segment figures for operators and tests. */
export interface SegmentInfo {
  readonly id: number;
  readonly gen: number;
  readonly file: string;
  readonly sizeBytes: number;
  readonly deadBytes: number;
  readonly tombstoneBytes: number;
  readonly active: boolean;
}

export interface LogEngineStats extends StorageStats {
  readonly segments: number;
  readonly indexKeys: number;
  readonly cacheBytes: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  readonly queuedWriteBytes: number;
  readonly groupCommits: number;
  readonly fsyncs: number;
  readonly readOnly: boolean;
}

export interface CompactionSummary {
  readonly inputs: readonly SegmentName[];
  readonly output: SegmentName | undefined;
  readonly movedRecords: number;
  readonly droppedKeys: number;
}

/** Groups up to this size are written with a synchronous pwrite (see writeGroup). */
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

/**
 * Group fsyncs in flight at once under fsync=always. With two, the next group is written (and
 * its index work done) while the previous group's fsync runs, instead of after it; more would
 * take more of libuv's four thread-pool threads, which reads and hint writes need too.
 */
const MAX_FSYNCS_IN_FLIGHT = 2;

/** Fewest queued writes that are split over two groups when no fsync runs (see groupWritesMax). */
const SPLIT_MIN_WRITES = 4;

const nodeTimers: Timers = (() => {
  const pending = new Map<number, ReturnType<typeof setTimeout>>();
  let next = 1;
  return {
    setTimer(delayMs: number, callback: () => void): TimerHandle {
      const id = next++;
      const t = setTimeout(() => {
        pending.delete(id);
        callback();
      }, delayMs);
      t.unref(); // the engine never keeps a process alive by itself
      pending.set(id, t);
      return { id };
    },
    clearTimer(handle: TimerHandle): void {
      clearTimeout(pending.get(handle.id));
      pending.delete(handle.id);
    },
  };
})();

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function toIoError(what: string, e: unknown): RingkvError {
  if (isRingkvError(e)) return e;
  return new StorageIoError(`${what}: ${e instanceof Error ? e.message : String(e)}`, e);
}

export class LogEngine implements StorageEngine {
  readonly kind = 'log' as const;
  readonly dir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  private readonly index = new KeyIndex();
  private readonly maxBodyBytes: number;
  private readonly opts: ResolvedLogOptions;
  private readonly timers: Timers;
  private readonly cache: ValueCache;
  private sorted: SortedKeys | undefined;
  /** Open segments by handle (handles only grow, so this is a sparse array). */
  private readonly segmentsByHandle: (Segment | undefined)[] = [];
  /** Every open segment in replay order; the active one (if any) is last. */
  private ordered: Segment[] = [];
  private active: Segment | undefined;
  private nextHandle = 1;
  private lock: DirLock | undefined;
  private readOnlyReason: string | undefined;
  /** Set after a failed write or fsync: the file state is unknown, so writes stop until a reopen. */
  private failure: RingkvError | undefined;
  private closing = false;
  private closePromise: Promise<void> | undefined;

  // Counters kept in step with the index.
  private liveKeys = 0;
  private liveFrameBytes = 0;
  private expiringKeys = 0;
  private compactions = 0;
  private groupCommits = 0;
  private fsyncs = 0;

  // Write queue.
  private queue: PendingWrite[] = [];
  private queuedBytes = 0;
  private pumping: Promise<void> | undefined;
  private dirty = false;
  /** Zero-filling of the active segment in progress (see maybePreallocate). */
  private preallocating: Promise<void> | undefined;
  private preallocationFailed = false;
  /** fsyncs of write groups in flight (fsync=always); each settles after resolving its group. */
  private readonly syncsInFlight = new Set<Promise<void>>();

  // Background work.
  private fsyncTimer: TimerHandle | undefined;
  private compactionTimer: TimerHandle | undefined;
  private compacting: Promise<unknown> | undefined;
  private readonly background = new Set<Promise<unknown>>();

  private constructor(options: LogEngineOptions, opts: ResolvedLogOptions, cache: ValueCache) {
    this.opts = opts;
    this.dir = opts.dir;
    this.clock = options.clock;
    this.logger = (options.logger ?? silentLogger).child({ component: 'storage', engine: 'log' });
    this.timers = options.timers ?? nodeTimers;
    this.cache = cache;
    this.maxBodyBytes = maxBodyBytesFor(opts.maxKeyBytes, opts.maxValueBytes);
  }

  /** Opens (creating if needed) and locks a data directory, recovering what is in it. */
  static async open(options: LogEngineOptions): Promise<LogEngine> {
    const opts = resolveLogOptions(options);
    const engine = new LogEngine(options, opts, new ValueCache(opts.valueCacheMaxBytes, opts.valueCacheMaxEntryBytes));
    await fs.mkdir(opts.dir, { recursive: true });
    engine.lock = await DirLock.acquire(opts.dir, engine.logger);
    try {
      await engine.recoverOnOpen();
    } catch (e) {
      await engine.abandon();
      throw toIoError(`cannot open ${opts.dir}`, e);
    }
    return engine;
  }

  // ---------------------------------------------------------------- reads

  async get(key: string): Promise<StoredRecord | undefined> {
    this.checkOpen();
    this.precheckKey(key);
    return this.read(key);
  }

  /** `get` without the promise when the key is absent or expired, or its value is cached; else NOT_IN_MEMORY. */
  peek(key: string): StoredRecord | undefined | typeof NOT_IN_MEMORY {
    this.checkOpen();
    this.precheckKey(key);
    return this.readFromMemory(key);
  }

  /**
   * The checks of validateKey a read makes before it looks the key up (type, length bound); the
   * character checks wait for a miss (readFromMemory): an indexed key passed them when written.
   */
  private precheckKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0 || key.length > this.opts.maxKeyBytes) validateKey(key, this.opts.maxKeyBytes);
  }

  private readFromMemory(key: string): StoredRecord | undefined | typeof NOT_IN_MEMORY {
    const index = this.index;
    const slot = index.slot(key);
    if (slot === undefined) {
      validateKey(key, this.opts.maxKeyBytes);
      return undefined;
    }
    const exp = index.exp[slot]!;
    if (exp <= this.clock.now()) return undefined;
    const cached = this.cache.peek(key);
    if (cached === undefined) return NOT_IN_MEMORY;
    return exp === NEVER_EXPIRES ? { value: cached } : { value: cached, expiresAtMs: exp };
  }

  private async read(key: string): Promise<StoredRecord | undefined> {
    const inMemory = this.readFromMemory(key);
    if (inMemory !== NOT_IN_MEMORY) return inMemory;
    this.cache.misses++;
    const index = this.index;
    const slot = index.slot(key);
    assert(slot !== undefined, 'a key not in memory is in the index');
    const exp = index.exp[slot]!;
    const record = (value: Uint8Array): StoredRecord => (exp === NEVER_EXPIRES ? { value } : { value, expiresAtMs: exp });
    const handle = index.seg[slot]!;
    const offset = index.off[slot]!;
    const length = index.len[slot]!;
    const segment = this.segmentsByHandle[handle];
    assert(segment !== undefined, 'the index points at an open segment');
    let buf: Buffer;
    try {
      buf = await segment.read(offset, length, this.opts.syncReadMaxBytes);
    } catch (e) {
      throw toIoError(`cannot read ${segment.path} at ${offset}`, e);
    }
    const decoded = decodeFrame(buf, 0, length);
    const reason = typeof decoded === 'string' ? decoded : decoded.key !== key ? `holds key ${JSON.stringify(decoded.key)}` : undefined;
    if (reason !== undefined || typeof decoded === 'string') {
      this.logger.error({ file: segment.path, offsetBytes: offset, reason }, 'corrupt record on read');
      throw new CorruptRecordError(segment.path, offset, reason ?? 'unreadable');
    }
    // Cache only if the key still lives where it was read from (it may have been overwritten meanwhile).
    // The instance cached is the one returned, so that the next get returns it again.
    const value = recordValue(buf, decoded);
    if (index.slot(key) === slot && index.seg[slot] === handle && index.off[slot] === offset) {
      this.cache.set(key, value, length);
    }
    return record(value);
  }

  async scan(options?: ScanOptions): Promise<ScanPage> {
    this.checkOpen();
    const bounds = validateScan(options, decodeCursor);
    this.sorted ??= new SortedKeys(this.index.keys());
    const now = this.clock.now();
    const page = collectScanKeys(this.sorted, bounds, (key) => this.index.exp[this.index.slot(key)!]! > now);
    const records = await Promise.all(page.keys.map((key) => this.read(key)));
    const entries: ScanEntry[] = [];
    for (let i = 0; i < page.keys.length; i++) {
      const record = records[i];
      if (record !== undefined) entries.push({ key: page.keys[i]!, record });
    }
    const last = page.keys[page.keys.length - 1];
    return page.more && last !== undefined ? { entries, cursor: encodeCursor(last) } : { entries };
  }

  async *entries(): AsyncIterable<ScanEntry> {
    this.checkOpen();
    // The keys as they are now; each value is read when its turn comes (this snapshot or later).
    const keys = Array.from(this.index.keys());
    for (const key of keys) {
      this.checkOpen();
      const record = await this.read(key);
      if (record !== undefined) yield { key, record };
    }
  }

  stats(): LogEngineStats {
    this.checkOpen();
    let keys = this.liveKeys;
    let liveBytes = this.liveFrameBytes;
    if (this.expiringKeys > 0) {
      const now = this.clock.now();
      const { exp, len } = this.index;
      this.index.forEach((_key, slot) => {
        const e = exp[slot]!;
        if (e > now || e === TOMBSTONE) return;
        keys--;
        liveBytes -= len[slot]!;
      });
    }
    let totalBytes = 0;
    for (const s of this.ordered) totalBytes += s.sizeBytes;
    return {
      keys, liveBytes, totalBytes, compactions: this.compactions,
      segments: this.ordered.length, indexKeys: this.index.size,
      cacheBytes: this.cache.sizeBytes, cacheHits: this.cache.hits, cacheMisses: this.cache.misses,
      queuedWriteBytes: this.queuedBytes, groupCommits: this.groupCommits, fsyncs: this.fsyncs,
      readOnly: this.readOnlyReason !== undefined,
    };
  }

  /** The segments in replay order, with their accounting. */
  segments(): SegmentInfo[] {
    this.checkOpen();
    return this.ordered.map((s) => ({
      id: s.id, gen: s.gen, file: s.fileName, sizeBytes: s.sizeBytes, deadBytes: s.deadBytes,
      tombstoneBytes: s.tombstoneBytes, active: s === this.active,
    }));
  }

  // ---------------------------------------------------------------- writes

  async put(key: string, value: Uint8Array, options?: PutOptions): Promise<void> {
    this.checkWritable();
    validateKey(key, this.opts.maxKeyBytes);
    validateValue(value, this.opts.maxValueBytes);
    const expiresAtMs = options?.expiresAtMs;
    validateExpiry(expiresAtMs);
    const frame = encodeRecord(key, value, expiresAtMs, 0);
    return this.enqueue([{ key, frame, exp: expiresAtMs ?? NEVER_EXPIRES }], false);
  }

  async delete(key: string): Promise<void> {
    this.checkWritable();
    validateKey(key, this.opts.maxKeyBytes);
    return this.enqueue([{ key, frame: encodeRecord(key, undefined, undefined, FLAG_TOMBSTONE), exp: TOMBSTONE }], false);
  }

  async batch(ops: readonly BatchOp[]): Promise<void> {
    this.checkWritable();
    validateBatch(ops, this.opts);
    if (ops.length === 0) return;
    const writes = ops.map((op, i): WriteOp => {
      const more = i < ops.length - 1 ? FLAG_BATCH_CONTINUES : 0;
      return op.type === 'put'
        ? { key: op.key, frame: encodeRecord(op.key, op.value, op.expiresAtMs, more), exp: op.expiresAtMs ?? NEVER_EXPIRES }
        : { key: op.key, frame: encodeRecord(op.key, undefined, undefined, FLAG_TOMBSTONE | more), exp: TOMBSTONE };
    });
    return this.enqueue(writes, false);
  }

  /** Seals the active segment now (writing its hint) and starts a new one. For tests and operators. */
  async rollSegment(): Promise<void> {
    this.checkWritable();
    return this.enqueue([], true);
  }

  private enqueue(ops: readonly WriteOp[], roll: boolean): Promise<void> {
    let bytes = 0;
    for (const op of ops) bytes += op.frame.length;
    if (this.queuedBytes + bytes > this.opts.maxQueuedWriteBytes && this.queue.length > 0) {
      throw new OverloadedError('storage write queue (option maxQueuedWriteBytes)', this.opts.maxQueuedWriteBytes);
    }
    let newKeys = 0;
    for (const op of ops) if (op.exp !== TOMBSTONE && this.index.slot(op.key) === undefined) newKeys++;
    if (this.index.size + newKeys > this.opts.maxIndexKeys) {
      throw new OverloadedError('storage index (option maxIndexKeys)', this.opts.maxIndexKeys);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, bytes, roll, resolve, reject });
      this.queuedBytes += bytes;
      this.kick();
    });
  }

  /**
   * Starts the pump unless it runs (or every fsync slot is taken: the fsync that frees one kicks
   * again). It starts on the next turn of the event loop, so that every write issued in this turn
   * joins the first group.
   */
  private kick(): void {
    if (this.pumping !== undefined || this.syncsInFlight.size >= MAX_FSYNCS_IN_FLIGHT) return;
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.pump())
      .finally(() => {
        this.pumping = undefined;
        // Writes queued between the pump's last look at the queue and now.
        if (this.queue.length > 0) this.kick();
      });
  }

  /**
   * Drains the write queue, one group commit per turn. Under fsync=always it does not wait for a
   * group's fsync: the next group is written while up to MAX_FSYNCS_IN_FLIGHT fsyncs run, and each
   * group resolves when its own fsync (which covers it: it started after its write) completes.
   */
  private async pump(): Promise<void> {
    while (this.queue.length > 0 && this.syncsInFlight.size < MAX_FSYNCS_IN_FLIGHT) {
      const first = this.queue[0]!;
      if (first.roll) {
        this.queue.shift();
        try {
          if (this.failure !== undefined) throw this.failure;
          await this.roll();
          first.resolve();
        } catch (e) {
          first.reject(e);
        }
        continue;
      }
      const group: PendingWrite[] = [];
      let groupBytes = 0;
      const maxWrites = this.groupWritesMax();
      while (this.queue.length > 0 && group.length < maxWrites) {
        const next = this.queue[0]!;
        if (next.roll || (group.length > 0 && groupBytes + next.bytes > this.opts.maxGroupCommitBytes)) break;
        group.push(next);
        groupBytes += next.bytes;
        this.queue.shift();
      }
      this.queuedBytes -= groupBytes;
      let synced: Promise<void> | undefined;
      try {
        if (this.failure !== undefined) throw this.failure;
        ({ synced } = await this.writeGroup(group, groupBytes));
      } catch (e) {
        for (const w of group) w.reject(e);
        continue;
      }
      if (synced === undefined) {
        for (const w of group) w.resolve();
        continue;
      }
      const file = this.active?.path ?? this.dir;
      // Both outcomes are handled at the same depth of promise reactions, so that they run in the
      // order the fsyncs completed.
      const tracked: Promise<void> = synced.then(() => {
        this.fsyncs++;
        // A failure seen first may have been the one this fsync should have reported (the kernel
        // reports a writeback error to one fsync only), so after one nothing else is acknowledged.
        const failure = this.failure;
        for (const w of group) {
          if (failure === undefined) w.resolve();
          else w.reject(failure);
        }
      }, (e: unknown) => {
        const error = this.failure ?? this.fail(`fsync of ${file} failed`, e);
        for (const w of group) w.reject(error);
      }).finally(() => {
        this.syncsInFlight.delete(tracked);
        if (this.queue.length > 0) this.kick();
      });
      this.syncsInFlight.add(tracked);
    }
  }

  /**
   * How many queued writes the next group takes. Under fsync=always, when two or more fsync slots
   * are free and at least SPLIT_MIN_WRITES writes wait, the queue is shared out evenly over the
   * free slots (with two slots and none in flight: half now, the rest as the next group, written
   * right after it while the first group's fsync runs), so that every slot works. Without this, writers that were acknowledged together come back together and stay in
   * one group forever, one fsync at a time, with the disk's second queue slot idle — on the
   * benchmark machine two fsyncs in flight complete about twice as many fsyncs per second as one.
   * Once split, the two cohorts are acknowledged at different times and stay apart by themselves.
   */
  private groupWritesMax(): number {
    const free = MAX_FSYNCS_IN_FLIGHT - this.syncsInFlight.size;
    if (this.opts.fsync !== 'always' || free < 2 || this.queue.length < SPLIT_MIN_WRITES) return Infinity;
    return Math.ceil(this.queue.length / free);
  }

  /** Waits until no fsync of the write path is in flight (before a roll, and on close). */
  private async syncsSettled(): Promise<void> {
    while (this.syncsInFlight.size > 0) await Promise.all(this.syncsInFlight);
  }

  /**
   * Writes a group at the end of the active segment and updates the index. Under fsync=always it
   * returns the group's fsync, started right after the write: the index work then runs while the
   * disk flushes.
   */
  private async writeGroup(group: readonly PendingWrite[], groupBytes: number): Promise<{ synced: Promise<void> | undefined }> {
    let active = this.active;
    assert(active !== undefined, 'a writable engine has an active segment');
    if (active.sizeBytes > 0 && active.sizeBytes + groupBytes > this.opts.maxSegmentBytes) {
      await this.roll();
      active = this.active;
      assert(active !== undefined, 'roll leaves an active segment');
    }
    const start = active.sizeBytes;
    assert(start + groupBytes < 2 ** 32, 'offsets fit in 32 bits');
    // Zero-filling runs ahead of the writes over [allocatedBytes, ...): a write may not overlap it.
    if (start + groupBytes > active.allocatedBytes && this.preallocating !== undefined) await this.preallocating;
    const frames: Buffer[] = [];
    for (const w of group) for (const op of w.ops) frames.push(op.frame);
    const buf = frames.length === 1 ? frames[0]! : Buffer.concat(frames, groupBytes);
    try {
      let done = 0;
      while (done < buf.length) {
        // Small writes only copy into the page cache: doing them synchronously saves a round trip
        // through the libuv thread pool, which costs more than the copy.
        const bytesWritten = buf.length <= SYNC_WRITE_MAX_BYTES
          ? writeSync(active.fh.fd, buf, done, buf.length - done, start + done)
          : (await active.fh.write(buf, done, buf.length - done, start + done)).bytesWritten;
        done += bytesWritten;
      }
    } catch (e) {
      throw this.fail(`write to ${active.path} failed`, e);
    }
    active.sizeBytes = start + groupBytes;
    if (active.sizeBytes > active.allocatedBytes) active.allocatedBytes = active.sizeBytes;
    this.groupCommits++;
    const synced = this.opts.fsync === 'always' ? active.fh.datasync() : undefined;
    if (synced === undefined) this.dirty = true;
    this.maybePreallocate(active);
    // The bytes are in the page cache: readable now, so the index may point at them.
    let offset = start;
    for (const w of group) {
      for (const op of w.ops) {
        this.apply(active, op.key, offset, op.frame.length, op.exp);
        if (op.exp === TOMBSTONE) this.cache.delete(op.key);
        else this.cache.set(op.key, op.frame.subarray(op.frame.length - valueLengthOf(op.frame)), op.frame.length);
        offset += op.frame.length;
      }
    }
    return { synced };
  }

  /** Enters the failed state: after a failed write or fsync, what is on disk is unknown. */
  private fail(what: string, e: unknown): RingkvError {
    const error = toIoError(what, e);
    this.failure ??= error;
    this.logger.error({ err: error.message }, 'storage write failed; refusing writes until reopened');
    return error;
  }

  /**
   * Keeps the active segment zero-filled preallocateBytes ahead of its records (see
   * LogEngineOptions.preallocateBytes), in the background: a new stretch starts when less than
   * half of one is left. A failure (a full disk, say) only turns preallocation off.
   */
  private maybePreallocate(segment: Segment): void {
    const chunk = this.opts.preallocateBytes;
    if (chunk === 0 || this.preallocating !== undefined || this.preallocationFailed || this.closing) return;
    if (segment.allocatedBytes - segment.sizeBytes >= chunk / 2) return;
    const to = Math.min(segment.allocatedBytes + chunk, this.opts.maxSegmentBytes);
    if (to <= segment.allocatedBytes) return;
    this.preallocating = segment.preallocate(to).catch((e: unknown) => {
      this.preallocationFailed = true;
      this.logger.warn({ file: segment.path, err: e instanceof Error ? e.message : String(e) }, 'preallocation failed; segments grow with each write from now on');
    }).finally(() => {
      this.preallocating = undefined;
    });
  }

  /**
   * Cuts the preallocated zeros off a segment and makes its length durable, so that a segment
   * that is not the newest, or one closed cleanly, ends with its last record (recovery relies on
   * it, and its hint names that length).
   */
  private async trimAndSync(segment: Segment): Promise<void> {
    await this.syncsSettled();
    while (this.preallocating !== undefined) await this.preallocating;
    await segment.trimPreallocated();
    await segment.fh.datasync();
    this.fsyncs++;
  }

  /** Seals the active segment (fsync; hint in the background) and starts the next one. */
  private async roll(): Promise<void> {
    const old = this.active;
    assert(old !== undefined, 'roll needs an active segment');
    if (old.sizeBytes === 0) return;
    try {
      await this.trimAndSync(old);
      this.dirty = false;
      this.active = await this.createSegment({ id: old.id + 1, gen: 0 });
      this.maybePreallocate(this.active);
    } catch (e) {
      throw this.fail(`cannot start a new segment after ${old.path}`, e);
    }
    this.logger.debug({ sealed: old.fileName, sizeBytes: old.sizeBytes }, 'segment sealed');
    this.track(this.writeHint(old).then(() => this.maybeCompact()));
  }

  private async createSegment(name: SegmentName): Promise<Segment> {
    assert(name.id <= MAX_SEGMENT_ID, 'segment ids not exhausted');
    const fh = await fs.open(path.join(this.dir, segmentFileName(name)), 'wx+');
    await fsyncDir(this.dir);
    const segment = this.registerSegment(name, 0, fh);
    this.ordered.push(segment);
    return segment;
  }

  private registerSegment(name: SegmentName, sizeBytes: number, fh: fs.FileHandle): Segment {
    const segment = new Segment(this.nextHandle++, name.id, name.gen, this.dir, fh, sizeBytes);
    this.segmentsByHandle[segment.handle] = segment;
    return segment;
  }

  /** Writes the hint of a sealed segment from its own records (so it matches a scan exactly). */
  private async writeHint(segment: Segment): Promise<void> {
    const latest = new Map<string, HintEntry>();
    let batch: HintEntry[] = [];
    const sizeBytes = segment.sizeBytes;
    const end = await segment.pinned(() => scanSegment(segment.fh, sizeBytes, this.maxBodyBytes, (record, offset) => {
      const tombstone = (record.flags & FLAG_TOMBSTONE) !== 0;
      batch.push({ key: record.key, offset, frameBytes: record.frameBytes, expiresAtMs: record.expiresAtMs, tombstone });
      if ((record.flags & FLAG_BATCH_CONTINUES) !== 0) return;
      for (const e of batch) {
        latest.delete(e.key);
        latest.set(e.key, e);
      }
      batch = [];
    }));
    if (end.kind !== 'clean' || batch.length > 0) {
      this.logger.error({ file: segment.path, end }, 'sealed segment does not read back cleanly; no hint written');
      return;
    }
    await writeHintFile(segment.hintPath, sizeBytes, [...latest.values()]);
  }

  /**
   * The hint of the newest segment, from the index instead of a scan: every record in it is newer
   * than any other segment's, so the keys the index places in it are exactly the keys whose newest
   * record in it a scan would find (tombstones of absent keys aside, which a scan counts as dead
   * all the same).
   */
  private hintFromIndex(segment: Segment): HintEntry[] {
    assert(segment === this.ordered[this.ordered.length - 1], 'only the newest segment');
    const { seg, off, len, exp } = this.index;
    const entries: HintEntry[] = [];
    this.index.forEach((key, slot) => {
      if (seg[slot] !== segment.handle) return;
      const e = exp[slot]!;
      entries.push({ key, offset: off[slot]!, frameBytes: len[slot]!, expiresAtMs: Number.isFinite(e) ? e : undefined, tombstone: e === TOMBSTONE });
    });
    return entries;
  }

  // ---------------------------------------------------------------- index accounting

  /**
   * Makes (segment, offset) the newest record of `key`: the one function through which the write
   * path, recovery and hint loading change the index, so they cannot disagree.
   */
  private apply(segment: Segment, key: string, offset: number, frameBytes: number, exp: number): void {
    const index = this.index;
    const slot = index.slot(key);
    if (slot !== undefined) {
      this.unaccount(slot);
      index.write(slot, segment.handle, offset, frameBytes, exp);
      this.account(slot);
      return;
    }
    if (exp === TOMBSTONE) {
      // No record of the key exists anywhere (the index holds every key that has one), so this
      // tombstone hides nothing: it is dead from the start and compaction will drop it.
      segment.deadBytes += frameBytes;
      return;
    }
    const newSlot = index.insert(key, segment.handle, offset, frameBytes, exp);
    this.account(newSlot);
    this.sorted?.add(key);
  }

  private account(slot: number): void {
    const segment = this.segmentsByHandle[this.index.seg[slot]!]!;
    const len = this.index.len[slot]!;
    const exp = this.index.exp[slot]!;
    if (exp === TOMBSTONE) {
      segment.tombstoneBytes += len;
      return;
    }
    this.liveKeys++;
    this.liveFrameBytes += len;
    if (exp !== NEVER_EXPIRES) this.expiringKeys++;
  }

  /** Takes a slot's current record out of the counters: it becomes dead in its segment. */
  private unaccount(slot: number): void {
    const segment = this.segmentsByHandle[this.index.seg[slot]!]!;
    const len = this.index.len[slot]!;
    const exp = this.index.exp[slot]!;
    segment.deadBytes += len;
    if (exp === TOMBSTONE) {
      segment.tombstoneBytes -= len;
      return;
    }
    this.liveKeys--;
    this.liveFrameBytes -= len;
    if (exp !== NEVER_EXPIRES) this.expiringKeys--;
    assert(this.liveKeys >= 0, 'live key count never negative');
  }

  // ---------------------------------------------------------------- compaction

  /**
   * Compacts the given sealed segments, or those whose dead share reached compactionDeadRatio.
   * Waits for a compaction in progress first. Reads and writes continue meanwhile.
   */
  async compact(options?: { readonly segments?: readonly SegmentName[] }): Promise<CompactionSummary | undefined> {
    this.checkWritable();
    while (this.compacting !== undefined) await this.compacting.catch(() => undefined);
    this.checkWritable();
    let inputs: Segment[];
    if (options?.segments !== undefined) {
      inputs = options.segments.map((n) => {
        const s = this.ordered.find((o) => o.id === n.id && o.gen === n.gen);
        if (s === undefined || s === this.active) throw new StorageIoError(`no sealed segment ${n.id}-${n.gen} to compact`, undefined);
        return s;
      });
    } else {
      inputs = this.pickCompactionInputs();
    }
    if (inputs.length === 0) return undefined;
    const run = this.runCompaction(inputs);
    this.compacting = run;
    try {
      return await run;
    } finally {
      this.compacting = undefined;
    }
  }

  /** Sealed segments worth compacting, oldest first, whose live bytes fit one output segment. */
  private pickCompactionInputs(): Segment[] {
    const sealed = this.ordered.filter((s) => s !== this.active);
    const expired = new Map<number, number>();
    if (this.expiringKeys > 0) {
      const now = this.clock.now();
      const { exp, len, seg } = this.index;
      this.index.forEach((_key, slot) => {
        const e = exp[slot]!;
        if (e !== TOMBSTONE && e <= now) expired.set(seg[slot]!, (expired.get(seg[slot]!) ?? 0) + len[slot]!);
      });
    }
    const picked: Segment[] = [];
    let prefix = true;
    let liveBytes = 0;
    for (const s of sealed) {
      const reclaimable = s.deadBytes + (expired.get(s.handle) ?? 0);
      const withTombstones = reclaimable + (prefix ? s.tombstoneBytes : 0);
      const ratio = this.opts.compactionDeadRatio;
      const worth = s.sizeBytes === 0 || withTombstones >= ratio * s.sizeBytes;
      if (!worth) {
        prefix = false;
        continue;
      }
      const keeps = s.sizeBytes - withTombstones;
      if (picked.length > 0 && liveBytes + keeps > this.opts.maxSegmentBytes) break;
      picked.push(s);
      liveBytes += keeps;
    }
    return picked;
  }

  private async runCompaction(inputs: Segment[]): Promise<CompactionSummary | undefined> {
    const started = this.clock.now();
    const host = {
      dir: this.dir, logger: this.logger, clock: this.clock, index: this.index, maxBodyBytes: this.maxBodyBytes,
      orderedSegments: () => this.ordered, isClosing: () => this.closing,
    };
    let result: CompactionOutput | undefined;
    try {
      result = await copyLiveRecords(host, inputs);
    } catch (e) {
      this.logger.error({ err: e instanceof Error ? e.message : String(e), inputs: inputs.map((s) => s.fileName) }, 'compaction failed; segments left as they were');
      throw toIoError('compaction failed', e);
    }
    if (result === undefined) return undefined; // closing
    const output = this.installCompaction(result);
    await deleteInputs(result.inputs, this.logger);
    this.compactions++;
    const summary: CompactionSummary = {
      inputs: result.inputs.map((s) => ({ id: s.id, gen: s.gen })),
      output: output === undefined ? undefined : { id: output.id, gen: output.gen },
      movedRecords: result.moved.length, droppedKeys: result.dropped.length,
    };
    this.logger.info({ ...summary, outputBytes: output?.sizeBytes ?? 0, tookMs: this.clock.now() - started }, 'compaction done');
    return summary;
  }

  /** Phase 2, synchronous: switches the index to the output and forgets the inputs. */
  private installCompaction(result: CompactionOutput): Segment | undefined {
    const index = this.index;
    let output: Segment | undefined;
    if (result.output !== undefined) {
      output = this.registerSegment(result.output.name, result.output.sizeBytes, result.output.fh);
      const at = this.ordered.findIndex((s) => compareSegmentNames(s, output!) > 0);
      this.ordered.splice(at === -1 ? this.ordered.length : at, 0, output);
      for (const m of result.moved) {
        const slot = index.slot(m.key);
        if (slot === undefined || index.seg[slot] !== m.fromHandle || index.off[slot] !== m.fromOffset) {
          output.deadBytes += m.frameBytes; // overwritten while the copy ran
          continue;
        }
        this.unaccount(slot);
        index.write(slot, output.handle, m.offset, m.frameBytes, m.exp);
        this.account(slot);
      }
    }
    for (const d of result.dropped) {
      const slot = index.slot(d.key);
      if (slot === undefined || index.seg[slot] !== d.fromHandle || index.off[slot] !== d.fromOffset) continue;
      this.unaccount(slot);
      index.remove(d.key);
      this.sorted?.remove(d.key);
      this.cache.delete(d.key);
    }
    const gone = new Set(result.inputs);
    this.ordered = this.ordered.filter((s) => !gone.has(s));
    for (const s of result.inputs) this.segmentsByHandle[s.handle] = undefined;
    // Nothing may point at a deleted segment any more.
    index.forEach((_key, slot) => assert(this.segmentsByHandle[index.seg[slot]!] !== undefined, 'index points at a live segment'));
    return output;
  }

  private maybeCompact(): Promise<void> {
    if (this.closing || this.readOnlyReason !== undefined || this.failure !== undefined) return Promise.resolve();
    if (this.compacting !== undefined || this.opts.compactionCheckIntervalMs === 0) return Promise.resolve();
    return this.compact().then(() => undefined, () => undefined); // failures are logged by runCompaction
  }

  // ---------------------------------------------------------------- open and close

  private async recoverOnOpen(): Promise<void> {
    const started = this.clock.now();
    const result = await recover({
      dir: this.dir, logger: this.logger, maxBodyBytes: this.maxBodyBytes,
      openSegment: (name, sizeBytes, fh) => this.registerSegment(name, sizeBytes, fh),
      reserve: (keys) => this.index.reserve(Math.min(keys, this.opts.maxIndexKeys)),
      apply: (segment, key, offset, frameBytes, exp) => this.apply(segment, key, offset, frameBytes, exp),
    }, this.opts.recovery);
    this.ordered = result.segments;
    this.readOnlyReason = result.readOnlyReason;
    if (this.readOnlyReason === undefined) {
      const last = this.ordered[this.ordered.length - 1];
      if (last !== undefined && last.sizeBytes < this.opts.maxSegmentBytes) {
        // Keep appending to the newest segment. Its hint (from a clean close) goes first: a hint
        // must never describe a segment that has grown since.
        if (result.hinted.has(last)) {
          await fs.rm(last.hintPath, { force: true });
          result.hinted.delete(last);
        }
        this.active = last;
      } else {
        this.active = await this.createSegment({ id: (last?.id ?? 0) + 1, gen: 0 });
      }
      for (const s of this.ordered) {
        if (s !== this.active && !result.hinted.has(s)) this.track(this.writeHint(s));
      }
      this.scheduleFsync();
      this.scheduleCompactionCheck();
    }
    this.logger.info({
      dir: this.dir, keys: this.liveKeys, segments: this.ordered.length, hinted: result.hinted.size,
      tookMs: this.clock.now() - started, readOnly: this.readOnlyReason ?? false,
    }, 'log storage opened');
  }

  private scheduleFsync(): void {
    if (this.opts.fsync !== 'interval') return;
    this.fsyncTimer = this.timers.setTimer(this.opts.fsyncIntervalMs, () => {
      this.fsyncTimer = undefined;
      if (this.closing) return;
      this.track(this.flushDirty().finally(() => this.scheduleFsync()));
    });
  }

  private async flushDirty(): Promise<void> {
    const active = this.active;
    if (!this.dirty || active === undefined || this.failure !== undefined) return;
    this.dirty = false;
    try {
      await active.fh.datasync();
      this.fsyncs++;
    } catch (e) {
      this.fail(`fsync of ${active.path} failed`, e);
    }
  }

  private scheduleCompactionCheck(): void {
    if (this.opts.compactionCheckIntervalMs === 0) return;
    this.compactionTimer = this.timers.setTimer(this.opts.compactionCheckIntervalMs, () => {
      this.compactionTimer = undefined;
      if (this.closing) return;
      this.track(this.maybeCompact().finally(() => this.scheduleCompactionCheck()));
    });
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((e: unknown) => {
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'background storage task failed');
    });
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /**
   * Flushes queued writes, fsyncs, writes the active segment's hint (so the next open reads hints
   * only), closes every file and releases the lock. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    if (this.fsyncTimer !== undefined) this.timers.clearTimer(this.fsyncTimer);
    if (this.compactionTimer !== undefined) this.timers.clearTimer(this.compactionTimer);
    while (this.pumping !== undefined) await this.pumping;
    await this.syncsSettled();
    if (this.compacting !== undefined) await this.compacting.catch(() => undefined);
    while (this.background.size > 0) await Promise.all(this.background);
    while (this.preallocating !== undefined) await this.preallocating;
    let error: unknown;
    const active = this.active;
    if (active !== undefined && this.failure === undefined) {
      try {
        await this.trimAndSync(active);
        if (active.sizeBytes > 0) await writeHintFile(active.hintPath, active.sizeBytes, this.hintFromIndex(active));
      } catch (e) {
        error = toIoError(`cannot flush ${active.path} on close`, e);
      }
    }
    await this.abandon();
    this.cache.clear();
    this.logger.info({ dir: this.dir }, 'log storage closed');
    if (error !== undefined) throw error;
  }

  /** Closes files and the lock without flushing (also used when open fails). */
  private async abandon(): Promise<void> {
    this.closing = true;
    for (const s of this.segmentsByHandle) await s?.close();
    await this.lock?.release();
  }

  private checkOpen(): void {
    if (this.closing) throw new StorageClosedError();
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnlyReason !== undefined) throw new StorageReadOnlyError(this.dir, this.readOnlyReason);
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Value length of an encoded put frame (its body ends with the value). */
function valueLengthOf(frame: Buffer): number {
  const metaBytes = frame.readUInt32LE(FRAME_HEADER_BYTES + 1);
  return frame.length - FRAME_HEADER_BYTES - 5 - metaBytes;
}
