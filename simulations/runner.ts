/**
 * One simulated run, TigerBeetle-VOPR style, in two phases:
 *
 *   boot      start every node; membership must agree within `bootBoundMs`.
 *   safety    the workload's clients run while the scenario injects faults, for `durationMs`.
 *   liveness  faults stop: partitions heal, link faults clear, paused nodes resume, crashed nodes
 *             restart. Within `livenessBoundMs` of virtual time the cluster must quiesce:
 *             membership agrees (within `membershipBoundMs`), every hint is handed off, the checker
 *             reads every key at R=N (read repair), the repairs land — and then the checkers run.
 *
 * Every check states its guarantee and the configuration it holds under; a run passes when no check
 * found a violation. The same seed and configuration give the same event trace (traceHash).
 */
import type { KeyHasher } from '../src/core/ring/index.js';
import { checkName, type CheckOutcome } from './checks.js';
import { divergentReplicas } from './checkers/convergence.js';
import { pendingHintCount, undeliveredHints } from './checkers/hints.js';
import { membershipDisagreements } from './checkers/membership.js';
import { replayCommand, seedLine, type SimRunConfig } from './config.js';
import { collectCoverage, missingMarks, type Coverage } from './coverage.js';
import { resolveNemesisOptions, scenarioByName, type NemesisOptions } from './scenarios/index.js';
import { SimKvClient, simRuntime } from './sim-client.js';
import { createWorkload, type AnyWorkloadOptions, type FinalRead, type Workload } from './workloads/index.js';
import { parseLatency } from './world/latency.js';
import type { LogSink } from './world/logger.js';
import type { WireMode } from './world/network.js';
import { deriveRandom } from './world/seeds.js';
import { TraceHasher } from './world/trace.js';
import { SimWorld } from './world/world.js';

export interface RunnerOptions {
  /** The key hasher every node shares (createKeyHasher() is async; create it once). */
  readonly hasher: KeyHasher;
  /** Bound on the first membership agreement after all nodes start, virtual ms. Default 10 000. */
  readonly bootBoundMs?: number | undefined;
  /**
   * Bound on membership agreement after the heal, virtual ms. Default 15 000: a restarted node
   * rejoins in one gossip round trip, and a node wrongly marked dead is refuted by its next
   * heartbeat; 15 s is many times the ~2 s detection time (membership/options.ts).
   */
  readonly membershipBoundMs?: number | undefined;
  /**
   * Bound on the whole liveness phase, virtual ms. Default 60 000: membership, hint delivery (the
   * replay loop runs every 1 s, with backoff capped at 30 s for an owner that kept failing), the
   * checker's reads and the repairs must all fit; a run that needs longer is reported as a liveness
   * violation.
   */
  readonly livenessBoundMs?: number | undefined;
  /**
   * Virtual time allowed after the checker's reads for what they set off to land, ms. Default 5000: read
   * repairs take milliseconds, and a read that finds only tombstones schedules their reap 3 s later
   * (deleteReapDelayMs).
   */
  readonly readRepairSettleMs?: number | undefined;
  /** Attempts of each checker read, at different coordinators. Default 3. */
  readonly finalReadAttempts?: number | undefined;
  /** Server-side timeout of workload requests, ms. Default 5000 (the replication default). */
  readonly requestTimeoutMs?: number | undefined;
  /** Virtual nodes per node; undefined = the ring's default. */
  readonly vnodesPerNode?: number | undefined;
  readonly nemesis?: NemesisOptions | undefined;
  /** Event trace lines kept for printing. Default 0. */
  readonly traceLines?: number | undefined;
  /** Node log lines printed. Default 'none'. */
  readonly logLevel?: LogSink['printLevel'] | undefined;
  /** How frames travel in the simulated network (world/network.ts): 'copy' (default), 'cbor' or 'reference'. */
  readonly wire?: WireMode | undefined;
  /** Called once the world and the workload exist, before anything runs (debugging and tests look inside). */
  readonly inspect?: ((world: SimWorld, workload: Workload) => void) | undefined;
  /** Workload-specific options (keys, fractions, sizes) on top of what the config sets. */
  readonly workloadOptions?: AnyWorkloadOptions | undefined;
}

export interface SimRunResult {
  readonly config: SimRunConfig;
  readonly seedLine: string;
  readonly replay: string;
  readonly passed: boolean;
  readonly checks: CheckOutcome[];
  readonly coverage: Coverage;
  /** Marks the scenario is expected to reach that this run did not (informational per run; the swarm tests assert them). */
  readonly missedMarks: string[];
  readonly facts: Record<string, number>;
  readonly traceHash: string;
  readonly traceLines: readonly string[];
  readonly events: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly faultLog: readonly string[];
  /** Warnings and errors the nodes logged, by message. */
  readonly logCounts: ReadonlyMap<string, number>;
}

/**
 * Whether acknowledged writes must survive this configuration. With fsync=interval a crash loses
 * the node's last interval of writes, so a write acknowledged by one replica only (W=1) can be lost
 * by one crash; the scenarios crash one node at a time, at least two fsync intervals apart, so with
 * W ≥ 2 another acknowledging replica has synced before any other crash.
 */
export function durabilityExpected(config: SimRunConfig): boolean {
  const scenario = scenarioByName(config.scenario);
  return config.fsync === 'always' || scenario === undefined || !scenario.crashes || config.w >= 2;
}

export async function runSimulation(config: SimRunConfig, options: RunnerOptions): Promise<SimRunResult> {
  const wallStart = performance.now();
  const scenario = scenarioByName(config.scenario);
  if (scenario === undefined) throw new Error(`unknown scenario ${config.scenario}`);
  const bootBoundMs = options.bootBoundMs ?? 10_000;
  const membershipBoundMs = options.membershipBoundMs ?? 15_000;
  const livenessBoundMs = options.livenessBoundMs ?? 60_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const trace = new TraceHasher({ keepLines: options.traceLines ?? 0 });
  const world = new SimWorld({
    seed: config.seed,
    nodes: config.nodes,
    hasher: options.hasher,
    latency: parseLatency(config.latency),
    linkLatencySpread: config.linkLatencySpread,
    disk: { fsync: config.fsync, fsyncIntervalMs: config.fsyncIntervalMs },
    vnodesPerNode: options.vnodesPerNode,
    replication: { nVal: config.nVal, requestTimeoutMs },
    trace,
    generation: config.generation,
    clock: config.clock,
    logLevel: options.logLevel,
    wire: options.wire,
  });
  const workload = createWorkload(config.workload, {
    ...options.workloadOptions, clients: config.clients, opsPerSecond: config.opsPerSecond, r: config.r, w: config.w,
  });
  options.inspect?.(world, workload);
  const checks: CheckOutcome[] = [];
  const facts: Record<string, number> = {};
  const unhandled: string[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason instanceof Error ? (reason.stack ?? reason.message) : String(reason));
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    // ------------------------------------------------------------------ boot
    world.startAll();
    const bootMs = await world.pollUntil(() => membershipDisagreements(world).length === 0, bootBoundMs, 50);
    facts.bootMembershipMs = bootMs ?? -1;
    checks.push({
      name: checkName.boot,
      guarantee: `a fresh ring of ${config.nodes} nodes agrees on membership within ${bootBoundMs} ms`,
      violations: bootMs === undefined ? [`no agreement after ${bootBoundMs} ms: ${membershipDisagreements(world).slice(0, 5).join('; ')}`] : [],
    });

    // ------------------------------------------------------------------ safety
    let stopped = false;
    let clientsDone = 0;
    for (let i = 0; i < config.clients; i++) {
      const home = world.ids[i % world.ids.length] as string;
      const client = new SimKvClient(world, home, deriveRandom(config.seed, `failover:${i}`), { requestTimeoutMs });
      void workload.runClient(i, client, simRuntime(world, world.owners.client), deriveRandom(config.seed, `client:${i}`), () => stopped)
        .finally(() => clientsDone++);
    }
    const nemesis = simRuntime(world, world.owners.nemesis);
    void scenario.run({
      world, random: deriveRandom(config.seed, 'nemesis'), options: resolveNemesisOptions(options.nemesis),
      sleep: nemesis.sleep, stopped: () => stopped,
    });
    await world.runFor(config.durationMs);
    stopped = true;
    // The fault loops stop where they are (their sleeps never fire); the heal below ends their faults.
    world.owners.nemesis.cancel();
    const drainMs = await world.runUntil(() => clientsDone === config.clients, requestTimeoutMs + 5000);
    facts.clientDrainMs = drainMs ?? -1;
    if (drainMs === undefined) {
      checks.push({ name: checkName.liveness, guarantee: 'workload clients finish their last request within their timeout', violations: ['clients did not finish'] });
    }
    const safetyCoverage = collectCoverage(world);

    // ------------------------------------------------------------------ liveness
    const healAt = world.now();
    const deadline = healAt + livenessBoundMs;
    const left = (): number => Math.max(0, deadline - world.now());
    world.healAll();
    const membershipMs = await world.pollUntil(() => membershipDisagreements(world).length === 0, Math.min(membershipBoundMs, left()), 50);
    facts.membershipAfterHealMs = membershipMs ?? -1;
    checks.push({
      name: checkName.membership,
      guarantee: `after the heal every node sees every other alive at its current generation and rings agree, within ${membershipBoundMs} ms`,
      violations: membershipMs === undefined ? [`not agreed after ${membershipBoundMs} ms: ${membershipDisagreements(world).slice(0, 6).join('; ')}`] : [],
    });
    const hintsMs = await world.pollUntil(() => pendingHintCount(world) === 0, left(), 100);
    facts.hintsDrainedAfterHealMs = hintsMs ?? -1;

    const keys = workload.keys();
    const finals = await finalReads(world, config, keys, options.finalReadAttempts ?? 3, left());
    await world.runFor(options.readRepairSettleMs ?? 5000);
    facts.quiescedAfterHealMs = world.now() - healAt;
    const livenessViolations: string[] = [];
    if (hintsMs === undefined) livenessViolations.push(`hints still pending ${livenessBoundMs} ms after the heal (${pendingHintCount(world)} hints)`);
    if (world.now() - healAt > livenessBoundMs) livenessViolations.push(`quiescence took ${world.now() - healAt} ms, over the ${livenessBoundMs} ms bound`);
    checks.push({
      name: checkName.liveness,
      guarantee: `with faults off, membership agrees, hints drain, every key is readable at R=N and repairs land within ${livenessBoundMs} ms`,
      violations: livenessViolations,
    });

    // ------------------------------------------------------------------ checks
    const durable = durabilityExpected(config);
    const workloadCheck = workload.check(finals, durable);
    checks.push({
      name: checkName.lostWrites,
      guarantee: `${workloadCheck.guarantee}${durable ? '' : ' (lost writes reported, not violations: W=1 with crashes under fsync=interval)'}`,
      violations: workloadCheck.violations,
    });
    for (const [k, v] of Object.entries(workloadCheck.facts)) facts[k] = v;
    checks.push({
      name: checkName.convergence,
      guarantee: 'after quiescence (including the checker\'s R=N read of every key, which read-repairs) every primary of every key holds an equal object',
      violations: await divergentReplicas(world, keys, config.nVal),
    });
    checks.push({
      name: checkName.hints,
      guarantee: 'after quiescence every hint was delivered and deleted: no hint pending and no hint record stored on any node',
      violations: await undeliveredHints(world),
    });
    checks.push({
      name: checkName.nodeErrors,
      guarantee: 'node code never throws out of a timer or message handler (its assertions hold) and leaves no unhandled rejection',
      violations: [...world.errors.map((e) => `${(e.atMs / 1000).toFixed(3)}s ${e.where}: ${e.message.split('\n').slice(0, 3).join(' | ')}`), ...unhandled.map((u) => `unhandled rejection: ${u.split('\n')[0]}`)],
    });

    const coverage = collectCoverage(world);
    facts.readRepairsDuringSafety = safetyCoverage.readRepair;
    const ops = workload.history;
    facts.ops = ops.length;
    // One pass over the whole history (tens of thousands of records, counted once, unoptimised).
    let opsOk = 0;
    let opsFailed = 0;
    let opsIndeterminate = 0;
    for (const o of ops) {
      if (o.outcome === 'ok') opsOk++;
      else if (o.outcome === 'fail') opsFailed++;
      else opsIndeterminate++;
    }
    facts.opsOk = opsOk;
    facts.opsFailed = opsFailed;
    facts.opsIndeterminate = opsIndeterminate;
    facts.keys = keys.length;
    facts.messagesSent = world.network.stats.sent;
    const passed = checks.every((c) => c.violations.length === 0);
    return {
      config,
      seedLine: seedLine(config),
      replay: replayCommand(config),
      passed,
      checks,
      coverage,
      missedMarks: missingMarks(coverage, scenario.expectedMarks),
      facts,
      traceHash: trace.digest(),
      traceLines: trace.lines,
      events: world.scheduler.firedEvents,
      virtualMs: world.elapsedMs(),
      wallMs: performance.now() - wallStart,
      faultLog: world.faultLog,
      logCounts: world.logs.counts,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

/** The checker's read of every key at R=N (triggering read repair), each tried at up to `attempts` coordinators. */
async function finalReads(world: SimWorld, config: SimRunConfig, keys: readonly string[], attempts: number, timeoutMs: number): Promise<Map<string, FinalRead>> {
  const results = new Map<string, FinalRead>();
  const clients = world.ids.map((id) => new SimKvClient(world, id, deriveRandom(config.seed, `checker:${id}`)));
  let pending = keys.length;
  keys.forEach((key, i) => {
    void (async () => {
      let error = 'not read';
      for (let attempt = 0; attempt < attempts; attempt++) {
        const client = clients[(i + attempt) % clients.length] as SimKvClient;
        try {
          const read = await client.get(key, { r: config.nVal });
          results.set(key, { key, values: read.values });
          return;
        } catch (err) {
          error = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
        }
      }
      results.set(key, { key, values: undefined, error });
    })().finally(() => pending--);
  });
  await world.runUntil(() => pending === 0, timeoutMs);
  return results;
}
