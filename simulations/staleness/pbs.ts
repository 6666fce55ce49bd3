/**
 * Staleness measurement in the PBS setting (Bailis et al., VLDB 2012): N replicas, a coordinator
 * that is not one of them, one write per key, no read repair; the probability that a read starting
 * t ms after a write commits (W acknowledgements) returns that write, as a function of t, for WARS
 * latencies that depend on the message type (W for ReplicaPut, A for ReplicaPutReply, R for
 * ReplicaGet, S for ReplicaGetReply).
 *
 * Measured with the real replication code: Replication instances over memory storage, connected by
 * the simulated network, with a ClusterView whose preference list is the N replicas and excludes the
 * coordinators (`forwardWrites: false`, so a non-replica coordinates instead of forwarding, and
 * `readRepair: false`). Writes go through one coordinator and reads through the others in turn.
 * Trials share nothing (one key each, and the model has no queueing), so they run concurrently.
 *
 * One shortcut, exact by construction: a read that starts after every replica has stored the write
 * can only return it (every replica the coordinator asks holds it, and nothing removes it), so it is
 * counted as consistent without simulating its messages (`skipSettledReads`, default on). The
 * interesting reads — those racing the write's propagation — always run through the coordinator.
 */
import { assert } from '../../src/core/assert.js';
import type { Env, TimerHandle, Timers } from '../../src/core/env.js';
import { silentLogger } from '../../src/core/env.js';
import type { ClusterView, PreferenceEntry } from '../../src/core/replication/cluster-view.js';
import { Replication } from '../../src/core/replication/replication.js';
import { MessageType, type Address, type NodeId } from '../../src/core/wire.js';
import { MemoryEngine } from '../../src/storage/memory.js';
import type { BatchOp, PutOptions, ScanEntry, ScanOptions, ScanPage, StorageEngine, StorageStats, StoredRecord } from '../../src/storage/types.js';
import { constant, type LatencyModel } from '../world/latency.js';
import { SimNetwork } from '../world/network.js';
import { EventOwner, Scheduler, type SimEvent } from '../world/scheduler.js';
import { deriveRandom } from '../world/seeds.js';
import { SIM_EPOCH_MS } from '../world/world.js';
import type { WarsModel } from './wars.js';

/** Read start times after commit, ms, when none are given: dense near 0, out to 10 s for YMMR's tail. */
export const DEFAULT_GRID_MS: readonly number[] = [
  0, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000,
];

export interface StalenessOptions {
  readonly model: WarsModel;
  /** Replicas (N). */
  readonly n: number;
  /** Read quorum (R). */
  readonly r: number;
  /** Write quorum (W). */
  readonly w: number;
  /** Writes measured, one key each; every grid time gets one read per write. Default 10 000 (99.9% resolved to ±0.06% at 2σ). */
  readonly trials?: number | undefined;
  /** Times after commit at which reads start, ms. Default DEFAULT_GRID_MS. */
  readonly gridMs?: readonly number[] | undefined;
  /** Probability whose time the run reports (t-visibility). Default 0.999, the paper's headline figure. */
  readonly targetProbability?: number | undefined;
  /** Extra read times placed evenly between the two grid times around the target, for a finer estimate. Default 8. */
  readonly refinePoints?: number | undefined;
  /** Coordinators (none is a replica): the first writes, all take turns reading. Default 2. */
  readonly coordinators?: number | undefined;
  /** Time between the starts of successive writes, ms. Default 0.2: trials overlap, which is fine since they share nothing. */
  readonly trialSpacingMs?: number | undefined;
  /** Count reads that start after every replica stored the write as consistent without simulating them. Default true (see the file comment). */
  readonly skipSettledReads?: boolean | undefined;
  readonly seed?: number | undefined;
}

export interface StalenessPoint {
  /** Read start after commit, ms. */
  readonly tMs: number;
  readonly reads: number;
  readonly consistent: number;
  readonly probability: number;
}

export interface StalenessResult {
  readonly model: string;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly trials: number;
  readonly targetProbability: number;
  /** The grid, then the refined points, sorted by t. */
  readonly points: readonly StalenessPoint[];
  /** The first measured t whose probability reached the target; undefined when no grid time did. */
  readonly tAtTargetMs: number | undefined;
  /** Write latency (start to W acks) and read latency (start to R answers) percentiles, ms. */
  readonly writeLatencyMs: { readonly p50: number; readonly p99: number; readonly p999: number };
  readonly readLatencyMs: { readonly p50: number; readonly p99: number; readonly p999: number };
  readonly simulatedReads: number;
  readonly settledReads: number;
  readonly failedRequests: number;
  readonly events: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** The fixed placement of the PBS setting: every key on the N replicas, every node up. */
class PbsCluster implements ClusterView {
  private readonly entries: readonly PreferenceEntry[];

  constructor(readonly localId: NodeId, private readonly replicas: readonly NodeId[]) {
    this.entries = replicas.map((node) => ({ node, role: 'primary' as const }));
  }

  preferenceList(_key: string, n: number): readonly PreferenceEntry[] {
    return this.entries.slice(0, n);
  }

  primaries(_key: string, n: number): readonly NodeId[] {
    return this.replicas.slice(0, n);
  }

  addressOf(id: NodeId): Address | undefined {
    return `${id}.pbs:7000`;
  }

  isUp(): boolean {
    return true;
  }
}

/** Memory storage that reports when a trial key is stored (to know when a write has settled on every replica). */
class ObservedStorage implements StorageEngine {
  readonly kind = 'memory' as const;

  constructor(private readonly inner: MemoryEngine, private readonly onPut: (key: string) => void) {}

  get(key: string): Promise<StoredRecord | undefined> {
    return this.inner.get(key);
  }

  async put(key: string, value: Uint8Array, options?: PutOptions): Promise<void> {
    await this.inner.put(key, value, options);
    this.onPut(key);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  batch(ops: readonly BatchOp[]): Promise<void> {
    return this.inner.batch(ops);
  }

  scan(options?: ScanOptions): Promise<ScanPage> {
    return this.inner.scan(options);
  }

  entries(): AsyncIterable<ScanEntry> {
    return this.inner.entries();
  }

  stats(): StorageStats {
    return this.inner.stats();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Batch {
  readonly gridMs: readonly number[];
  readonly reads: number[];
  readonly consistent: number[];
}

export async function measureStaleness(options: StalenessOptions): Promise<StalenessResult> {
  const { model, n, r, w } = options;
  assert(Number.isInteger(n) && n >= 1, 'N is a positive integer');
  assert(Number.isInteger(r) && r >= 1 && r <= n, 'R is in 1..N');
  assert(Number.isInteger(w) && w >= 1 && w <= n, 'W is in 1..N');
  const trials = options.trials ?? 10_000;
  const target = options.targetProbability ?? 0.999;
  const seed = options.seed ?? 1;
  const coordinatorCount = options.coordinators ?? 2;
  const spacingMs = options.trialSpacingMs ?? 0.2;
  const skipSettled = options.skipSettledReads ?? true;
  const grid = [...(options.gridMs ?? DEFAULT_GRID_MS)].sort((a, b) => a - b);

  const errors: string[] = [];
  const scheduler = new Scheduler(SIM_EPOCH_MS, (err, owner, label) => errors.push(`${owner} ${label}: ${String(err)}`));
  const latencyOf: Record<number, LatencyModel> = {
    [MessageType.ReplicaPut]: model.w,
    [MessageType.ReplicaPutReply]: model.a,
    [MessageType.ReplicaGet]: model.r,
    [MessageType.ReplicaGetReply]: model.s,
  };
  const instant = constant(0);
  const network = new SimNetwork(scheduler, deriveRandom(seed, 'pbs:network'), {
    latency: (_from, _to, type) => latencyOf[type] ?? instant,
    // Replicas decode the object bytes they receive and mutate nothing: no need to encode frames.
    wire: 'reference',
  });
  const replicaIds = Array.from({ length: n }, (_, i) => `r${i + 1}`);
  const coordinatorIds = Array.from({ length: coordinatorCount }, (_, i) => `c${i + 1}`);
  /** Per trial key: how many replicas stored it. */
  const storedCount = new Map<string, number>();
  const nodes = new Map<NodeId, Replication>();
  for (const id of [...replicaIds, ...coordinatorIds]) {
    const owner = new EventOwner(id);
    const timers: Timers = {
      setTimer: (delayMs, callback): TimerHandle => scheduler.schedule(delayMs, owner, 'timer', callback),
      clearTimer: (handle) => scheduler.cancel(handle as SimEvent),
    };
    const env: Env = { clock: { now: () => scheduler.now() }, timers, random: deriveRandom(seed, `pbs:${id}`), logger: silentLogger };
    const isReplica = replicaIds.includes(id);
    const memory = new MemoryEngine({ clock: env.clock });
    const storage: StorageEngine = isReplica
      ? new ObservedStorage(memory, (key) => storedCount.set(key, (storedCount.get(key) ?? 0) + 1))
      : memory;
    const cluster = new PbsCluster(id, replicaIds);
    const endpoint = network.attach(id, cluster.addressOf(id) as string, { running: true, admit: (_label, work) => work() });
    const replication = new Replication({ env, transport: endpoint, storage, cluster }, { nodeId: id, generation: 1 }, {
      nVal: n, r, w, readRepair: false, forwardWrites: false,
      // Heavy tails (YMMR's exponential part has a 357 ms mean) must never time out a measurement.
      requestTimeoutMs: 60_000,
      // Every trial's reads are in flight at once.
      maxPendingRequests: 100_000_000,
      // No hints arise (every replica is up); keep the replay loop from adding events.
      hintReplayIntervalMs: 3_600_000,
    });
    endpoint.onMessage((msg, from) => replication.handleMessage(msg, from));
    await replication.start();
    nodes.set(id, replication);
  }
  const writer = nodes.get(coordinatorIds[0] as string) as Replication;
  const readers = coordinatorIds.map((id) => nodes.get(id) as Replication);
  const writeLatencies: number[] = [];
  const readLatencies: number[] = [];
  let simulatedReads = 0;
  let settledReads = 0;
  let failedRequests = 0;
  let nextReader = 0;
  let trialBase = 0;

  async function runBatch(batchGrid: readonly number[]): Promise<Batch> {
    const batch: Batch = { gridMs: batchGrid, reads: batchGrid.map(() => 0), consistent: batchGrid.map(() => 0) };
    const owner = new EventOwner(`trials@${trialBase}`);
    let outstanding = trials * batchGrid.length;
    const base = trialBase;
    trialBase += trials;
    for (let i = 0; i < trials; i++) {
      const trial = base + i;
      scheduler.schedule(i * spacingMs, owner, 'write', () => {
        const key = `k${trial}`;
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, trial, true);
        const startedAt = scheduler.now();
        writer.put(key, value, { w }).then(() => {
          writeLatencies.push(scheduler.now() - startedAt);
          // Reads at the grid times, one event at a time: once the write has reached every replica,
          // this and every later read can only return it, so they are counted together.
          const readAt = (g: number): void => {
            const done = (index: number, consistent: boolean): void => {
              batch.reads[index] = (batch.reads[index] ?? 0) + 1;
              if (consistent) batch.consistent[index] = (batch.consistent[index] ?? 0) + 1;
              outstanding--;
            };
            if (skipSettled && (storedCount.get(key) ?? 0) >= n) {
              for (let rest = g; rest < batchGrid.length; rest++) {
                settledReads++;
                done(rest, true);
              }
              return;
            }
            const next = g + 1;
            if (next < batchGrid.length) {
              scheduler.schedule((batchGrid[next] as number) - (batchGrid[g] as number), owner, 'read', () => readAt(next));
            }
            simulatedReads++;
            const reader = readers[nextReader++ % readers.length] as Replication;
            const readStart = scheduler.now();
            reader.get(key, { r }).then(({ obj }) => {
              readLatencies.push(scheduler.now() - readStart);
              done(g, obj?.siblings.some((s) => s.value !== null && s.value.byteLength === 4 &&
                new DataView(s.value.buffer, s.value.byteOffset, 4).getUint32(0, true) === trial) ?? false);
            }, () => {
              failedRequests++;
              done(g, false);
            });
          };
          scheduler.schedule(batchGrid[0] as number, owner, 'read', () => readAt(0));
        }, () => {
          failedRequests++;
          outstanding -= batchGrid.length;
        });
      });
    }
    await scheduler.run(Number.POSITIVE_INFINITY, { stop: () => outstanding === 0 });
    owner.cancel();
    return batch;
  }

  const points: StalenessPoint[] = [];
  const addPoints = (batch: Batch): void => {
    batch.gridMs.forEach((tMs, g) => {
      const reads = batch.reads[g] ?? 0;
      const consistent = batch.consistent[g] ?? 0;
      points.push({ tMs, reads, consistent, probability: reads === 0 ? Number.NaN : consistent / reads });
    });
  };
  const coarse = await runBatch(grid);
  addPoints(coarse);
  const firstAt = points.findIndex((p) => p.probability >= target);
  const refinePoints = options.refinePoints ?? 8;
  if (firstAt > 0 && refinePoints > 0) {
    const lo = (points[firstAt - 1] as StalenessPoint).tMs;
    const hi = (points[firstAt] as StalenessPoint).tMs;
    const fine = Array.from({ length: refinePoints }, (_, k) => lo + ((k + 1) * (hi - lo)) / (refinePoints + 1));
    addPoints(await runBatch(fine));
  }
  points.sort((a, b) => a.tMs - b.tMs);
  if (errors.length > 0) throw new Error(`the staleness simulation hit errors: ${errors.slice(0, 3).join('; ')}`);
  const reached = points.find((p) => p.probability >= target);
  const sortedWrites = writeLatencies.sort((a, b) => a - b);
  const sortedReads = readLatencies.sort((a, b) => a - b);
  return {
    model: model.name, n, r, w, trials, targetProbability: target, points,
    tAtTargetMs: reached?.tMs,
    writeLatencyMs: { p50: percentile(sortedWrites, 0.5), p99: percentile(sortedWrites, 0.99), p999: percentile(sortedWrites, 0.999) },
    readLatencyMs: { p50: percentile(sortedReads, 0.5), p99: percentile(sortedReads, 0.99), p999: percentile(sortedReads, 0.999) },
    simulatedReads, settledReads, failedRequests, events: scheduler.firedEvents,
  };
}
