/**
 * Partition shapes (after Jepsen's nemeses), as pure functions from the node ids and a random
 * source to the directed links to block. The world applies them with SimNetwork.setBlockedLinks.
 */
import type { Random } from '../../src/core/env.js';
import type { NodeId } from '../../src/core/wire.js';
import { pick, shuffled } from './seeds.js';

export interface PartitionPlan {
  /** What a person reading the trace sees, e.g. "halves [n1 n4] | [n2 n3 n5]". */
  readonly description: string;
  /** Directed links (from, to) that drop every message. */
  readonly blocked: ReadonlyArray<readonly [NodeId, NodeId]>;
}

/** Blocks every link between nodes of different groups, both ways. */
export function splitGroups(groups: ReadonlyArray<readonly NodeId[]>): Array<[NodeId, NodeId]> {
  const blocked: Array<[NodeId, NodeId]> = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = 0; j < groups.length; j++) {
      if (i === j) continue;
      for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) blocked.push([a, b]);
    }
  }
  return blocked;
}

function show(group: readonly NodeId[]): string {
  return `[${[...group].sort().join(' ')}]`;
}

/** Two random halves that cannot talk to each other (sizes ⌊n/2⌋ and ⌈n/2⌉). */
export function randomHalves(ids: readonly NodeId[], random: Random): PartitionPlan {
  const order = shuffled(random, ids);
  const a = order.slice(0, Math.floor(order.length / 2));
  const b = order.slice(Math.floor(order.length / 2));
  return { description: `halves ${show(a)} | ${show(b)}`, blocked: splitGroups([a, b]) };
}

/** One random node cut off from all others. */
export function isolateOne(ids: readonly NodeId[], random: Random): PartitionPlan {
  const victim = pick(random, ids);
  return { description: `isolate ${victim}`, blocked: splitGroups([[victim], ids.filter((id) => id !== victim)]) };
}

/**
 * Jepsen's "majorities ring": nodes on a random ring, each linked to the nodes within ring distance
 * m, the smallest m with 2m + 1 ≥ majority. Every node sees a majority (itself included) and no two
 * nodes see the same majority (for n ≥ 4; with 3 nodes every node already sees everyone).
 */
export function majoritiesRing(ids: readonly NodeId[], random: Random): PartitionPlan {
  const ring = shuffled(random, ids);
  const n = ring.length;
  const majority = Math.floor(n / 2) + 1;
  const m = Math.ceil((majority - 1) / 2);
  const blocked: Array<[NodeId, NodeId]> = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const d = Math.min(Math.abs(i - j), n - Math.abs(i - j));
      if (d > m) blocked.push([ring[i] as NodeId, ring[j] as NodeId]);
    }
  }
  return { description: `majorities-ring ${ring.join('~')} (each sees ring distance ≤ ${m})`, blocked };
}

/** Two halves that cannot talk, and one bridge node that talks to both. */
export function bridge(ids: readonly NodeId[], random: Random): PartitionPlan {
  const order = shuffled(random, ids);
  const half = Math.floor((order.length - 1) / 2);
  const a = order.slice(0, half);
  const bridgeNode = order[half] as NodeId;
  const b = order.slice(half + 1);
  return { description: `bridge ${show(a)} <${bridgeNode}> ${show(b)}`, blocked: splitGroups([a, b]) };
}

/** Asymmetric: messages from one random half to the other are dropped; the other way works. */
export function oneWay(ids: readonly NodeId[], random: Random): PartitionPlan {
  const order = shuffled(random, ids);
  // Mostly a single node that can send but not hear (or hear but not send): the classic asymmetric fault.
  const size = random.next() < 0.5 ? 1 : Math.floor(order.length / 2);
  const from = order.slice(0, size);
  const to = order.slice(size);
  const blocked: Array<[NodeId, NodeId]> = [];
  for (const a of from) for (const b of to) blocked.push([a, b]);
  return { description: `one-way ${show(from)} -/-> ${show(to)}`, blocked };
}
