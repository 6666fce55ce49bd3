/**
 * The replication layer of one node: coordinator (client requests), replica (peer requests),
 * hinted handoff and tombstone reaping, over one storage engine. Sans-IO: it gets the environment,
 * the transport, the storage and a view of the cluster injected.
 */
import type { Env } from '../env.js';
import type { Transport } from '../transport.js';
import { MessageType, type Address, type Envelope, type NodeId } from '../wire.js';
import type { StorageEngine } from '../../storage/types.js';
import { errorToWire } from '../../errors.js';
import type { ClusterView } from './cluster-view.js';
import { Coordinator, type GetOptions, type ReadResult, type WriteOptions } from './coordinator.js';
import { HintedHandoff } from './handoff.js';
import {
  isForwardBody, isReapBody, isReplicaGetBody, isReplicaPutBody,
  type ForwardReplyBody, type ReplicaGetReplyBody, type ReplicaPutReplyBody,
} from './messages.js';
import { resolveReplicationOptions, type ReplicationOptions, type ResolvedReplicationOptions } from './options.js';
import { ActorAllocator, ReplicaStore } from './replica-store.js';
import { PeerRequests } from './requests.js';
import { emptyReplicationStats, type ReplicationStats } from './stats.js';
import { decodeObject } from './version-adapter.js';

export interface ReplicationComponents {
  readonly env: Env;
  readonly transport: Transport;
  readonly storage: StorageEngine;
  readonly cluster: ClusterView;
}

export interface ReplicationIdentity {
  readonly nodeId: NodeId;
  /** Process generation (start time); makes this run's dot actors unique. */
  readonly generation: number;
}

export class Replication {
  readonly options: ResolvedReplicationOptions;
  readonly stats: ReplicationStats = emptyReplicationStats();
  readonly store: ReplicaStore;
  private readonly requests: PeerRequests;
  private readonly coordinator: Coordinator;
  private readonly handoff: HintedHandoff;
  private readonly env: Env;
  private readonly cluster: ClusterView;

  constructor(components: ReplicationComponents, identity: ReplicationIdentity, options: ReplicationOptions = {}) {
    this.options = resolveReplicationOptions(options);
    this.env = components.env;
    this.cluster = components.cluster;
    this.requests = new PeerRequests(this.env, components.transport, this.options.maxPendingRequests);
    this.store = new ReplicaStore(components.storage, this.env, new ActorAllocator(identity.nodeId, identity.generation), {
      maxHints: this.options.maxHints,
      maxHintBytes: this.options.maxHintBytes,
      maxSiblings: this.options.maxSiblings,
      maxReapedClocks: this.options.maxReapedClocks,
      reapedClockRetentionMs: this.options.reapedClockRetentionMs,
    }, this.stats);
    this.coordinator = new Coordinator(this.env, this.cluster, this.store, this.requests, this.options, this.stats);
    this.handoff = new HintedHandoff(this.env, this.cluster, this.store, this.requests, this.options, this.stats);
  }

  /** Loads hint bookkeeping from storage and starts the handoff loop. */
  async start(): Promise<void> {
    await this.store.init();
    this.handoff.start();
  }

  stop(): void {
    this.handoff.stop();
    this.requests.cancelAll();
  }

  get(key: string, options?: GetOptions): Promise<ReadResult> {
    return this.coordinator.get(key, options);
  }

  put(key: string, value: Uint8Array, options?: WriteOptions): Promise<{ context: string }> {
    return this.coordinator.write(key, value, options);
  }

  delete(key: string, options?: WriteOptions): Promise<{ context: string }> {
    return this.coordinator.write(key, null, options);
  }

  /** Membership saw a member come up (joined, alive again, restarted). */
  onMemberUp(id: NodeId): void {
    this.handoff.onOwnerUp(id);
  }

  /** Peer requests currently awaiting a reply. */
  pendingRequests(): number {
    return this.requests.size;
  }

  /** Handles a replication message; false when `msg` is not one. */
  handleMessage(msg: Envelope, fromAddress: Address | undefined): boolean {
    switch (msg.t) {
      case MessageType.ReplicaGetReply:
      case MessageType.ReplicaPutReply:
      case MessageType.ForwardReply:
      case MessageType.HintDeliveryAck:
        this.requests.handleReply(msg);
        return true;
      case MessageType.ReplicaGet:
        this.onReplicaGet(msg, this.replyAddress(msg, fromAddress));
        return true;
      case MessageType.ReplicaPut:
      case MessageType.HintDelivery:
        this.onReplicaPut(msg, this.replyAddress(msg, fromAddress));
        return true;
      case MessageType.Forward:
        this.onForward(msg, this.replyAddress(msg, fromAddress));
        return true;
      case MessageType.Reap:
        this.onReap(msg);
        return true;
      default:
        return false;
    }
  }

  private replyAddress(msg: Envelope, fromAddress: Address | undefined): Address | undefined {
    return fromAddress ?? this.cluster.addressOf(msg.from);
  }

  private malformed(msg: Envelope): void {
    this.stats.malformedMessages++;
    this.env.logger.warn({ type: msg.t, from: msg.from }, 'dropping a malformed replication message');
  }

  private onReplicaGet(msg: Envelope, replyTo: Address | undefined): void {
    if (!isReplicaGetBody(msg.body)) return this.malformed(msg);
    const { key, hintFor } = msg.body;
    this.store.readEncoded(key, hintFor ?? undefined).then(
      (obj) => {
        const body: ReplicaGetReplyBody = { obj };
        if (replyTo !== undefined) this.requests.send(replyTo, MessageType.ReplicaGetReply, msg.rid, body);
      },
      (err: unknown) => {
        this.env.logger.error({ err, key }, 'replica read failed');
        const body: ReplicaGetReplyBody = { error: errorToWire(err) };
        if (replyTo !== undefined) this.requests.send(replyTo, MessageType.ReplicaGetReply, msg.rid, body);
      },
    );
  }

  private onReplicaPut(msg: Envelope, replyTo: Address | undefined): void {
    if (!isReplicaPutBody(msg.body)) return this.malformed(msg);
    const { key, hintFor, obj: bytes } = msg.body;
    const replyType = msg.t === MessageType.HintDelivery ? MessageType.HintDeliveryAck : MessageType.ReplicaPutReply;
    const reply = (body: ReplicaPutReplyBody): void => {
      if (msg.rid !== 0 && replyTo !== undefined) this.requests.send(replyTo, replyType, msg.rid, body);
    };
    // A hint delivered to its owner lands in the owner's primary space.
    const target = msg.t === MessageType.HintDelivery ? undefined : (hintFor ?? undefined);
    const done = (): void => reply({ ok: true });
    const failed = (err: unknown): void => {
      this.env.logger.warn({ err, key, hintFor: target }, 'replica write failed');
      reply({ ok: false, error: errorToWire(err) });
    };
    // Usually decided on the bytes of both objects, without decoding them.
    const merging = this.store.mergeEncoded(key, bytes, target);
    if (merging !== undefined) {
      merging.then(done, failed);
      return;
    }
    let incoming;
    try {
      // Values may stay views into the frame: the object only lives for the merge, and what is
      // stored is bytes (the frame's own when the merge took everything from it).
      incoming = decodeObject(bytes, { copyValues: false });
    } catch (err) {
      this.malformed(msg);
      return reply({ ok: false, error: errorToWire(err) });
    }
    this.store.merge(key, incoming, target, bytes).then(done, failed);
  }

  private onForward(msg: Envelope, replyTo: Address | undefined): void {
    if (!isForwardBody(msg.body)) return this.malformed(msg);
    const send = (body: ForwardReplyBody): void => {
      if (replyTo !== undefined) this.requests.send(replyTo, MessageType.ForwardReply, msg.rid, body);
    };
    this.coordinator.onForward(msg, msg.body).then(
      ({ context }) => send({ ok: true, context }),
      (err: unknown) => send({ ok: false, error: errorToWire(err) }),
    );
  }

  private onReap(msg: Envelope): void {
    if (!isReapBody(msg.body)) return this.malformed(msg);
    const { key } = msg.body;
    let tombstone;
    try {
      tombstone = decodeObject(msg.body.obj);
    } catch {
      return this.malformed(msg);
    }
    this.store.reap(key, tombstone).then(
      (reaped) => {
        if (reaped) this.stats.tombstonesReaped++;
      },
      (err: unknown) => this.env.logger.warn({ err, key }, 'tombstone reap failed'),
    );
  }
}
