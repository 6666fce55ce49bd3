/**
 * The simulated network: a Transport per node incarnation, messages delivered after a latency drawn
 * from the link's distribution, and faults — loss, duplication, reordering (extra delay for some
 * messages), and partitions as a set of blocked directed links (so one-way partitions are just
 * links blocked in one direction).
 *
 * Frames travel as deep copies of their plain data by default (wire-copy.ts): the receiver never
 * shares an object with the sender, and a body the real wire would change or refuse is refused.
 * With wire 'cbor' they travel encoded with the real peer frame codec (cbor-x,
 * src/runtime/frame-codec.ts) instead, so every body survives the very encoding a real wire
 * applies; both give the same run (a test compares their trace hashes).
 *
 * A crash closes the node's endpoint: its later sends are dropped (promises of the dead incarnation
 * may still resolve and try to send), and every message in flight to or from it is dropped on
 * arrival, as a broken TCP connection would. Messages to a paused node wait at its gate and are
 * delivered, in order, when it resumes (SIGSTOP keeps the socket buffers).
 */
import { assert } from '../../src/core/assert.js';
import type { Random } from '../../src/core/env.js';
import type { MessageHandler, Transport, TransportStats } from '../../src/core/transport.js';
import { envelopeProblem, type Address, type Envelope, type MessageType, type NodeId } from '../../src/core/wire.js';
import { FrameCodec } from '../../src/runtime/frame-codec.js';
import { sampleLatency, type LatencyModel } from './latency.js';
import { EventOwner, type Scheduler } from './scheduler.js';
import { copyWireData } from './wire-copy.js';

/** Where a node's incoming work passes: runs at once while the node runs, queues while it is paused. */
export interface Gate {
  /** True while the node runs: admitted work would run at once. */
  readonly running: boolean;
  admit(label: string, work: () => void): void;
}

/** Chooses the latency distribution of one message (per link, or per message type for PBS). */
export type LatencySelector = (from: NodeId, to: NodeId, type: MessageType) => LatencyModel;

/** Network-wide message faults; all off by default. */
export interface LinkFaults {
  /** Chance that a message is lost, 0..1. */
  readonly lossProbability: number;
  /** Chance that a message is delivered twice (the copy with its own latency), 0..1. */
  readonly duplicateProbability: number;
  /** Chance that a message gets an extra delay, so later messages overtake it, 0..1. */
  readonly reorderProbability: number;
  /** Largest extra delay of a reordered message, ms. */
  readonly reorderDelayMaxMs: number;
}

export const NO_LINK_FAULTS: LinkFaults = { lossProbability: 0, duplicateProbability: 0, reorderProbability: 0, reorderDelayMaxMs: 0 };

export interface NetworkOptions {
  readonly latency: LatencySelector;
  /**
   * How frames travel: 'copy' (default) deep-copies the envelope's plain data and refuses what the
   * wire would not carry unchanged; 'cbor' encodes and decodes with the real frame codec (slower;
   * the codec itself in the loop); 'reference' hands the sender's object to the receiver (fastest,
   * nothing checked; for the staleness measurement, whose replicas mutate nothing).
   */
  readonly wire?: WireMode | undefined;
}

/** How messages travel in the simulated network (NetworkOptions.wire). */
export type WireMode = 'copy' | 'cbor' | 'reference';

export const WIRE_MODES: readonly WireMode[] = ['copy', 'cbor', 'reference'];

export interface NetworkStats {
  sent: number;
  delivered: number;
  droppedClosed: number;
  droppedPartition: number;
  droppedLoss: number;
  droppedUnknownAddress: number;
  duplicated: number;
  reordered: number;
}

export function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

export class SimNetwork {
  private readonly endpoints = new Map<Address, SimEndpoint>();
  private blocked: ReadonlySet<string> = new Set();
  private faults: LinkFaults = NO_LINK_FAULTS;
  private readonly codec = new FrameCodec();
  private readonly wire: WireMode;
  private readonly owner = new EventOwner('net');
  /** A small number per node id, for compact trace details. */
  private readonly indexes = new Map<NodeId, number>();
  readonly stats: NetworkStats = {
    sent: 0, delivered: 0, droppedClosed: 0, droppedPartition: 0, droppedLoss: 0, droppedUnknownAddress: 0, duplicated: 0, reordered: 0,
  };

  constructor(private readonly scheduler: Scheduler, private readonly random: Random, private readonly options: NetworkOptions) {
    this.wire = options.wire ?? 'copy';
  }

  /** A new endpoint for a node incarnation at `address`; the previous endpoint at that address must be closed. */
  attach(nodeId: NodeId, address: Address, gate: Gate): SimEndpoint {
    const previous = this.endpoints.get(address);
    assert(previous === undefined || previous.closed, `address ${address} is still in use`);
    let index = this.indexes.get(nodeId);
    if (index === undefined) {
      index = this.indexes.size + 1;
      this.indexes.set(nodeId, index);
    }
    const endpoint = new SimEndpoint(this, nodeId, index, address, gate);
    this.endpoints.set(address, endpoint);
    return endpoint;
  }

  /** Replaces the set of blocked directed links (node ids). */
  setBlockedLinks(links: Iterable<readonly [NodeId, NodeId]>): void {
    const set = new Set<string>();
    for (const [from, to] of links) set.add(linkKey(from, to));
    this.blocked = set;
  }

  /** Unblocks every link. */
  heal(): void {
    this.blocked = new Set();
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to));
  }

  get blockedLinkCount(): number {
    return this.blocked.size;
  }

  setFaults(faults: LinkFaults): void {
    this.faults = faults;
  }

  currentFaults(): LinkFaults {
    return this.faults;
  }

  /** @internal Called by an endpoint's send. */
  route(from: SimEndpoint, address: Address, msg: Envelope): void {
    this.stats.sent++;
    const target = this.endpoints.get(address);
    if (target === undefined) {
      this.stats.droppedUnknownAddress++;
      return;
    }
    if (target.closed) {
      this.stats.droppedClosed++;
      return;
    }
    if (this.isBlocked(from.nodeId, target.nodeId)) {
      this.stats.droppedPartition++;
      return;
    }
    const faults = this.faults;
    if (faults.lossProbability > 0 && this.random.next() < faults.lossProbability) {
      this.stats.droppedLoss++;
      return;
    }
    // The frame is taken when sent, as a socket write takes it; later changes by the sender do not
    // travel. A duplicate is a second copy (cbor frames are decoded once per delivery).
    const frame: Envelope | Uint8Array = this.wire === 'cbor' ? this.codec.encode(msg) : this.wire === 'copy' ? copyWireData(msg) : msg;
    this.schedule(from, target, msg.t, frame);
    if (faults.duplicateProbability > 0 && this.random.next() < faults.duplicateProbability) {
      this.stats.duplicated++;
      this.schedule(from, target, msg.t, this.wire === 'copy' ? copyWireData(msg) : frame);
    }
  }

  private schedule(from: SimEndpoint, target: SimEndpoint, type: MessageType, frame: Envelope | Uint8Array): void {
    let delayMs = sampleLatency(this.options.latency(from.nodeId, target.nodeId, type), this.random);
    const faults = this.faults;
    if (faults.reorderProbability > 0 && this.random.next() < faults.reorderProbability) {
      this.stats.reordered++;
      delayMs += this.random.next() * faults.reorderDelayMaxMs;
    }
    const detail = type * 65536 + from.index * 256 + target.index;
    // One record per message and one shared function, not a closure (with its context) per message.
    this.scheduler.scheduleWith(delayMs, this.owner, 'msg', this.arriveInFlight, { from, target, frame }, detail);
  }

  private readonly arriveInFlight = (message: InFlight): void => {
    this.arrive(message.from, message.target, message.frame);
  };

  /** A message reaches the target's machine: a running node takes it at once, a paused one at its gate. */
  private arrive(from: SimEndpoint, target: SimEndpoint, frame: Envelope | Uint8Array): void {
    if (from.closed || target.closed) {
      this.stats.droppedClosed++;
      return;
    }
    if (this.isBlocked(from.nodeId, target.nodeId)) {
      this.stats.droppedPartition++;
      return;
    }
    // Most messages find their node running: no closure for the gate then.
    if (target.gate.running) this.deliver(from, target, frame);
    else target.gate.admit('msg', () => this.deliver(from, target, frame));
  }

  private deliver(from: SimEndpoint, target: SimEndpoint, frame: Envelope | Uint8Array): void {
    // The node may have crashed while the message waited at its gate.
    if (target.closed) {
      this.stats.droppedClosed++;
      return;
    }
    this.stats.delivered++;
    const msg = frame instanceof Uint8Array ? this.codec.decode(frame) : frame;
    target.deliver(msg, from.localAddress);
  }
}

/** A message on its way: what its arrival event carries. */
interface InFlight {
  readonly from: SimEndpoint;
  readonly target: SimEndpoint;
  readonly frame: Envelope | Uint8Array;
}

/** One node incarnation's Transport. */
export class SimEndpoint implements Transport {
  closed = false;
  private handler: MessageHandler | undefined;
  private readonly counters: TransportStats = { framesSent: 0, framesReceived: 0, framesDropped: 0, connectionsRejected: 0 };

  constructor(
    private readonly network: SimNetwork,
    readonly nodeId: NodeId,
    /** The node's small number (trace details). */
    readonly index: number,
    readonly localAddress: Address,
    readonly gate: Gate,
  ) {}

  get localId(): NodeId {
    return this.nodeId;
  }

  send(address: Address, msg: Envelope): void {
    const problem = envelopeProblem(msg);
    // The message text is built only when the check fails: this runs for every message sent.
    if (problem !== undefined) assert(false, `sending a malformed envelope: ${problem}`);
    if (this.closed) {
      this.counters.framesDropped++;
      return;
    }
    this.counters.framesSent++;
    this.network.route(this, address, msg);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** @internal */
  deliver(msg: Envelope, fromAddress: Address): void {
    this.counters.framesReceived++;
    this.handler?.(msg, fromAddress);
  }
}
