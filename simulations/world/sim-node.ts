/**
 * One simulated machine: a node id, an address, a disk and a clock that outlive the node's
 * incarnations (process runs). Each start builds a fresh RingNode with a fresh environment — its
 * own timers (tagged with the incarnation, so a crash cancels exactly them), its own random stream
 * and transport endpoint — over the same disk, as a restarted process would.
 *
 * - crash(): kill -9. Timers cancelled, endpoint closed (in-flight messages to and from it are
 *   dropped), unsynced writes lost, work waiting at the gate discarded.
 * - pause()/resume(): SIGSTOP/SIGCONT. While paused the node runs no timer and handles no message;
 *   both wait at its gate and run, in order, on resume. Its clock keeps going, so on resume it sees
 *   the whole pause at once.
 * - skew: the node's clock is virtual time plus an offset, plus a drift (ppm) since the start. Its
 *   timers run at the drifted rate. Changing the offset backwards does not make a running node's
 *   clock go back (the Env contract promises a non-decreasing clock within a process): it holds
 *   still until it catches up. A restarted node reads the stepped-back clock.
 */
import { assert } from '../../src/core/assert.js';
import type { Clock, Env, Logger, TimerHandle, Timers } from '../../src/core/env.js';
import type { MembershipChange, MembershipOptions } from '../../src/core/membership/index.js';
import { RingNode } from '../../src/core/node.js';
import type { ReplicationOptions } from '../../src/core/replication/options.js';
import { emptyReplicationStats, type ReplicationStats } from '../../src/core/replication/stats.js';
import type { KeyHasher } from '../../src/core/ring/index.js';
import type { Address, NodeId } from '../../src/core/wire.js';
import { NotConnectedError } from '../../src/errors.js';
import type { SimDisk } from './disk.js';
import { SimLogger, type LogSink } from './logger.js';
import type { Gate, SimEndpoint, SimNetwork } from './network.js';
import { EventOwner, type Scheduler, type SimEvent } from './scheduler.js';
import { deriveRandom } from './seeds.js';

export type HostState = 'down' | 'running' | 'paused';

export type GenerationMode = 'incarnation' | 'clock' | 'persisted';

export type ClockMode = 'monotonic' | 'wall';

export interface SimNodeConfig {
  readonly id: NodeId;
  readonly address: Address;
  readonly seeds: readonly Address[];
  readonly vnodesPerNode?: number | undefined;
  readonly membership?: MembershipOptions | undefined;
  readonly replication?: ReplicationOptions | undefined;
  /**
   * Where a restarted node's generation comes from: 'incarnation' (1, 2, 3, …: always grows),
   * 'clock' (the node's clock at start, ms, as the runtime did before commit 98557d6: it shrinks
   * when the clock stepped back between two runs), or 'persisted' (max(clock, last + 1) with the
   * last one kept on the machine's disk, as the runtime does now). Default 'incarnation'.
   */
  readonly generation?: GenerationMode | undefined;
  /**
   * 'monotonic' (default): a running node's clock never goes back, as the Env contract promises
   * (src/core/env.ts); a backward step makes it hold still. 'wall': steps back are seen at once,
   * as Date.now() — the real runtime's clock (src/runtime/env.ts) — shows them.
   */
  readonly clock?: ClockMode | undefined;
}

/** Counters summed over every incarnation of a node (each incarnation starts from zero). */
export interface HostTotals {
  replication: ReplicationStats;
  suspicions: number;
  convictions: number;
  refutations: number;
  /** Membership change events this node saw, by kind (about other members). */
  events: Record<string, number>;
  starts: number;
  crashes: number;
  pauses: number;
}

const COUNTER_FIELDS = [
  'gets', 'puts', 'deletes', 'quorumFailures', 'timeouts', 'forwards', 'sloppyQuorumWrites', 'hintsStored', 'hintsRefused',
  'hintsDelivered', 'readRepairs', 'siblingsCreated', 'tombstonesReaped', 'malformedMessages',
] as const satisfies ReadonlyArray<keyof ReplicationStats>;

export class SimNodeHost implements Gate {
  state: HostState = 'down';
  incarnation = 0;
  node: RingNode | undefined;
  private endpoint: SimEndpoint | undefined;
  private deferred: Array<{ readonly label: string; readonly work: () => void }> = [];
  private offsetMs = 0;
  private driftPpm = 0;
  private lastNowMs = Number.NEGATIVE_INFINITY;
  /** The generation of the last run (what the runtime keeps in <dataDir>/GENERATION). */
  private lastGeneration = 0;
  readonly clock: Clock;
  readonly totals: HostTotals = {
    replication: emptyReplicationStats(), suspicions: 0, convictions: 0, refutations: 0, events: {}, starts: 0, crashes: 0, pauses: 0,
  };

  constructor(
    readonly config: SimNodeConfig,
    readonly disk: SimDisk,
    private readonly scheduler: Scheduler,
    private readonly network: SimNetwork,
    private readonly hasher: KeyHasher,
    private readonly seed: number,
    private readonly startMs: number,
    private readonly logs: LogSink,
    private readonly onError: (err: unknown, where: string) => void,
  ) {
    this.clock = { now: () => this.localNow() };
  }

  get id(): NodeId {
    return this.config.id;
  }

  /** The running incarnation's event owner; a crash cancels it. */
  private owner = new EventOwner('none');

  /** The node's own clock reading, ms. */
  localNow(): number {
    const v = this.scheduler.now();
    // Node code reads its clock many times per event, and most clocks are not skewed: then the
    // reading is exactly v (v + 0 + ±0 is v), without the arithmetic.
    const t = this.offsetMs === 0 && this.driftPpm === 0 ? v : v + this.offsetMs + ((v - this.startMs) * this.driftPpm) / 1e6;
    if (this.config.clock === 'wall') return t;
    this.lastNowMs = Math.max(this.lastNowMs, t);
    return this.lastNowMs;
  }

  setSkew(offsetMs: number, driftPpm: number): void {
    this.offsetMs = offsetMs;
    this.driftPpm = driftPpm;
  }

  get skew(): { offsetMs: number; driftPpm: number } {
    return { offsetMs: this.offsetMs, driftPpm: this.driftPpm };
  }

  // ------------------------------------------------------------------ Gate

  get running(): boolean {
    return this.state === 'running';
  }

  admit(label: string, work: () => void): void {
    if (this.state === 'running') work();
    else if (this.state === 'paused') this.deferred.push({ label, work });
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts a new incarnation; resolves once the node started (its storage is open, gossip runs). */
  async start(): Promise<void> {
    assert(this.state === 'down', `${this.id} starts only when down`);
    this.incarnation++;
    this.totals.starts++;
    // The clock is non-decreasing within one process (the Env contract); a new process reads the
    // machine's clock afresh, which may have stepped back meanwhile.
    this.lastNowMs = Number.NEGATIVE_INFINITY;
    this.state = 'running';
    const incarnation = this.incarnation;
    const owner = new EventOwner(`${this.id}#${incarnation}`);
    this.owner = owner;
    const endpoint = this.network.attach(this.id, this.config.address, this);
    this.endpoint = endpoint;
    const env: Env = {
      clock: this.clock,
      timers: this.timersFor(incarnation, owner),
      random: deriveRandom(this.seed, `node:${this.id}:${incarnation}`),
      logger: new SimLogger(this.logs, { node: this.id }) as Logger,
    };
    const storage = await this.disk.open(env.timers);
    const node = new RingNode(
      { env, transport: endpoint, storage, hasher: this.hasher },
      {
        id: this.id,
        address: this.config.address,
        generation: this.nextGeneration(incarnation),
        seeds: this.config.seeds,
        vnodesPerNode: this.config.vnodesPerNode,
        membership: this.config.membership,
        replication: this.config.replication,
      },
    );
    node.membership.onChange((change) => this.onMembershipChange(change));
    this.node = node;
    await node.start();
  }

  private nextGeneration(incarnation: number): number {
    const mode = this.config.generation ?? 'incarnation';
    const clock = Math.floor(this.localNow());
    const generation = mode === 'incarnation' ? incarnation : mode === 'clock' ? clock : Math.max(clock, this.lastGeneration + 1);
    this.lastGeneration = generation;
    return generation;
  }

  /** kill -9. */
  crash(): void {
    if (this.state === 'down') return;
    this.accumulate();
    this.totals.crashes++;
    this.owner.cancel();
    if (this.endpoint !== undefined) this.endpoint.closed = true;
    this.disk.crash();
    this.deferred = [];
    this.node = undefined;
    this.state = 'down';
  }

  /** SIGSTOP. */
  pause(): void {
    if (this.state !== 'running') return;
    this.totals.pauses++;
    this.state = 'paused';
  }

  /** SIGCONT: what waited at the gate runs, in order, one event each. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    const waiting = this.deferred;
    this.deferred = [];
    for (const { label, work } of waiting) this.scheduler.schedule(0, this.owner, `resumed ${label}`, () => this.admit(label, work));
  }

  /**
   * Runs a client request on this node, as a client connected to it would: refused when the node
   * is down, waiting while it is paused. Settles the caller's promise through `resolve` or `reject`
   * (no promise of its own: a request already has the client's and the node's).
   */
  call<T>(request: (node: RingNode) => Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void): void {
    if (this.state === 'down' || this.node === undefined) {
      reject(new NotConnectedError(`${this.id} is down`));
      return;
    }
    // A running node takes the request at once (what admit would do), with no closure for the gate.
    if (this.state === 'running') {
      request(this.node).then(resolve, reject);
      return;
    }
    const incarnation = this.incarnation;
    this.admit('client request', () => {
      const node = this.node;
      if (node === undefined || this.incarnation !== incarnation) {
        reject(new NotConnectedError(`${this.id} crashed`));
        return;
      }
      request(node).then(resolve, reject);
    });
  }

  /** A timer's event fired: it passes the gate like any work (the shared function of every timer event, no closure each). */
  private readonly fireTimer = (timer: SimTimer): void => {
    if (this.state === 'running') this.runTimer(timer);
    else this.admit('timer', () => this.runTimer(timer));
  };

  private runTimer(timer: SimTimer): void {
    // A timer that fired during a pause waits at the gate; cleared meanwhile, it must not run.
    if (timer.cleared) return;
    timer.cleared = true;
    try {
      timer.callback();
    } catch (err) {
      this.onError(err, `${this.id} timer`);
    }
  }

  /** Counters of every incarnation so far, the running one included. */
  currentTotals(): HostTotals {
    const totals = structuredClone(this.totals);
    if (this.node !== undefined) addStats(totals, this.node);
    return totals;
  }

  private accumulate(): void {
    if (this.node !== undefined) addStats(this.totals, this.node);
  }

  private onMembershipChange(change: MembershipChange): void {
    if (change.member.id === this.id) return;
    this.totals.events[change.kind] = (this.totals.events[change.kind] ?? 0) + 1;
  }

  private timersFor(incarnation: number, owner: EventOwner): Timers {
    let nextHandle = 1;
    return {
      setTimer: (delayMs: number, callback: () => void): TimerHandle => {
        const handle: SimTimer = { id: nextHandle++, cleared: false, event: undefined, callback };
        // A dead incarnation's promises may still try to arm timers: they never fire.
        if (this.incarnation !== incarnation || this.state === 'down') return handle;
        const virtualDelayMs = Math.max(0, delayMs) / (1 + this.driftPpm / 1e6);
        handle.event = this.scheduler.scheduleWith(virtualDelayMs, owner, 'timer', this.fireTimer, handle);
        return handle;
      },
      clearTimer: (handle: TimerHandle): void => {
        if (!isSimTimer(handle) || handle.cleared) return;
        handle.cleared = true;
        if (handle.event !== undefined) this.scheduler.cancel(handle.event);
      },
    };
  }
}

interface SimTimer extends TimerHandle {
  cleared: boolean;
  event: SimEvent | undefined;
  readonly callback: () => void;
}

function isSimTimer(handle: TimerHandle): handle is SimTimer {
  return 'cleared' in handle;
}

function addStats(totals: HostTotals, node: RingNode): void {
  const s = node.replication.stats;
  for (const field of COUNTER_FIELDS) totals.replication[field] += s[field];
  const m = node.membership.stats();
  totals.suspicions += m.suspicions;
  totals.convictions += m.convictions;
  totals.refutations += m.refutations;
}
