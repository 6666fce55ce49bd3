/**
 * Hinted handoff: a fallback that stored writes for a down owner delivers them once the owner is
 * back. Delivery starts at once when membership reports the owner up, and a periodic round retries
 * owners whose delivery failed, with exponential backoff per owner. A hint is deleted only after
 * the owner acknowledged it, and only if no newer hinted write changed it meanwhile.
 */
import type { Env, TimerHandle } from '../env.js';
import { MessageType, type NodeId } from '../wire.js';
import type { ClusterView } from './cluster-view.js';
import type { ResolvedReplicationOptions } from './options.js';
import type { PeerRequests } from './requests.js';
import type { ReplicaStore } from './replica-store.js';
import type { ReplicationStats } from './stats.js';
import { isReplicaPutReplyBody, type ReplicaPutBody } from './messages.js';

interface OwnerState {
  failures: number;
  notBeforeMs: number;
}

export class HintedHandoff {
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly active = new Set<NodeId>();
  private readonly owners = new Map<NodeId, OwnerState>();

  constructor(
    private readonly env: Env,
    private readonly cluster: ClusterView,
    private readonly store: ReplicaStore,
    private readonly requests: PeerRequests,
    private readonly options: ResolvedReplicationOptions,
    private readonly stats: ReplicationStats,
  ) {}

  start(): void {
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.env.timers.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Membership saw `owner` come up: deliver its hints now rather than at the next round. */
  onOwnerUp(owner: NodeId): void {
    this.owners.delete(owner);
    if (this.running && this.store.hintOwners().has(owner)) this.startDelivery(owner);
  }

  private arm(): void {
    if (!this.running) return;
    this.timer = this.env.timers.setTimer(this.options.hintReplayIntervalMs, () => this.onHintReplayTimeout());
  }

  private onHintReplayTimeout(): void {
    this.timer = undefined;
    const now = this.env.clock.now();
    for (const owner of this.store.hintOwners().keys()) {
      if (this.active.size >= this.options.handoffConcurrency) break;
      const state = this.owners.get(owner);
      if (state !== undefined && state.notBeforeMs > now) continue;
      if (this.cluster.isUp(owner)) this.startDelivery(owner);
    }
    this.arm();
  }

  private startDelivery(owner: NodeId): void {
    if (this.active.has(owner) || this.active.size >= this.options.handoffConcurrency) return;
    this.active.add(owner);
    this.deliverAll(owner).then(
      (ok) => {
        this.active.delete(owner);
        if (ok) this.owners.delete(owner);
        else this.backOff(owner);
      },
      (err: unknown) => {
        this.active.delete(owner);
        this.env.logger.warn({ err, owner }, 'hint delivery failed');
        this.backOff(owner);
      },
    );
  }

  private backOff(owner: NodeId): void {
    const failures = (this.owners.get(owner)?.failures ?? 0) + 1;
    const delayMs = Math.min(this.options.hintReplayBackoffMaxMs, this.options.hintReplayIntervalMs * 2 ** Math.min(failures, 16));
    this.owners.set(owner, { failures, notBeforeMs: this.env.clock.now() + delayMs });
  }

  /** Delivers every hint held for `owner`, a batch at a time; false when a delivery failed. */
  private async deliverAll(owner: NodeId): Promise<boolean> {
    let cursor: string | undefined;
    do {
      if (!this.running || !this.cluster.isUp(owner)) return false;
      const address = this.cluster.addressOf(owner);
      if (address === undefined) return false;
      const page = await this.store.hintsFor(owner, this.options.handoffBatchSize, cursor);
      const results = await Promise.all(page.hints.map(async ({ key, bytes }) => {
        const body: ReplicaPutBody = { key, obj: bytes, reason: 'handoff' };
        const reply = await this.requests.ask(address, MessageType.HintDelivery, body, MessageType.HintDeliveryAck, this.options.requestTimeoutMs);
        if (reply === undefined || !isReplicaPutReplyBody(reply.body) || !reply.body.ok) return false;
        if (await this.store.deleteHintIfUnchanged(owner, key, bytes)) this.stats.hintsDelivered++;
        return true;
      }));
      if (results.some((ok) => !ok)) return false;
      cursor = page.cursor;
    } while (cursor !== undefined);
    return true;
  }
}
