/**
 * The closed-loop client shape every workload shares: think, do one operation, repeat until told
 * to stop. Think times are exponential with mean clients / opsPerSecond, so the clients together
 * offer about `opsPerSecond` operations per second to a cluster that keeps up.
 */
import type { Random } from '../../src/core/env.js';
import { exponential } from '../world/seeds.js';
import { outcomeOf, type KvClient, type OpRecord, type WorkloadOptions, type WorkloadRuntime } from './client.js';

export const DEFAULT_CLIENTS = 5;
export const DEFAULT_OPS_PER_SECOND = 100;

export function meanThinkMs(options: WorkloadOptions): number {
  const clients = options.clients ?? DEFAULT_CLIENTS;
  const rate = options.opsPerSecond ?? DEFAULT_OPS_PER_SECOND;
  return (1000 * clients) / rate;
}

/** Runs `operation` in a think/operate loop until `stopped()`; never rejects. */
export async function clientLoop(
  runtime: WorkloadRuntime, random: Random, options: WorkloadOptions, stopped: () => boolean, operation: () => Promise<void>,
): Promise<void> {
  const mean = meanThinkMs(options);
  while (!stopped()) {
    await runtime.sleep(exponential(random, mean));
    if (stopped()) return;
    await operation();
  }
}

/** Records one request in `history` and returns its result, or undefined when it failed. */
export async function recorded<T>(
  history: OpRecord[], runtime: WorkloadRuntime, clientIndex: number, kind: 'read' | 'write' | 'delete', key: string, request: () => Promise<T>,
  onRecord?: (record: OpRecord) => void,
): Promise<T | undefined> {
  const record: OpRecord = { client: clientIndex, kind, key, startMs: runtime.now(), endMs: Number.NaN, outcome: 'info' };
  history.push(record);
  onRecord?.(record);
  try {
    const result = await request();
    record.endMs = runtime.now();
    record.outcome = 'ok';
    return result;
  } catch (err) {
    record.endMs = runtime.now();
    const { outcome, error } = outcomeOf(kind, err);
    record.outcome = outcome;
    record.error = error;
    return undefined;
  }
}

export type { KvClient };
