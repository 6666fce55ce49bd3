/**
 * The bounded swarm, network half: partitions of every shape and message faults. A green run means
 * no acknowledged write was lost, replicas converged, hints were handed off, membership agreed in
 * time, and each scenario reached the coverage marks it promises (see test/simulations/swarm.ts).
 */
import { describe, test } from 'vitest';
import { expectScenarioHeld, runScenario } from './swarm.js';

describe.each(['partition-halves', 'isolate-one', 'majorities-ring', 'bridge', 'one-way', 'packet-loss'])('scenario %s', (scenario) => {
  test('holds every check and reaches its coverage marks', async () => {
    // Shows the scenario's safety and liveness guarantees on three seeds (one per workload), and the hard paths it exercises.
    expectScenarioHeld(scenario, await runScenario(scenario));
  }, 120_000);
});
