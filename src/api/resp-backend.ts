/**
 * The node behind the Redis protocol port. Redis clients have no causal contexts, so the rule is:
 *
 *   - SET supersedes what the coordinating node has seen (the coordinator uses its own replica's
 *     clock as the context). Writes that coordinator has not seen yet survive as siblings.
 *   - GET of a key with siblings returns one value by a deterministic rule (latest write time, then
 *     coordinator id): every node picks the same one. The siblings stay stored for SDK and HTTP
 *     readers, who see them all.
 *   - DEL reads the key and deletes with the context it read, so the delete supersedes what it saw.
 *   - NX / XX are checked with a quorum read before the write; like every read-then-write in a
 *     leaderless store this is not atomic: two concurrent SET NX may both succeed (as siblings).
 */
import type { RespBackend, RespSetOptions } from './resp/backend.js';
import type { KvService } from './kv-service.js';

export class NodeRespBackend implements RespBackend {
  constructor(private readonly service: KvService, private readonly infoSource: () => Record<string, string | number>) {}

  get(key: string): Promise<Uint8Array | undefined> {
    return this.service.getOne(key);
  }

  async set(key: string, value: Uint8Array, options: RespSetOptions): Promise<boolean> {
    if (options.condition !== undefined) {
      const exists = (await this.service.getOne(key)) !== undefined;
      if (options.condition === 'NX' ? exists : !exists) return false;
    }
    // The value may be a view into the connection's read buffer: copy before it is kept.
    await this.service.put(key, value.slice(), { contextMode: 'local', ttlMs: options.ttlMs });
    return true;
  }

  async del(keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const key of new Set(keys)) {
      const read = await this.service.get(key);
      if (!read.siblings.some((s) => s.value !== null)) continue;
      await this.service.delete(key, { context: read.context, contextMode: 'local' });
      deleted++;
    }
    return deleted;
  }

  async exists(keys: readonly string[]): Promise<number> {
    const found = await Promise.all(keys.map(async (key) => ((await this.service.getOne(key)) === undefined ? 0 : 1)));
    return found.reduce<number>((a, b) => a + b, 0);
  }

  info(): Record<string, string | number> {
    return this.infoSource();
  }
}
