/**
 * One ringkv node: membership (gossip, failure detection), the ring computed from it, and
 * replication over the node's storage. Sans-IO: everything that touches the world is injected,
 * so the simulator runs exactly this class (DESIGN.md §2).
 *
 * The ring is recomputed on every membership change that alters who owns ranges; liveness alone
 * (a member going suspect or dead) does not move ranges — a down primary's writes go to fallbacks
 * with hints, as in Dynamo — so a flapping node never reshuffles data.
 */
import { assert } from './assert.js';
import type { Env, TimerHandle } from './env.js';
import type { Transport } from './transport.js';
import type { Address, Envelope, NodeId } from './wire.js';
import type { StorageEngine } from '../storage/types.js';
import type { WireSibling } from '../api/client-protocol.js';
import {
  Membership, resolveMembershipOptions, type MembershipChange, type MembershipOptions, type MemberView,
} from './membership/index.js';
import { Ring, type KeyHasher } from './ring/index.js';
import type { ClusterView, PreferenceEntry } from './replication/cluster-view.js';
import type { GetOptions, WriteOptions } from './replication/coordinator.js';
import { ActorAllocator } from './replication/replica-store.js';
import { Replication } from './replication/replication.js';
import type { ReplicationOptions } from './replication/options.js';
import type { ReplicationStats } from './replication/stats.js';
import { isExpired, pickDeterministic, type KvObject } from './replication/version-adapter.js';

export interface NodeComponents {
  readonly env: Env;
  readonly transport: Transport;
  readonly storage: StorageEngine;
  readonly hasher: KeyHasher;
}

export interface RingNodeOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** Address peers dial ("host:port"). */
  readonly address: Address;
  /** Process generation: larger on every restart (the runtime passes its start time in ms). */
  readonly generation: number;
  /** Seed addresses to join through. */
  readonly seeds: readonly Address[];
  /** Virtual nodes per physical node; undefined = the ring's default. Same on every node. */
  readonly vnodesPerNode?: number | undefined;
  /**
   * Least time between two ring rebuilds that membership changes alone cause, ms. Default 100. A
   * node that starts learns its peers one message at a time and rebuilt its ring (a few ms of CPU
   * each, at 10 nodes × 1024 vnodes) for each; further changes within the interval now make one
   * rebuild at its end. Requests never use a stale ring: routing rebuilds at once when a change
   * is pending. 0 rebuilds on every change.
   */
  readonly ringRebuildMinIntervalMs?: number | undefined;
  readonly membership?: MembershipOptions | undefined;
  readonly replication?: ReplicationOptions | undefined;
}

/** A read as clients see it. */
export interface NodeGetResult {
  /** Every concurrent version that has not expired; tombstones are siblings with value null. Empty when the key does not exist. */
  readonly siblings: readonly WireSibling[];
  readonly context: string;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly address: Address;
  readonly generation: number;
  readonly members: readonly MemberView[];
  readonly ringNodes: readonly NodeId[];
  readonly ownership: Readonly<Record<NodeId, number>>;
  readonly replication: ReplicationStats;
}

export class RingNode implements ClusterView {
  readonly localId: NodeId;
  readonly membership: Membership;
  readonly replication: Replication;
  private ring: Ring;
  private ringKey = '';
  /** Membership changed the ring's nodes since the last build (a rebuild is due). */
  private ringStale = false;
  private lastRingBuildAtMs = Number.NEGATIVE_INFINITY;
  private ringTimer: TimerHandle | undefined;
  private readonly ringRebuildMinIntervalMs: number;
  private readonly ringListeners = new Set<(ring: Ring) => void>();
  private unsubscribe: (() => void) | undefined;
  private started = false;

  constructor(private readonly components: NodeComponents, private readonly options: RingNodeOptions) {
    this.localId = options.id;
    this.membership = new Membership(
      { env: components.env, transport: components.transport },
      { id: options.id, address: options.address, generation: options.generation },
      options.membership,
    );
    this.replication = new Replication(
      { env: components.env, transport: components.transport, storage: components.storage, cluster: this },
      { nodeId: options.id, generation: options.generation },
      options.replication,
    );
    this.ring = this.buildRing([options.id]);
    this.ringRebuildMinIntervalMs = options.ringRebuildMinIntervalMs ?? 100;
    assert(Number.isFinite(this.ringRebuildMinIntervalMs) && this.ringRebuildMinIntervalMs >= 0, 'ringRebuildMinIntervalMs is a non-negative number');
  }

  private buildRing(nodeIds: readonly NodeId[]): Ring {
    const ids = nodeIds.includes(this.localId) ? nodeIds : [...nodeIds, this.localId];
    this.ringKey = [...ids].sort().join('\u0000');
    return Ring.build(ids, this.components.hasher, this.options.vnodesPerNode === undefined ? {} : { vnodesPerNode: this.options.vnodesPerNode });
  }

  /** Starts replication and gossip; incoming messages must be routed to `handleMessage`. */
  async start(): Promise<void> {
    assert(!this.started, 'a node starts once');
    this.started = true;
    this.components.transport.onMessage((msg, from) => this.handleMessage(msg, from));
    await this.replication.start();
    this.unsubscribe = this.membership.onChange((change) => this.onMembershipChange(change));
    this.membership.start(this.options.seeds);
    this.rebuildRing();
  }

  /**
   * Leaves the ring for good: announces `leaving`, then `left`, and resolves once the announcement
   * had its rounds (or after `maxWaitMs`). The node keeps serving meanwhile; call `stop` after.
   */
  leave(maxWaitMs = 10_000): Promise<void> {
    const { gossipIntervalMs, leaveAnnounceRounds } = resolveMembershipOptions(this.options.membership);
    const timers = this.components.env.timers;
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        off();
        timers.clearTimer(guard);
        resolve();
      };
      const guard = timers.setTimer(maxWaitMs, finish);
      const off = this.membership.onChange((change) => {
        if (change.kind === 'left' && change.member.id === this.localId) {
          // `left` is announced for a few more rounds before membership stops by itself.
          timers.setTimer(gossipIntervalMs * (leaveAnnounceRounds + 1), finish);
        }
      });
      this.membership.leave();
    });
  }

  /** Stops timers. To leave the ring for good, await `leave()` first. */
  stop(): void {
    if (this.ringTimer !== undefined) this.components.env.timers.clearTimer(this.ringTimer);
    this.ringTimer = undefined;
    this.membership.stop();
    this.replication.stop();
    this.unsubscribe?.();
  }

  /** Routes one peer message to membership or replication. */
  handleMessage(msg: Envelope, fromAddress: Address | undefined): void {
    if (this.membership.handleMessage(msg, fromAddress)) return;
    if (this.replication.handleMessage(msg, fromAddress)) return;
    this.components.env.logger.debug({ type: msg.t, from: msg.from }, 'ignoring a message of a type this node does not handle');
  }

  private onMembershipChange(change: MembershipChange): void {
    if (change.kind === 'ring-changed' || change.kind === 'joined' || change.kind === 'left') this.ringChanged();
    if ((change.kind === 'alive' || change.kind === 'restarted' || change.kind === 'joined') && change.member.id !== this.localId) {
      this.components.transport.peerUp?.(change.member.address);
      this.replication.onMemberUp(change.member.id);
    }
  }

  /** Membership changed: rebuild now, or once at the end of ringRebuildMinIntervalMs after the last build. */
  private ringChanged(): void {
    if (this.ringKeyOf(this.membership.ringNodeIds()) === this.ringKey) {
      this.ringStale = false;
      return;
    }
    const { clock, timers } = this.components.env;
    const waitMs = this.lastRingBuildAtMs + this.ringRebuildMinIntervalMs - clock.now();
    if (waitMs <= 0) {
      this.rebuildRing();
      return;
    }
    this.ringStale = true;
    this.ringTimer ??= timers.setTimer(waitMs, () => {
      this.ringTimer = undefined;
      if (this.ringStale) this.rebuildRing();
    });
  }

  private ringKeyOf(ids: readonly NodeId[]): string {
    return [...(ids.includes(this.localId) ? ids : [...ids, this.localId])].sort().join('\u0000');
  }

  private rebuildRing(): void {
    this.ringStale = false;
    const ids = this.membership.ringNodeIds();
    if (this.ringKeyOf(ids) === this.ringKey) return;
    this.ring = this.buildRing(ids);
    this.lastRingBuildAtMs = this.components.env.clock.now();
    this.components.env.logger.info({ nodes: this.ring.nodes.length }, 'ring recomputed');
    for (const listener of this.ringListeners) listener(this.ring);
  }

  /** The ring, rebuilt first when a membership change is pending: requests never route on a stale ring. */
  private freshRing(): Ring {
    if (this.ringStale) this.rebuildRing();
    return this.ring;
  }

  /** Subscribes to ring changes. */
  onRingChange(listener: (ring: Ring) => void): () => void {
    this.ringListeners.add(listener);
    return () => this.ringListeners.delete(listener);
  }

  currentRing(): Ring {
    return this.freshRing();
  }

  // ------------------------------------------------------------ ClusterView

  preferenceList(key: string, n: number): readonly PreferenceEntry[] {
    return this.freshRing().annotatedPreferenceList(key, n, this.isUpForRouting);
  }

  /** `isUp` for preference lists, made once: every request asks for a list. */
  private readonly isUpForRouting = (id: NodeId): boolean => this.isUp(id);

  primaries(key: string, n: number): readonly NodeId[] {
    return this.freshRing().preferenceList(key, n);
  }

  addressOf(id: NodeId): Address | undefined {
    return id === this.localId ? this.options.address : this.membership.addressOf(id);
  }

  isUp(id: NodeId): boolean {
    return id === this.localId || this.membership.isUp(id);
  }

  // ------------------------------------------------------------ client operations

  /** Quorum read; siblings as clients see them. */
  async get(key: string, options?: GetOptions): Promise<NodeGetResult> {
    const { obj, context } = await this.replication.get(key, options);
    return { siblings: obj === undefined ? [] : this.visibleSiblings(obj), context };
  }

  /** Quorum read resolved to one value by the deterministic rule Redis clients get (see pickDeterministic). */
  async getOne(key: string, options?: GetOptions): Promise<Uint8Array | undefined> {
    const { obj } = await this.replication.get(key, options);
    if (obj === undefined) return undefined;
    const now = this.components.env.clock.now();
    if (obj.siblings.length === 1) {
      // The common case, without the filtered copy: one sibling, a value or a tombstone.
      const only = obj.siblings[0]!;
      return isExpired(only, now) ? undefined : (only.value ?? undefined);
    }
    const live = { clock: obj.clock, siblings: obj.siblings.filter((s) => !isExpired(s, now)) };
    return pickDeterministic(live)?.value ?? undefined;
  }

  put(key: string, value: Uint8Array, options?: WriteOptions): Promise<{ context: string }> {
    return this.replication.put(key, value, options);
  }

  delete(key: string, options?: WriteOptions): Promise<{ context: string }> {
    return this.replication.delete(key, options);
  }

  private visibleSiblings(obj: KvObject): WireSibling[] {
    const now = this.components.env.clock.now();
    // One pass and one object per sibling (no filtered copy, no spread): every read comes here.
    const visible: WireSibling[] = [];
    let anyValue = false;
    for (const s of obj.siblings) {
      if (isExpired(s, now)) continue;
      if (s.value !== null) anyValue = true;
      const node = ActorAllocator.nodeOf(s.node);
      visible.push(s.expiresAtMs === undefined
        ? { value: s.value, writtenAtMs: s.writtenAtMs, node }
        : { value: s.value, writtenAtMs: s.writtenAtMs, node, expiresAtMs: s.expiresAtMs });
    }
    // A key whose every sibling is a tombstone does not exist for readers (its context still
    // lets a later write supersede the delete).
    return anyValue ? visible : [];
  }


  status(): NodeStatus {
    const ownership: Record<NodeId, number> = {};
    for (const [id, share] of this.freshRing().ownership()) ownership[id] = share;
    return {
      id: this.localId,
      address: this.options.address,
      generation: this.options.generation,
      members: this.membership.members(),
      ringNodes: this.freshRing().nodes,
      ownership,
      replication: { ...this.replication.stats },
    };
  }
}
