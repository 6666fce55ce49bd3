/**
 * Test harness for membership: a virtual clock whose timer queue jumps straight to the next timer
 * (FoundationDB sim2 style), a MemoryHub that delivers frames on flush() (or after a virtual
 * latency), and a cluster of Membership instances driven by both. No real time passes.
 */
import type { Clock, Env, Logger, Random, TimerHandle, Timers } from '../../../src/core/env.js';
import { MemoryHub, type MemoryTransport } from '../../../src/core/memory-transport.js';
import { SeededRandom } from '../../../src/core/random.js';
import type { Address, NodeId } from '../../../src/core/wire.js';
import { Membership, type MembershipChangeKind } from '../../../src/core/membership/membership.js';
import type { MemberState } from '../../../src/core/membership/member.js';
import type { MembershipOptions } from '../../../src/core/membership/options.js';

interface PendingTimer {
  readonly id: number;
  readonly atMs: number;
  readonly owner: string;
  readonly callback: () => void;
}

/** Virtual time: timers fire in (time, creation) order when the test advances the clock. */
export class VirtualClock implements Clock {
  private nowMs = 0;
  private nextId = 1;
  private readonly pending = new Map<number, PendingTimer>();

  now(): number {
    return this.nowMs;
  }

  /** The Timers of one owner (a node), so a crash can cancel exactly that node's timers. */
  timersFor(owner: string): Timers {
    return {
      setTimer: (delayMs: number, callback: () => void): TimerHandle => this.schedule(owner, delayMs, callback),
      clearTimer: (handle: TimerHandle): void => {
        this.pending.delete(handle.id);
      },
    };
  }

  schedule(owner: string, delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, atMs: this.nowMs + Math.max(0, delayMs), owner, callback });
    return { id };
  }

  /** Cancels every pending timer of `owner` (what kill -9 does to a process's timers). */
  cancelOwner(owner: string): void {
    for (const timer of [...this.pending.values()]) if (timer.owner === owner) this.pending.delete(timer.id);
  }

  /** Fires the earliest timer due at or before `untilMs`; false when there is none. */
  runNext(untilMs: number): boolean {
    let next: PendingTimer | undefined;
    for (const timer of this.pending.values()) {
      if (timer.atMs <= untilMs && (next === undefined || timer.atMs < next.atMs || (timer.atMs === next.atMs && timer.id < next.id))) next = timer;
    }
    if (next === undefined) return false;
    this.pending.delete(next.id);
    this.nowMs = Math.max(this.nowMs, next.atMs);
    next.callback();
    return true;
  }

  /** Moves time to `toMs` (after every timer due before it has fired). */
  jumpTo(toMs: number): void {
    this.nowMs = Math.max(this.nowMs, toMs);
  }
}

export interface LogLine {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string | undefined;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps warn and error lines (the ones tests look at) in memory. */
export class RecordingLogger implements Logger {
  constructor(readonly lines: LogLine[] = [], private readonly bindings: Record<string, unknown> = {}) {}

  trace(): void {}
  debug(): void {}
  info(): void {}
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', msg, fields: { ...this.bindings, ...obj } });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', msg, fields: { ...this.bindings, ...obj } });
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }
}

export interface RecordedChange {
  readonly atMs: number;
  readonly kind: MembershipChangeKind;
  readonly id: NodeId;
  readonly state: MemberState;
  readonly generation: number;
}

export interface TestNode {
  readonly id: NodeId;
  readonly address: Address;
  generation: number;
  membership: Membership;
  transport: MemoryTransport;
  readonly logger: RecordingLogger;
  /** Every change this node's membership emitted, across restarts. */
  readonly changes: RecordedChange[];
  crashed: boolean;
}

export interface ClusterOptions {
  /** Seed of every random source in the run. */
  readonly seed?: number;
  /** Options passed to every node's Membership. */
  readonly membership?: MembershipOptions;
  /**
   * One-way network latency in ms, drawn per frame; when absent, frames wait in the hub and are
   * delivered at the same virtual instant by flush().
   */
  readonly latencyMs?: (random: Random) => number;
}

/** A cluster of membership state machines on one virtual clock and one in-memory network. */
export class Cluster {
  readonly clock = new VirtualClock();
  readonly hub: MemoryHub;
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly random: SeededRandom;

  constructor(private readonly options: ClusterOptions = {}) {
    this.random = new SeededRandom(options.seed ?? 1);
    const latency = options.latencyMs;
    const netRandom = this.random.fork();
    this.hub = latency === undefined
      ? new MemoryHub()
      : new MemoryHub((deliver) => {
        this.clock.schedule('network', latency(netRandom), deliver);
      });
  }

  /** Creates `count` nodes n1..nCount at addresses "n1:7000".. (not started). */
  static ids(count: number): NodeId[] {
    return Array.from({ length: count }, (_, i) => `n${i + 1}`);
  }

  static addressOf(id: NodeId): Address {
    return `${id}:7000`;
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  membership(id: NodeId): Membership {
    return this.node(id).membership;
  }

  /** Adds a node (generation 1 unless given) without starting it. */
  add(id: NodeId, generation = 1): TestNode {
    const address = Cluster.addressOf(id);
    const logger = new RecordingLogger();
    const node: TestNode = {
      id, address, generation, logger, changes: [], crashed: false,
      // Assigned just below by boot().
      membership: undefined as unknown as Membership,
      transport: undefined as unknown as MemoryTransport,
    };
    this.nodes.set(id, node);
    this.boot(node);
    return node;
  }

  private boot(node: TestNode): void {
    const transport = this.hub.create(node.id, node.address);
    const env: Env = {
      clock: this.clock,
      timers: this.clock.timersFor(`${node.id}@${node.generation}`),
      random: this.random.fork(),
      logger: node.logger,
    };
    const membership = new Membership({ env, transport }, { id: node.id, address: node.address, generation: node.generation }, this.options.membership);
    transport.onMessage((msg, fromAddress) => {
      membership.handleMessage(msg, fromAddress);
    });
    membership.onChange((change) => {
      node.changes.push({ atMs: this.clock.now(), kind: change.kind, id: change.member.id, state: change.member.state, generation: change.member.generation });
    });
    node.membership = membership;
    node.transport = transport;
    node.crashed = false;
  }

  /**
   * A cluster of `count` nodes n1..nCount seeded by n1, run until they all see each other alive and
   * then `settleMs` more; throws when they do not converge within 5 s of virtual time.
   */
  static startConverged(count: number, options: ClusterOptions = {}, settleMs = 0): { cluster: Cluster; ids: NodeId[] } {
    const cluster = new Cluster(options);
    const ids = Cluster.ids(count);
    cluster.startAll(ids);
    if (cluster.advanceUntil(() => cluster.converged(ids), 5_000) === undefined) throw new Error(`${count} nodes did not converge within 5 s`);
    cluster.advance(settleMs);
    return { cluster, ids };
  }

  /** Adds and starts nodes; every node gets `seeds` (default: the first node's address). */
  startAll(ids: readonly NodeId[], seeds: readonly Address[] = [Cluster.addressOf(ids[0] ?? 'n1')]): void {
    for (const id of ids) if (!this.nodes.has(id)) this.add(id);
    for (const id of ids) this.membership(id).start(seeds);
  }

  /** kill -9: the node's timers vanish and its transport closes; no code of it runs. */
  crash(id: NodeId): void {
    const node = this.node(id);
    this.clock.cancelOwner(`${node.id}@${node.generation}`);
    void node.transport.close();
    node.crashed = true;
  }

  /** Starts a crashed node again as a new process with a newer generation. */
  restart(id: NodeId, seeds: readonly Address[]): TestNode {
    const node = this.node(id);
    if (!node.crashed) throw new Error(`${id} is running`);
    node.generation++;
    this.boot(node);
    node.membership.start(seeds);
    return node;
  }

  /** Blocks both directions between every node of `a` and every node of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.hub.block(Cluster.addressOf(x), Cluster.addressOf(y));
        this.hub.block(Cluster.addressOf(y), Cluster.addressOf(x));
      }
    }
  }

  heal(): void {
    this.hub.unblockAll();
  }

  /** Runs every timer and delivers every frame due within the next `ms` of virtual time. */
  advance(ms: number): void {
    const until = this.clock.now() + ms;
    this.hub.flush();
    while (this.clock.runNext(until)) this.hub.flush();
    this.clock.jumpTo(until);
  }

  /** Advances in `stepMs` steps until `predicate` holds; returns the virtual time, or undefined after `maxMs`. */
  advanceUntil(predicate: () => boolean, maxMs: number, stepMs = 10): number | undefined {
    const deadline = this.clock.now() + maxMs;
    while (this.clock.now() < deadline) {
      if (predicate()) return this.clock.now();
      this.advance(Math.min(stepMs, deadline - this.clock.now()));
    }
    return predicate() ? this.clock.now() : undefined;
  }

  /** Running (not crashed) nodes among `ids`. */
  running(ids: readonly NodeId[] = [...this.nodes.keys()]): NodeId[] {
    return ids.filter((id) => !this.node(id).crashed);
  }

  /** Every observer sees every target in `state`. */
  allSee(observers: readonly NodeId[], targets: readonly NodeId[], state: MemberState): boolean {
    return observers.every((o) => targets.every((t) => this.membership(o).member(t)?.state === state));
  }

  /** Every observer knows exactly `targets` (plus left tombstones) and sees them all alive. */
  converged(ids: readonly NodeId[]): boolean {
    return this.allSee(ids, ids, 'alive');
  }
}
