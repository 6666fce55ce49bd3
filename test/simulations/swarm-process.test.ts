/**
 * The bounded swarm, process half: crashes with lost unsynced writes, pauses, clock skew, message
 * duplication and reordering, everything at once, and the fault-free baseline (see
 * test/simulations/swarm.ts for what a green run means).
 */
import { describe, test } from 'vitest';
import { expectScenarioHeld, runScenario } from './swarm.js';

describe.each(['none', 'crash-restart', 'restart-clock-step', 'pause', 'clock-skew', 'packet-duplication', 'packet-reorder', 'mixed'])('scenario %s', (scenario) => {
  test('holds every check and reaches its coverage marks', async () => {
    // Shows the scenario's safety and liveness guarantees on three seeds (one per workload), and the hard paths it exercises.
    expectScenarioHeld(scenario, await runScenario(scenario));
  }, 120_000);
});
