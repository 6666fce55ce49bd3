import { afterEach, describe, expect, it } from 'vitest';
import { connect, InvalidQuorumError, stringCodec, type RingkvClient } from '../../src/client/index.js';
import { resolveOptions } from '../../src/config.js';
import { startNode, type RunningNode } from '../../src/runtime/node-process.js';

describe('SDK against a real in-process node', () => {
  let node: RunningNode | undefined;
  let client: RingkvClient<string> | undefined;

  afterEach(async () => {
    await client?.close();
    await node?.stop();
    client = undefined;
    node = undefined;
  });

  it('writes, reads siblings, resolves them and maps the node errors', async () => {
    // The SDK and the real client server agree on the protocol: hello, contexts, siblings, typed errors.
    node = await startNode(resolveOptions({
      id: 'n1', host: '127.0.0.1', port: 0, storage: 'memory', nVal: 1, r: 1, w: 1, logLevel: 'silent', dataDir: 'unused',
    }));
    client = await connect({ nodes: [`127.0.0.1:${node.port}`], codec: stringCodec });
    expect(client.connections()[0]?.nodeId).toBe('n1');

    const first = await client.put('k', 'a');
    await client.put('k', 'b');
    const read = await client.get('k');
    expect(read.siblings.map((s) => s.value).sort()).toEqual(['a', 'b']);
    expect(read.siblings.every((s) => s.node === 'n1')).toBe(true);
    expect(typeof first.context).toBe('string');

    const merged = await client.get('k', { resolver: (values) => [...values].sort().join('+') });
    expect(merged).toMatchObject({ value: 'a+b', resolved: true });
    expect(await client.get('k')).toMatchObject({ value: 'a+b', resolved: false });

    await client.delete('k', { context: merged.context });
    expect(await client.get('k')).toMatchObject({ exists: false });
    await expect(client.get('k', { r: 5 })).rejects.toBeInstanceOf(InvalidQuorumError);
    const status = await client.status();
    expect(status.nodeId).toBe('n1');
  });
});
