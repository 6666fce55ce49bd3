/**
 * The peer handshake: the first frame each way on every connection (DESIGN.md §6). Pure functions:
 * body shapes, their validation on receipt, and the decision to accept or refuse a peer, with the
 * messages an operator reads when two nodes disagree.
 */
import { MessageType, PROTOCOL_VERSION, type Address, type Envelope, type NodeId } from '../core/wire.js';
import { ErrorCode, HandshakeRefusedError } from '../errors.js';

/** Body of MessageType.Handshake. */
export interface HandshakeBody {
  readonly clusterName: string;
  readonly protocolVersion: number;
  readonly nodeId: NodeId;
  /** The sender's listen address: the acceptor sends to the dialer on this connection under it. */
  readonly address: Address;
}

export type HandshakeRefusalCode =
  | typeof ErrorCode.HANDSHAKE_REFUSED
  | typeof ErrorCode.PROTOCOL_VERSION
  | typeof ErrorCode.CLUSTER_MISMATCH;

/** Body of MessageType.HandshakeReject: why, plus the refuser's own values so the refused side can name both. */
export interface HandshakeRejectBody {
  readonly code: HandshakeRefusalCode;
  readonly reason: string;
  readonly clusterName: string;
  readonly protocolVersion: number;
  readonly nodeId: NodeId;
}

/** What a node says about itself in its handshake. */
export interface LocalIdentity {
  readonly clusterName: string;
  readonly nodeId: NodeId;
  readonly address: Address;
}

const MAX_TEXT_LENGTH = 256;
const MAX_NODE_ID_LENGTH = 128;
const refusalCodes: ReadonlySet<string> = new Set([ErrorCode.HANDSHAKE_REFUSED, ErrorCode.PROTOCOL_VERSION, ErrorCode.CLUSTER_MISMATCH]);

export function handshakeEnvelope(local: LocalIdentity): Envelope<HandshakeBody> {
  return {
    v: PROTOCOL_VERSION,
    t: MessageType.Handshake,
    rid: 0,
    from: local.nodeId,
    body: { clusterName: local.clusterName, protocolVersion: PROTOCOL_VERSION, nodeId: local.nodeId, address: local.address },
  };
}

export function handshakeRejectEnvelope(local: LocalIdentity, refusal: HandshakeRefusedError): Envelope<HandshakeRejectBody> {
  return {
    v: PROTOCOL_VERSION,
    t: MessageType.HandshakeReject,
    rid: 0,
    from: local.nodeId,
    body: {
      code: refusal.code as HandshakeRefusalCode,
      reason: refusal.message,
      clusterName: local.clusterName,
      protocolVersion: PROTOCOL_VERSION,
      nodeId: local.nodeId,
    },
  };
}

/** Returns why `body` is not a HandshakeBody, or undefined when it is one. */
export function handshakeBodyProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'handshake body is not an object';
  const b = body as Record<string, unknown>;
  if (!isText(b.clusterName, MAX_TEXT_LENGTH)) return 'handshake has no cluster name';
  if (typeof b.protocolVersion !== 'number' || !Number.isInteger(b.protocolVersion)) return 'handshake has no protocol version';
  if (!isText(b.nodeId, MAX_NODE_ID_LENGTH)) return 'handshake has no node id';
  if (!isText(b.address, MAX_TEXT_LENGTH)) return 'handshake has no address';
  return undefined;
}

/** Returns why `body` is not a HandshakeRejectBody, or undefined when it is one. */
export function handshakeRejectBodyProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'handshake reject body is not an object';
  const b = body as Record<string, unknown>;
  if (typeof b.code !== 'string' || !refusalCodes.has(b.code)) return 'handshake reject has no known code';
  if (typeof b.reason !== 'string' || b.reason.length > 4 * MAX_TEXT_LENGTH) return 'handshake reject has no reason';
  if (!isText(b.clusterName, MAX_TEXT_LENGTH)) return 'handshake reject has no cluster name';
  if (typeof b.protocolVersion !== 'number' || !Number.isInteger(b.protocolVersion)) return 'handshake reject has no protocol version';
  if (!isText(b.nodeId, MAX_NODE_ID_LENGTH)) return 'handshake reject has no node id';
  return undefined;
}

/**
 * Decides whether to talk to the peer whose handshake is `theirs`; `peer` names it in messages
 * ("127.0.0.1:7002"). Returns the refusal to send, or undefined to accept.
 */
export function refuseHandshake(local: LocalIdentity, theirs: HandshakeBody, envelopeVersion: number, peer: string): HandshakeRefusedError | undefined {
  const who = `peer ${peer} (node '${theirs.nodeId}')`;
  if (theirs.protocolVersion !== PROTOCOL_VERSION || envelopeVersion !== PROTOCOL_VERSION) {
    const theirVersion = theirs.protocolVersion !== PROTOCOL_VERSION ? theirs.protocolVersion : envelopeVersion;
    return new HandshakeRefusedError(ErrorCode.PROTOCOL_VERSION,
      `${who} speaks protocol version ${theirVersion}, we speak ${PROTOCOL_VERSION}; refusing (run the same ringkv version on every node)`,
      { peer, peerNodeId: theirs.nodeId, peerProtocolVersion: theirVersion, localProtocolVersion: PROTOCOL_VERSION });
  }
  if (theirs.clusterName !== local.clusterName) {
    return new HandshakeRefusedError(ErrorCode.CLUSTER_MISMATCH,
      `${who} is in cluster '${theirs.clusterName}', we are '${local.clusterName}'; refusing (check its seeds and cluster name)`,
      { peer, peerNodeId: theirs.nodeId, peerClusterName: theirs.clusterName, localClusterName: local.clusterName });
  }
  if (theirs.nodeId === local.nodeId) {
    return new HandshakeRefusedError(ErrorCode.HANDSHAKE_REFUSED,
      `${who} uses our own node id '${local.nodeId}'; every node needs a distinct id; refusing`,
      { peer, peerNodeId: theirs.nodeId, localNodeId: local.nodeId });
  }
  if (theirs.address === local.address) {
    return new HandshakeRefusedError(ErrorCode.HANDSHAKE_REFUSED,
      `${who} advertises our own address ${local.address}; every node needs a distinct address; refusing`,
      { peer, peerNodeId: theirs.nodeId, localAddress: local.address });
  }
  return undefined;
}

/**
 * Turns the reject a peer sent us into the error we log and report: it names the peer's values
 * and ours, from our side ("it is in cluster 'prod', we are 'dev'").
 */
export function refusalFromReject(local: LocalIdentity, reject: HandshakeRejectBody, peer: string): HandshakeRefusedError {
  const who = `peer ${peer} (node '${reject.nodeId}')`;
  switch (reject.code) {
    case ErrorCode.CLUSTER_MISMATCH:
      return new HandshakeRefusedError(reject.code,
        `${who} refused us: it is in cluster '${reject.clusterName}', we are '${local.clusterName}' (check this node's seeds and cluster name)`,
        { peer, peerNodeId: reject.nodeId, peerClusterName: reject.clusterName, localClusterName: local.clusterName });
    case ErrorCode.PROTOCOL_VERSION:
      return new HandshakeRefusedError(reject.code,
        `${who} refused us: it speaks protocol version ${reject.protocolVersion}, we speak ${PROTOCOL_VERSION} (run the same ringkv version on every node)`,
        { peer, peerNodeId: reject.nodeId, peerProtocolVersion: reject.protocolVersion, localProtocolVersion: PROTOCOL_VERSION });
    case ErrorCode.HANDSHAKE_REFUSED:
      return new HandshakeRefusedError(reject.code, `${who} refused us: ${reject.reason}`,
        { peer, peerNodeId: reject.nodeId, reason: reject.reason });
  }
}

function isText(value: unknown, maxLength: number): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength;
}
