import { describe, expect, test } from 'vitest';
import type { RingNode } from '../../src/core/node.js';
import { createKeyHasher } from '../../src/core/ring/index.js';
import { parseLatency } from '../../simulations/world/latency.js';
import { SimWorld } from '../../simulations/world/world.js';

const hasher = await createKeyHasher();
const ids = Array.from({ length: 10 }, (_, i) => `n${i + 1}`);

/** Ten nodes started at the same virtual moment, each handed to `watch` once it exists. */
async function startTen(seed: number, watch: (id: string, node: RingNode, world: SimWorld) => void): Promise<SimWorld> {
  const world = new SimWorld({ seed, nodes: ids.length, hasher, latency: parseLatency('exp(1)') });
  world.startAll(0);
  await world.runFor(1);
  for (const id of ids) {
    const node = world.host(id).node;
    expect(node).toBeDefined();
    watch(id, node!, world);
  }
  await world.runFor(3000);
  for (const id of ids) expect([...world.host(id).node!.currentRing().nodes].sort()).toEqual([...ids].sort());
  expect(world.errors).toEqual([]);
  return world;
}

function isRingChange(kind: string): boolean {
  return kind === 'joined' || kind === 'ring-changed' || kind === 'left';
}

describe('RingNode ring rebuilds (ringRebuildMinIntervalMs, default 100 ms)', () => {
  test('membership changes alone rebuild a ring at most once per interval, and fewer times than they change it', async () => {
    // Shows the coalescing: a starting node learns its peers message by message.
    const rebuildTimes = new Map<string, number[]>(ids.map((id) => [id, []]));
    let changes = 0;
    await startTen(11, (id, node, world) => {
      node.onRingChange(() => rebuildTimes.get(id)!.push(world.elapsedMs()));
      node.membership.onChange((change) => {
        if (isRingChange(change.kind)) changes++;
      });
    });
    for (const times of rebuildTimes.values()) {
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    }
    const rebuilds = [...rebuildTimes.values()].reduce((sum, t) => sum + t.length, 0);
    expect(changes).toBeGreaterThan(ids.length);
    expect(rebuilds).toBeLessThan(changes);
  });

  test('a read right after a change sees it: requests never route on a stale ring', async () => {
    // Shows the read path rebuilds at once when a change is pending (the node's own listener ran first).
    let reads = 0;
    let stale = 0;
    await startTen(12, (_id, node) => {
      node.membership.onChange((change) => {
        if (!isRingChange(change.kind)) return;
        reads++;
        const expected = [...new Set([...node.membership.ringNodeIds(), node.localId])].sort();
        if ([...node.currentRing().nodes].sort().join() !== expected.join()) stale++;
      });
    });
    expect(reads).toBeGreaterThan(ids.length);
    expect(stale).toBe(0);
  });
});
