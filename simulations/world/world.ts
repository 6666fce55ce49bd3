/**
 * The simulated world of one run: virtual time, the network, and one machine (disk, clock, node
 * incarnations) per node id, all from one seed. Scenario code reads like the scenario:
 * `world.partition(randomHalves(...))`, `world.crash('n3')`, `world.heal()`.
 */
import type { MembershipOptions } from '../../src/core/membership/index.js';
import type { ReplicationOptions } from '../../src/core/replication/options.js';
import type { KeyHasher } from '../../src/core/ring/index.js';
import type { Address, NodeId } from '../../src/core/wire.js';
import { SimDisk, type SimDiskOptions } from './disk.js';
import { scaled, type LatencyModel } from './latency.js';
import { createLogSink, type LogSink } from './logger.js';
import { NO_LINK_FAULTS, SimNetwork, type LatencySelector, type LinkFaults, type WireMode } from './network.js';
import type { PartitionPlan } from './partitions.js';
import type { FaultTarget } from '../scenarios/index.js';
import { EventOwner, Scheduler } from './scheduler.js';
import { deriveRandom, uniform } from './seeds.js';
import { SimNodeHost, type ClockMode, type GenerationMode, type HostTotals } from './sim-node.js';
import type { TraceHasher } from './trace.js';

/** Virtual time at the start of every run: a realistic Unix time, so clocks look like wall clocks. */
export const SIM_EPOCH_MS = 1_767_225_600_000; // 2026-01-01T00:00:00Z

export interface WorldOptions {
  readonly seed: number;
  /** Node count; ids n1..nN. */
  readonly nodes: number;
  readonly hasher: KeyHasher;
  /** Base latency of every link. */
  readonly latency: LatencyModel;
  /**
   * Links differ: each directed link's latency is the base model times a factor drawn once per link
   * from [1/linkLatencySpread, linkLatencySpread]. Default 2. 1 makes every link alike.
   */
  readonly linkLatencySpread?: number | undefined;
  readonly wire?: WireMode | undefined;
  readonly disk?: SimDiskOptions | undefined;
  readonly vnodesPerNode?: number | undefined;
  readonly membership?: MembershipOptions | undefined;
  readonly replication?: ReplicationOptions | undefined;
  readonly trace?: TraceHasher | undefined;
  /** How restarted nodes pick their generation (sim-node.ts SimNodeConfig.generation). Default 'incarnation'. */
  readonly generation?: GenerationMode | undefined;
  /** Whether node clocks may step back within a process (sim-node.ts SimNodeConfig.clock). Default 'monotonic'. */
  readonly clock?: ClockMode | undefined;
  /** Node log lines printed: 'none' (default) … 'debug'. */
  readonly logLevel?: LogSink['printLevel'] | undefined;
}

/** A problem the world itself saw: node code threw, a start failed. */
export interface WorldError {
  readonly atMs: number;
  readonly where: string;
  readonly message: string;
}

export class SimWorld implements FaultTarget {
  readonly scheduler: Scheduler;
  readonly network: SimNetwork;
  readonly hosts = new Map<NodeId, SimNodeHost>();
  readonly ids: readonly NodeId[];
  readonly errors: WorldError[] = [];
  readonly logs: LogSink;
  /** Human-readable fault events with their virtual time ("12.345s partition halves ..."). */
  readonly faultLog: string[] = [];
  private partitionDescription = 'none';
  /** Owners of the world's own events, of the workload clients' and of the fault loops'. */
  readonly owners = { world: new EventOwner('world'), client: new EventOwner('client'), nemesis: new EventOwner('nemesis'), checker: new EventOwner('checker') };

  constructor(readonly options: WorldOptions) {
    this.scheduler = new Scheduler(SIM_EPOCH_MS, (err, owner, label) => this.recordError(`${owner} ${label}`, err));
    this.scheduler.observe(options.trace);
    this.logs = createLogSink(() => this.elapsedMs(), options.logLevel ?? 'none');
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    const linkRandom = deriveRandom(options.seed, 'links');
    const spread = options.linkLatencySpread ?? 2;
    // Looked up once per message: a map per sender, so no key string is built per message.
    const perLink = new Map<NodeId, Map<NodeId, LatencyModel>>();
    for (const from of this.ids) {
      const links = new Map<NodeId, LatencyModel>();
      perLink.set(from, links);
      for (const to of this.ids) {
        const factor = spread <= 1 ? 1 : Math.exp(uniform(linkRandom, -Math.log(spread), Math.log(spread)));
        links.set(to, factor === 1 ? options.latency : scaled(factor, options.latency));
      }
    }
    const latency: LatencySelector = (from, to) => perLink.get(from)?.get(to) ?? options.latency;
    this.network = new SimNetwork(this.scheduler, deriveRandom(options.seed, 'network'), { latency, wire: options.wire });
    const addresses: Address[] = this.ids.map((id) => SimWorld.addressOf(id));
    for (const id of this.ids) {
      const address = SimWorld.addressOf(id);
      const host: SimNodeHost = new SimNodeHost(
        {
          id, address, seeds: addresses.filter((a) => a !== address), vnodesPerNode: options.vnodesPerNode,
          membership: options.membership, replication: options.replication, generation: options.generation, clock: options.clock,
        },
        new SimDisk({ now: () => host.localNow() }, options.disk),
        this.scheduler, this.network, options.hasher, options.seed, SIM_EPOCH_MS, this.logs,
        (err, where) => this.recordError(where, err),
      );
      this.hosts.set(id, host);
    }
  }

  static addressOf(id: NodeId): Address {
    return `${id}.sim:7000`;
  }

  host(id: NodeId): SimNodeHost {
    const host = this.hosts.get(id);
    if (host === undefined) throw new Error(`no node ${id}`);
    return host;
  }

  now(): number {
    return this.scheduler.now();
  }

  /** Virtual ms since the run started. */
  elapsedMs(): number {
    return this.scheduler.now() - SIM_EPOCH_MS;
  }

  private stamp(): string {
    return `${(this.elapsedMs() / 1000).toFixed(3)}s`;
  }

  private note(text: string): void {
    this.faultLog.push(`${this.stamp()} ${text}`);
    this.options.trace?.note(text);
  }

  recordError(where: string, err: unknown): void {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.errors.push({ atMs: this.elapsedMs(), where, message });
  }

  // ---------------------------------------------------------------- nodes

  /** Starts every node, each after a random delay below `staggerMaxMs`. */
  startAll(staggerMaxMs = 100): void {
    const random = deriveRandom(this.options.seed, 'start');
    for (const id of this.ids) this.scheduler.schedule(random.next() * staggerMaxMs, this.owners.world, `start ${id}`, () => this.start(id));
  }

  /** Starts (or restarts) a node that is down. */
  start(id: NodeId): void {
    const host = this.host(id);
    if (host.state !== 'down') return;
    if (host.incarnation > 0) this.note(`restart ${id}`);
    host.start().catch((err: unknown) => this.recordError(`${id} start`, err));
  }

  crash(id: NodeId): void {
    if (this.host(id).state === 'down') return;
    this.note(`crash ${id}`);
    this.host(id).crash();
  }

  pause(id: NodeId): void {
    if (this.host(id).state !== 'running') return;
    this.note(`pause ${id}`);
    this.host(id).pause();
  }

  resume(id: NodeId): void {
    if (this.host(id).state !== 'paused') return;
    this.note(`resume ${id}`);
    this.host(id).resume();
  }

  setSkew(id: NodeId, offsetMs: number, driftPpm: number): void {
    this.note(`clock ${id} offset ${Math.round(offsetMs)}ms drift ${Math.round(driftPpm)}ppm`);
    this.host(id).setSkew(offsetMs, driftPpm);
  }

  /** Clock control for scenarios (FaultTarget). */
  readonly clocks = {
    setSkew: (id: NodeId, offsetMs: number, driftPpm: number): void => this.setSkew(id, offsetMs, driftPpm),
    skewOf: (id: NodeId): { offsetMs: number; driftPpm: number } => this.host(id).skew,
  };

  /** Nodes that are up (running or paused). */
  upIds(): NodeId[] {
    return this.ids.filter((id) => this.host(id).state !== 'down');
  }

  runningIds(): NodeId[] {
    return this.ids.filter((id) => this.host(id).state === 'running');
  }

  // ---------------------------------------------------------------- network

  partition(plan: PartitionPlan): void {
    this.partitionDescription = plan.description;
    this.note(`partition ${plan.description}`);
    this.network.setBlockedLinks(plan.blocked);
  }

  /** Heals partitions and clears loss, duplication and reordering. */
  healNetwork(): void {
    if (this.network.blockedLinkCount > 0) this.note(`heal ${this.partitionDescription}`);
    this.partitionDescription = 'none';
    this.network.heal();
    this.network.setFaults(NO_LINK_FAULTS);
  }

  setLinkFaults(faults: LinkFaults): void {
    this.note(`link faults loss=${faults.lossProbability.toFixed(3)} dup=${faults.duplicateProbability.toFixed(3)} ` +
      `reorder=${faults.reorderProbability.toFixed(3)}/${Math.round(faults.reorderDelayMaxMs)}ms`);
    this.network.setFaults(faults);
  }

  /** Ends every fault: heals the network, resumes paused nodes, restarts crashed ones. */
  healAll(): void {
    this.healNetwork();
    for (const id of this.ids) {
      const host = this.host(id);
      if (host.state === 'paused') this.resume(id);
      else if (host.state === 'down') this.start(id);
    }
  }

  // ---------------------------------------------------------------- time

  /** Runs for `ms` of virtual time. */
  async runFor(ms: number): Promise<void> {
    await this.scheduler.run(this.scheduler.now() + ms);
  }

  /** Runs until `condition` holds (checked after every event) or `timeoutMs` passes; the virtual ms it took, or undefined. */
  async runUntil(condition: () => boolean, timeoutMs: number): Promise<number | undefined> {
    const start = this.scheduler.now();
    const held = await this.scheduler.runUntil(condition, start + timeoutMs);
    return held ? this.scheduler.now() - start : undefined;
  }

  /**
   * Runs until `condition` holds, checking it every `stepMs` of virtual time (for conditions too
   * costly to check after every event), or until `timeoutMs` passes; the virtual ms it took, or undefined.
   */
  async pollUntil(condition: () => boolean, timeoutMs: number, stepMs = 100): Promise<number | undefined> {
    const start = this.scheduler.now();
    for (;;) {
      if (condition()) return this.scheduler.now() - start;
      const left = start + timeoutMs - this.scheduler.now();
      if (left <= 0) return undefined;
      await this.scheduler.run(this.scheduler.now() + Math.min(stepMs, left));
    }
  }

  /** Counters of every node, summed over their incarnations. */
  totals(): Map<NodeId, HostTotals> {
    return new Map(this.ids.map((id) => [id, this.host(id).currentTotals()]));
  }
}
