/**
 * The real-process chaos runner: the simulator's workloads, scenarios and checkers against a real
 * ring of node processes on 127.0.0.1 (test/helpers/cluster.ts), in real time.
 *
 *   safety    workload clients (over HTTP) run while the scenario kills (-9) and restarts nodes,
 *             pauses them (SIGSTOP/SIGCONT) and partitions them (the --testing-faults endpoint).
 *   liveness  faults stop; within `livenessBoundMs` membership must agree (`membershipBoundMs`),
 *             hints must drain, the checker reads every key at R=N (read repair), repairs land —
 *             then the same checkers as in the simulator run, on the replicas' own copies
 *             (GET /testing/local/{key}).
 *
 * Differences from the simulator, stated with each check: real nodes use the log engine with
 * fsync=interval, and kill -9 does not lose what the OS has (only power loss would), so every
 * acknowledged write must survive with any W; the coverage counters come from /status of the
 * processes running at the end (a killed process takes its counters with it); runs are not
 * replayable (real time and scheduling).
 */
import type { NodeId } from '../../src/core/wire.js';
import { TestCluster } from '../../test/helpers/cluster.js';
import { checkName, type CheckOutcome } from '../checks.js';
import { resolveNemesisOptions, scenarioByName, type NemesisOptions } from '../scenarios/index.js';
import type { FinalRead, WorkloadRuntime } from '../workloads/client.js';
import { createWorkload, type AnyWorkloadOptions, type WorkloadName } from '../workloads/index.js';
import { deriveRandom } from '../world/seeds.js';
import { ChaosCluster } from './cluster.js';
import { HttpKvClient } from './http-client.js';

export interface ChaosOptions {
  readonly scenario: string;
  readonly workload: WorkloadName;
  readonly nodes: number;
  /** Length of the safety phase, real ms. */
  readonly durationMs: number;
  /** Seeds the workload's and the scenario's choices (the run itself is not replayable). */
  readonly seed: number;
  /** Replicas per key of the ring (the nodes' --n-val). Default 3. */
  readonly nVal?: number | undefined;
  readonly r?: number | undefined;
  readonly w?: number | undefined;
  readonly clients?: number | undefined;
  readonly opsPerSecond?: number | undefined;
  readonly nemesis?: NemesisOptions | undefined;
  readonly workloadOptions?: AnyWorkloadOptions | undefined;
  /** Bound on the first membership agreement after the processes start, ms. Default 20 000 (process start-up included). */
  readonly bootBoundMs?: number | undefined;
  /** Bound on membership agreement after the heal, ms. Default 20 000 (restarted processes must also boot). */
  readonly membershipBoundMs?: number | undefined;
  /** Bound on the whole liveness phase, ms. Default 60 000. */
  readonly livenessBoundMs?: number | undefined;
  /**
   * Time allowed after the checker's reads for what they set off to land, ms. Default 5000: read
   * repairs take milliseconds, and a read that finds only tombstones schedules their reap 3 s later.
   */
  readonly readRepairSettleMs?: number | undefined;
  /** Extra `ringkv start` flags for every node. */
  readonly nodeArgs?: readonly string[] | undefined;
}

export interface ChaosResult {
  readonly description: string;
  readonly passed: boolean;
  readonly checks: CheckOutcome[];
  /** replication counters summed over the processes running at the end. */
  readonly coverage: Record<string, number>;
  readonly facts: Record<string, number>;
  readonly faultLog: readonly string[];
  readonly wallMs: number;
}

interface Status {
  replication: Record<string, number>;
}

interface LocalCopy {
  found: boolean;
  clock?: unknown;
  siblings?: Array<{ dot: unknown }>;
}

const realRuntime = (startedAt: number): WorkloadRuntime => ({
  now: () => performance.now() - startedAt,
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
});

async function pollUntil(condition: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<number | undefined> {
  const start = performance.now();
  for (;;) {
    try {
      if (await condition()) return performance.now() - start;
    } catch {
      // A node still starting answers nothing yet: try again.
    }
    if (performance.now() - start > timeoutMs) return undefined;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const wallStart = performance.now();
  const scenario = scenarioByName(options.scenario);
  if (scenario === undefined) throw new Error(`unknown scenario ${options.scenario}`);
  if (scenario.requires.length > 0) {
    throw new Error(`scenario ${scenario.name} needs ${scenario.requires.join(' and ')}, which real processes do not offer here; it runs only in the simulator`);
  }
  const nVal = options.nVal ?? 3;
  const clients = options.clients ?? options.nodes;
  const membershipBoundMs = options.membershipBoundMs ?? 20_000;
  const livenessBoundMs = options.livenessBoundMs ?? 60_000;
  const description = `REAL scenario=${scenario.name} workload=${options.workload} nodes=${options.nodes} duration=${options.durationMs / 1000}s ` +
    `n=${nVal} r=${options.r ?? 2} w=${options.w ?? 2} clients=${clients} ops=${options.opsPerSecond ?? 100}/s seed=${options.seed}`;
  const cluster = await TestCluster.start({ nodes: options.nodes, args: ['--testing-faults', '--n-val', String(nVal), ...(options.nodeArgs ?? [])] });
  const checks: CheckOutcome[] = [];
  const facts: Record<string, number> = {};
  try {
    const ids = cluster.specs.map((s) => s.id);
    await cluster.waitConverged(ids, options.bootBoundMs ?? 20_000);
    const chaos = new ChaosCluster(cluster);
    const workload = createWorkload(options.workload, {
      ...options.workloadOptions, clients, opsPerSecond: options.opsPerSecond, r: options.r, w: options.w,
    });
    const runtime = realRuntime(performance.now());
    let stopped = false;
    const failover = deriveRandom(options.seed, 'failover');
    const clientRuns = Array.from({ length: clients }, (_, i) => {
      const home = ids[i % ids.length] as NodeId;
      const client = new HttpKvClient(home, () => chaos.urlFor(home, () => failover.int(1_000_000)));
      return workload.runClient(i, client, runtime, deriveRandom(options.seed, `client:${i}`), () => stopped);
    });
    // The fault loop's sleeps end early when the safety phase ends, so the heal is not kept waiting.
    const sleeping = new Set<() => void>();
    const nemesisSleep = (ms: number): Promise<void> => new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        sleeping.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleeping.add(done);
    });
    const nemesis = scenario.run({
      world: chaos, random: deriveRandom(options.seed, 'nemesis'), options: resolveNemesisOptions(options.nemesis),
      sleep: nemesisSleep, stopped: () => stopped,
    });
    await runtime.sleep(options.durationMs);
    stopped = true;
    for (const wake of [...sleeping]) wake();
    await Promise.all(clientRuns);
    await nemesis;

    // ------------------------------------------------------------------ liveness
    const healAt = performance.now();
    const left = (): number => Math.max(0, livenessBoundMs - (performance.now() - healAt));
    await chaos.healAll();
    let membershipError: string | undefined;
    try {
      await cluster.waitConverged(ids, Math.min(membershipBoundMs, left()));
    } catch (err) {
      membershipError = err instanceof Error ? err.message : String(err);
    }
    facts.membershipAfterHealMs = membershipError === undefined ? Math.round(performance.now() - healAt) : -1;
    checks.push({
      name: checkName.membership,
      guarantee: `after the heal and restarts every node sees every node alive within ${membershipBoundMs} ms`,
      violations: membershipError === undefined ? [] : [membershipError],
    });
    const statuses = async (): Promise<Status[]> => Promise.all(ids.map((id) => cluster.json<Status>(id, '/status')));
    const hintsMs = await pollUntil(async () => (await statuses()).every((s) => (s.replication.hintsPending ?? 0) === 0), left());
    facts.hintsDrainedAfterHealMs = hintsMs === undefined ? -1 : Math.round(hintsMs);

    const keys = workload.keys();
    const finals = new Map<string, FinalRead>();
    await Promise.all(keys.map(async (key, i) => {
      let error = 'not read';
      for (let attempt = 0; attempt < 3; attempt++) {
        const id = ids[(i + attempt) % ids.length] as NodeId;
        try {
          const read = await new HttpKvClient(id, () => cluster.url(id)).get(key, { r: nVal });
          finals.set(key, { key, values: read.values });
          return;
        } catch (err) {
          error = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : String(err);
        }
      }
      finals.set(key, { key, values: undefined, error });
    }));
    await runtime.sleep(options.readRepairSettleMs ?? 5000);
    facts.quiescedAfterHealMs = Math.round(performance.now() - healAt);
    checks.push({
      name: checkName.liveness,
      guarantee: `with faults off, membership agrees, hints drain and every key is read at R=N within ${livenessBoundMs} ms`,
      violations: [
        ...(hintsMs === undefined ? ['hints still pending at the liveness bound'] : []),
        ...(performance.now() - healAt > livenessBoundMs ? [`quiescence took ${Math.round(performance.now() - healAt)} ms`] : []),
        ...chaos.errors.map((e) => `fault action failed: ${e}`),
      ],
    });

    // ------------------------------------------------------------------ checks
    const workloadCheck = workload.check(finals, true);
    checks.push({
      name: checkName.lostWrites,
      guarantee: `${workloadCheck.guarantee} (real nodes: kill -9 keeps what the OS has, so this holds for any W)`,
      violations: workloadCheck.violations,
    });
    for (const [k, v] of Object.entries(workloadCheck.facts)) facts[k] = v;
    const divergent: string[] = [];
    for (const key of keys) {
      const { primaries } = await cluster.json<{ primaries: NodeId[] }>(ids[0] as NodeId, `/cluster/preflist/${encodeURIComponent(key)}`);
      const copies = await Promise.all(primaries.map(async (id) => {
        const copy = await cluster.json<LocalCopy>(id, `/testing/local/${encodeURIComponent(key)}`);
        return { id, shape: JSON.stringify(copy.found ? { clock: copy.clock, dots: copy.siblings?.map((s) => s.dot) } : null) };
      }));
      const first = copies[0];
      for (const copy of copies.slice(1)) {
        if (first !== undefined && copy.shape !== first.shape) divergent.push(`${key}: ${first.id} holds ${first.shape}, ${copy.id} holds ${copy.shape}`);
      }
    }
    checks.push({
      name: checkName.convergence,
      guarantee: 'after quiescence (including the checker\'s R=N read of every key, which read-repairs) every primary holds the same clock and sibling dots',
      violations: divergent,
    });
    const finalStatus = await statuses();
    checks.push({
      name: checkName.hints,
      guarantee: 'after quiescence no node has a hint pending (the gauge is recounted from storage when a node starts)',
      violations: finalStatus.flatMap((s, i) => ((s.replication.hintsPending ?? 0) > 0 ? [`${ids[i]} holds ${s.replication.hintsPending} hints`] : [])),
    });
    const invariantLines = [...cluster.procs.values()].flatMap((p) => p.logs.filter((l) => JSON.stringify(l).includes('invariant violated')).map((l) => `${p.id}: ${String(l.msg)}`));
    facts.errorLogLines = [...cluster.procs.values()].reduce((sum, p) => sum + p.logs.filter((l) => typeof l.level === 'number' && l.level >= 50).length, 0);
    checks.push({ name: checkName.nodeErrors, guarantee: 'no node logged a violated invariant', violations: invariantLines });

    const coverage: Record<string, number> = {};
    for (const s of finalStatus) for (const [k, v] of Object.entries(s.replication)) coverage[k] = (coverage[k] ?? 0) + v;
    const ops = workload.history;
    facts.ops = ops.length;
    facts.opsOk = ops.filter((o) => o.outcome === 'ok').length;
    facts.opsFailed = ops.filter((o) => o.outcome === 'fail').length;
    facts.opsIndeterminate = ops.filter((o) => o.outcome === 'info').length;
    return {
      description, passed: checks.every((c) => c.violations.length === 0), checks, coverage, facts, faultLog: chaos.faultLog,
      wallMs: performance.now() - wallStart,
    };
  } finally {
    await cluster.stop();
  }
}
