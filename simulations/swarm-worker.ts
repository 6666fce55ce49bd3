/**
 * A worker thread of a parallel swarm: runs the seeds it is given, one after another, and posts
 * each run's summary back. The key hasher is created once per worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createKeyHasher } from '../src/core/ring/index.js';
import { deriveConfig, type ConfigOverrides } from './config.js';
import { runSimulation } from './runner.js';
import { summarize } from './swarm.js';

interface WorkerInput {
  readonly seeds: number[];
  readonly overrides: ConfigOverrides;
}

const input = workerData as WorkerInput;
const hasher = await createKeyHasher();
for (const seed of input.seeds) {
  const result = await runSimulation(deriveConfig(seed, input.overrides), { hasher });
  parentPort?.postMessage(summarize(result));
}
