/**
 * Result and option types of the SDK's public API.
 */
import type { RingkvError } from '../errors.js';
import type { ValueCodec } from './codec.js';

/** Merges concurrent values of one key into one. Must be deterministic and should be commutative. */
export type Resolver<T> = (values: T[], key: string) => T;

/** One live version of a value, as a get returned it. */
export interface Sibling<T> {
  readonly value: T;
  /** The coordinating node's wall-clock time of the write, ms since the Unix epoch. */
  readonly writtenAtMs: number;
  /** Id of the node that coordinated the write. */
  readonly node: string;
  /** When the value expires, ms since the Unix epoch; undefined = never. */
  readonly expiresAtMs: number | undefined;
}

/** What `get` returns. */
export interface GetResult<T> {
  /**
   * Every live concurrent version as read (empty when the key does not exist). When the resolver
   * merged them this still lists what was read; `value` is the merged value.
   */
  readonly siblings: readonly Sibling<T>[];
  /** How many concurrent deletes (tombstone siblings) the read also saw; they are not in `siblings`. */
  readonly tombstones: number;
  /**
   * Opaque causal context: pass it to the next put/delete of this key so the write replaces what
   * was read instead of becoming a sibling. After a resolution it is the write-back's context.
   */
  readonly context: string;
  /** The value when there is exactly one live sibling, or the resolver's merged value; else undefined. */
  readonly value: T | undefined;
  /** True when at least one live sibling exists. */
  readonly exists: boolean;
  /** True when the resolver merged several versions and the merge was written back. */
  readonly resolved: boolean;
}

/** What `put` returns. */
export interface PutResult {
  /** Context of the object after the write: pass it to a following write to replace this one. */
  readonly context: string;
}

/** What `delete` returns. */
export interface DeleteResult {
  /** Context after the delete, when the server returns one. */
  readonly context: string | undefined;
}

/** Options every request takes. */
export interface RequestOptions {
  /**
   * Time budget of this call in ms (default: the client's `timeoutMs`). It covers waiting in the
   * queue, a failover retry and a resolver write-back; the server is told the remaining budget.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Aborting rejects the call with `AbortedError` at once. A request already sent may still
   * complete on the server: an aborted put or delete may or may not have been applied.
   */
  readonly signal?: AbortSignal | undefined;
}

/** Options of `get`. */
export interface GetOptions<T> extends RequestOptions {
  /** Read quorum (1..N); default: the server's. */
  readonly r?: number | undefined;
  /** Codec for this call instead of the client's. */
  readonly codec?: ValueCodec<T> | undefined;
  /**
   * Resolver for this call; `null` turns resolution off. Default: the client's resolver, unless
   * `codec` is given (the client's resolver is for the client's value type).
   */
  readonly resolver?: Resolver<T> | null | undefined;
}

/** Options of `put`. */
export interface PutOptions<T> extends RequestOptions {
  /** Context from the read this write replaces; absent = a blind write, which becomes a sibling of what exists. */
  readonly context?: string | undefined;
  /** Write quorum (1..N); default: the server's. */
  readonly w?: number | undefined;
  /** Time to live in ms; absent = never expires. */
  readonly ttlMs?: number | undefined;
  /** Codec for this call instead of the client's. */
  readonly codec?: ValueCodec<T> | undefined;
}

/** Options of `delete`. */
export interface DeleteOptions extends RequestOptions {
  /** Context from the read this delete replaces; absent = a blind delete. */
  readonly context?: string | undefined;
  /** Write quorum (1..N); default: the server's. */
  readonly w?: number | undefined;
}

/** Options shared by the batch calls. */
export interface BatchOptions {
  /** Most requests of this batch in flight at once (default: the client's `batchConcurrency`). */
  readonly concurrency?: number | undefined;
}

/** Options of `getMany`; `timeoutMs` applies to each key, `signal` to the whole batch. */
export type GetManyOptions<T> = GetOptions<T> & BatchOptions;

/** One entry of `putMany`. */
export interface PutManyEntry<T> {
  readonly key: string;
  readonly value: T;
  /** Context from the read this write replaces; absent = a blind write. */
  readonly context?: string | undefined;
  /** Time to live in ms; absent = never expires. */
  readonly ttlMs?: number | undefined;
}

/** Options of `putMany`; `timeoutMs` applies to each entry, `signal` to the whole batch. */
export interface PutManyOptions<T> extends RequestOptions, BatchOptions {
  /** Write quorum (1..N); default: the server's. */
  readonly w?: number | undefined;
  /** Codec for this call instead of the client's. */
  readonly codec?: ValueCodec<T> | undefined;
}

/** The outcome of one item of a batch: its result, or the error that item alone failed with. */
export type BatchItemResult<R> =
  | { readonly ok: true; readonly key: string; readonly result: R }
  | { readonly ok: false; readonly key: string; readonly error: Error };

/** State of the client's link to one node. */
export type ConnectionState = 'dialing' | 'ready' | 'backoff' | 'closed';

/** A snapshot of the client's link to one node. */
export interface ConnectionInfo {
  /** "host:port" as given in `nodes`. */
  readonly address: string;
  readonly state: ConnectionState;
  /** The node's id from its hello reply, once known. */
  readonly nodeId: string | undefined;
  /** Requests sent on this connection and not yet answered. */
  readonly inFlight: number;
  /** Dials that failed in a row since the last successful one. */
  readonly failedDials: number;
  /** Why the last dial failed or the last connection closed. */
  readonly lastError: RingkvError | undefined;
}

/** What `status` returns. */
export interface ClientStatus {
  /** The node that answered the status request. */
  readonly address: string;
  readonly nodeId: string | undefined;
  /** The node's own status report, as it sent it. */
  readonly server: unknown;
  /** The client's links to every node. */
  readonly connections: readonly ConnectionInfo[];
  /** Requests in flight on all connections. */
  readonly inFlight: number;
  /** Requests waiting in the client's queue. */
  readonly queued: number;
}
