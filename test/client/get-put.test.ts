import { describe, expect, it } from 'vitest';
import { stringCodec } from '../../src/client/index.js';
import { useHarness } from './harness.js';

describe('get, put and delete', () => {
  const harness = useHarness();

  it('reads a missing key as not existing, with a context', async () => {
    // A key never written has no siblings and no value.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address], codec: stringCodec });
    const read = await client.get('nothing');
    expect(read).toMatchObject({ siblings: [], value: undefined, exists: false, resolved: false, tombstones: 0 });
    expect(typeof read.context).toBe('string');
  });

  it('returns every sibling of concurrent writes, and a write with the context replaces them', async () => {
    // Two blind writes become siblings; a put with the read's context leaves one value.
    const server = await harness.server({ nodeId: 'n1' });
    const client = await harness.client({ nodes: [server.address], codec: stringCodec });
    await client.put('k', 'a');
    await client.put('k', 'b');
    const read = await client.get('k');
    expect(read.siblings.map((s) => s.value).sort()).toEqual(['a', 'b']);
    expect(read.siblings[0]).toMatchObject({ node: 'n1', expiresAtMs: undefined });
    expect(read.siblings[0]?.writtenAtMs).toBeGreaterThan(0);
    expect(read.value).toBeUndefined();
    expect(read.exists).toBe(true);

    const written = await client.put('k', 'ab', { context: read.context, w: 2, ttlMs: 60_000 });
    expect(server.requestsOf('put').at(-1)).toMatchObject({ key: 'k', context: read.context, w: 2, ttlMs: 60_000 });
    const after = await client.get('k', { r: 1 });
    expect(after.siblings).toHaveLength(1);
    expect(after.value).toBe('ab');
    expect(after.context).toBe(written.context);
    expect(server.requestsOf('get').at(-1)).toMatchObject({ key: 'k', r: 1 });
  });

  it('deletes with a context and counts concurrent deletes as tombstones', async () => {
    // A blind delete next to a value is a tombstone sibling; a delete with the context removes the key.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address], codec: stringCodec });
    await client.put('k', 'v');
    await client.delete('k');
    const read = await client.get('k');
    expect(read).toMatchObject({ value: 'v', exists: true, tombstones: 1 });
    const deleted = await client.delete('k', { context: read.context });
    expect(typeof deleted.context).toBe('string');
    expect(await client.get('k')).toMatchObject({ exists: false, siblings: [] });
  });

  it('sends the remaining time budget with each request and leaves absent options out', async () => {
    // The server is told the call's budget, and no undefined fields go on the wire.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address], timeoutMs: 1234 });
    await client.put('k', new Uint8Array([1]));
    const put = server.requestsOf('put')[0];
    expect(put?.timeoutMs).toBeGreaterThan(1000);
    expect(put?.timeoutMs).toBeLessThanOrEqual(1234);
    expect(Object.keys(put ?? {}).sort()).toEqual(['id', 'key', 'op', 'timeoutMs', 'value']);
  });

  it('reports status from a node together with the client connections', async () => {
    // status() returns the node's report and which node gave it.
    const server = await harness.server({ nodeId: 'n7' });
    const client = await harness.client({ nodes: [server.address] });
    const status = await client.status();
    expect(status).toMatchObject({ address: server.address, nodeId: 'n7', server: { nodeId: 'n7' }, queued: 0, inFlight: 0 });
    expect(status.connections).toEqual([expect.objectContaining({ address: server.address, state: 'ready', nodeId: 'n7' })]);
    expect(server.requestsOf('hello')[0]).toMatchObject({ version: 1, clientName: 'ringkv-client' });
  });
});

describe('sibling resolver', () => {
  const harness = useHarness();

  it('merges siblings, writes the merge back with the read context and returns one value', async () => {
    // With a resolver a get of two siblings returns their merge, and the server sees the write-back.
    const server = await harness.server();
    const seen: string[][] = [];
    const client = await harness.client({
      nodes: [server.address], codec: stringCodec,
      resolver: (values, key) => {
        seen.push([key, ...values]);
        return [...values].sort().join('+');
      },
    });
    await client.put('k', 'x');
    await client.put('k', 'y');
    const getsBefore = server.requestsOf('get').length;
    const contextRead = server.store.contextOf('k');
    const read = await client.get('k');
    expect(read).toMatchObject({ value: 'x+y', exists: true, resolved: true });
    expect(read.siblings).toHaveLength(2);
    expect(seen).toEqual([['k', 'x', 'y']]);

    const writeBack = server.requestsOf('put').at(-1);
    expect(new TextDecoder().decode(writeBack?.value)).toBe('x+y');
    expect(writeBack?.context).toBe(contextRead);
    expect(server.requestsOf('get')).toHaveLength(getsBefore + 1);
    expect(read.context).toBe(server.store.contextOf('k'));

    const again = await client.get('k');
    expect(again).toMatchObject({ value: 'x+y', resolved: false });
    expect(again.siblings).toHaveLength(1);
  });

  it('does not call the resolver for a single value, and can be turned off per call', async () => {
    // One sibling needs no merge; resolver: null returns the siblings untouched.
    const server = await harness.server();
    let calls = 0;
    const client = await harness.client({
      nodes: [server.address], codec: stringCodec,
      resolver: (values) => {
        calls++;
        return values.join('');
      },
    });
    await client.put('one', 'v');
    expect((await client.get('one')).value).toBe('v');
    await client.put('two', 'a');
    await client.put('two', 'b');
    const read = await client.get('two', { resolver: null });
    expect(read).toMatchObject({ resolved: false, value: undefined });
    expect(calls).toBe(0);
    expect(server.requestsOf('put')).toHaveLength(3);
  });

  it('rejects the get when the write-back fails', async () => {
    // The write-back is awaited: its typed error is what the get rejects with.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address], codec: stringCodec, resolver: (values) => values.join('') });
    await client.put('k', 'a');
    await client.put('k', 'b');
    server.intercept = (request) => request.op === 'put'
      ? { kind: 'error', error: { code: 'ERR_QUORUM_UNAVAILABLE', message: '1 of 3 replicas acknowledged, W=2 required' } }
      : undefined;
    await expect(client.get('k')).rejects.toMatchObject({ name: 'QuorumUnavailableError', code: 'ERR_QUORUM_UNAVAILABLE' });
  });
});
