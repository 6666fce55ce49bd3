/**
 * The peer wire protocol: an envelope around every message between nodes (DESIGN.md §6).
 * Encoding (cbor-x) happens in the runtime transport; the core sees decoded envelopes.
 */

/** Bumped on any incompatible change to the envelope or a message body. */
export const PROTOCOL_VERSION = 1;

/**
 * Message types. ONLY APPEND TO THIS LIST: the numbers are part of the protocol, and a node
 * must ignore (and log) a type it does not know rather than misread it.
 */
export const MessageType = {
  /** Transport handshake: first frame on every connection, both directions. */
  Handshake: 1,
  /** Transport handshake refused; the body says why; the connection closes. */
  HandshakeReject: 2,
  /** Gossip push: the sender's membership digest/state. */
  GossipPush: 10,
  /** Gossip pull reply: the parts of the state the pusher lacked. */
  GossipPull: 11,
  /** Join request sent to a seed. */
  JoinRequest: 12,
  /** Graceful leave announcement. */
  Leave: 13,
  /** Failure-detector probe and its ack (reserved for SWIM-style probing). */
  Ping: 14,
  PingAck: 15,
  /** Replication: read a key's object from a replica, and the replica's reply. */
  ReplicaGet: 20,
  ReplicaGetReply: 21,
  /** Replication: store an object (already reconciled by the coordinator) on a replica. */
  ReplicaPut: 22,
  ReplicaPutReply: 23,
  /** Forward a client request to a node in the preference list, and the reply. */
  Forward: 24,
  ForwardReply: 25,
  /** Hinted handoff: deliver a hinted object to its owner, and the owner's ack. */
  HintDelivery: 26,
  HintDeliveryAck: 27,
  /** Anti-entropy: exchange Merkle tree levels / key digests. */
  AntiEntropyRequest: 28,
  AntiEntropyReply: 29,
  /** Tombstone reaping: ask primaries to drop a tombstone all of them hold. */
  Reap: 30,
  /** Testing only: fault injection commands (exists only with --testing-faults). */
  FaultControl: 90,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Node ids are short strings chosen by the operator (e.g. "n1"). */
export type NodeId = string;

/** "host:port" (or any opaque string for the in-memory transport). */
export type Address = string;

/** Every frame between peers. */
export interface Envelope<Body = unknown> {
  /** Protocol version of the sender. */
  readonly v: number;
  /** Message type, from MessageType. */
  readonly t: MessageType;
  /** Request id: non-zero for requests that expect a reply; the reply carries the same id. 0 = one-way. */
  readonly rid: number;
  /** Sender node id. */
  readonly from: NodeId;
  /** Message body; its shape depends on `t`. Plain CBOR-encodable data only. */
  readonly body: Body;
}

const knownTypes: ReadonlySet<number> = new Set(Object.values(MessageType));

/** True when `t` is a message type this version knows. */
export function isKnownMessageType(t: unknown): t is MessageType {
  return typeof t === 'number' && knownTypes.has(t);
}

/**
 * Validates the shape of a decoded envelope (checked on receipt, as the sender checked before
 * sending). Returns a reason string when malformed, undefined when fine.
 */
export function envelopeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const e = value as Record<string, unknown>;
  if (typeof e.v !== 'number' || !Number.isInteger(e.v)) return 'missing protocol version';
  if (typeof e.t !== 'number' || !Number.isInteger(e.t)) return 'missing message type';
  if (typeof e.rid !== 'number' || !Number.isInteger(e.rid) || e.rid < 0) return 'bad request id';
  if (typeof e.from !== 'string' || e.from.length === 0 || e.from.length > 128) return 'bad sender id';
  if (!('body' in e)) return 'missing body';
  return undefined;
}
