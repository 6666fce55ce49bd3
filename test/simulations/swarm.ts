/**
 * The bounded swarm `npm test` runs: every scenario with three seeds of 30 simulated seconds each,
 * the workloads taking turns, so every scenario meets every workload. Shared by the two swarm test
 * files (split so vitest runs them in parallel).
 */
import { expect } from 'vitest';
import { createKeyHasher } from '../../src/core/ring/index.js';
import { deriveConfig } from '../../simulations/config.js';
import { COVERAGE_MARKS } from '../../simulations/coverage.js';
import { runSimulation, type SimRunResult } from '../../simulations/runner.js';
import { SCENARIO_NAMES, scenarioByName } from '../../simulations/scenarios/index.js';
import { WORKLOAD_NAMES } from '../../simulations/workloads/index.js';

const hasher = await createKeyHasher();

/** Seeds per scenario. */
export const SWARM_SEEDS = [1, 2, 3] as const;
/** Safety phase of each run, virtual ms. */
export const SWARM_DURATION_MS = 30_000;

export async function runScenario(scenario: string): Promise<SimRunResult[]> {
  const index = SCENARIO_NAMES.indexOf(scenario);
  const results: SimRunResult[] = [];
  for (const [k, seed] of SWARM_SEEDS.entries()) {
    const workload = WORKLOAD_NAMES[(index + k) % WORKLOAD_NAMES.length];
    const config = deriveConfig(seed, { scenario, workload, durationMs: SWARM_DURATION_MS, opsPerSecond: 100 });
    // The first seed sends every frame through the real peer frame codec, the others copy them
    // (world/network.ts): both give the same run, and the codec meets every fault.
    results.push(await runSimulation(config, { hasher, wire: k === 0 ? 'cbor' : 'copy' }));
  }
  return results;
}

/** Every run passed every check, and the runs together reached every mark the scenario promises. */
export function expectScenarioHeld(scenario: string, results: readonly SimRunResult[]): void {
  for (const result of results) {
    const failures = result.checks.flatMap((c) => c.violations.slice(0, 3).map((v) => `${c.name}: ${v}`));
    expect(failures, `${result.seedLine}\nreplay: ${result.replay}`).toEqual([]);
  }
  const expected = scenarioByName(scenario)?.expectedMarks ?? [];
  const reached = COVERAGE_MARKS.filter((mark) => results.some((r) => r.coverage[mark] > 0));
  expect(reached, `coverage of ${scenario}: ${results.map((r) => r.seedLine).join(' / ')}`).toEqual(expect.arrayContaining([...expected]));
}
