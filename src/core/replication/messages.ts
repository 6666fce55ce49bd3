/**
 * Bodies of the replication messages (MessageType.Replica*, Forward*, HintDelivery*, Reap).
 * Objects travel as their encoded bytes (src/core/version codec): the replica decodes, merges and
 * re-encodes. Every body is validated on receipt; a malformed one is dropped with a warning.
 */
import type { NodeId } from '../wire.js';
import type { WireError } from '../../api/client-protocol.js';

/** Ask a replica for its object of `key` (from its hint store for `hintFor` when it is a fallback). */
export interface ReplicaGetBody {
  readonly key: string;
  readonly hintFor?: NodeId | undefined;
}

export interface ReplicaGetReplyBody {
  /** Encoded object; absent when the replica holds nothing for the key. */
  readonly obj?: Uint8Array | undefined;
  readonly error?: WireError | undefined;
}

/** Merge `obj` into the replica's object of `key` (into its hint store for `hintFor`). */
export interface ReplicaPutBody {
  readonly key: string;
  readonly obj: Uint8Array;
  readonly hintFor?: NodeId | undefined;
  /** Why it was sent: a coordinated write, a read repair, or a hint delivery. */
  readonly reason: 'write' | 'repair' | 'handoff';
}

export interface ReplicaPutReplyBody {
  readonly ok: boolean;
  readonly error?: WireError | undefined;
}

/** A client request forwarded to a node in the key's preference list. */
export interface ForwardBody {
  readonly op: 'put' | 'delete';
  readonly key: string;
  readonly value?: Uint8Array | undefined;
  readonly context?: string | undefined;
  /** "local": supersede what the coordinator has seen (Redis SET); "given": use `context` only. */
  readonly contextMode: 'given' | 'local';
  readonly w: number;
  readonly timeoutMs: number;
  readonly ttlMs?: number | undefined;
}

export interface ForwardReplyBody {
  readonly ok: boolean;
  readonly context?: string | undefined;
  readonly error?: WireError | undefined;
}

/** Drop the tombstone of `key` if the replica's object is still exactly a tombstone under `clockObj`. */
export interface ReapBody {
  readonly key: string;
  readonly obj: Uint8Array;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(v: unknown): boolean {
  return v === undefined || v === null || typeof v === 'string';
}

export function isReplicaGetBody(v: unknown): v is ReplicaGetBody {
  return isObject(v) && typeof v.key === 'string' && optionalString(v.hintFor);
}

export function isReplicaGetReplyBody(v: unknown): v is ReplicaGetReplyBody {
  return isObject(v) && (v.obj === undefined || v.obj === null || v.obj instanceof Uint8Array) && (v.error === undefined || v.error === null || isObject(v.error));
}

export function isReplicaPutBody(v: unknown): v is ReplicaPutBody {
  return isObject(v) && typeof v.key === 'string' && v.obj instanceof Uint8Array && optionalString(v.hintFor) &&
    (v.reason === 'write' || v.reason === 'repair' || v.reason === 'handoff');
}

export function isReplicaPutReplyBody(v: unknown): v is ReplicaPutReplyBody {
  return isObject(v) && typeof v.ok === 'boolean';
}

export function isForwardBody(v: unknown): v is ForwardBody {
  return isObject(v) && (v.op === 'put' || v.op === 'delete') && typeof v.key === 'string' &&
    (v.value === undefined || v.value === null || v.value instanceof Uint8Array) && optionalString(v.context) &&
    (v.contextMode === 'given' || v.contextMode === 'local') && typeof v.w === 'number' && typeof v.timeoutMs === 'number' &&
    (v.ttlMs === undefined || v.ttlMs === null || typeof v.ttlMs === 'number');
}

export function isForwardReplyBody(v: unknown): v is ForwardReplyBody {
  return isObject(v) && typeof v.ok === 'boolean' && optionalString(v.context);
}

export function isReapBody(v: unknown): v is ReapBody {
  return isObject(v) && typeof v.key === 'string' && v.obj instanceof Uint8Array;
}
