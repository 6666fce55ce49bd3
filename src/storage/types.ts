/**
 * The storage engine contract (DESIGN.md §7). Two engines implement it — `memory` and `log` —
 * and one compliance suite (test/storage/compliance.ts) runs against both.
 *
 * Keys are strings (UTF-8 on disk). Values are opaque bytes; the replication layer owns their
 * format (siblings, vector clocks and replication-level tombstones are all inside the bytes).
 * Record metadata is small: an optional absolute expiry time. `delete` makes a key absent; the log
 * engine records that with a storage-level tombstone record, which compaction keeps for as long as
 * an older record of the key could otherwise resurrect it.
 *
 * Expiry: a record whose `expiresAtMs` is at or before the engine clock's `now()` is invisible to
 * get, scan and entries, and its space is reclaimed by compaction (log) or lazily (memory).
 */

export interface StoredRecord {
  /** The value bytes. Callers must not mutate them. */
  readonly value: Uint8Array;
  /** Absolute expiry time in ms on the engine's clock; undefined = never expires. */
  readonly expiresAtMs?: number | undefined;
}

export interface PutOptions {
  /** Absolute expiry time in ms on the engine's clock. */
  readonly expiresAtMs?: number | undefined;
}

export type BatchOp =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array; readonly expiresAtMs?: number | undefined }
  | { readonly type: 'delete'; readonly key: string };

export interface ScanOptions {
  /** Only keys starting with this prefix. */
  readonly prefix?: string | undefined;
  /** Only keys >= start (in UTF-16 code unit order, i.e. JS string comparison). */
  readonly start?: string | undefined;
  /** Only keys < end. */
  readonly end?: string | undefined;
  /** Resume after the page that returned this cursor. */
  readonly cursor?: string | undefined;
  /** Maximum entries in this page (default 100, at most maxScanLimit = 10 000). */
  readonly limit?: number | undefined;
}

export interface ScanEntry {
  readonly key: string;
  readonly record: StoredRecord;
}

export interface ScanPage {
  /** Entries in ascending key order. */
  readonly entries: readonly ScanEntry[];
  /** Present when more entries may follow; pass it back as `cursor`. */
  readonly cursor?: string | undefined;
}

export interface StorageStats {
  /** Live (visible, unexpired) keys. */
  readonly keys: number;
  /** Bytes of live keys and values. */
  readonly liveBytes: number;
  /** Bytes on disk (log) or held (memory), including dead records. */
  readonly totalBytes: number;
  /** Completed compactions since open. */
  readonly compactions: number;
}

/** What `peek` answers when it cannot tell without I/O: ask `get`. */
export const NOT_IN_MEMORY: unique symbol = Symbol('storage: not in memory');

export interface StorageEngine {
  /** The engine's name: "memory" or "log". */
  readonly kind: 'memory' | 'log';
  /**
   * Repeated gets of an unchanged key return the same `value` instance while the engine holds the
   * value in memory (callers may cache what they derive from it, checked by identity).
   */
  get(key: string): Promise<StoredRecord | undefined>;
  /**
   * What `get` would return, when the engine can tell without I/O; else NOT_IN_MEMORY. Synchronous,
   * so a caller saves the promise of a get on its hot path. The memory engine always answers; the
   * log engine answers when the key is absent or expired, or its value is in the value cache.
   * Optional: callers fall back to `get` when an engine (or a wrapper of one) has none.
   */
  peek?(key: string): StoredRecord | undefined | typeof NOT_IN_MEMORY;
  /** Resolves once the write is as durable as the engine's fsync policy promises. */
  put(key: string, value: Uint8Array, options?: PutOptions): Promise<void>;
  /** Makes the key absent. Deleting an absent key is fine. */
  delete(key: string): Promise<void>;
  /** Applies every op atomically with respect to crashes (all or none survive a crash). */
  batch(ops: readonly BatchOp[]): Promise<void>;
  /** A page of keys in ascending order. */
  scan(options?: ScanOptions): Promise<ScanPage>;
  /** Every live entry, in no particular order; safe against concurrent writes (sees a snapshot or later). */
  entries(): AsyncIterable<ScanEntry>;
  stats(): StorageStats;
  /** Flushes and releases everything (file handles, the directory lock). Idempotent. */
  close(): Promise<void>;
}

/** Limits shared by every engine. */
export interface StorageLimits {
  /** Largest key in UTF-8 bytes. Default 8 KiB (Redis allows far more; long keys only waste index memory). */
  readonly maxKeyBytes?: number;
  /** Largest value in bytes. Default 16 MiB (Riak refuses objects at 50 MB; one value must fit a peer frame). */
  readonly maxValueBytes?: number;
}

export const DEFAULT_MAX_KEY_BYTES = 8 * 1024;
export const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
export const DEFAULT_SCAN_LIMIT = 100;
export const MAX_SCAN_LIMIT = 10_000;
