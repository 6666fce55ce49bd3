/**
 * The seeds that found bugs, replayed: each failed before its fix in src/core/replication (see the
 * commit that names the seed) and must keep passing.
 */
import { describe, expect, test } from 'vitest';
import { createKeyHasher } from '../../src/core/ring/index.js';
import { deriveConfig, type ConfigOverrides } from '../../simulations/config.js';
import { runSimulation } from '../../simulations/runner.js';

const hasher = await createKeyHasher();

const FOUND: ReadonlyArray<{ readonly bug: string; readonly seed: number; readonly config: ConfigOverrides }> = [
  {
    bug: 'a put\'s reply context covered siblings the client never saw (acknowledged writes lost when chaining)',
    seed: 1,
    config: { scenario: 'none', workload: 'mixed', nodes: 5, durationMs: 30_000, r: 2, w: 2, latency: '0.9*exp(2)+0.1*pareto(2,1.5)', clients: 5, opsPerSecond: 100 },
  },
  {
    bug: 'an actor was continued after a reap, re-minting a dot (kv679)',
    seed: 37,
    config: { scenario: 'pause', workload: 'mixed', nodes: 4, durationMs: 30_000, r: 2, w: 1, latency: 'exp(1)', clients: 4, opsPerSecond: 200 },
  },
  {
    bug: 'a read racing a reap restored a tombstone that was never reaped again (replicas never converged)',
    seed: 88,
    config: { scenario: 'packet-reorder', workload: 'mixed', nodes: 7, durationMs: 30_000, r: 2, w: 1, latency: 'const(0.5)', clients: 7, opsPerSecond: 50 },
  },
  {
    bug: 'a read held open by a lost reply repaired with pre-delete answers after the reap (deleted values came back)',
    seed: 887,
    config: { scenario: 'packet-loss', workload: 'mixed', nodes: 4, durationMs: 60_000, r: 2, w: 1, latency: 'const(0.5)', clients: 4, opsPerSecond: 200 },
  },
  {
    bug: 'tombstones were reaped while a primary that had lost its unsynced tombstone in a crash still held the values',
    seed: 2397,
    config: { scenario: 'crash-restart', workload: 'mixed', nodes: 7, durationMs: 60_000, r: 1, w: 2, latency: '0.8*exp(0.2)+0.2*pareto(10,2)', clients: 7, opsPerSecond: 200 },
  },
  {
    bug: 'a hint held by a fallback that was down during the reap was delivered afterwards and brought deleted values back',
    seed: 1359,
    config: { scenario: 'mixed', workload: 'mixed', nodes: 7, durationMs: 60_000, r: 1, w: 2, latency: 'const(0.5)', linkLatencySpread: 2, fsync: 'interval', fsyncIntervalMs: 1000, clients: 7, opsPerSecond: 100 },
  },
];

describe.each(FOUND)('seed $seed', ({ bug, seed, config }) => {
  test(`no longer fails: ${bug}`, async () => {
    // Shows the fixed bug stays fixed on the exact run that found it.
    const result = await runSimulation(deriveConfig(seed, config), { hasher });
    const failures = result.checks.flatMap((c) => c.violations.slice(0, 3).map((v) => `${c.name}: ${v}`));
    expect(failures, result.replay).toEqual([]);
  }, 60_000);
});
