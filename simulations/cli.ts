/**
 * The simulator's command line (`npm run sim -- …`).
 *
 *   npm run sim -- --scenario partition-halves --nodes 5 --seed 42 --duration 120s
 *       one run: prints the SEED line with every derived parameter, the checks, the coverage marks;
 *       on a violation, the exact command that replays it, and exits 1.
 *   npm run sim -- --seeds 1-1000 [--jobs 2]
 *       a swarm: every seed with its own derived configuration (options given fix that parameter
 *       for all seeds); prints a summary table (scenarios, violations, coverage); exits 1 if any failed.
 *   npm run sim -- --real --scenario crash-restart --nodes 5 --duration 30s
 *       the same workloads and checkers against a real ring of processes (simulations/chaos).
 *   npm run sim -- --list
 *       the scenarios and workloads.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { createKeyHasher } from '../src/core/ring/index.js';
import { ArgError, intArg, parseArgs } from './args.js';
import { FLAG_OPTIONS, VALUE_OPTIONS, overridesFrom, wireFrom } from './cli-options.js';
import { configProblems, deriveConfig, type ConfigOverrides } from './config.js';
import { COVERAGE_MARKS } from './coverage.js';
import { runSimulation, type SimRunResult } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';
import { parseSeeds, summarize, summaryTable, type RunSummary } from './swarm.js';
import { WORKLOAD_NAMES } from './workloads/index.js';


function printRun(result: SimRunResult): void {
  console.log(result.seedLine);
  console.log(`trace=${result.traceHash} events=${result.events} virtual=${(result.virtualMs / 1000).toFixed(1)}s wall=${(result.wallMs / 1000).toFixed(1)}s ` +
    `speed=${(result.virtualMs / result.wallMs).toFixed(0)}x`);
  for (const line of result.faultLog.slice(0, 40)) console.log(`  fault ${line}`);
  if (result.faultLog.length > 40) console.log(`  … ${result.faultLog.length - 40} more fault events`);
  for (const check of result.checks) {
    console.log(`${check.violations.length === 0 ? 'PASS' : 'FAIL'} ${check.name}: ${check.guarantee}`);
    for (const v of check.violations.slice(0, 10)) console.log(`     ${v}`);
    if (check.violations.length > 10) console.log(`     … ${check.violations.length - 10} more`);
  }
  const c = result.coverage;
  console.log(`coverage: ${COVERAGE_MARKS.map((m) => `${m}=${c[m]}`).join(' ')} suspicions=${c.suspicions} refutations=${c.refutations} ` +
    `restartsSeen=${c.restartsSeen} tombstonesReaped=${c.tombstonesReaped} forwards=${c.forwards} quorumFailures=${c.quorumFailures} timeouts=${c.timeouts} crashes=${c.crashes} ` +
    `pauses=${c.pauses} droppedByPartition=${c.droppedByPartition} droppedByLoss=${c.droppedByLoss} duplicated=${c.duplicated} ` +
    `reordered=${c.reordered} writesLostInCrashes=${c.writesLostInCrashes}`);
  if (result.missedMarks.length > 0) console.log(`coverage marks this scenario usually reaches but this run did not: ${result.missedMarks.join(', ')}`);
  console.log(`facts: ${Object.entries(result.facts).map(([k, v]) => `${k}=${Math.round(v * 10) / 10}`).join(' ')}`);
  const logs = [...result.logCounts].sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (logs.length > 0) console.log(`node log warnings/errors: ${logs.map(([m, n]) => `${n}× ${m}`).join('; ')}`);
  for (const line of result.traceLines) console.log(`  trace ${line}`);
  console.log(result.passed ? 'RESULT: PASS' : `RESULT: FAIL — replay with:\n  ${result.replay}`);
}

async function runSwarm(seeds: readonly number[], overrides: ConfigOverrides, jobs: number, quiet: boolean): Promise<RunSummary[]> {
  const runs: RunSummary[] = [];
  const report = (run: RunSummary): void => {
    runs.push(run);
    if (!quiet || !run.passed) {
      console.log(`${run.passed ? 'PASS' : 'FAIL'} ${run.seedLine} (${(run.virtualMs / 1000).toFixed(0)}s in ${(run.wallMs / 1000).toFixed(1)}s)`);
      for (const v of run.violations.slice(0, 5)) console.log(`     ${v}`);
      if (!run.passed) console.log(`     replay: ${run.replay}`);
    }
  };
  if (jobs <= 1) {
    const hasher = await createKeyHasher();
    for (const seed of seeds) report(summarize(await runSimulation(deriveConfig(seed, overrides), { hasher })));
    return runs;
  }
  const workerUrl = new URL('./swarm-worker.js', import.meta.url);
  const shares: number[][] = Array.from({ length: jobs }, () => []);
  seeds.forEach((seed, i) => shares[i % jobs]?.push(seed));
  await Promise.all(shares.filter((s) => s.length > 0).map((share) => new Promise<void>((resolve, reject) => {
    const worker = new Worker(fileURLToPath(workerUrl), { workerData: { seeds: share, overrides } });
    worker.on('message', (run: RunSummary) => report(run));
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`swarm worker exited with ${code}`))));
  })));
  runs.sort((a, b) => a.seed - b.seed);
  return runs;
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, VALUE_OPTIONS, FLAG_OPTIONS);
  if (args.flags.has('help')) {
    console.log('usage: npm run sim -- [--seed N | --seeds A-B] [--scenario NAME] [--workload NAME] [--nodes N] [--duration 120s] ' +
      '[--n 3 --r 2 --w 2] [--latency MODEL] [--link-spread 2] [--fsync interval|always] [--fsync-interval 1000ms] [--clients N] ' +
      '[--ops N] [--generation incarnation|clock|persisted] [--clock monotonic|wall] [--wire copy|cbor|reference] [--trace LINES] [--log-level none|error|warn|info|debug] [--jobs N] [--quiet] [--real] [--list]');
    return 0;
  }
  if (args.flags.has('list')) {
    for (const s of SCENARIOS) console.log(`scenario ${s.name.padEnd(20)} ${s.description}`);
    console.log(`workloads: ${WORKLOAD_NAMES.join(', ')}`);
    return 0;
  }
  const overrides = overridesFrom(args);
  if (args.flags.has('real')) {
    const { runChaosCli } = await import('./chaos/cli.js');
    return runChaosCli(args, overrides);
  }
  const seedsText = args.values.get('seeds');
  if (seedsText !== undefined) {
    const seeds = parseSeeds(seedsText);
    for (const seed of seeds.slice(0, 1)) {
      const problems = configProblems(deriveConfig(seed, overrides));
      if (problems.length > 0) throw new ArgError(problems.join('; '));
    }
    const jobs = intArg(args, 'jobs') ?? Math.max(1, Math.min(availableParallelism(), seeds.length));
    const wallStart = performance.now();
    const runs = await runSwarm(seeds, overrides, jobs, args.flags.has('quiet'));
    console.log('');
    console.log(summaryTable(runs));
    const virtual = runs.reduce((s, r) => s + r.virtualMs, 0);
    const wall = performance.now() - wallStart;
    console.log(`\n${runs.length} runs, ${runs.filter((r) => !r.passed).length} failed; ${(virtual / 1000).toFixed(0)} simulated s in ` +
      `${(wall / 1000).toFixed(1)} wall s with ${jobs} jobs (${(virtual / wall).toFixed(0)}x real time)`);
    return runs.every((r) => r.passed) ? 0 : 1;
  }
  const config = deriveConfig(intArg(args, 'seed') ?? 1, overrides);
  const problems = configProblems(config);
  if (problems.length > 0) throw new ArgError(problems.join('; '));
  const level = args.values.get('log-level') ?? 'none';
  if (!['none', 'error', 'warn', 'info', 'debug'].includes(level)) throw new ArgError('--log-level is none, error, warn, info or debug');
  const result = await runSimulation(config, {
    hasher: await createKeyHasher(),
    traceLines: intArg(args, 'trace') ?? 0,
    logLevel: level as 'none',
    wire: wireFrom(args),
  });
  printRun(result);
  return result.passed ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ArgError) {
      console.error(`sim: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 3;
    }
  },
);
