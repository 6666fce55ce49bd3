/**
 * Membership agreement. Guarantee checked: once faults stop and every node runs again, every node
 * sees every other node alive at its current generation and computes the ring from all of them,
 * within `membershipBoundMs` of the heal (the runner's liveness phase enforces the bound). No
 * promise is made during faults: a partitioned node is rightly seen dead.
 */
import type { SimWorld } from '../world/world.js';

/** What keeps the running nodes from agreeing, one line each; empty when they agree. */
export function membershipDisagreements(world: SimWorld): string[] {
  const problems: string[] = [];
  const all = [...world.ids].sort();
  for (const id of world.ids) {
    const host = world.host(id);
    const node = host.node;
    if (host.state !== 'running' || node === undefined) {
      problems.push(`${id} is ${host.state}`);
      continue;
    }
    for (const other of world.ids) {
      if (other === id) continue;
      const member = node.membership.member(other);
      const generation = world.host(other).node?.membership.member(other)?.generation;
      if (member === undefined) problems.push(`${id} does not know ${other}`);
      else if (member.state !== 'alive' || member.generation !== generation) {
        problems.push(`${id} sees ${other} ${member.state} at generation ${member.generation} (current ${generation})`);
      }
    }
    const ring = [...node.currentRing().nodes].sort();
    if (ring.join(',') !== all.join(',')) problems.push(`${id} builds its ring from [${ring.join(' ')}]`);
  }
  return problems;
}
