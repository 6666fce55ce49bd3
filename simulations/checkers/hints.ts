/**
 * Hinted handoff completes. Guarantee checked: after quiescence no node holds a hint — the gauge
 * hintsPending is 0 on every node and no hint record ("\0h\0owner\0key") is left in any node's
 * storage — so every hint stored for a down or unreachable owner was delivered to it and deleted.
 * Hints lost with unsynced writes in a crash are not hints any more; the lost-write checker covers
 * the data they carried.
 */
import type { SimWorld } from '../world/world.js';

const HINT_PREFIX = '\u0000h\u0000';

/** Hints still held, one line per node; empty when none. */
export async function undeliveredHints(world: SimWorld): Promise<string[]> {
  const problems: string[] = [];
  for (const id of world.ids) {
    const host = world.host(id);
    const pending = host.node?.replication.stats.hintsPending ?? 0;
    const stored = await host.disk.keysWithPrefix(HINT_PREFIX);
    if (pending > 0 || stored.length > 0) {
      const owners = [...new Set(stored.map((k) => k.slice(HINT_PREFIX.length).split('\u0000')[0]))].join(' ');
      problems.push(`${id} still holds ${stored.length} hint records (gauge ${pending}) for [${owners}]`);
    }
  }
  return problems;
}

/** Total of the hintsPending gauges of the running nodes. */
export function pendingHintCount(world: SimWorld): number {
  let total = 0;
  for (const id of world.ids) total += world.host(id).node?.replication.stats.hintsPending ?? 0;
  return total;
}
