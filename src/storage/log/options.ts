/**
 * Options of the log engine, with their defaults in one place (resolveLogOptions).
 */
import type { Clock, Logger, Timers } from '../../core/env.js';
import { InvalidConfigError } from '../../errors.js';
import type { StorageLimits } from '../types.js';
import { DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES } from '../types.js';

/**
 * When writes reach the disk:
 * - `always`: every write resolves only after an fsync covering it; concurrent writes share one
 *   write and one fsync (group commit).
 * - `interval`: writes resolve after the write syscall (the data is in the OS page cache and
 *   survives a process crash); an fsync runs every fsyncIntervalMs, so a power loss loses at most
 *   about that much (Redis `appendfsync everysec`).
 * - `never`: the OS decides; fsync only when a segment is sealed and on close.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

/**
 * What open does when a record fails its checks (CRC, length, format). A torn tail (a partial last
 * record in the newest segment, or a zero-filled tail) is not corruption but the normal result of a
 * crash: it is always cut off and logged, whatever the mode.
 * - `fail` (default): refuse to open with CorruptRecordError naming the file and offset, changing
 *   nothing on disk (beyond the always-done cleanup: a torn tail cut, leftover .tmp files removed).
 * - `truncate`: keep everything before the bad record; move the rest of that segment and every
 *   newer segment into `quarantine/` (never deleted), and open read-write.
 * - `stop`: serve everything before the bad record, read-only (writes fail with
 *   StorageReadOnlyError), changing nothing else on disk: to copy data out or inspect.
 * In every mode the corruption is logged (error level) with file and offset, and nothing after the
 * bad record is served. Corruption in a segment whose valid hint let recovery skip it is found
 * when the record is read: that get fails with CorruptRecordError (every read checks the CRC).
 *
 * `fail` is the default because dropping records is not harmless in a Dynamo-style store: a lost
 * tombstone resurrects a deleted key, and read repair and anti-entropy would then copy it back to
 * the healthy replicas. Refusing to start loses nothing; the operator chooses `truncate` (and lets
 * anti-entropy refill the node from its replicas) or restores the files.
 */
export type RecoveryMode = 'stop' | 'truncate' | 'fail';

export interface LogEngineOptions extends StorageLimits {
  /** Data directory (created if missing). One process at a time: it is locked while open. */
  readonly dir: string;
  /** Engine clock for expiry (`expiresAtMs` is compared with `clock.now()`). */
  readonly clock: Clock;
  /** Logger for recovery, corruption and compaction events (default: silent). */
  readonly logger?: Logger | undefined;
  /** Timers for the fsync interval and the compaction check (default: Node timers, unref'd). */
  readonly timers?: Timers | undefined;
  /** Durability of writes. Default `interval`: a process crash loses nothing, a power loss at most ~1 s. */
  readonly fsync?: FsyncPolicy | undefined;
  /** fsync period for the `interval` policy. Default 1000 ms, like Redis everysec. */
  readonly fsyncIntervalMs?: number | undefined;
  /**
   * A segment is sealed (and its hint written) once it passes this size. Default 64 MiB: small
   * enough that compaction rewrites little at a time and hints are written quickly, large enough
   * that a 100 GB store has ~1600 files. At most 2 GiB (offsets are 32-bit).
   */
  readonly maxSegmentBytes?: number | undefined;
  /**
   * Reads of records up to this size are synchronous preads on the event loop thread; larger ones
   * go through the libuv thread pool. Default 64 KiB. A read served by the OS page cache takes a
   * few microseconds, far less than a thread-pool round trip (which capped random 4 KiB reads at
   * ~20 000/s on the 2-core benchmark machine); a read that misses the page cache blocks the event
   * loop for one disk read, as a page fault on an mmap'd file would. 0 sends every read to the pool.
   */
  readonly syncReadMaxBytes?: number | undefined;
  /** Byte budget of the value cache (second-chance eviction, close to LRU). Default 64 MiB; 0 disables it. */
  readonly valueCacheMaxBytes?: number | undefined;
  /** Largest single value the cache keeps. Default 1 MiB, so one big value cannot flush the cache. */
  readonly valueCacheMaxEntryBytes?: number | undefined;
  /**
   * A sealed segment is compacted when this share of its bytes is dead (overwritten, deleted,
   * expired). Default 0.5: space amplification stays under 2x while each compaction frees at least
   * as much as it rewrites. Bitcask's fragmentation trigger is 0.6.
   */
  readonly compactionDeadRatio?: number | undefined;
  /** How often to look for segments to compact. Default 60 000 ms (plus a look after every seal); 0 disables automatic compaction. */
  readonly compactionCheckIntervalMs?: number | undefined;
  /** See RecoveryMode. Default `fail`. */
  readonly recovery?: RecoveryMode | undefined;
  /**
   * Bytes of writes waiting for the disk before new writes are refused with OverloadedError.
   * Default 64 MiB: far above what a healthy disk ever queues, low enough to bound memory when it
   * stalls.
   */
  readonly maxQueuedWriteBytes?: number | undefined;
  /**
   * The active segment is zero-filled (and fdatasynced) this far ahead of its last record, in the
   * background. Default 0 (off); meant for fsync=always, e.g. 4 MiB (DEFAULT_PREALLOCATE_BYTES).
   *
   * Off by default because of the power-loss case at the end of this comment: without it, a power
   * loss leaves at worst a torn tail, which recovery cuts by itself; with it, the default recovery
   * mode (`fail`) may refuse to open until an operator chooses. Turn it on when fsync=always
   * latency matters more than that, ideally with recovery `truncate`.
   *
   * Why: an fdatasync after a write that grows the file must also commit the new file size (a
   * journal commit on ext4); after a write over blocks already written it flushes data only. On
   * the benchmark machine (ext4 on a virtio disk) the median fdatasync of a 1.6 KB write took
   * 0.26–0.30 ms instead of 0.41–0.65 ms, and under fsync=always every write waits for one. (Growing
   * the file with ftruncate instead of writing zeros saved nothing: the blocks are then allocated
   * by the writes.) The cost: the zeros are written once more (each byte reaches the disk twice)
   * and the fdatasync of the zeros competes with the writes' own for a moment every
   * preallocateBytes. RocksDB preallocates its WAL (and recycles WAL files) for the same reason.
   *
   * The trade-off in recovery: a crash leaves the newest segment with a tail of zeros, which
   * recovery must tell apart from damage. It treats as the end of the records (cut off, logged)
   * only zeros up to the end of the file, or a last record whose end is zeros up to the end of the
   * file (a write the crash cut short). A zeroed record header followed by anything but zeros, and
   * any damaged record followed by non-zero bytes, is corruption and goes to the recovery mode.
   * Sealed segments and a segment closed cleanly are cut to their last record, so only the
   * newest segment after a crash ever has a zero tail. One consequence: after a power loss (not
   * a process crash), the OS may have written pages of an unacknowledged write out of order,
   * leaving zeros before data; recovery cannot tell that from acknowledged data lost, so it
   * applies the recovery mode (the default `fail` refuses to open; `truncate` quarantines the
   * tail) rather than silently drop anything.
   */
  readonly preallocateBytes?: number | undefined;
  /** Most bytes one group commit writes (and fsyncs) at once. Default 4 MiB. */
  readonly maxGroupCommitBytes?: number | undefined;
  /** Most ops in one batch. Default 10 000. */
  readonly maxBatchOps?: number | undefined;
  /** Most key + value bytes in one batch (a batch is written as one unit). Default 64 MiB. */
  readonly maxBatchBytes?: number | undefined;
  /**
   * Most keys (including tombstones not yet compacted away) in the index; new keys beyond are
   * refused with OverloadedError. Default 16 000 000: at ~80 bytes per key (index plus the key
   * string, measured by the storage benchmark) that is about 1.3 GB of memory, more than a node
   * of this kind should hold.
   */
  readonly maxIndexKeys?: number | undefined;
}

export interface ResolvedLogOptions {
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  readonly maxSegmentBytes: number;
  readonly syncReadMaxBytes: number;
  readonly valueCacheMaxBytes: number;
  readonly valueCacheMaxEntryBytes: number;
  readonly compactionDeadRatio: number;
  readonly compactionCheckIntervalMs: number;
  readonly recovery: RecoveryMode;
  readonly maxQueuedWriteBytes: number;
  readonly maxGroupCommitBytes: number;
  readonly preallocateBytes: number;
  readonly maxBatchOps: number;
  readonly maxBatchBytes: number;
  readonly maxIndexKeys: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
}

export const DEFAULT_FSYNC_INTERVAL_MS = 1000;
export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_SYNC_READ_MAX_BYTES = 64 * 1024;
export const DEFAULT_VALUE_CACHE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_VALUE_CACHE_MAX_ENTRY_BYTES = 1024 * 1024;
export const DEFAULT_COMPACTION_DEAD_RATIO = 0.5;
export const DEFAULT_COMPACTION_CHECK_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_QUEUED_WRITE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_GROUP_COMMIT_BYTES = 4 * 1024 * 1024;
export const DEFAULT_PREALLOCATE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_INDEX_KEYS = 16_000_000;
const MAX_SEGMENT_BYTES_LIMIT = 2 ** 31;
const MAX_VALUE_BYTES_LIMIT = 2 ** 30;

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidConfigError(`option ${name} must be an integer between 1 and ${max}`, { [name]: value });
  }
  return value;
}

function nonNegativeInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidConfigError(`option ${name} must be an integer >= 0`, { [name]: value });
  return value;
}

export function resolveLogOptions(o: LogEngineOptions): ResolvedLogOptions {
  if (typeof o.dir !== 'string' || o.dir.length === 0) throw new InvalidConfigError('option dir must be a directory path');
  const fsync = o.fsync ?? 'interval';
  if (!['always', 'interval', 'never'].includes(fsync)) throw new InvalidConfigError('option fsync must be "always", "interval" or "never"', { fsync });
  const recovery = o.recovery ?? 'fail';
  if (!['stop', 'truncate', 'fail'].includes(recovery)) throw new InvalidConfigError('option recovery must be "stop", "truncate" or "fail"', { recovery });
  const ratio = o.compactionDeadRatio ?? DEFAULT_COMPACTION_DEAD_RATIO;
  if (!(ratio > 0 && ratio <= 1)) throw new InvalidConfigError('option compactionDeadRatio must be in (0, 1]', { compactionDeadRatio: ratio });
  const cacheBytes = o.valueCacheMaxBytes ?? DEFAULT_VALUE_CACHE_MAX_BYTES;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0) throw new InvalidConfigError('option valueCacheMaxBytes must be an integer >= 0');
  const checkMs = o.compactionCheckIntervalMs ?? DEFAULT_COMPACTION_CHECK_INTERVAL_MS;
  if (!Number.isSafeInteger(checkMs) || checkMs < 0) throw new InvalidConfigError('option compactionCheckIntervalMs must be an integer >= 0');
  return {
    dir: o.dir,
    fsync,
    fsyncIntervalMs: positiveInt('fsyncIntervalMs', o.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS),
    maxSegmentBytes: positiveInt('maxSegmentBytes', o.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES, MAX_SEGMENT_BYTES_LIMIT),
    syncReadMaxBytes: nonNegativeInt('syncReadMaxBytes', o.syncReadMaxBytes ?? DEFAULT_SYNC_READ_MAX_BYTES),
    valueCacheMaxBytes: cacheBytes,
    valueCacheMaxEntryBytes: positiveInt('valueCacheMaxEntryBytes', o.valueCacheMaxEntryBytes ?? DEFAULT_VALUE_CACHE_MAX_ENTRY_BYTES),
    compactionDeadRatio: ratio,
    compactionCheckIntervalMs: checkMs,
    recovery,
    maxQueuedWriteBytes: positiveInt('maxQueuedWriteBytes', o.maxQueuedWriteBytes ?? DEFAULT_MAX_QUEUED_WRITE_BYTES),
    maxGroupCommitBytes: positiveInt('maxGroupCommitBytes', o.maxGroupCommitBytes ?? DEFAULT_MAX_GROUP_COMMIT_BYTES),
    preallocateBytes: nonNegativeInt('preallocateBytes', o.preallocateBytes ?? 0),
    maxBatchOps: positiveInt('maxBatchOps', o.maxBatchOps ?? 10_000),
    maxBatchBytes: positiveInt('maxBatchBytes', o.maxBatchBytes ?? 64 * 1024 * 1024, MAX_VALUE_BYTES_LIMIT),
    maxIndexKeys: positiveInt('maxIndexKeys', o.maxIndexKeys ?? DEFAULT_MAX_INDEX_KEYS, 2 ** 30),
    maxKeyBytes: positiveInt('maxKeyBytes', o.maxKeyBytes ?? DEFAULT_MAX_KEY_BYTES, 1024 * 1024),
    maxValueBytes: positiveInt('maxValueBytes', o.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, MAX_VALUE_BYTES_LIMIT),
  };
}
