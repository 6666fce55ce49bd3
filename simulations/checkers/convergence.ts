/**
 * Replica convergence. Guarantee checked: after quiescence every primary replica of every key holds
 * the same object (equal clocks and equal siblings, by equalObjects).
 *
 * ringkv has read repair and hinted handoff but no anti-entropy yet, so a replica that missed a
 * write while no hint was kept for it (a message lost, a fallback's hint lost in a crash, a read
 * repair dropped by a partition) is only repaired when the key is read. Quiescence therefore
 * includes a read of every key at R=N by the checker, which triggers read repair of every replica
 * that answered stale; the runner then lets the repairs land before this check. If replicas still
 * differ after that, it is a finding.
 */
import { equalObjects } from '../../src/core/version/object.js';
import type { KvObject } from '../../src/core/version/object.js';
import type { SimWorld } from '../world/world.js';

function describe(obj: KvObject | undefined): string {
  if (obj === undefined) return 'nothing';
  return `${obj.siblings.length} siblings [${obj.siblings.map((s) => `${s.dot[0]}:${s.dot[1]}`).join(' ')}]`;
}

/** Keys whose primaries differ, one line each; empty when every key converged. */
export async function divergentReplicas(world: SimWorld, keys: readonly string[], nVal: number): Promise<string[]> {
  const problems: string[] = [];
  const reference = world.host(world.ids[0] as string).node;
  if (reference === undefined) return ['the reference node is not running'];
  for (const key of keys) {
    const primaries = reference.primaries(key, nVal);
    for (const id of world.ids) {
      const other = world.host(id).node?.primaries(key, nVal);
      if (other !== undefined && other.join(',') !== primaries.join(',')) {
        problems.push(`${key}: ${id} places it on [${other.join(' ')}], ${reference.localId} on [${primaries.join(' ')}]`);
      }
    }
    const copies: Array<{ id: string; obj: KvObject | undefined }> = [];
    for (const id of primaries) {
      const node = world.host(id).node;
      if (node === undefined) {
        problems.push(`${key}: primary ${id} is not running`);
        continue;
      }
      copies.push({ id, obj: await node.replication.store.read(key) });
    }
    const first = copies[0];
    if (first === undefined) continue;
    for (const copy of copies.slice(1)) {
      const same = first.obj === undefined || copy.obj === undefined ? first.obj === copy.obj : equalObjects(first.obj, copy.obj);
      if (!same) problems.push(`${key}: ${first.id} holds ${describe(first.obj)}, ${copy.id} holds ${describe(copy.obj)}`);
    }
  }
  return problems;
}
