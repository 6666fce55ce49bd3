import { describe, expect, test } from 'vitest';
import { ActorAllocator } from '../../../src/core/replication/replica-store.js';

describe('ActorAllocator', () => {
  test('fresh actors are unique to the node, the generation and the epoch', () => {
    const a = new ActorAllocator('n1', 1000);
    const b = new ActorAllocator('n1', 1001);
    const ids = new Set([a.fresh(), a.fresh(), b.fresh(), b.fresh()]);
    expect(ids.size).toBe(4);
    for (const id of ids) expect(ActorAllocator.nodeOf(id)).toBe('n1');
  });

  test('an actor is continued only when the clock has seen every dot it minted', () => {
    const a = new ActorAllocator('n1', 7);
    const actor = a.fresh();
    expect(a.reusable([[actor, 1, 0]])).toBeUndefined(); // never minted by this run: not continued
    a.recordMint(actor, 3);
    expect(a.reusable([[actor, 2, 0]])).toBeUndefined(); // the clock lags the highest mint
    expect(a.reusable([[actor, 3, 0]])).toBe(actor);
    expect(a.reusable([['n2.1.1', 9, 0], [actor, 4, 0]])).toBe(actor);
    // Another run's actor of the same node is never continued.
    const older = new ActorAllocator('n1', 6);
    const old = older.fresh();
    older.recordMint(old, 1);
    expect(a.reusable([[old, 5, 0]])).toBeUndefined();
  });

  test('beyond maxTrackedActors the first-minted actor is forgotten, and forgotten actors are not continued', () => {
    const a = new ActorAllocator('n1', 1, { maxTrackedActors: 2 });
    const [x, y, z] = [a.fresh(), a.fresh(), a.fresh()];
    a.recordMint(x, 1);
    a.recordMint(y, 1);
    a.recordMint(x, 2); // an update keeps x's place: first in, first out
    a.recordMint(z, 1);
    expect(a.reusable([[x, 2, 0]])).toBeUndefined();
    expect(a.reusable([[y, 1, 0]])).toBe(y);
    expect(a.reusable([[z, 1, 0]])).toBe(z);
  });
});
