/**
 * An in-memory transport for tests: a hub connects transports by address and delivers frames
 * asynchronously (on a microtask-free "deliver" step the hub drives), so tests control ordering.
 * The simulator has its own network with latency and faults (simulations/); this one is the
 * simplest thing that satisfies the Transport contract.
 */
import { assert } from './assert.js';
import type { MessageHandler, Transport, TransportStats } from './transport.js';
import { envelopeProblem, type Address, type Envelope, type NodeId } from './wire.js';

/** Schedules delivery; tests pass `queueMicrotask`-like functions, the default delivers on `flush()`. */
export type Scheduler = (deliver: () => void) => void;

export class MemoryHub {
  private readonly transports = new Map<Address, MemoryTransport>();
  private readonly queue: Array<() => void> = [];
  private readonly blocked = new Set<string>();

  /** `schedule` decides when a frame is delivered; by default frames wait for `flush()`. */
  constructor(private readonly schedule?: Scheduler) {}

  create(localId: NodeId, localAddress: Address): MemoryTransport {
    assert(!this.transports.has(localAddress), `address ${localAddress} already in use`);
    const t = new MemoryTransport(this, localId, localAddress);
    this.transports.set(localAddress, t);
    return t;
  }

  /** Blocks frames from `from` to `to` (one direction). */
  block(from: Address, to: Address): void {
    this.blocked.add(`${from}->${to}`);
  }

  unblock(from: Address, to: Address): void {
    this.blocked.delete(`${from}->${to}`);
  }

  unblockAll(): void {
    this.blocked.clear();
  }

  /** Delivers every queued frame, including frames sent while delivering, up to `maxFrames`. */
  flush(maxFrames = 1_000_000): number {
    let delivered = 0;
    while (this.queue.length > 0 && delivered < maxFrames) {
      const next = this.queue.shift();
      assert(next !== undefined);
      next();
      delivered++;
    }
    return delivered;
  }

  /** @internal */
  route(from: MemoryTransport, to: Address, msg: Envelope): boolean {
    const target = this.transports.get(to);
    if (target === undefined || target.closed || this.blocked.has(`${from.localAddress}->${to}`)) return false;
    // Copy through structuredClone so the receiver never shares objects with the sender, as on a wire.
    const copy = structuredClone(msg);
    const deliver = (): void => target.deliver(copy, from.localAddress);
    if (this.schedule) this.schedule(deliver);
    else this.queue.push(deliver);
    return true;
  }

  /** @internal */
  remove(address: Address): void {
    this.transports.delete(address);
  }
}

export class MemoryTransport implements Transport {
  closed = false;
  private handler: MessageHandler | undefined;
  private readonly counters: TransportStats = { framesSent: 0, framesReceived: 0, framesDropped: 0, connectionsRejected: 0 };

  constructor(private readonly hub: MemoryHub, readonly localId: NodeId, readonly localAddress: Address) {}

  send(address: Address, msg: Envelope): void {
    assert(envelopeProblem(msg) === undefined, `sending a malformed envelope: ${envelopeProblem(msg)}`);
    if (this.closed || !this.hub.route(this, address, msg)) {
      this.counters.framesDropped++;
      return;
    }
    this.counters.framesSent++;
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.remove(this.localAddress);
  }

  /** @internal */
  deliver(msg: Envelope, fromAddress: Address): void {
    if (this.closed) return;
    this.counters.framesReceived++;
    this.handler?.(msg, fromAddress);
  }
}
