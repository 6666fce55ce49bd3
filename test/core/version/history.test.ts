// Model-based checks of the whole versioning scheme: random histories of writes at 2-4
// coordinators, with contexts taken from earlier states or reads, replica states delivered in
// random orders (stale ones included), against a ghost model that tracks which writes each state
// has causally seen. A write is superseded exactly when a later write's context had seen it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyWrite,
  equalObjects,
  mergeObjects,
  pruneObject,
  reconcile,
  type KvObject,
} from '../../../src/core/version/object.js';
import { emptyClock, get, type VClock } from '../../../src/core/version/vclock.js';
import { dotKey, objectInvariantProblem } from './arbitraries.js';

type Op =
  | { kind: 'write'; node: number; context: 'blind' | { snapshot: number } | { read: number }; del: boolean; advanceMs: number }
  | { kind: 'sync'; from: number; to: number; snapshot: number; advanceMs: number }
  | { kind: 'prune'; node: number; advanceMs: number };

/** A replica state and, as ghost state, the ids of every write it has causally seen. */
interface State {
  readonly obj: KvObject | undefined;
  readonly seen: ReadonlySet<number>;
}

interface WriteRecord {
  readonly dot: string;
  readonly value: string | null;
}

interface Outcome {
  readonly final: KvObject;
  readonly finalInOtherOrder: KvObject;
  readonly states: readonly State[];
  readonly writes: readonly WriteRecord[];
  /** Writes some later write's context had seen. */
  readonly superseded: ReadonlySet<number>;
  readonly prunesThatDropped: number;
}

const PRUNE = { smallVclockEntries: 1, bigVclockEntries: 1, youngVclockMs: 20_000, oldVclockMs: 0 };

function run(nodeCount: number, ops: readonly Op[], order: readonly number[]): Outcome {
  const nodeIds = ['a', 'b', 'c', 'd'].slice(0, nodeCount);
  const states: State[] = nodeIds.map(() => ({ obj: undefined, seen: new Set() }));
  const snapshots: { node: number; state: State }[] = [];
  const writes: WriteRecord[] = [];
  const superseded = new Set<number>();
  let nowMs = 1_000_000;
  let prunesThatDropped = 0;

  for (const op of ops) {
    nowMs += op.advanceMs;
    if (op.kind === 'write') {
      const node = op.node % nodeCount;
      let context: VClock | undefined;
      let contextSeen: ReadonlySet<number> = new Set();
      if (op.context !== 'blind' && 'snapshot' in op.context && snapshots.length > 0) {
        const snap = snapshots[op.context.snapshot % snapshots.length]!.state;
        context = snap.obj?.clock ?? emptyClock();
        contextSeen = snap.seen;
      } else if (op.context !== 'blind' && 'read' in op.context) {
        // A quorum read: reconcile of the replicas selected by the bit mask (at least one).
        const mask = (op.context.read % (2 ** nodeCount - 1)) + 1;
        const chosen = states.filter((_, i) => (mask >> i) & 1);
        context = reconcile(chosen.flatMap((s) => (s.obj === undefined ? [] : [s.obj]))).clock;
        contextSeen = new Set(chosen.flatMap((s) => [...s.seen]));
      }
      const id = writes.length;
      const value = op.del ? null : `w${id}`;
      const before = states[node]!;
      const obj = applyWrite(before.obj, context, nodeIds[node]!, value === null ? null : new TextEncoder().encode(value), nowMs);
      writes.push({ dot: dotKey([nodeIds[node]!, get(obj.clock, nodeIds[node]!)]), value });
      for (const w of contextSeen) superseded.add(w);
      states[node] = { obj, seen: new Set([...before.seen, ...contextSeen, id]) };
      snapshots.push({ node, state: states[node]! });
    } else if (op.kind === 'sync') {
      // Deliver a possibly stale state of `from` (any earlier snapshot of it, or its current state) to `to`.
      const from = op.from % nodeCount;
      const to = op.to % nodeCount;
      const ofFrom = snapshots.filter((s) => s.node === from).map((s) => s.state).concat([states[from]!]);
      const sent = ofFrom[op.snapshot % ofFrom.length]!;
      if (sent.obj === undefined) continue;
      const before = states[to]!;
      const obj = before.obj === undefined ? sent.obj : mergeObjects(before.obj, sent.obj);
      states[to] = { obj, seen: new Set([...before.seen, ...sent.seen]) };
      snapshots.push({ node: to, state: states[to]! });
    } else {
      const node = op.node % nodeCount;
      const before = states[node]!;
      if (before.obj === undefined) continue;
      const obj = pruneObject(before.obj, nowMs, { ...PRUNE, localNodeId: nodeIds[node]! });
      if (obj !== before.obj) prunesThatDropped++;
      states[node] = { obj, seen: before.seen };
    }
  }

  const objects = states.flatMap((s) => (s.obj === undefined ? [] : [s.obj]));
  const shuffled = objects.map((o, i) => ({ o, k: order[i] ?? 0 })).sort((x, y) => x.k - y.k).map((x) => x.o);
  return {
    final: reconcile(objects),
    finalInOtherOrder: reconcile(shuffled),
    states,
    writes,
    superseded,
    prunesThatDropped,
  };
}

const advanceArb = fc.integer({ min: 0, max: 15_000 });
const contextArb = fc.oneof(
  fc.constant('blind' as const),
  fc.record({ snapshot: fc.nat() }),
  fc.record({ read: fc.nat() }),
);
const writeArb = fc.record({ kind: fc.constant('write' as const), node: fc.nat(), context: contextArb, del: fc.boolean(), advanceMs: advanceArb });
const syncArb = fc.record({ kind: fc.constant('sync' as const), from: fc.nat(), to: fc.nat(), snapshot: fc.nat(), advanceMs: advanceArb });
const pruneArb = fc.record({ kind: fc.constant('prune' as const), node: fc.nat(), advanceMs: advanceArb });

function historyArb(withPrune: boolean) {
  const op: fc.Arbitrary<Op> = withPrune
    ? fc.oneof({ arbitrary: writeArb, weight: 4 }, { arbitrary: syncArb, weight: 4 }, { arbitrary: pruneArb, weight: 3 })
    : fc.oneof(writeArb, syncArb);
  return fc.record({
    nodeCount: fc.integer({ min: 2, max: 4 }),
    ops: fc.array(op, { minLength: 1, maxLength: 30 }),
    order: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  });
}

function present(obj: KvObject): Map<string, string | null> {
  return new Map(obj.siblings.map((s) => [dotKey(s.dot), s.value === null ? null : new TextDecoder().decode(s.value)]));
}

describe('random histories', () => {
  // Without pruning, reconcile of all replicas holds exactly the writes nobody superseded: no lost writes, no false siblings.
  it('keeps exactly the writes no later write superseded', () => {
    fc.assert(fc.property(historyArb(false), ({ nodeCount, ops, order }) => {
      const out = run(nodeCount, ops, order);
      const expected = new Map<string, string | null>();
      out.writes.forEach((w, id) => {
        if (!out.superseded.has(id)) expected.set(w.dot, w.value);
      });
      expect(present(out.final)).toEqual(expected);
      expect(new Set(out.writes.map((w) => w.dot)).size).toBe(out.writes.length);
      expect(objectInvariantProblem(out.final)).toBeUndefined();
      expect(equalObjects(out.final, out.finalInOtherOrder)).toBe(true);
      for (const s of out.states) if (s.obj !== undefined) expect(objectInvariantProblem(s.obj)).toBeUndefined();
    }), { numRuns: 200 });
  });

  // With aggressive pruning, no write that nobody superseded is ever lost (extra, false siblings are allowed), and dots stay unique.
  it('never loses an unsuperseded write when clocks are pruned', () => {
    let droppedSomething = 0;
    let falseSiblings = 0;
    fc.assert(fc.property(historyArb(true), ({ nodeCount, ops, order }) => {
      const out = run(nodeCount, ops, order);
      droppedSomething += out.prunesThatDropped;
      const actual = present(out.final);
      out.writes.forEach((w, id) => {
        if (!out.superseded.has(id)) expect(actual.get(w.dot)).toEqual(w.value);
      });
      const byDot = new Map(out.writes.map((w) => [w.dot, w.value]));
      expect(byDot.size).toBe(out.writes.length);
      for (const [dot, value] of actual) {
        expect(byDot.get(dot)).toEqual(value);
        if (out.superseded.has(out.writes.findIndex((w) => w.dot === dot))) falseSiblings++;
      }
      expect(equalObjects(out.final, out.finalInOtherOrder)).toBe(true);
    }), { numRuns: 300 });
    // The property is only meaningful if pruning actually happened, and showed its cost.
    expect(droppedSomething).toBeGreaterThan(0);
    expect(falseSiblings).toBeGreaterThan(0);
  });

  // After any history, a write whose context is the clock of the reconciled read leaves exactly one sibling, on any replica.
  it('resolves to one sibling with the reconciled context', () => {
    fc.assert(fc.property(historyArb(true), fc.nat(), fc.boolean(), ({ nodeCount, ops, order }, at, del) => {
      const out = run(nodeCount, ops, order);
      const node = at % nodeCount;
      const local = out.states[node]!.obj;
      const written = applyWrite(local, out.final.clock, ['a', 'b', 'c', 'd'][node]!, del ? null : new Uint8Array([1]), 9e12);
      expect(written.siblings).toHaveLength(1);
      expect(applyWrite(out.final, out.final.clock, 'z', null, 9e12).siblings).toHaveLength(1);
    }), { numRuns: 200 });
  });
});
