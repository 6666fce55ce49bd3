/**
 * The transport contract between the core and the network. Peers are addressed by address
 * ("host:port"), because a node learns a seed's address before it learns its id; every frame
 * names its sender id in the envelope. Delivery is best effort: a send to a down peer is dropped
 * (and counted), never thrown at the caller; the core's protocols time out and retry by
 * themselves. Implementations: WebSocket (src/runtime/ws-transport.ts), in-memory
 * (src/core/memory-transport.ts, for tests), simulated (simulations/).
 */
import type { Address, Envelope, NodeId } from './wire.js';

/** Delivered to the core for every valid frame received. */
export type MessageHandler = (msg: Envelope, fromAddress: Address | undefined) => void;

export interface TransportStats {
  framesSent: number;
  framesReceived: number;
  /** Frames dropped: peer unreachable, send queue full, or transport closed. */
  framesDropped: number;
  /** Connections closed because a frame was malformed, too large or the handshake failed. */
  connectionsRejected: number;
}

export interface Transport {
  /** This node's id, sent in the handshake and in every envelope. */
  readonly localId: NodeId;
  /** This node's address as peers should dial it. */
  readonly localAddress: Address;
  /**
   * Sends `msg` to the node at `address`. Never throws for network conditions: frames to an
   * unreachable peer, or beyond the bounded send queue, are dropped and counted in stats.
   */
  send(address: Address, msg: Envelope): void;
  /**
   * A hint that the node at `address` is believed reachable now (gossip heard it is alive): an
   * implementation that backs off after failed dials may cut the wait short. Optional.
   */
  peerUp?(address: Address): void;
  /** Registers the single handler for incoming messages (replaces any earlier one). */
  onMessage(handler: MessageHandler): void;
  /** Counters for metrics and tests. */
  stats(): TransportStats;
  /** Closes every connection; later sends are dropped. */
  close(): Promise<void>;
}
