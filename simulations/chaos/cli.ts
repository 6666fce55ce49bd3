/**
 * `npm run sim -- --real …`: the real-process chaos run from the simulator's command line. Takes the
 * same --scenario, --workload, --nodes, --duration, --seed, --r, --w, --clients, --ops options
 * (derived from the seed when not given, as for a simulated run); prints the checks and exits 1
 * on a violation.
 */
import { ArgError, intArg, type ParsedArgs } from '../args.js';
import { deriveConfig, type ConfigOverrides } from '../config.js';
import { scenarioByName } from '../scenarios/index.js';
import { runChaos } from './runner.js';

export async function runChaosCli(args: ParsedArgs, overrides: ConfigOverrides): Promise<number> {
  const seed = intArg(args, 'seed') ?? 1;
  // Real runs default to the mixed scenario and 30 s; the other parameters derive from the seed as usual.
  const config = deriveConfig(seed, { durationMs: 30_000, scenario: 'mixed', ...overrides });
  const scenario = scenarioByName(config.scenario);
  if (scenario === undefined) throw new ArgError(`unknown scenario ${config.scenario}`);
  if (scenario.requires.length > 0) throw new ArgError(`scenario ${scenario.name} needs ${scenario.requires.join(' and ')}: simulator only`);
  const result = await runChaos({
    scenario: scenario.name,
    workload: config.workload, nodes: config.nodes, durationMs: config.durationMs, seed, nVal: config.nVal, r: config.r, w: config.w,
    clients: config.clients, opsPerSecond: config.opsPerSecond,
  });
  console.log(result.description);
  for (const line of result.faultLog) console.log(`  fault ${line}`);
  for (const check of result.checks) {
    console.log(`${check.violations.length === 0 ? 'PASS' : 'FAIL'} ${check.name}: ${check.guarantee}`);
    for (const v of check.violations.slice(0, 10)) console.log(`     ${v}`);
  }
  console.log(`coverage (processes alive at the end): ${Object.entries(result.coverage).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`facts: ${Object.entries(result.facts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`${result.passed ? 'RESULT: PASS' : 'RESULT: FAIL'} in ${(result.wallMs / 1000).toFixed(1)} s`);
  return result.passed ? 0 : 1;
}
