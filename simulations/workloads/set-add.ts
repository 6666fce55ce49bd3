/**
 * The set-add workload, as Jepsen's Riak set test: each client adds unique elements to a set kept
 * under one key. To add, a client reads the key, takes the union of the sibling sets (siblings are
 * concurrent versions, and the union is the right merge for a grow-only set), adds its element and
 * writes the result back with the read's context.
 *
 * Guarantee checked: after quiescence, the union of the siblings of every key contains every
 * element whose write was acknowledged, and no element that was never written. With last-write-wins
 * Jepsen saw 72–92% of acknowledged adds lost under partitions; with siblings, none may be.
 *
 * Values are sorted uint32 elements (little-endian). A key takes at most `elementsPerKey` adds, then
 * the workload moves to a fresh key, so values stay small however long the run.
 */
import type { Random } from '../../src/core/env.js';
import type { FinalRead, KvClient, OpRecord, Workload, WorkloadCheck, WorkloadOptions, WorkloadRuntime } from './client.js';
import { clientLoop, recorded } from './loop.js';

export interface SetAddOptions extends WorkloadOptions {
  /** Set keys written concurrently. Default 3: few keys make clients collide and siblings form. */
  readonly activeKeys?: number | undefined;
  /** Adds attempted on one key before it is retired for a fresh key, elements. Default 100 (values ≤ 400 bytes). */
  readonly elementsPerKey?: number | undefined;
}

export function encodeSet(elements: Iterable<number>): Uint8Array {
  const sorted = [...elements].sort((a, b) => a - b);
  const bytes = new Uint8Array(sorted.length * 4);
  const view = new DataView(bytes.buffer);
  sorted.forEach((e, i) => view.setUint32(i * 4, e, true));
  return bytes;
}

/** The elements of a set value; undefined when the bytes are not a set value at all. */
export function decodeSet(bytes: Uint8Array): number[] | undefined {
  if (bytes.byteLength % 4 !== 0) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.byteLength; i += 4) out.push(view.getUint32(i, true));
  return out;
}

interface Slot {
  key: string;
  generation: number;
  attempts: number;
}

export class SetAddWorkload implements Workload {
  readonly name = 'set-add';
  readonly history: OpRecord[] = [];
  private nextElement = 1;
  private readonly slots: Slot[];
  private readonly attempted = new Map<string, Set<number>>();
  private readonly acked = new Map<string, Set<number>>();
  private readonly elementsPerKey: number;

  constructor(private readonly options: SetAddOptions = {}) {
    const active = options.activeKeys ?? 3;
    this.elementsPerKey = options.elementsPerKey ?? 100;
    this.slots = Array.from({ length: active }, (_, i) => ({ key: `set-${i}-0`, generation: 0, attempts: 0 }));
    for (const slot of this.slots) this.attempted.set(slot.key, new Set());
  }

  runClient(index: number, client: KvClient, runtime: WorkloadRuntime, random: Random, stopped: () => boolean): Promise<void> {
    return clientLoop(runtime, random, this.options, stopped, () => this.addOne(index, client, runtime, random));
  }

  private takeSlot(random: Random): { key: string; element: number } {
    const slotIndex = random.int(this.slots.length);
    const slot = this.slots[slotIndex] as Slot;
    const key = slot.key;
    const element = this.nextElement++;
    slot.attempts++;
    if (slot.attempts >= this.elementsPerKey) {
      slot.generation++;
      slot.attempts = 0;
      slot.key = `set-${slotIndex}-${slot.generation}`;
      this.attempted.set(slot.key, new Set());
    }
    return { key, element };
  }

  private async addOne(index: number, client: KvClient, runtime: WorkloadRuntime, random: Random): Promise<void> {
    const { key, element } = this.takeSlot(random);
    const read = await recorded(this.history, runtime, index, 'read', key, () => client.get(key, { r: this.options.r }));
    if (read === undefined) return;
    const union = new Set<number>();
    for (const value of read.values) for (const e of decodeSet(value) ?? []) union.add(e);
    union.add(element);
    this.attempted.get(key)?.add(element);
    const written = await recorded(this.history, runtime, index, 'write', key,
      () => client.put(key, encodeSet(union), { context: read.context, w: this.options.w }));
    if (written === undefined) return;
    let acked = this.acked.get(key);
    if (acked === undefined) {
      acked = new Set();
      this.acked.set(key, acked);
    }
    acked.add(element);
  }

  keys(): string[] {
    return [...this.attempted.keys()].sort();
  }

  check(finals: ReadonlyMap<string, FinalRead>, durabilityExpected: boolean): WorkloadCheck {
    const violations: string[] = [];
    const facts = { acknowledged: 0, attempted: 0, present: 0, lost: 0, unacknowledgedPresent: 0, phantoms: 0, unreadKeys: 0 };
    for (const key of this.keys()) {
      const attempted = this.attempted.get(key) ?? new Set<number>();
      const acked = this.acked.get(key) ?? new Set<number>();
      facts.attempted += attempted.size;
      facts.acknowledged += acked.size;
      const final = finals.get(key);
      if (final?.values === undefined) {
        facts.unreadKeys++;
        if (acked.size > 0) violations.push(`set ${key}: the final read failed (${final?.error ?? 'not read'}), so ${acked.size} acknowledged adds cannot be checked`);
        continue;
      }
      const present = new Set<number>();
      for (const value of final.values) {
        const elements = decodeSet(value);
        if (elements === undefined) {
          violations.push(`set ${key}: a sibling of ${value.byteLength} bytes is not a set value`);
          continue;
        }
        for (const e of elements) present.add(e);
      }
      const lost = [...acked].filter((e) => !present.has(e)).sort((a, b) => a - b);
      const phantoms = [...present].filter((e) => !attempted.has(e)).sort((a, b) => a - b);
      facts.present += present.size;
      facts.lost += lost.length;
      facts.phantoms += phantoms.length;
      facts.unacknowledgedPresent += [...present].filter((e) => attempted.has(e) && !acked.has(e)).length;
      if (lost.length > 0 && durabilityExpected) {
        violations.push(`set ${key}: ${lost.length} acknowledged adds lost: ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? ', …' : ''}`);
      }
      if (phantoms.length > 0) violations.push(`set ${key}: elements never written appeared: ${phantoms.slice(0, 10).join(', ')}`);
    }
    return {
      guarantee: 'every acknowledged add is in the union of the final siblings of its set (siblings counted), and nothing never written is',
      violations,
      facts,
    };
  }
}
