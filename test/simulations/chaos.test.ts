/**
 * The real-process chaos run: the simulator's workload, scenario and checkers against five real
 * node processes on 127.0.0.1 that are killed (-9), paused (SIGSTOP) and partitioned.
 */
import { expect, test } from 'vitest';
import { runChaos } from '../../simulations/chaos/runner.js';

test('a 5-process ring under kills, pauses and partitions loses no acknowledged add and converges', async () => {
  // Shows the checkers hold on real processes, and that the run really injected each kind of fault.
  const result = await runChaos({
    scenario: 'mixed',
    workload: 'set-add',
    nodes: 5,
    durationMs: 15_000,
    seed: 3,
    opsPerSecond: 60,
    // Short quiet and fault windows, so 15 s hold several faults of each kind.
    nemesis: { faultQuietMinMs: 1000, faultQuietMaxMs: 2000, faultActiveMinMs: 1500, faultActiveMaxMs: 4000 },
  });
  const failures = result.checks.filter((c) => c.violations.length > 0).map((c) => `${c.name}: ${c.violations.slice(0, 3).join('; ')}`);
  expect(failures, `${result.description}\n${result.faultLog.join('\n')}`).toEqual([]);
  const log = result.faultLog.join('\n');
  expect(log).toMatch(/kill -9/);
  expect(log).toMatch(/partition/);
  expect(result.facts.acknowledged).toBeGreaterThan(30);
  expect(result.facts.unreadKeys).toBe(0);
}, 90_000);
