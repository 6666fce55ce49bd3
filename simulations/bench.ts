/**
 * Simulator speed (`npm run bench:sim`): simulated seconds per wall-clock second for a 5-node ring
 * under a 200 ops/s workload (the mixed read/write workload at R=2, W=2, no faults: the cost of the
 * simulation itself, not of a fault scenario). Prints the figure, the CPU-time figure (the machine
 * may be shared) and the configuration, so the number in BENCHMARKS.md can be reproduced.
 *
 * The same simulation runs `--runs` times in this one process (default 6). The first run is the
 * cold figure: it includes V8 compiling the node and simulator code as it gets hot, a one-time cost
 * of 0.7–1 s on this machine (it varies with the load), a third of a 120 s run. The later runs are
 * the warm figure (their median): what a swarm worker, which runs seed after seed in one process,
 * sees after its first run. The second run is often still partly warming up; the median of five
 * later runs (the default) discounts it. The speed target (≥ 100x real time) is checked against the
 * warm figure, a rate in steady state; the cold one is printed beside it so the one-time cost is
 * not hidden.
 * Every run must produce the same trace hash, or the bench fails: a simulation must not depend on
 * state left in the process by an earlier one.
 *
 *   npm run bench:sim -- [--runs 6] [--duration 120s] [--seed 1] [--ops 200] [--nodes 5] [--wire copy|cbor|reference]
 */
import { createKeyHasher } from '../src/core/ring/index.js';
import { ArgError, intArg, numberArg, parseArgs } from './args.js';
import { wireFrom } from './cli-options.js';
import { deriveConfig, parseDuration } from './config.js';
import { runSimulation } from './runner.js';
import { median } from './stats.js';

const args = parseArgs(process.argv.slice(2), ['duration', 'seed', 'ops', 'nodes', 'clients', 'scenario', 'wire', 'workload', 'runs'], []);
const ops = numberArg(args, 'ops') ?? 200;
const runs = intArg(args, 'runs') ?? 6;
if (!Number.isFinite(ops) || ops <= 0) throw new ArgError('--ops must be positive');
if (runs < 1) throw new ArgError('--runs must be at least 1');
const config = deriveConfig(intArg(args, 'seed') ?? 1, {
  scenario: args.values.get('scenario') ?? 'none',
  workload: (args.values.get('workload') ?? 'mixed') as 'mixed',
  nodes: intArg(args, 'nodes') ?? 5,
  durationMs: parseDuration(args.values.get('duration') ?? '120s'),
  r: 2,
  w: 2,
  latency: 'exp(1)',
  opsPerSecond: ops,
  // Closed-loop clients: enough of them that think time, not request latency, sets the rate.
  clients: intArg(args, 'clients') ?? Math.max(5, Math.round(ops / 10)),
});

const hasher = await createKeyHasher();
const wire = wireFrom(args);
const workloadSeconds = config.durationMs / 1000;
interface Timing { readonly wallSeconds: number; readonly cpuSeconds: number }
const timings: Timing[] = [];
let simSeconds = 0;
let events = 0;
let firstHash: string | undefined;
let failed = false;
for (let i = 0; i < runs; i++) {
  const cpuBefore = process.cpuUsage();
  const result = await runSimulation(config, { hasher, wire });
  const cpu = process.cpuUsage(cpuBefore);
  const timing = { wallSeconds: result.wallMs / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  timings.push(timing);
  simSeconds = result.virtualMs / 1000;
  events = result.events;
  if (i === 0) {
    firstHash = result.traceHash;
    console.log(`${result.seedLine} wire=${wire} node=${process.version}`);
    console.log(`max siblings at the end ${result.facts.maxFinalSiblings ?? '-'}; passed=${result.passed} events=${result.events} messages=${result.facts.messagesSent} ops=${result.facts.ops} ` +
      `(${((result.facts.ops ?? 0) / workloadSeconds).toFixed(0)} ops/s achieved over the ${workloadSeconds}s workload)`);
  } else if (result.traceHash !== firstHash) {
    console.log(`run ${i + 1}: trace ${result.traceHash} differs from the first run's ${firstHash ?? ''}: the simulation is not deterministic`);
    failed = true;
  }
  if (!result.passed) failed = true;
  console.log(`run ${i + 1} ${i === 0 ? '(cold)' : '(warm)'}: simulated ${simSeconds.toFixed(1)} s in ${timing.wallSeconds.toFixed(2)} s wall (${timing.cpuSeconds.toFixed(2)} s CPU)`);
}

function report(label: string, wallSeconds: number, cpuSeconds: number): void {
  console.log(`${label}: simulated ${simSeconds.toFixed(1)} s in ${wallSeconds.toFixed(2)} s wall (${cpuSeconds.toFixed(2)} s CPU)`);
  console.log(`${label} SPEED: ${(simSeconds / wallSeconds).toFixed(0)}x real time (wall clock), ${(simSeconds / cpuSeconds).toFixed(0)}x per CPU second; ` +
    `${(1e6 * wallSeconds / events).toFixed(1)} µs per event`);
}

const cold = timings[0] as Timing;
report('cold', cold.wallSeconds, cold.cpuSeconds);
if (runs > 1) {
  const warm = timings.slice(1);
  report(`warm (median of ${warm.length})`, median(warm.map((t) => t.wallSeconds)), median(warm.map((t) => t.cpuSeconds)));
}
if (failed) process.exitCode = 1;
