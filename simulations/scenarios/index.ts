/**
 * Fault scenarios by name (the nemeses). Each runs a loop of faults during the safety phase —
 * quiet for a while, a fault for a while, undo it, repeat — until the runner stops it; the runner
 * then heals everything, so a scenario never has to clean up after itself.
 *
 * Crashes come one at a time, at least `faultQuietMinMs` apart: with fsync=interval a crash loses the
 * node's last interval of acknowledged writes, and W=2 keeps them only while no second replica of
 * the same writes crashes within the same interval (the runner states that as the durability
 * condition; see durabilityExpected in runner.ts).
 */
import type { Random } from '../../src/core/env.js';
import type { NodeId } from '../../src/core/wire.js';
import { bridge, isolateOne, majoritiesRing, oneWay, randomHalves, type PartitionPlan } from '../world/partitions.js';
import type { LinkFaults } from '../world/network.js';
import { pick, uniform } from '../world/seeds.js';

/**
 * What a scenario acts on: the simulated world, or a ring of real processes (chaos/cluster.ts).
 * Calls return at once; a real target finishes them in the background. Capabilities a target lacks
 * are undefined, and scenarios that need them are refused for it (`requires`).
 */
export interface FaultTarget {
  readonly ids: readonly NodeId[];
  /** Nodes that are up and not paused. */
  runningIds(): NodeId[];
  partition(plan: PartitionPlan): void;
  /** Heals partitions and clears message faults. */
  healNetwork(): void;
  /** kill -9. */
  crash(id: NodeId): void;
  /** Starts a node that is down. */
  start(id: NodeId): void;
  /** SIGSTOP. */
  pause(id: NodeId): void;
  /** SIGCONT. */
  resume(id: NodeId): void;
  /** Per-node clocks; undefined when the target cannot skew clocks (real processes share the machine's). */
  readonly clocks?: {
    setSkew(id: NodeId, offsetMs: number, driftPpm: number): void;
    skewOf(id: NodeId): { offsetMs: number; driftPpm: number };
  } | undefined;
  /** Message loss, duplication and reordering; undefined when the target cannot inject them. */
  setLinkFaults?: ((faults: LinkFaults) => void) | undefined;
}

/** A capability a scenario needs beyond partitions and process faults. */
export type Capability = 'clocks' | 'linkFaults';

export interface NemesisOptions {
  /** Shortest quiet time between faults, ms. Default 2000: twice the default fsync interval, so crashes never overlap a sync window. */
  readonly faultQuietMinMs?: number | undefined;
  /** Longest quiet time between faults, ms. Default 6000. */
  readonly faultQuietMaxMs?: number | undefined;
  /** Shortest fault, ms. Default 1000: shorter than failure detection (~2 s), to exercise suspicion without conviction. */
  readonly faultActiveMinMs?: number | undefined;
  /** Longest fault, ms. Default 12000: long enough for conviction, sloppy quorums and hints. */
  readonly faultActiveMaxMs?: number | undefined;
  /** Largest clock offset from true time, ms. Default 30 000. */
  readonly maxClockOffsetMs?: number | undefined;
  /** Largest clock rate error, parts per million. Default 2000 (20× a poor crystal, to make drift visible in minutes). */
  readonly maxClockDriftPpm?: number | undefined;
  /** Largest message loss probability. Default 0.3. */
  readonly maxLossProbability?: number | undefined;
  /** Largest duplication probability. Default 0.5. */
  readonly maxDuplicateProbability?: number | undefined;
  /** Largest reordering probability. Default 0.5. */
  readonly maxReorderProbability?: number | undefined;
  /** Largest extra delay of a reordered message, ms. Default 300. */
  readonly maxReorderDelayMs?: number | undefined;
}

export type ResolvedNemesisOptions = Required<{ [K in keyof NemesisOptions]: NonNullable<NemesisOptions[K]> }>;

export function resolveNemesisOptions(o: NemesisOptions = {}): ResolvedNemesisOptions {
  return {
    faultQuietMinMs: o.faultQuietMinMs ?? 2000,
    faultQuietMaxMs: o.faultQuietMaxMs ?? 6000,
    faultActiveMinMs: o.faultActiveMinMs ?? 1000,
    faultActiveMaxMs: o.faultActiveMaxMs ?? 12_000,
    maxClockOffsetMs: o.maxClockOffsetMs ?? 30_000,
    maxClockDriftPpm: o.maxClockDriftPpm ?? 2000,
    maxLossProbability: o.maxLossProbability ?? 0.3,
    maxDuplicateProbability: o.maxDuplicateProbability ?? 0.5,
    maxReorderProbability: o.maxReorderProbability ?? 0.5,
    maxReorderDelayMs: o.maxReorderDelayMs ?? 300,
  };
}

export interface FaultContext {
  readonly world: FaultTarget;
  readonly random: Random;
  readonly options: ResolvedNemesisOptions;
  sleep(ms: number): Promise<void>;
  stopped(): boolean;
}

/** Coverage marks a scenario is expected to reach in a run of the default length (scenario tests assert them). */
export type CoverageMark = 'sloppyQuorum' | 'hintStored' | 'hintDelivered' | 'readRepair' | 'siblings' | 'failureDetection';

export interface Scenario {
  readonly name: string;
  readonly description: string;
  /** Whether the scenario crashes nodes (losing unsynced writes). */
  readonly crashes: boolean;
  readonly expectedMarks: readonly CoverageMark[];
  /** Capabilities the target must have; none means any target (the simulator or real processes). */
  readonly requires: readonly Capability[];
  run(ctx: FaultContext): Promise<void>;
}

const quiet = (ctx: FaultContext): number => uniform(ctx.random, ctx.options.faultQuietMinMs, ctx.options.faultQuietMaxMs);
const active = (ctx: FaultContext): number => uniform(ctx.random, ctx.options.faultActiveMinMs, ctx.options.faultActiveMaxMs);

/** Quiet, fault, undo — until stopped. `apply` returns the undo, or undefined when it could not act. */
async function cycle(ctx: FaultContext, apply: () => (() => void) | undefined): Promise<void> {
  while (!ctx.stopped()) {
    await ctx.sleep(quiet(ctx));
    if (ctx.stopped()) return;
    const undo = apply();
    await ctx.sleep(active(ctx));
    if (ctx.stopped()) return;
    undo?.();
  }
}

function partitionCycle(plan: (ids: readonly NodeId[], random: Random) => PartitionPlan) {
  return (ctx: FaultContext): Promise<void> => cycle(ctx, () => {
    ctx.world.partition(plan(ctx.world.ids, ctx.random));
    return () => ctx.world.healNetwork();
  });
}

function crashOne(ctx: FaultContext): (() => void) | undefined {
  const running = ctx.world.runningIds();
  if (running.length === 0) return undefined;
  const victim = pick(ctx.random, running);
  ctx.world.crash(victim);
  return () => ctx.world.start(victim);
}

function pauseOne(ctx: FaultContext): (() => void) | undefined {
  const running = ctx.world.runningIds();
  if (running.length === 0) return undefined;
  const victim = pick(ctx.random, running);
  ctx.world.pause(victim);
  return () => ctx.world.resume(victim);
}

function skewAll(ctx: FaultContext): void {
  const clocks = ctx.world.clocks;
  if (clocks === undefined) return;
  for (const id of ctx.world.ids) {
    const o = ctx.options;
    clocks.setSkew(id, uniform(ctx.random, -o.maxClockOffsetMs, o.maxClockOffsetMs), uniform(ctx.random, -o.maxClockDriftPpm, o.maxClockDriftPpm));
  }
}

/** One node's clock steps by up to the largest offset, either way (an NTP step). */
function clockJump(ctx: FaultContext): undefined {
  const clocks = ctx.world.clocks;
  if (clocks === undefined) return undefined;
  const id = pick(ctx.random, ctx.world.ids);
  const { offsetMs, driftPpm } = clocks.skewOf(id);
  clocks.setSkew(id, offsetMs + uniform(ctx.random, -ctx.options.maxClockOffsetMs, ctx.options.maxClockOffsetMs), driftPpm);
  return undefined;
}

function linkFaults(kind: 'loss' | 'duplication' | 'reorder') {
  return (ctx: FaultContext): (() => void) | undefined => {
    const o = ctx.options;
    if (ctx.world.setLinkFaults === undefined) return undefined;
    ctx.world.setLinkFaults({
      lossProbability: kind === 'loss' ? uniform(ctx.random, 0.02, o.maxLossProbability) : 0,
      duplicateProbability: kind === 'duplication' ? uniform(ctx.random, 0.05, o.maxDuplicateProbability) : 0,
      reorderProbability: kind === 'reorder' ? uniform(ctx.random, 0.1, o.maxReorderProbability) : 0,
      reorderDelayMaxMs: kind === 'reorder' ? uniform(ctx.random, 5, o.maxReorderDelayMs) : 0,
    });
    return () => ctx.world.healNetwork();
  };
}

const ALL_MARKS: readonly CoverageMark[] = ['sloppyQuorum', 'hintStored', 'hintDelivered', 'readRepair', 'siblings', 'failureDetection'];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'none', description: 'no faults: the baseline (and the benchmark\'s configuration)', crashes: false, requires: [],
    expectedMarks: [], run: async () => {},
  },
  {
    name: 'partition-halves', description: 'the ring splits into two random halves, then heals', crashes: false, requires: [],
    expectedMarks: ALL_MARKS, run: partitionCycle(randomHalves),
  },
  {
    name: 'isolate-one', description: 'one random node is cut off from all others, then rejoins', crashes: false, requires: [],
    expectedMarks: ALL_MARKS, run: partitionCycle(isolateOne),
  },
  {
    name: 'majorities-ring', description: 'every node sees a majority, no two the same majority (Jepsen)', crashes: false, requires: [],
    // Heartbeats reach every node through common neighbours, so the gossip failure detector never
    // suspects an unreachable peer: no conviction, no sloppy quorum (a finding; see the report).
    expectedMarks: ['readRepair', 'siblings'], run: partitionCycle(majoritiesRing),
  },
  {
    name: 'bridge', description: 'two halves that only one bridge node connects', crashes: false, requires: [],
    // As majorities-ring: heartbeats cross through the bridge node, so nobody is ever suspected.
    expectedMarks: ['readRepair', 'siblings'], run: partitionCycle(bridge),
  },
  {
    name: 'one-way', description: 'asymmetric partition: messages flow one way only', crashes: false, requires: [],
    expectedMarks: ALL_MARKS, run: partitionCycle(oneWay),
  },
  {
    name: 'crash-restart', description: 'kill -9 one node at a time (unsynced writes lost), restart it later', crashes: true, requires: [],
    expectedMarks: ALL_MARKS, run: (ctx) => cycle(ctx, () => crashOne(ctx)),
  },
  {
    name: 'pause', description: 'SIGSTOP one node at a time, SIGCONT it later', crashes: false, requires: [],
    expectedMarks: ALL_MARKS, run: (ctx) => cycle(ctx, () => pauseOne(ctx)),
  },
  {
    name: 'clock-skew', description: 'every clock offset and drifting, with occasional steps', crashes: false, requires: ['clocks'],
    expectedMarks: ['readRepair', 'siblings'],
    run: async (ctx) => {
      skewAll(ctx);
      await cycle(ctx, () => clockJump(ctx));
    },
  },
  {
    name: 'packet-loss', description: 'bursts of random message loss', crashes: false, requires: ['linkFaults'],
    expectedMarks: ['readRepair', 'siblings'], run: (ctx) => cycle(ctx, () => linkFaults('loss')(ctx)),
  },
  {
    name: 'packet-duplication', description: 'bursts of duplicated messages', crashes: false, requires: ['linkFaults'],
    expectedMarks: ['readRepair', 'siblings'], run: (ctx) => cycle(ctx, () => linkFaults('duplication')(ctx)),
  },
  {
    name: 'packet-reorder', description: 'bursts of delayed messages overtaken by later ones', crashes: false, requires: ['linkFaults'],
    expectedMarks: ['readRepair', 'siblings'], run: (ctx) => cycle(ctx, () => linkFaults('reorder')(ctx)),
  },
  {
    name: 'restart-clock-step',
    description: 'kill -9 one node at a time, step its clock back while it is down (as NTP may), restart it', crashes: true, requires: ['clocks'],
    expectedMarks: ALL_MARKS,
    run: (ctx) => cycle(ctx, () => {
      const clocks = ctx.world.clocks;
      const undo = crashOne(ctx);
      const victim = undo === undefined ? undefined : ctx.world.ids.find((id) => !ctx.world.runningIds().includes(id));
      if (clocks === undefined || victim === undefined) return undo;
      const { offsetMs, driftPpm } = clocks.skewOf(victim);
      clocks.setSkew(victim, offsetMs - uniform(ctx.random, 5000, 2 * ctx.options.maxClockOffsetMs), driftPpm);
      return undo;
    }),
  },
  {
    name: 'mixed', description: 'network and process faults at once: partitions, link faults, crashes, pauses, clock steps', crashes: true, requires: [],
    expectedMarks: ALL_MARKS,
    run: async (ctx) => {
      skewAll(ctx);
      // On a target without clocks or link faults (real processes) those kinds are skipped.
      const shapes = [randomHalves, isolateOne, majoritiesRing, bridge, oneWay];
      await Promise.all([
        cycle(ctx, () => {
          if (ctx.random.next() < 0.7 || ctx.world.setLinkFaults === undefined) {
            ctx.world.partition(pick(ctx.random, shapes)(ctx.world.ids, ctx.random));
            return () => ctx.world.healNetwork();
          }
          return linkFaults(pick(ctx.random, ['loss', 'duplication', 'reorder'] as const))(ctx);
        }),
        cycle(ctx, () => {
          const r = ctx.random.next();
          if (r < 0.45) return crashOne(ctx);
          if (r < 0.9) return pauseOne(ctx);
          return clockJump(ctx);
        }),
      ]);
    },
  },
];

export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

/** The scenarios a seed picks from when none is given: every fault scenario (not the fault-free baseline). */
export const FAULT_SCENARIO_NAMES: readonly string[] = SCENARIO_NAMES.filter((name) => name !== 'none');

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
