/**
 * Unique write ids inside values, and the lost-write checker for registers written with contexts.
 *
 * Every write puts a value carrying a fresh id and records the ids it observed (the siblings of the
 * read whose context it passes; none for a blind write). A write legitimately disappears only when
 * a later write that observed it took effect. So the writes that took effect are the final
 * siblings plus, transitively, everything an effective write observed:
 *
 *     E = final ∪ { o : o ∈ observed(x), x ∈ E }
 *
 * and an acknowledged write outside E was lost: no write that saw it survived, yet it is gone. A
 * sibling whose id was never written is a phantom.
 *
 * Deletes are tombstones, invisible in the final state, so every attempted delete counts as having
 * taken effect (its observed writes join E: sound, if weaker for writes only a delete saw). And an
 * acknowledged delete supersedes what it observed for good: a final sibling it observed was
 * resurrected (the tombstone was lost, or reaped while a stale copy survived somewhere).
 */
import type { FinalRead, WorkloadCheck } from './client.js';

/** What the history keeps about one attempted write. */
export interface CausalWrite {
  readonly id: number;
  readonly key: string;
  /** Ids the writer observed (and so supersedes through its context). */
  readonly observed: readonly number[];
  acked: boolean;
}

/** What the history keeps about one attempted delete. */
export interface CausalDelete {
  readonly key: string;
  readonly observed: readonly number[];
  /**
   * True when the context came from a read, so it certainly covers `observed`. A context from a
   * write's reply may leave that write out (coordinator.ts writeReplyClock), so a chained delete
   * only may supersede what it lists, and is not held to the resurrection check.
   */
  readonly certain: boolean;
  acked: boolean;
}

const MAGIC = 0x52; // 'R': marks a register value

/** A value of `sizeBytes` (at least 5) carrying write `id`. */
export function encodeWriteId(id: number, sizeBytes: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(5, sizeBytes));
  bytes[0] = MAGIC;
  // The id as a little-endian uint32, byte by byte: no DataView per value.
  bytes[1] = id & 0xff;
  bytes[2] = (id >>> 8) & 0xff;
  bytes[3] = (id >>> 16) & 0xff;
  bytes[4] = (id >>> 24) & 0xff;
  for (let i = 5; i < bytes.length; i++) bytes[i] = (id + i) & 0xff;
  return bytes;
}

/** The write id in a value, or undefined when the value is not a register value. */
export function decodeWriteId(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 5 || bytes[0] !== MAGIC) return undefined;
  return ((bytes[1] as number) | ((bytes[2] as number) << 8) | ((bytes[3] as number) << 16) | ((bytes[4] as number) << 24)) >>> 0;
}

export function checkCausalWrites(
  writes: ReadonlyMap<number, CausalWrite>, keys: readonly string[], finals: ReadonlyMap<string, FinalRead>, durabilityExpected: boolean,
  deletes: readonly CausalDelete[] = [],
): WorkloadCheck {
  const violations: string[] = [];
  const facts = {
    acknowledged: 0, attempted: writes.size, finalSiblings: 0, lost: 0, supersededLegitimately: 0, phantoms: 0, unreadKeys: 0, maxFinalSiblings: 0,
    deletesAcknowledged: deletes.filter((d) => d.acked).length, resurrected: 0,
  };
  const byKey = new Map<string, CausalWrite[]>();
  for (const w of writes.values()) {
    if (w.acked) facts.acknowledged++;
    let list = byKey.get(w.key);
    if (list === undefined) {
      list = [];
      byKey.set(w.key, list);
    }
    list.push(w);
  }
  // Each key's deletes in history order, so the loop below visits every delete once, not once per key.
  const deletesByKey = new Map<string, CausalDelete[]>();
  for (const d of deletes) {
    let list = deletesByKey.get(d.key);
    if (list === undefined) {
      list = [];
      deletesByKey.set(d.key, list);
    }
    list.push(d);
  }
  for (const key of keys) {
    const keyWrites = byKey.get(key) ?? [];
    const final = finals.get(key);
    if (final?.values === undefined) {
      facts.unreadKeys++;
      const acked = keyWrites.filter((w) => w.acked).length;
      if (acked > 0) violations.push(`register ${key}: the final read failed (${final?.error ?? 'not read'}), so ${acked} acknowledged writes cannot be checked`);
      continue;
    }
    facts.finalSiblings += final.values.length;
    facts.maxFinalSiblings = Math.max(facts.maxFinalSiblings, final.values.length);
    const effective = new Set<number>();
    const stack: number[] = [];
    for (const value of final.values) {
      const id = decodeWriteId(value);
      const write = id === undefined ? undefined : writes.get(id);
      if (id === undefined || write === undefined || write.key !== key) {
        facts.phantoms++;
        violations.push(`register ${key}: a final sibling ${id === undefined ? 'is not a register value' : `carries id ${id}, never written to this key`}`);
        continue;
      }
      if (!effective.has(id)) {
        effective.add(id);
        stack.push(id);
      }
    }
    const finalIds = new Set(effective);
    for (const d of deletesByKey.get(key) ?? []) {
      for (const o of d.observed) {
        if (!effective.has(o)) {
          effective.add(o);
          stack.push(o);
        }
      }
      const back = d.acked && d.certain ? d.observed.filter((o) => finalIds.has(o)) : [];
      facts.resurrected += back.length;
      if (back.length > 0 && durabilityExpected) {
        violations.push(`register ${key}: ids ${back.join(', ')} came back after an acknowledged delete that had observed them`);
      }
    }
    // The heaviest loop of the check (a write observes every sibling its read saw), run once per
    // run: an indexed loop, no iterator and no empty array per write.
    while (stack.length > 0) {
      const observed = writes.get(stack.pop() as number)?.observed;
      if (observed === undefined) continue;
      for (let i = 0; i < observed.length; i++) {
        const o = observed[i] as number;
        if (!effective.has(o)) {
          effective.add(o);
          stack.push(o);
        }
      }
    }
    // One pass over the key's writes (this code runs once per run, mostly unoptimised).
    const lost: number[] = [];
    for (const w of keyWrites) {
      if (!w.acked) continue;
      if (effective.has(w.id)) facts.supersededLegitimately++;
      else lost.push(w.id);
    }
    lost.sort((a, b) => a - b);
    facts.lost += lost.length;
    if (lost.length > 0 && durabilityExpected) {
      violations.push(`register ${key}: ${lost.length} acknowledged writes lost (no surviving write observed them): ids ${lost.slice(0, 10).join(', ')}${lost.length > 10 ? ', …' : ''}`);
    }
  }
  return {
    guarantee: 'every acknowledged write is a final sibling or was observed by a write that took effect (siblings counted), and no final sibling was never written',
    violations,
    facts,
  };
}
