/**
 * Outstanding peer requests of this node: each gets a request id, a timeout from the injected
 * timers, and exactly one outcome (the reply, or undefined on timeout). Bounded: beyond
 * `maxPending` a request fails at once with ERR_OVERLOADED instead of queueing without limit.
 */
import { assert } from '../assert.js';
import type { Env, TimerHandle } from '../env.js';
import type { Transport } from '../transport.js';
import { PROTOCOL_VERSION, type Address, type Envelope, type MessageType } from '../wire.js';
import { OverloadedError } from '../../errors.js';

type Outcome = (reply: Envelope | undefined) => void;

interface Pending {
  readonly outcome: Outcome;
  readonly timer: TimerHandle;
  readonly expectType: MessageType;
}

export class PeerRequests {
  private nextRid = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    private readonly env: Env,
    private readonly transport: Transport,
    private readonly maxPending: number,
  ) {}

  /** Sends a request; `outcome` runs once, with the reply or with undefined after `timeoutMs`. */
  request(address: Address, type: MessageType, body: unknown, replyType: MessageType, timeoutMs: number, outcome: Outcome): void {
    if (this.pending.size >= this.maxPending) throw new OverloadedError('peer request table', this.maxPending);
    const rid = this.nextRid;
    this.nextRid = this.nextRid >= 0x7fffffff ? 1 : this.nextRid + 1;
    assert(!this.pending.has(rid), 'request id reused while still pending');
    const timer = this.env.timers.setTimer(timeoutMs, () => {
      if (this.pending.delete(rid)) outcome(undefined);
    });
    this.pending.set(rid, { outcome, timer, expectType: replyType });
    this.transport.send(address, { v: PROTOCOL_VERSION, t: type, rid, from: this.transport.localId, body });
  }

  /** A promise form of `request`. */
  ask(address: Address, type: MessageType, body: unknown, replyType: MessageType, timeoutMs: number): Promise<Envelope | undefined> {
    return new Promise((resolve) => this.request(address, type, body, replyType, timeoutMs, resolve));
  }

  /** Routes a reply to its request; false when no request waits for it (late or unknown). */
  handleReply(msg: Envelope): boolean {
    const p = this.pending.get(msg.rid);
    if (p === undefined || p.expectType !== msg.t) return false;
    this.pending.delete(msg.rid);
    this.env.timers.clearTimer(p.timer);
    p.outcome(msg);
    return true;
  }

  /** Fails every pending request (on shutdown). */
  cancelAll(): void {
    for (const [rid, p] of this.pending) {
      this.env.timers.clearTimer(p.timer);
      this.pending.delete(rid);
      p.outcome(undefined);
    }
  }

  get size(): number {
    return this.pending.size;
  }

  /** Sends a one-way message (rid 0) or a reply (rid of the request). */
  send(address: Address, type: MessageType, rid: number, body: unknown): void {
    this.transport.send(address, { v: PROTOCOL_VERSION, t: type, rid, from: this.transport.localId, body });
  }
}
