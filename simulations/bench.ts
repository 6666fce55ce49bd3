/**
 * Simulator speed (`npm run bench:sim`): simulated seconds per wall-clock second for a 5-node ring
 * under a 200 ops/s workload (the mixed read/write workload at R=2, W=2, no faults: the cost of the
 * simulation itself, not of a fault scenario). Prints the figure, the CPU-time figure (the machine
 * may be shared) and the configuration, so the number in BENCHMARKS.md can be reproduced.
 *
 *   npm run bench:sim -- [--duration 120s] [--seed 1] [--ops 200] [--nodes 5] [--wire copy|cbor|reference]
 */
import { createKeyHasher } from '../src/core/ring/index.js';
import { ArgError, intArg, numberArg, parseArgs } from './args.js';
import { wireFrom } from './cli-options.js';
import { deriveConfig, parseDuration } from './config.js';
import { runSimulation } from './runner.js';

const args = parseArgs(process.argv.slice(2), ['duration', 'seed', 'ops', 'nodes', 'clients', 'scenario', 'wire', 'workload'], []);
const ops = numberArg(args, 'ops') ?? 200;
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
if (!Number.isFinite(ops) || ops <= 0) throw new ArgError('--ops must be positive');

const hasher = await createKeyHasher();
const cpuBefore = process.cpuUsage();
const wire = wireFrom(args);
const result = await runSimulation(config, { hasher, wire });
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const simSeconds = result.virtualMs / 1000;
const wallSeconds = result.wallMs / 1000;
const workloadSeconds = config.durationMs / 1000;
console.log(`${result.seedLine} wire=${wire}`);
console.log(`max siblings at the end ${result.facts.maxFinalSiblings ?? '-'}; passed=${result.passed} events=${result.events} messages=${result.facts.messagesSent} ops=${result.facts.ops} ` +
  `(${((result.facts.ops ?? 0) / workloadSeconds).toFixed(0)} ops/s achieved over the ${workloadSeconds}s workload)`);
console.log(`simulated ${simSeconds.toFixed(1)} s in ${wallSeconds.toFixed(2)} s wall (${cpuSeconds.toFixed(2)} s CPU)`);
console.log(`SPEED: ${(simSeconds / wallSeconds).toFixed(0)}x real time (wall clock), ${(simSeconds / cpuSeconds).toFixed(0)}x per CPU second; ` +
  `${(1e6 * wallSeconds / result.events).toFixed(1)} µs per event`);
if (!result.passed) process.exitCode = 1;
