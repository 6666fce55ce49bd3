import { describe, expect, test } from 'vitest';
import { createKeyHasher } from '../../../src/core/ring/index.js';
import { decodeContext, encodeContext } from '../../../src/core/version/codec.js';
import { parseLatency } from '../../../simulations/world/latency.js';
import { SimWorld } from '../../../simulations/world/world.js';

const hasher = await createKeyHasher();

/** Runs the world until `promise` settles (virtual time only; no real waiting). */
async function settle<T>(world: SimWorld, promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  await world.runUntil(() => done, 10_000);
  return tracked;
}

async function threeNodes(seed: number): Promise<SimWorld> {
  const world = new SimWorld({ seed, nodes: 3, hasher, latency: parseLatency('exp(1)') });
  world.startAll(0);
  await world.runFor(3000);
  return world;
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('a quorum read\'s context', () => {
  test('is the reconciled clock, whether the replicas agreed (context copied from their bytes) or not', async () => {
    const world = await threeNodes(5);
    const node = world.host('n1').node!;
    // Three blind writes through different coordinators: three siblings, a clock of three actors.
    for (const id of ['n1', 'n2', 'n3']) await settle(world, world.host(id).node!.put('k', bytes(`from ${id}`), { w: 3 }));
    const agreed = await settle(world, node.replication.get('k', { r: 3 }));
    expect(agreed.obj?.siblings).toHaveLength(3);
    expect(agreed.context).toBe(encodeContext(agreed.obj!.clock));
    expect(decodeContext(agreed.context)).toEqual(agreed.obj!.clock);

    // A write that reaches only one replica (W=1, the others cut off) leaves them disagreeing.
    world.network.setBlockedLinks([['n1', 'n2'], ['n1', 'n3']]);
    const written = node.put('k', bytes('resolved'), { w: 1, context: agreed.context });
    await settle(world, written);
    world.network.heal();
    const split = await settle(world, node.replication.get('k', { r: 3 }));
    expect(split.obj?.siblings.map((s) => new TextDecoder().decode(s.value!))).toEqual(['resolved']);
    expect(split.context).toBe(encodeContext(split.obj!.clock));
    expect(world.errors).toEqual([]);
  });
});
