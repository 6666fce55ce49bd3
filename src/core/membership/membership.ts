/**
 * Gossip membership and failure detection, sans-IO (DESIGN.md §2), in the spirit of Cassandra's
 * gossiper and hashicorp/memberlist.
 *
 * - Every member owns a record (id, address, generation, heartbeat, state). Only the member bumps
 *   its heartbeat (once per gossip tick); (generation, heartbeat) orders versions of its record.
 * - Every `gossipIntervalMs` this node bumps its heartbeat and push-pulls its table with
 *   `gossipFanout` random live peers; with Cassandra's probabilities it also gossips to one dead
 *   member (so healed partitions and restarted nodes are found again) and to one seed (so clusters
 *   that formed apart merge). New information (a new member, a state change) triggers an extra
 *   "eager" round, at most one per `eagerGossipMinIntervalMs`.
 * - Failure detection: a phi accrual detector per member, fed by the arrival of fresh heartbeats
 *   through any gossip path (why phi: see phi-accrual.ts). phi ≥ `phiSuspectThreshold` makes the
 *   member `suspect`; a suspicion that no newer heartbeat refutes within `suspicionTimeoutMs`
 *   makes it `dead`. Both are gossiped as opinions about one version of the member's record; a
 *   newer heartbeat from the member overrides them everywhere (SWIM refutation), and a member that
 *   hears itself suspected at its current version bumps its heartbeat at once.
 * - Graceful leave: leaving → left, announced by gossip and a direct Leave message; a left member
 *   is a tombstone for `leftMemberTtlMs`, so stale gossip cannot resurrect it.
 * - Join (as memberlist's, where a joiner is alive from the start and its first push-pull with a
 *   seed makes it known): a starting node is `joining` only in its own table, and while joining it
 *   sends nothing but JoinRequests. The seed that receives one records the sender `alive` at once
 *   (the request is evidence of life; `alive` outranks `joining` at the same version, so nothing
 *   else has to change) and answers with its whole table; that answer ends the joiner's `joining`,
 *   and the joiner then pushes its table to every member it learned of. So no member waits a
 *   gossip interval, or even a hop, to call a new node alive, and no one ever sees a node go from
 *   alive back to joining because a push it sent while joining arrived late.
 * - Change events are emitted once the message (or tick) that caused them is fully merged: a
 *   listener sees the whole table of a join reply at once, so the node rebuilds its ring (1024
 *   virtual nodes per member) once per message instead of once per new member.
 *
 * Timing arithmetic for the defaults is in options.ts.
 */
import { assert } from '../assert.js';
import type { Env, Logger, TimerHandle } from '../env.js';
import type { Transport } from '../transport.js';
import { MessageType, PROTOCOL_VERSION, type Address, type Envelope, type NodeId } from '../wire.js';
import {
  compareRecords, isRingState, isSelfAssertedState, isUpState,
  type MemberRecord, type MemberState, type MemberView,
} from './member.js';
import { checkMemberList, parseOwnRecord, type GossipPullBody, type GossipPushBody, type JoinRequestBody, type LeaveBody } from './messages.js';
import { resolveMembershipOptions, type MembershipOptions, type ResolvedMembershipOptions } from './options.js';
import { PhiAccrualDetector, type PhiAccrualOptions } from './phi-accrual.js';

/** What the membership layer needs from the node: the environment and the transport. */
export interface MembershipComponents {
  readonly env: Env;
  readonly transport: Transport;
}

/** This node, as the runtime starts it. */
export interface LocalMember {
  readonly id: NodeId;
  readonly address: Address;
  /** Set at process start (e.g. the start time in ms); a restart must pass a larger one. */
  readonly generation: number;
}

export type MembershipChangeKind = 'joined' | 'alive' | 'suspect' | 'dead' | 'left' | 'restarted' | 'ring-changed';

/**
 * A change seen by this node:
 * - `joined`: a member this node did not know (or knew only as left) appeared;
 * - `alive` / `suspect` / `dead` / `left`: a member entered that state (`alive` also after joining);
 * - `restarted`: a member came back with a newer generation (its volatile state is gone);
 * - `ring-changed`: ringNodeIds() changed; `member` is the one that entered or left the ring.
 * Entering `joining` or `leaving` emits no event of its own.
 */
export interface MembershipChange {
  readonly kind: MembershipChangeKind;
  readonly member: MemberView;
}

export interface MembershipStats {
  /** Regular gossip rounds (one per tick). */
  gossipRounds: number;
  /** Extra rounds triggered by new information. */
  eagerRounds: number;
  /** Membership messages sent (pushes, pull replies, join requests, leave announcements). */
  messagesSent: number;
  /** Membership messages received and handled. */
  messagesReceived: number;
  /** Membership messages ignored: not running, or sent by a node with our own id. */
  messagesIgnored: number;
  /** Membership messages dropped because their body was malformed. */
  malformedDropped: number;
  /** Records ignored beyond maxGossipMembersPerMessage in received messages. */
  recordsTruncated: number;
  /** New members dropped because the table was full (maxMembers). */
  membersRejected: number;
  /** Members this node's detector suspected. */
  suspicions: number;
  /** Suspected members this node declared dead. */
  convictions: number;
  /** Distinct suspicions of this node that it refuted. */
  refutations: number;
  /** Pushes sent to a member believed dead. */
  deadGossipSent: number;
  /** Pushes sent to a seed address by the seed rule. */
  seedGossipSent: number;
}

interface Entry {
  readonly id: NodeId;
  address: Address;
  generation: number;
  heartbeat: number;
  state: MemberState;
  stateChangedAtMs: number;
  /** Undefined for self. */
  readonly detector: PhiAccrualDetector | undefined;
  /**
   * The last record made of this entry (recordOf), reused while its five fields still match: the
   * same version goes out in many pushes and pull replies. Records are never mutated, so messages
   * already sent keep the version they were sent with.
   */
  record: MemberRecord | undefined;
}

type Phase = 'idle' | 'running' | 'stopped';

/** Request ids stay below 2^31 so every transport encodes them as small integers. */
const MAX_REQUEST_ID = 0x7fffffff;

export class Membership {
  private readonly env: Env;
  private readonly transport: Transport;
  private readonly log: Logger;
  private readonly options: ResolvedMembershipOptions;
  private readonly detectorOptions: PhiAccrualOptions;
  private readonly table = new Map<NodeId, Entry>();
  private readonly self: Entry;
  private readonly listeners = new Set<(change: MembershipChange) => void>();
  private readonly counters: MembershipStats = {
    gossipRounds: 0, eagerRounds: 0, messagesSent: 0, messagesReceived: 0, messagesIgnored: 0, malformedDropped: 0,
    recordsTruncated: 0, membersRejected: 0, suspicions: 0, convictions: 0, refutations: 0, deadGossipSent: 0, seedGossipSent: 0,
  };

  private phase: Phase = 'idle';
  private seeds: readonly Address[] = [];
  /** The seeds as a set, for the seed rule of every round (seeds are fixed at start). */
  private seedSet: ReadonlySet<Address> = new Set();
  /** Timer callbacks, made once instead of a closure per round. */
  private readonly onGossipTickCallback = (): void => this.onGossipTick();
  private readonly onEagerGossipTimerCallback = (): void => this.onEagerGossipTimer();
  private gossipTimer: TimerHandle | undefined;
  private eagerTimer: TimerHandle | undefined;
  /** Set when something worth an eager round happened since the last round. */
  private newsSinceLastRound = false;
  private lastRoundAtMs = Number.NEGATIVE_INFINITY;
  /** Rounds left in the current leave phase (leaving, then left). */
  private leaveRoundsLeft = 0;
  private nextRequestId = 1;
  private lastRefutedHeartbeat = -1;
  private highestConflictingGeneration = -1;
  private ringCache: readonly NodeId[] | undefined;
  /** Changes made by the message or tick being applied, emitted once it is fully merged. */
  private readonly pendingChanges: MembershipChange[] = [];
  /** Nesting depth of message and tick handling (emitted by endApply at depth 0). */
  private applyingDepth = 0;
  private emitting = false;

  constructor(components: MembershipComponents, self: LocalMember, options?: MembershipOptions) {
    assert(self.id.length > 0, 'the local member needs an id');
    assert(self.id === components.transport.localId, 'membership and transport must agree on the node id');
    assert(Number.isSafeInteger(self.generation) && self.generation >= 0, 'generation is a non-negative safe integer');
    this.env = components.env;
    this.transport = components.transport;
    this.options = resolveMembershipOptions(options);
    this.detectorOptions = {
      sampleWindowSize: this.options.phiSampleWindowSize,
      minStdDeviationMs: this.options.phiMinStdDeviationMs,
      acceptableHeartbeatPauseMs: this.options.phiAcceptableHeartbeatPauseMs,
      firstHeartbeatEstimateMs: this.options.phiFirstHeartbeatEstimateMs,
    };
    this.log = this.env.logger.child({ component: 'membership' });
    this.self = {
      id: self.id, address: self.address, generation: self.generation, heartbeat: 0, state: 'joining',
      stateChangedAtMs: this.env.clock.now(), detector: undefined, record: undefined,
    };
    this.table.set(self.id, this.self);
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts gossiping: arms the gossip timer and sends a JoinRequest to every seed (other than this
   * node's own address). With no other seed this node founds the cluster and is alive at once;
   * otherwise it is joining until it first hears from a peer.
   */
  start(seeds: readonly Address[]): void {
    assert(this.phase === 'idle', 'start() is called once');
    this.phase = 'running';
    this.seeds = [...new Set(seeds)].filter((address) => address !== this.self.address);
    this.seedSet = new Set(this.seeds);
    const now = this.env.clock.now();
    if (this.seeds.length === 0) {
      this.self.state = 'alive';
      this.self.heartbeat++;
      this.self.stateChangedAtMs = now;
    }
    this.log.info({ generation: this.self.generation, seeds: this.seeds, state: this.self.state }, 'membership started');
    this.emit('joined', this.self);
    this.emit('ring-changed', this.self);
    for (const seed of this.seeds) this.sendJoinRequest(seed);
    // A random stagger keeps the rounds of nodes started together from synchronising (memberlist).
    const staggerMs = Math.floor(this.env.random.next() * this.options.gossipIntervalMs);
    this.gossipTimer = this.env.timers.setTimer(staggerMs, this.onGossipTickCallback);
  }

  /** Disarms every timer; later messages are ignored. Idempotent. */
  stop(): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    if (this.gossipTimer !== undefined) this.env.timers.clearTimer(this.gossipTimer);
    if (this.eagerTimer !== undefined) this.env.timers.clearTimer(this.eagerTimer);
    this.gossipTimer = undefined;
    this.eagerTimer = undefined;
    this.log.info({ state: this.self.state }, 'membership stopped');
  }

  /**
   * Graceful leave: `leaving` for `leaveAnnounceRounds` rounds (still serving), then `left` for as
   * many rounds, each phase announced by gossip and by a Leave message to every known member;
   * then stop(). A no-op unless running and not already leaving.
   */
  leave(): void {
    if (this.phase !== 'running') return;
    if (this.self.state === 'leaving' || this.self.state === 'left') return;
    this.setSelfState('leaving');
    this.leaveRoundsLeft = this.options.leaveAnnounceRounds;
    this.broadcastLeave();
    this.log.info({ rounds: this.leaveRoundsLeft }, 'leaving the cluster');
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  members(): readonly MemberView[] {
    const now = this.env.clock.now();
    return [...this.table.values()].map((entry) => this.viewOf(entry, now));
  }

  member(id: NodeId): MemberView | undefined {
    const entry = this.table.get(id);
    return entry === undefined ? undefined : this.viewOf(entry, this.env.clock.now());
  }

  /** Up for routing and quorums: joining, alive, leaving or suspect (see isUpState for why suspect). */
  isUp(id: NodeId): boolean {
    const entry = this.table.get(id);
    return entry !== undefined && isUpState(entry.state);
  }

  /** Members owning ranges, sorted: every known member that has not left, dead ones included. */
  ringNodeIds(): readonly NodeId[] {
    if (this.ringCache === undefined) {
      const ids: NodeId[] = [];
      for (const entry of this.table.values()) if (isRingState(entry.state)) ids.push(entry.id);
      ids.sort();
      this.ringCache = Object.freeze(ids);
    }
    return this.ringCache;
  }

  addressOf(id: NodeId): Address | undefined {
    return this.table.get(id)?.address;
  }

  /** Registers a listener; returns the function that removes it. */
  onChange(listener: (change: MembershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  stats(): MembershipStats & { members: number; alive: number; suspect: number; dead: number } {
    let alive = 0;
    let suspect = 0;
    let dead = 0;
    for (const entry of this.table.values()) {
      if (entry.state === 'alive') alive++;
      else if (entry.state === 'suspect') suspect++;
      else if (entry.state === 'dead') dead++;
    }
    return { ...this.counters, members: this.table.size, alive, suspect, dead };
  }

  // ---------------------------------------------------------------------------------------------
  // Incoming messages

  /** Handles a membership message; returns false (and does nothing) for any other message type. */
  handleMessage(msg: Envelope, fromAddress: Address | undefined): boolean {
    switch (msg.t) {
      case MessageType.GossipPush:
      case MessageType.GossipPull:
      case MessageType.JoinRequest:
      case MessageType.Leave:
      case MessageType.Ping:
      case MessageType.PingAck:
        break;
      default:
        return false;
    }
    if (this.phase !== 'running') {
      this.counters.messagesIgnored++;
      return true;
    }
    if (msg.from === this.self.id) {
      this.counters.messagesIgnored++;
      this.log.warn({ fromAddress, type: msg.t }, 'membership message sent with our own node id; is another node using it?');
      return true;
    }
    this.counters.messagesReceived++;
    // Changes made by the message are emitted once it is fully merged (endApply). A plain
    // try/finally rather than a closure: this runs for every membership message.
    this.applyingDepth++;
    try {
      this.dispatchMessage(msg, fromAddress);
    } finally {
      this.endApply();
    }
    return true;
  }

  private dispatchMessage(msg: Envelope, fromAddress: Address | undefined): void {
    switch (msg.t) {
      case MessageType.GossipPush:
        this.onGossipPush(msg, fromAddress);
        break;
      case MessageType.GossipPull:
        this.onGossipPull(msg, fromAddress);
        break;
      case MessageType.JoinRequest:
        this.onJoinRequest(msg, fromAddress);
        break;
      case MessageType.Leave:
        this.onLeave(msg, fromAddress);
        break;
      default:
        // Ping/PingAck are reserved for SWIM-style probing, which this detector does not need:
        // heartbeats travel in gossip. They are membership messages, so they are claimed here.
        this.counters.messagesIgnored++;
        break;
    }
  }

  private onGossipPush(msg: Envelope, fromAddress: Address | undefined): void {
    // Checked in place, not copied: no pushed record outlives this call (merges copy fields).
    const checked = checkMemberList(msg.body, this.options.maxGossipMembersPerMessage);
    if (!checked.ok) {
      this.dropMalformed(msg, fromAddress, checked.reason);
      return;
    }
    this.counters.recordsTruncated += checked.truncated;
    const now = this.env.clock.now();
    const members = checked.members;
    // The last record the pusher sent for each member, for the reply below.
    const pushed = new Map<NodeId, MemberRecord>();
    for (let i = 0; i < checked.kept; i++) {
      const record = members[i] as MemberRecord;
      this.mergeRecord(record, now);
      pushed.set(record.id, record);
    }
    this.markContact();
    // Reply with what the pusher lacks: records it sent older than ours, and records it did not send.
    let lacking: MemberRecord[] | undefined;
    for (const entry of this.table.values()) {
      const theirs = pushed.get(entry.id);
      // An entry has the five fields of a record, so it compares as one without a copy.
      if (theirs === undefined || compareRecords(entry, theirs) > 0) (lacking ??= []).push(recordOf(entry));
    }
    if (lacking === undefined) return;
    const body: GossipPullBody = { members: this.bounded(lacking) };
    this.reply(msg, fromAddress, body);
  }

  private onGossipPull(msg: Envelope, fromAddress: Address | undefined): void {
    // Checked in place, not copied: mergeRecord keeps no record (it copies the fields it stores).
    const checked = checkMemberList(msg.body, this.options.maxGossipMembersPerMessage);
    if (!checked.ok) {
      this.dropMalformed(msg, fromAddress, checked.reason);
      return;
    }
    this.counters.recordsTruncated += checked.truncated;
    const now = this.env.clock.now();
    const members = checked.members;
    for (let i = 0; i < checked.kept; i++) this.mergeRecord(members[i] as MemberRecord, now);
    this.markContact();
  }

  private onJoinRequest(msg: Envelope, fromAddress: Address | undefined): void {
    const parsed = parseOwnRecord(msg.body, msg.from);
    if (!parsed.ok) {
      this.dropMalformed(msg, fromAddress, parsed.reason);
      return;
    }
    const joiner = parsed.value.member;
    // The request is evidence that the joiner runs and reaches us: record it alive at the version
    // it sent, now, rather than a hop later when its own `alive` record arrives. The joiner's next
    // version (alive, once it reads our answer) supersedes this one as usual.
    this.mergeRecord(joiner.state === 'joining' ? { ...joiner, state: 'alive' } : joiner, this.env.clock.now());
    this.markContact();
    // The joiner knows nobody yet: answer with the whole table (bounded).
    const body: GossipPullBody = { members: this.bounded(this.allRecords()) };
    this.reply(msg, fromAddress, body);
  }

  private onLeave(msg: Envelope, fromAddress: Address | undefined): void {
    const parsed = parseOwnRecord(msg.body, msg.from);
    if (!parsed.ok) {
      this.dropMalformed(msg, fromAddress, parsed.reason);
      return;
    }
    const member = parsed.value.member;
    if (member.state !== 'leaving' && member.state !== 'left') {
      this.dropMalformed(msg, fromAddress, `leave announcement in state ${member.state}`);
      return;
    }
    this.mergeRecord(member, this.env.clock.now());
  }

  private dropMalformed(msg: Envelope, fromAddress: Address | undefined, reason: string): void {
    this.counters.malformedDropped++;
    this.log.warn({ from: msg.from, fromAddress, type: msg.t, reason }, 'dropped a malformed membership message');
  }

  // ---------------------------------------------------------------------------------------------
  // Merge

  /**
   * Merges one record learned from gossip into the table. Keeps no reference to `record`, which
   * may be a peer's object with unknown fields (checkMemberList).
   */
  private mergeRecord(record: MemberRecord, nowMs: number): void {
    if (record.id === this.self.id) {
      this.mergeSelfRecord(record);
      return;
    }
    const entry = this.table.get(record.id);
    if (entry === undefined) {
      this.addMember(record, nowMs);
      return;
    }
    assert(entry.detector !== undefined, 'every member but self has a detector');
    if (record.generation < entry.generation) return;
    if (record.generation > entry.generation) {
      this.onMemberRestarted(entry, record, nowMs);
      return;
    }
    // Left is final within a generation: nothing, stale or hostile, brings the member back.
    if (entry.state === 'left') return;
    // An entry has the five fields of a record, so it compares as one without a copy.
    if (compareRecords(record, entry) <= 0) return;
    const previous = entry.state;
    if (record.heartbeat > entry.heartbeat) {
      entry.heartbeat = record.heartbeat;
      entry.address = record.address;
      // A newer version the member asserted itself is a fresh heartbeat; a newer version carrying
      // someone's suspicion is not evidence of life now.
      if (isSelfAssertedState(record.state)) {
        if (previous === 'suspect' || previous === 'dead') entry.detector.restartClock(nowMs);
        else entry.detector.heartbeat(nowMs);
      }
    }
    if (record.state !== previous) this.transition(entry, record.state, nowMs);
  }

  /** What others say about this node: refute suspicions, and never let another version win. */
  private mergeSelfRecord(record: MemberRecord): void {
    const self = this.self;
    if (record.generation > self.generation) {
      if (record.generation > this.highestConflictingGeneration) {
        this.highestConflictingGeneration = record.generation;
        this.log.error({ ourGeneration: self.generation, theirGeneration: record.generation, address: record.address },
          'another process with our node id has a newer generation: two nodes share an id, or this one is a stale process');
      }
      return;
    }
    if (record.generation < self.generation || self.state === 'left') return;
    if (record.state === 'suspect' || record.state === 'dead') {
      if (record.heartbeat > this.lastRefutedHeartbeat) {
        this.lastRefutedHeartbeat = record.heartbeat;
        this.counters.refutations++;
        if (record.heartbeat >= self.heartbeat) self.heartbeat = record.heartbeat + 1;
        this.log.info({ heartbeat: self.heartbeat, suspectedAt: record.heartbeat, opinion: record.state }, 'refuting a suspicion of this node');
        this.scheduleEagerRound();
      }
      return;
    }
    if (record.heartbeat > self.heartbeat) {
      // Only possible if an earlier process reused this generation: outrun its versions.
      this.log.warn({ heartbeat: self.heartbeat, seen: record.heartbeat }, 'gossip holds a newer heartbeat of this generation; was the generation reused?');
      self.heartbeat = record.heartbeat + 1;
      this.scheduleEagerRound();
    }
  }

  private addMember(record: MemberRecord, nowMs: number): void {
    // A member first heard of as left is not added, not even as a tombstone: tombstones must only
    // ever disappear, or nodes that purge at slightly different times would hand the tombstone back
    // to each other for ever. Nodes that knew the member keep its tombstone, which is what stops
    // stale gossip from resurrecting it.
    if (record.state === 'left') return;
    if (this.table.size >= this.options.maxMembers && !this.evictOldestTombstone()) {
      this.counters.membersRejected++;
      this.log.warn({ id: record.id, maxMembers: this.options.maxMembers }, 'member table full (maxMembers): ignoring a new member');
      return;
    }
    // Field by field: `record` may carry unknown fields from the peer, which the table must not keep.
    const entry: Entry = {
      id: record.id, address: record.address, generation: record.generation, heartbeat: record.heartbeat, state: record.state,
      stateChangedAtMs: nowMs, detector: new PhiAccrualDetector(this.detectorOptions, nowMs), record: undefined,
    };
    this.table.set(record.id, entry);
    this.log.info({ id: record.id, address: record.address, state: record.state, generation: record.generation }, 'member joined');
    this.newsSinceLastRound = true;
    this.emit('joined', entry);
    this.ringCache = undefined;
    this.emit('ring-changed', entry);
    this.scheduleEagerRound();
  }

  private onMemberRestarted(entry: Entry, record: MemberRecord, nowMs: number): void {
    assert(entry.detector !== undefined, 'every member but self has a detector');
    const previous = entry.state;
    entry.generation = record.generation;
    entry.heartbeat = record.heartbeat;
    entry.address = record.address;
    entry.state = record.state;
    entry.stateChangedAtMs = nowMs;
    // The gap before a restart is no sample of the member's heartbeat rhythm.
    entry.detector.restartClock(nowMs);
    this.newsSinceLastRound = true;
    if (previous === 'left') {
      if (record.state === 'left') return;
      this.log.info({ id: entry.id, generation: entry.generation, state: entry.state }, 'left member rejoined');
      this.emit('joined', entry);
    } else {
      this.log.info({ id: entry.id, generation: entry.generation, state: entry.state, previous }, 'member restarted');
      this.emit('restarted', entry);
      if (record.state !== previous) this.emitStateEvent(entry);
    }
    if (isRingState(previous) !== isRingState(record.state)) {
      this.ringCache = undefined;
      this.emit('ring-changed', entry);
    }
    this.scheduleEagerRound();
  }

  /** Moves a member to `state`, emits its events and schedules an eager round. */
  private transition(entry: Entry, state: MemberState, nowMs: number): void {
    const previous = entry.state;
    assert(state !== previous, 'a transition changes the state');
    entry.state = state;
    entry.stateChangedAtMs = nowMs;
    this.newsSinceLastRound = true;
    this.log.info({ id: entry.id, from: previous, to: state, heartbeat: entry.heartbeat }, 'member state changed');
    this.emitStateEvent(entry);
    if (isRingState(previous) !== isRingState(state)) {
      this.ringCache = undefined;
      this.emit('ring-changed', entry);
    }
    this.scheduleEagerRound();
  }

  private emitStateEvent(entry: Entry): void {
    switch (entry.state) {
      case 'alive':
      case 'suspect':
      case 'dead':
      case 'left':
        this.emit(entry.state, entry);
        break;
      case 'joining':
      case 'leaving':
        break;
    }
  }

  private setSelfState(state: MemberState): void {
    this.self.heartbeat++;
    this.transition(this.self, state, this.env.clock.now());
  }

  /** Any message from a peer ends this node's joining phase: it now has the cluster's view. */
  private markContact(): void {
    if (this.self.state !== 'joining') return;
    this.setSelfState('alive');
    // Once the message that ended joining is merged, tell every member directly instead of a
    // fanout at a time: a node that just joined is news to all of them, and n pushes once per
    // process start are cheap (bounded by maxMembers). This takes a gossip hop or two off the time
    // a starting ring needs to agree.
    this.env.timers.setTimer(0, () => this.onJoinedAnnounceTimeout());
  }

  private onJoinedAnnounceTimeout(): void {
    if (this.phase !== 'running' || this.self.state !== 'alive') return;
    const body: GossipPushBody = { members: this.bounded(this.allRecords()) };
    for (const entry of this.table.values()) {
      if (entry !== this.self && entry.state !== 'dead' && entry.state !== 'left') this.push(entry.address, body);
    }
  }

  private evictOldestTombstone(): boolean {
    let oldest: Entry | undefined;
    for (const entry of this.table.values()) {
      if (entry.state === 'left' && entry !== this.self && (oldest === undefined || entry.stateChangedAtMs < oldest.stateChangedAtMs)) oldest = entry;
    }
    if (oldest === undefined) return false;
    this.table.delete(oldest.id);
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Timers

  private onGossipTick(): void {
    this.gossipTimer = undefined;
    if (this.phase !== 'running') return;
    this.gossipTimer = this.env.timers.setTimer(this.options.gossipIntervalMs, this.onGossipTickCallback);
    // Changes made by the tick are emitted once it is done (endApply).
    this.applyingDepth++;
    try {
      this.gossipTick();
    } finally {
      this.endApply();
    }
  }

  private gossipTick(): void {
    this.counters.gossipRounds++;
    const now = this.env.clock.now();
    let stopAfterRound = false;
    if (this.self.state !== 'left') this.self.heartbeat++;
    if (this.self.state === 'leaving' || this.self.state === 'left') {
      this.leaveRoundsLeft--;
      if (this.leaveRoundsLeft <= 0 && this.self.state === 'leaving') {
        this.setSelfState('left');
        this.leaveRoundsLeft = this.options.leaveAnnounceRounds;
        this.broadcastLeave();
        this.log.info({ rounds: this.leaveRoundsLeft }, 'left the cluster; announcing');
      } else if (this.leaveRoundsLeft <= 0) {
        stopAfterRound = true;
      }
    }
    this.detectFailures(now);
    this.purgeTombstones(now);
    this.gossipRound(false);
    if (stopAfterRound) this.stop();
  }

  private onEagerGossipTimer(): void {
    this.eagerTimer = undefined;
    if (this.phase !== 'running' || !this.newsSinceLastRound) return;
    this.counters.eagerRounds++;
    this.gossipRound(true);
  }

  /** Schedules one extra round soon, at most one per eagerGossipMinIntervalMs. */
  private scheduleEagerRound(): void {
    this.newsSinceLastRound = true;
    if (this.phase !== 'running' || this.eagerTimer !== undefined) return;
    const delayMs = Math.max(0, this.lastRoundAtMs + this.options.eagerGossipMinIntervalMs - this.env.clock.now());
    this.eagerTimer = this.env.timers.setTimer(delayMs, this.onEagerGossipTimerCallback);
  }

  /** Runs the failure detector over every member: alive → suspect on phi, suspect → dead on timeout. */
  private detectFailures(nowMs: number): void {
    for (const entry of this.table.values()) {
      if (entry === this.self) continue;
      assert(entry.detector !== undefined, 'every member but self has a detector');
      if (entry.state === 'suspect') {
        if (nowMs - entry.stateChangedAtMs >= this.options.suspicionTimeoutMs) {
          this.counters.convictions++;
          this.transition(entry, 'dead', nowMs);
        }
      } else if (entry.state === 'joining' || entry.state === 'alive' || entry.state === 'leaving') {
        if (entry.detector.phiReaches(this.options.phiSuspectThreshold, nowMs)) {
          const phi = entry.detector.phi(nowMs);
          this.counters.suspicions++;
          this.log.info({ id: entry.id, phi, silentMs: nowMs - entry.detector.lastHeartbeatAtMs, meanMs: entry.detector.meanMs(),
            stdDeviationMs: entry.detector.stdDeviationMs() }, 'suspecting a member');
          this.transition(entry, 'suspect', nowMs);
        }
      }
    }
  }

  private purgeTombstones(nowMs: number): void {
    for (const entry of this.table.values()) {
      if (entry !== this.self && entry.state === 'left' && nowMs - entry.stateChangedAtMs >= this.options.leftMemberTtlMs) {
        this.table.delete(entry.id);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Outgoing messages

  /**
   * One push-pull round: `gossipFanout` random live peers; on regular rounds also, Cassandra-style,
   * one dead member with probability dead / (live + 1) and one seed when no chosen peer was a seed,
   * always while fewer live peers than seeds are known, else with probability seeds / known.
   * A joining node sends a JoinRequest instead of each push (see the header: no one is told
   * `joining`); while it knows nobody, that is one seed per round.
   */
  private gossipRound(eager: boolean): void {
    this.lastRoundAtMs = this.env.clock.now();
    this.newsSinceLastRound = false;
    const live: Entry[] = [];
    const dead: Entry[] = [];
    for (const entry of this.table.values()) {
      if (entry === this.self) continue;
      if (entry.state === 'dead') dead.push(entry);
      else if (entry.state !== 'left') live.push(entry);
    }
    const body: GossipPushBody | undefined = this.self.state === 'joining' ? undefined : { members: this.bounded(this.allRecords()) };
    const contact = (address: Address): void => {
      if (body === undefined) this.sendJoinRequest(address);
      else this.push(address, body);
    };
    // The targets are the first `targetCount` of `live` once shuffled in place (live is this
    // round's own array; only its length is needed afterwards).
    const liveCount = live.length;
    const targetCount = this.shuffleFirst(live, this.options.gossipFanout);
    for (let i = 0; i < targetCount; i++) contact((live[i] as Entry).address);
    if (eager) return;
    if (dead.length > 0 && this.env.random.next() < dead.length / (liveCount + 1)) {
      const target = dead[this.env.random.int(dead.length)];
      assert(target !== undefined);
      this.counters.deadGossipSent++;
      contact(target.address);
    }
    if (this.seeds.length > 0) {
      let reachedSeed = false;
      for (let i = 0; i < targetCount && !reachedSeed; i++) reachedSeed = this.seedSet.has((live[i] as Entry).address);
      const probability = liveCount < this.seeds.length ? 1 : this.seeds.length / (liveCount + dead.length);
      if (!reachedSeed && this.env.random.next() < probability) {
        const seed = this.seeds[this.env.random.int(this.seeds.length)];
        assert(seed !== undefined);
        this.counters.seedGossipSent++;
        contact(seed);
      }
    }
  }

  private push(address: Address, body: GossipPushBody): void {
    assert(this.self.state !== 'joining', 'a joining node sends only JoinRequests');
    this.send(address, MessageType.GossipPush, this.newRequestId(), body);
  }

  private sendJoinRequest(address: Address): void {
    const body: JoinRequestBody = { member: recordOf(this.self) };
    this.send(address, MessageType.JoinRequest, this.newRequestId(), body);
  }

  /** Sends this node's leaving/left record straight to every known member (bounded by maxMembers). */
  private broadcastLeave(): void {
    assert(this.self.state === 'leaving' || this.self.state === 'left', 'only a leaving node announces a leave');
    const body: LeaveBody = { member: recordOf(this.self) };
    for (const entry of this.table.values()) {
      if (entry !== this.self && entry.state !== 'left') this.send(entry.address, MessageType.Leave, 0, body);
    }
  }

  private send(address: Address, type: MessageType, rid: number, body: GossipPushBody | GossipPullBody | JoinRequestBody | LeaveBody): void {
    if (address === this.self.address) {
      // Only a misconfigured or hostile peer advertises our address; never talk to ourselves.
      this.log.warn({ type }, 'not sending a membership message to our own address');
      return;
    }
    const msg: Envelope = { v: PROTOCOL_VERSION, t: type, rid, from: this.self.id, body };
    this.counters.messagesSent++;
    this.transport.send(address, msg);
  }

  /** Answers a push or join request with a GossipPull carrying the same request id. */
  private reply(request: Envelope, fromAddress: Address | undefined, body: GossipPullBody): void {
    // The sender's advertised address (from its own record) beats the connection's address, which
    // for an inbound socket may be an ephemeral port.
    assert(this.self.state !== 'joining', 'a node answers only after its own joining ended');
    const address = this.table.get(request.from)?.address ?? fromAddress;
    if (address === undefined) {
      this.log.debug({ from: request.from }, 'cannot answer: the sender\'s address is unknown');
      return;
    }
    this.send(address, MessageType.GossipPull, request.rid, body);
  }

  private newRequestId(): number {
    const rid = this.nextRequestId;
    this.nextRequestId = rid >= MAX_REQUEST_ID ? 1 : rid + 1;
    return rid;
  }

  private allRecords(): MemberRecord[] {
    const records = [recordOf(this.self)];
    for (const entry of this.table.values()) if (entry !== this.self) records.push(recordOf(entry));
    return records;
  }

  /** At most maxGossipMembersPerMessage records: the first one (self, when present) and a random subset of the rest. */
  private bounded(records: MemberRecord[]): MemberRecord[] {
    const max = this.options.maxGossipMembersPerMessage;
    if (records.length <= max) return records;
    const [first, ...rest] = records;
    assert(first !== undefined);
    return [first, ...this.sample(rest, max - 1)];
  }

  /** Up to `count` distinct random items (partial Fisher-Yates on a copy). */
  private sample<T>(items: readonly T[], count: number): T[] {
    const copy = [...items];
    copy.length = this.shuffleFirst(copy, count);
    return copy;
  }

  /**
   * Partial Fisher-Yates in place: moves min(count, items.length) distinct random items to the
   * front and returns how many. Draws one random int per item moved, in order.
   */
  private shuffleFirst<T>(items: T[], count: number): number {
    const n = Math.min(count, items.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.env.random.int(items.length - i);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return n;
  }

  // ---------------------------------------------------------------------------------------------
  // Events and views

  /**
   * The end of the handling of one message or tick (which increments applyingDepth before it
   * starts): the outermost one emits the changes it made, in order, each with the member as it was
   * at the change.
   */
  private endApply(): void {
    this.applyingDepth--;
    if (this.applyingDepth === 0) this.emitPending();
  }

  private emit(kind: MembershipChangeKind, entry: Entry): void {
    if (this.listeners.size === 0) return;
    this.pendingChanges.push({ kind, member: this.viewOf(entry, this.env.clock.now()) });
    if (this.applyingDepth === 0) this.emitPending();
  }

  private emitPending(): void {
    // A listener that causes changes (say, by calling leave()) has them queued behind the current ones.
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let change = this.pendingChanges.shift(); change !== undefined; change = this.pendingChanges.shift()) {
        for (const listener of [...this.listeners]) {
          try {
            listener(change);
          } catch (error) {
            // A listener's bug must not stop the others, nor gossip.
            this.log.error({ err: error, kind: change.kind, id: change.member.id }, 'membership listener threw');
          }
        }
      }
    } finally {
      this.emitting = false;
    }
  }

  private viewOf(entry: Entry, nowMs: number): MemberView {
    const base = { ...recordOf(entry), stateChangedAtMs: entry.stateChangedAtMs };
    if (entry.detector === undefined || entry.state === 'left') return base;
    return { ...base, phi: entry.detector.phi(nowMs) };
  }
}

/** The entry's record: a fresh immutable object when a field changed since the last one, else that one. */
function recordOf(entry: Entry): MemberRecord {
  const last = entry.record;
  if (last !== undefined && last.heartbeat === entry.heartbeat && last.state === entry.state && last.generation === entry.generation &&
    last.address === entry.address) return last;
  const record: MemberRecord = { id: entry.id, address: entry.address, generation: entry.generation, heartbeat: entry.heartbeat, state: entry.state };
  entry.record = record;
  return record;
}
