/**
 * The parameters of one simulated run, how each is derived from the seed when not given, and the
 * two lines a run prints about itself: the SEED line (every parameter) and the replay command.
 *
 * Each derived parameter draws from its own stream (deriveSeed(seed, "param:<name>")), so giving
 * one parameter on the command line changes no other: the replay command, which names them all,
 * runs exactly the same simulation.
 */
import { FAULT_SCENARIO_NAMES, SCENARIO_NAMES } from './scenarios/index.js';
import { WORKLOAD_NAMES, isWorkloadName, type WorkloadName } from './workloads/index.js';
import { describeLatency, parseLatency } from './world/latency.js';
import { deriveRandom, intBetween, pick } from './world/seeds.js';
import type { ClockMode, GenerationMode } from './world/sim-node.js';

export interface SimRunConfig {
  readonly seed: number;
  /** Fault scenario (scenarios/index.ts). */
  readonly scenario: string;
  readonly workload: WorkloadName;
  /** Nodes in the ring. */
  readonly nodes: number;
  /** Length of the safety phase (faults and workload), virtual ms. */
  readonly durationMs: number;
  /** Replicas per key (N). */
  readonly nVal: number;
  /** Read quorum of workload reads. */
  readonly r: number;
  /** Write quorum of workload writes. */
  readonly w: number;
  /** Base link latency model, in the text form of world/latency.ts. */
  readonly latency: string;
  /** Per-link latency spread factor (world.ts linkLatencySpread). */
  readonly linkLatencySpread: number;
  readonly fsync: 'interval' | 'always';
  readonly fsyncIntervalMs: number;
  /** Workload clients. */
  readonly clients: number;
  /** Offered operations per second, all clients together. */
  readonly opsPerSecond: number;
  /**
   * How a restarted node picks its generation (world/sim-node.ts): 'incarnation' (a counter),
   * 'clock' (its clock at start, the runtime before commit 98557d6) or 'persisted' (max(clock,
   * last + 1), the runtime now). Not derived from the seed; default 'incarnation'.
   */
  readonly generation: GenerationMode;
  /**
   * 'monotonic' node clocks (the Env contract) or 'wall' clocks that show backward steps at once,
   * as Date.now() in the real runtime does (world/sim-node.ts). Not derived; default 'monotonic'.
   */
  readonly clock: ClockMode;
}

/** Safety phase length when none is given, virtual ms. */
export const DEFAULT_DURATION_MS = 60_000;

/** Latency models a run picks from: a LAN, an exponential LAN, a LAN with a heavy tail, a slow network. */
export const LATENCY_PRESETS: readonly string[] = [
  'const(0.5)',
  'exp(1)',
  '0.9*exp(2)+0.1*pareto(2,1.5)',
  '0.8*exp(0.2)+0.2*pareto(10,2)',
];

/** (R, W) pairs the mixed workload picks from; the other workloads use the defaults R=2, W=2. */
export const QUORUM_PRESETS: ReadonlyArray<readonly [number, number]> = [[2, 2], [1, 1], [1, 3], [3, 1], [2, 1], [1, 2]];

export type ConfigOverrides = Partial<Omit<SimRunConfig, 'seed'>>;

/** Every parameter of the run of `seed`: the overrides as given, the rest derived from the seed. */
export function deriveConfig(seed: number, overrides: ConfigOverrides = {}): SimRunConfig {
  const param = (name: string) => deriveRandom(seed, `param:${name}`);
  const scenario = overrides.scenario ?? pick(param('scenario'), FAULT_SCENARIO_NAMES);
  const workload = overrides.workload ?? pick(param('workload'), WORKLOAD_NAMES);
  const nodes = overrides.nodes ?? intBetween(param('nodes'), 4, 7);
  const [r, w] = workload === 'mixed' ? pick(param('quorum'), QUORUM_PRESETS) : [2, 2];
  return {
    seed,
    scenario,
    workload,
    nodes,
    durationMs: overrides.durationMs ?? DEFAULT_DURATION_MS,
    nVal: overrides.nVal ?? 3,
    r: overrides.r ?? r,
    w: overrides.w ?? w,
    latency: overrides.latency ?? pick(param('latency'), LATENCY_PRESETS),
    linkLatencySpread: overrides.linkLatencySpread ?? 2,
    fsync: overrides.fsync ?? 'interval',
    fsyncIntervalMs: overrides.fsyncIntervalMs ?? 1000,
    clients: overrides.clients ?? nodes,
    opsPerSecond: overrides.opsPerSecond ?? pick(param('ops'), [50, 100, 200]),
    generation: overrides.generation ?? 'incarnation',
    clock: overrides.clock ?? 'monotonic',
  };
}

/** Problems with a configuration, one line each. */
export function configProblems(c: SimRunConfig): string[] {
  const problems: string[] = [];
  if (!SCENARIO_NAMES.includes(c.scenario)) problems.push(`unknown scenario ${c.scenario}; choose one of ${SCENARIO_NAMES.join(', ')}`);
  if (!isWorkloadName(c.workload)) problems.push(`unknown workload ${String(c.workload)}; choose one of ${WORKLOAD_NAMES.join(', ')}`);
  if (!Number.isInteger(c.nodes) || c.nodes < 1 || c.nodes > 64) problems.push(`nodes must be 1..64, got ${c.nodes}`);
  if (!Number.isInteger(c.nVal) || c.nVal < 1 || c.nVal > c.nodes) problems.push(`n must be 1..nodes (${c.nodes}), got ${c.nVal}`);
  if (!Number.isInteger(c.r) || c.r < 1 || c.r > c.nVal) problems.push(`r must be 1..n (${c.nVal}), got ${c.r}`);
  if (!Number.isInteger(c.w) || c.w < 1 || c.w > c.nVal) problems.push(`w must be 1..n (${c.nVal}), got ${c.w}`);
  if (!(c.durationMs > 0)) problems.push(`duration must be positive, got ${c.durationMs} ms`);
  if (!(c.opsPerSecond > 0)) problems.push(`ops must be positive, got ${c.opsPerSecond}`);
  if (!Number.isInteger(c.clients) || c.clients < 1) problems.push(`clients must be a positive integer, got ${c.clients}`);
  try {
    parseLatency(c.latency);
  } catch (err) {
    problems.push((err as Error).message);
  }
  return problems;
}

export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Reads "120s", "2m", "500ms" or a bare number of seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`cannot read duration ${JSON.stringify(text)}: use e.g. 500ms, 120s, 2m`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

/** Every parameter of the run, on one line. */
export function seedLine(c: SimRunConfig): string {
  return `SEED=${c.seed} scenario=${c.scenario} workload=${c.workload} nodes=${c.nodes} duration=${formatDuration(c.durationMs)} ` +
    `n=${c.nVal} r=${c.r} w=${c.w} latency=${describeLatency(parseLatency(c.latency))} link-spread=${c.linkLatencySpread} ` +
    `fsync=${c.fsync}${c.fsync === 'interval' ? `:${c.fsyncIntervalMs}ms` : ''} clients=${c.clients} ops=${c.opsPerSecond}/s` +
    (c.generation === 'incarnation' ? '' : ` generation=${c.generation}`) + (c.clock === 'monotonic' ? '' : ` clock=${c.clock}`);
}

/** The command that runs exactly this simulation again. */
export function replayCommand(c: SimRunConfig): string {
  return `npm run sim -- --seed ${c.seed} --scenario ${c.scenario} --workload ${c.workload} --nodes ${c.nodes} ` +
    `--duration ${formatDuration(c.durationMs)} --n ${c.nVal} --r ${c.r} --w ${c.w} --latency '${c.latency}' ` +
    `--link-spread ${c.linkLatencySpread} --fsync ${c.fsync} --fsync-interval ${c.fsyncIntervalMs}ms --clients ${c.clients} --ops ${c.opsPerSecond}` +
    (c.generation === 'incarnation' ? '' : ` --generation ${c.generation}`) + (c.clock === 'monotonic' ? '' : ` --clock ${c.clock}`);
}
