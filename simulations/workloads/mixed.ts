/**
 * A mixed read/write load with configurable R and W over a wider key space: each operation is a
 * read (probability `readFraction`) or a write. A write passes the context the client last got for
 * the key — from its last read, or, with probability `chainFraction`, from its own last write's
 * reply (the SDK documents that a put's context may be passed to a following write) — or no
 * context at all when the client has none (a blind write).
 *
 * Guarantee checked (causal.ts): every acknowledged write is a final sibling or was observed by a
 * write that took effect; no final sibling was never written.
 */
import type { Random } from '../../src/core/env.js';
import { chance } from '../world/seeds.js';
import type { KvClient, WorkloadRuntime } from './client.js';
import { clientLoop } from './loop.js';
import { RegisterWorkload, type RegisterOptions } from './register.js';

export interface MixedOptions extends RegisterOptions {
  /** Fraction of operations that are reads, 0..1. Default 0.5. */
  readonly readFraction?: number | undefined;
  /**
   * Fraction of writes that pass the context returned by the client's previous write of the key
   * (observing only that write) instead of the context of its last read, 0..1. Default 0.3.
   */
  readonly chainFraction?: number | undefined;
  /**
   * Fraction of non-read operations that delete the key (with the context the client holds, which
   * makes a tombstone that supersedes what it observed; reaping later removes it), 0..1. Default 0.1.
   */
  readonly deleteFraction?: number | undefined;
}

interface Known {
  readonly context: string;
  readonly observed: readonly number[];
}

export class MixedWorkload extends RegisterWorkload {
  override readonly name = 'mixed';

  constructor(private readonly mixed: MixedOptions = {}) {
    super({ ...mixed, keys: mixed.keys ?? 50 }, 'kv');
  }

  override runClient(index: number, client: KvClient, runtime: WorkloadRuntime, random: Random, stopped: () => boolean): Promise<void> {
    // What this client last got for each key, by the key's index (the keys are fixed): an array
    // slot per key costs less than a Map whose entries are deleted and added again every operation.
    const lastRead: Array<Known | undefined> = new Array<Known | undefined>(this.keyNames.length).fill(undefined);
    const lastWrite: Array<Known | undefined> = new Array<Known | undefined>(this.keyNames.length).fill(undefined);
    return clientLoop(runtime, random, this.options, stopped, async () => {
      const k = random.int(this.keyNames.length);
      const key = this.keyNames[k] as string;
      if (chance(random, this.mixed.readFraction ?? 0.5)) {
        const read = await this.read(index, client, runtime, key);
        if (read !== undefined) lastRead[k] = read;
        return;
      }
      const chained = chance(random, this.mixed.chainFraction ?? 0.3) ? lastWrite[k] : undefined;
      const known = chained ?? lastRead[k];
      if (chance(random, this.mixed.deleteFraction ?? 0.1)) {
        const deleted = await this.remove(index, client, runtime, key, known?.context, known?.observed ?? [], chained === undefined);
        lastRead[k] = undefined;
        lastWrite[k] = deleted !== undefined ? { context: deleted.context, observed: [] } : undefined;
        return;
      }
      const written = await this.write(index, client, runtime, key, known?.context, known?.observed ?? []);
      // The read's context is used up: the next write either reads again, chains, or goes blind.
      lastRead[k] = undefined;
      lastWrite[k] = written !== undefined ? { context: written.context, observed: [written.id] } : undefined;
    });
  }
}
