/**
 * Register writes with contexts by concurrent clients: a few hot keys; each operation reads a key
 * and writes a new value with the read's context (so it supersedes exactly what it read), and a
 * fraction of writes are blind (no context), which must become siblings. Concurrent writers to
 * one key create siblings; later read-modify-writes resolve them.
 *
 * Guarantee checked (causal.ts): every acknowledged write is a final sibling or was observed by a
 * write that took effect; no final sibling was never written.
 */
import type { Random } from '../../src/core/env.js';
import { chance } from '../world/seeds.js';
import type { FinalRead, KvClient, OpRecord, Workload, WorkloadCheck, WorkloadOptions, WorkloadRuntime } from './client.js';
import { checkCausalWrites, decodeWriteId, encodeWriteId, type CausalDelete, type CausalWrite } from './causal.js';
import { clientLoop, recorded } from './loop.js';

export interface RegisterOptions extends WorkloadOptions {
  /** Hot keys. Default 3: concurrent clients collide on them. */
  readonly keys?: number | undefined;
  /** Fraction of writes sent without a context, 0..1. Default 0.1. */
  readonly blindWriteFraction?: number | undefined;
  /** Size of each value, bytes (at least 5). Default 16. */
  readonly valueBytes?: number | undefined;
}

export class RegisterWorkload implements Workload {
  readonly name: string = 'register';
  readonly history: OpRecord[] = [];
  protected readonly writes = new Map<number, CausalWrite>();
  protected readonly deletes: CausalDelete[] = [];
  protected nextId = 1;
  protected readonly keyNames: string[];

  constructor(protected readonly options: RegisterOptions = {}, prefix = 'reg') {
    this.keyNames = Array.from({ length: options.keys ?? 3 }, (_, i) => `${prefix}-${i}`);
  }

  runClient(index: number, client: KvClient, runtime: WorkloadRuntime, random: Random, stopped: () => boolean): Promise<void> {
    return clientLoop(runtime, random, this.options, stopped, async () => {
      const key = this.keyNames[random.int(this.keyNames.length)] as string;
      if (chance(random, this.options.blindWriteFraction ?? 0.1)) {
        await this.write(index, client, runtime, key, undefined, []);
        return;
      }
      const read = await this.read(index, client, runtime, key);
      if (read === undefined) return;
      await this.write(index, client, runtime, key, read.context, read.observed);
    });
  }

  protected async read(index: number, client: KvClient, runtime: WorkloadRuntime, key: string): Promise<{ context: string; observed: number[] } | undefined> {
    const read = await recorded(this.history, runtime, index, 'read', key, () => client.get(key, { r: this.options.r }));
    if (read === undefined) return undefined;
    const observed: number[] = [];
    for (const value of read.values) {
      const id = decodeWriteId(value);
      if (id !== undefined) observed.push(id);
    }
    return { context: read.context, observed };
  }

  /** Writes a fresh id; resolves with the id and the context the node returned, or undefined. */
  protected async write(
    index: number, client: KvClient, runtime: WorkloadRuntime, key: string, context: string | undefined, observed: readonly number[],
  ): Promise<{ id: number; context: string } | undefined> {
    const id = this.nextId++;
    const record: CausalWrite = { id, key, observed, acked: false };
    this.writes.set(id, record);
    const value = encodeWriteId(id, this.options.valueBytes ?? 16);
    const result = await recorded(this.history, runtime, index, 'write', key, () => client.put(key, value, { context, w: this.options.w }));
    if (result === undefined) return undefined;
    record.acked = true;
    return { id, context: result.context };
  }

  /** Deletes the key with the given context; resolves with the context the node returned, or undefined. */
  protected async remove(
    index: number, client: KvClient, runtime: WorkloadRuntime, key: string, context: string | undefined, observed: readonly number[], certain: boolean,
  ): Promise<{ context: string } | undefined> {
    const record: CausalDelete = { key, observed, certain, acked: false };
    this.deletes.push(record);
    const result = await recorded(this.history, runtime, index, 'delete', key, () => client.delete(key, { context, w: this.options.w }));
    if (result === undefined) return undefined;
    record.acked = true;
    return result;
  }

  keys(): string[] {
    return [...this.keyNames];
  }

  check(finals: ReadonlyMap<string, FinalRead>, durabilityExpected: boolean): WorkloadCheck {
    return checkCausalWrites(this.writes, this.keyNames, finals, durabilityExpected, this.deletes);
  }
}
