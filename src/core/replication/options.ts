/**
 * Replication options: quorum defaults, timeouts and every bound of the replication layer.
 * Defaults are applied in `resolveReplicationOptions` and nowhere else.
 */
import { InvalidConfigError } from '../../errors.js';

export interface ReplicationOptions {
  /** Replicas per key (N). Default 3, as Dynamo and Riak. Must be the same on every node. */
  readonly nVal?: number;
  /** Default read quorum R (replicas that must answer a get). Default 2. */
  readonly r?: number;
  /** Default write quorum W (replicas that must acknowledge a put/delete). Default 2. */
  readonly w?: number;
  /** Default request timeout, ms. Default 5000. */
  readonly requestTimeoutMs?: number;
  /** Largest request timeout a client may ask for, ms. Default 60 000. */
  readonly maxRequestTimeoutMs?: number;
  /** Bound on coordinator requests in flight on this node; beyond it requests fail with ERR_OVERLOADED. Default 20 000. */
  readonly maxPendingRequests?: number;
  /** Largest key, UTF-8 bytes. Default 8 KiB. */
  readonly maxKeyBytes?: number;
  /** Largest value, bytes. Default 16 MiB. */
  readonly maxValueBytes?: number;
  /** Refuse a write whose object would hold more siblings. Default 100 (Riak's max_siblings). */
  readonly maxSiblings?: number;
  /** Log a warning when an object holds more siblings. Default 25 (Riak's warn_siblings). */
  readonly siblingsWarnThreshold?: number;
  /** Hints a fallback keeps at most; beyond it the fallback refuses the write (counts against W). Default 100 000. */
  readonly maxHints?: number;
  /** Bytes of hinted objects a fallback keeps at most. Default 256 MiB. */
  readonly maxHintBytes?: number;
  /** Period of the hint delivery loop, ms. Default 1000. Delivery also starts at once when an owner comes back. */
  readonly hintReplayIntervalMs?: number;
  /** Backoff ceiling for delivering hints to an owner that keeps failing, ms. Default 30 000. */
  readonly hintReplayBackoffMaxMs?: number;
  /** Hints sent to one owner per delivery round (in flight at once). Default 64. */
  readonly handoffBatchSize?: number;
  /** Owners handed off to at once. Default 2 (Riak's handoff_concurrency). */
  readonly handoffConcurrency?: number;
  /** Delay before reaping a tombstone that every primary acknowledged, ms. Default 3000 (Riak's delete_mode). */
  readonly deleteReapDelayMs?: number;
  /**
   * Reaped keys whose tombstone clock a primary remembers after the reap, so that a stale copy
   * arriving later (a hint held by a fallback that was down or cut off during the reap) is merged
   * against the tombstone it missed instead of coming back. Default 10 000 (oldest forgotten first).
   */
  readonly maxReapedClocks?: number;
  /** How long a reaped key's tombstone clock is remembered, ms. Default 3 600 000 (one hour). */
  readonly reapedClockRetentionMs?: number;
  /** Send reconciled objects to replicas that answered a read stale or missing. Default true. */
  readonly readRepair?: boolean;
  /**
   * Forward a write to a node in the key's preference list when this node is not in it. Default
   * true (a replica coordinating keeps clocks small: one entry per replica). The staleness (PBS)
   * simulation turns it off so the coordinator is never a replica, as in Bailis et al.
   */
  readonly forwardWrites?: boolean;
}

export type ResolvedReplicationOptions = Required<ReplicationOptions>;

export function resolveReplicationOptions(o: ReplicationOptions = {}): ResolvedReplicationOptions {
  const resolved: ResolvedReplicationOptions = {
    nVal: o.nVal ?? 3,
    r: o.r ?? 2,
    w: o.w ?? 2,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    maxRequestTimeoutMs: o.maxRequestTimeoutMs ?? 60_000,
    maxPendingRequests: o.maxPendingRequests ?? 20_000,
    maxKeyBytes: o.maxKeyBytes ?? 8 * 1024,
    maxValueBytes: o.maxValueBytes ?? 16 * 1024 * 1024,
    maxSiblings: o.maxSiblings ?? 100,
    siblingsWarnThreshold: o.siblingsWarnThreshold ?? 25,
    maxHints: o.maxHints ?? 100_000,
    maxHintBytes: o.maxHintBytes ?? 256 * 1024 * 1024,
    hintReplayIntervalMs: o.hintReplayIntervalMs ?? 1000,
    hintReplayBackoffMaxMs: o.hintReplayBackoffMaxMs ?? 30_000,
    handoffBatchSize: o.handoffBatchSize ?? 64,
    handoffConcurrency: o.handoffConcurrency ?? 2,
    deleteReapDelayMs: o.deleteReapDelayMs ?? 3000,
    maxReapedClocks: o.maxReapedClocks ?? 10_000,
    reapedClockRetentionMs: o.reapedClockRetentionMs ?? 3_600_000,
    readRepair: o.readRepair ?? true,
    forwardWrites: o.forwardWrites ?? true,
  };
  if (!(resolved.nVal >= 1)) throw new InvalidConfigError(`nVal must be at least 1, got ${resolved.nVal}`);
  if (resolved.r < 1 || resolved.r > resolved.nVal) throw new InvalidConfigError(`default R must be in 1..N (${resolved.nVal}), got ${resolved.r}`);
  if (resolved.w < 1 || resolved.w > resolved.nVal) throw new InvalidConfigError(`default W must be in 1..N (${resolved.nVal}), got ${resolved.w}`);
  if (!Number.isSafeInteger(resolved.maxReapedClocks) || resolved.maxReapedClocks < 0) {
    throw new InvalidConfigError(`maxReapedClocks must be a non-negative integer, got ${resolved.maxReapedClocks}`);
  }
  if (!(resolved.reapedClockRetentionMs >= 0)) throw new InvalidConfigError(`reapedClockRetentionMs must be >= 0, got ${resolved.reapedClockRetentionMs}`);
  return resolved;
}
