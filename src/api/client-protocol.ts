/**
 * The client protocol: WebSocket (path /client) with binary frames encoded with cbor-x. Many
 * requests may be in flight on one connection; replies carry the request's id and may arrive in
 * any order. Shared by the server (src/api) and the SDK (src/client); it imports nothing from
 * Node so the SDK stays browser-buildable.
 */

/** Bumped on an incompatible change; the server refuses other versions with ERR_PROTOCOL. */
export const CLIENT_PROTOCOL_VERSION = 1;

/** WebSocket path for clients on the node's port. */
export const CLIENT_WS_PATH = '/client';
/** WebSocket path for peers on the node's port. */
export const PEER_WS_PATH = '/peer';

/** Per-request quorum and timeout options; absent fields take the node's defaults. */
export interface RequestQuorum {
  /** Read quorum (1..N). */
  readonly r?: number | undefined;
  /** Write quorum (1..N). */
  readonly w?: number | undefined;
  /** Server-side timeout for this request in ms. */
  readonly timeoutMs?: number | undefined;
}

export type ClientRequest =
  | { readonly id: number; readonly op: 'hello'; readonly version: number; readonly clientName?: string | undefined }
  | ({ readonly id: number; readonly op: 'get'; readonly key: string } & RequestQuorum)
  | ({
      readonly id: number;
      readonly op: 'put';
      readonly key: string;
      readonly value: Uint8Array;
      /** Opaque context from an earlier read; absent = a blind write. */
      readonly context?: string | undefined;
      /** Time to live in ms; absent = never expires. */
      readonly ttlMs?: number | undefined;
    } & RequestQuorum)
  | ({ readonly id: number; readonly op: 'delete'; readonly key: string; readonly context?: string | undefined } & RequestQuorum)
  | { readonly id: number; readonly op: 'status' };

/** One version of a value; `value` null is a delete (tombstone) sibling. */
export interface WireSibling {
  readonly value: Uint8Array | null;
  /** Coordinator's wall-clock time of the write, ms since the Unix epoch. */
  readonly writtenAtMs: number;
  /** Node id that coordinated the write. */
  readonly node: string;
  readonly expiresAtMs?: number | undefined;
}

export interface GetResult {
  /** Every concurrent version; empty when the key does not exist. Tombstone-only keys have no siblings here. */
  readonly siblings: readonly WireSibling[];
  /** Opaque causal context to pass to the next put/delete of this key. */
  readonly context: string;
}

export interface PutResult {
  /** Context of the object after the write (lets a client chain writes without a read). */
  readonly context: string;
}

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
}

export type ClientResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

/** Largest client frame either side accepts by default (a 16 MiB value plus overhead). */
export const DEFAULT_MAX_CLIENT_FRAME_BYTES = 17 * 1024 * 1024;
