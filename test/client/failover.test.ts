import { describe, expect, it } from 'vitest';
import { connect, NotConnectedError, stringCodec } from '../../src/client/index.js';
import { FakeStore } from './fake-server.js';
import { FAST, useHarness } from './harness.js';

describe('failover between nodes', () => {
  const harness = useHarness();

  it('spreads requests round-robin and keeps serving when a node stops', async () => {
    // Requests in flight on the stopped node are retried on the other; later requests go to the live node only.
    const store = new FakeStore();
    const a = await harness.server({ store, nodeId: 'a' });
    const b = await harness.server({ store, nodeId: 'b' });
    const client = await harness.client({ nodes: [a.address, b.address], codec: stringCodec });
    await Promise.all([harness.connectionState(a.address, 'ready'), harness.connectionState(b.address, 'ready')]);
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.put(`k${i}`, `v${i}`)));
    expect(a.requestsOf('put')).toHaveLength(5);
    expect(b.requestsOf('put')).toHaveLength(5);

    a.intercept = () => ({ kind: 'hold' });
    const reads = Array.from({ length: 10 }, (_, i) => client.get(`k${i}`));
    const writes = Array.from({ length: 10 }, (_, i) => client.put(`w${i}`, `x${i}`));
    await a.waitFor(() => a.requestsOf('get').length === 5 && a.requestsOf('put').length === 10);
    await a.close();
    expect((await Promise.all(reads)).map((read) => read.value)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
    await Promise.all(writes);
    expect(b.requestsOf('get')).toHaveLength(10);
    expect(b.requestsOf('put')).toHaveLength(15);

    await harness.connectionState(a.address, 'backoff');
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => client.get(`w${i}`)));
    expect(after.map((read) => read.value)).toEqual(Array.from({ length: 10 }, (_, i) => `x${i}`));
    expect(b.requestsOf('get')).toHaveLength(20);
  });

  it('does not retry writes when retryWritesOnFailover is false, but still retries reads', async () => {
    // A put lost with its connection fails with NotConnectedError; a get lost the same way succeeds on the other node.
    const store = new FakeStore();
    const a = await harness.server({ store });
    const b = await harness.server({ store });
    const client = await harness.client({ nodes: [a.address, b.address], strategy: 'first', retryWritesOnFailover: false });
    await harness.connectionState(b.address, 'ready');
    a.intercept = () => ({ kind: 'hold' });
    const put = client.put('k', new Uint8Array([1]));
    const get = client.get('k');
    await a.waitFor(() => a.requests.length === 3);
    a.dropConnections();
    const error = await put.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotConnectedError);
    expect((error as NotConnectedError).message).toMatch(/may or may not have been applied/);
    expect(await get).toMatchObject({ exists: false });
    expect(b.requestsOf('put')).toHaveLength(0);
    expect(b.requestsOf('get')).toHaveLength(1);
  });

  it('retries a lost request only once', async () => {
    // When the second node drops the retried request too, the call fails instead of bouncing between nodes.
    const store = new FakeStore();
    const a = await harness.server({ store });
    const b = await harness.server({ store });
    const client = await harness.client({ nodes: [a.address, b.address], strategy: 'first' });
    await harness.connectionState(b.address, 'ready');
    a.intercept = () => ({ kind: 'close' });
    b.intercept = () => ({ kind: 'close' });
    await expect(client.get('k')).rejects.toBeInstanceOf(NotConnectedError);
    expect(a.requestsOf('get')).toHaveLength(1);
    expect(b.requestsOf('get')).toHaveLength(1);
  });

  it('uses the first node with strategy "first" and moves on while it is down', async () => {
    // All requests go to the first node; while its connection is down they go to the second, then back.
    const store = new FakeStore();
    const a = await harness.server({ store });
    const b = await harness.server({ store });
    const client = await harness.client({ nodes: [a.address, b.address], strategy: 'first' });
    await harness.connectionState(b.address, 'ready');
    await Promise.all(Array.from({ length: 4 }, () => client.get('k')));
    expect(a.requestsOf('get')).toHaveLength(4);
    expect(b.requestsOf('get')).toHaveLength(0);

    a.dropConnections();
    await harness.connectionState(a.address, 'backoff');
    await client.get('k');
    expect(b.requestsOf('get')).toHaveLength(1);

    await harness.connectionState(a.address, 'ready');
    await client.get('k');
    expect(a.requestsOf('get')).toHaveLength(5);
    expect(a.requestsOf('hello')).toHaveLength(2);
  });

  it('connects when one seed is down and redials it in the background', async () => {
    // A dead seed does not stop connect; it is retried with backoff and counted in failedDials.
    const dead = await harness.server();
    const deadAddress = dead.address;
    await dead.close();
    const live = await harness.server();
    const client = await harness.client({ nodes: [deadAddress, live.address] });
    await harness.connectionState(deadAddress, 'backoff');
    const info = client.connections().find((c) => c.address === deadAddress);
    expect(info?.failedDials).toBeGreaterThan(0);
    expect(info?.lastError?.code).toBe('ERR_NOT_CONNECTED');
    await Promise.all(Array.from({ length: 6 }, () => client.get('k')));
    expect(live.requestsOf('get')).toHaveLength(6);
  });

  it('fails connect with NotConnectedError naming every node when none is reachable', async () => {
    // With every seed down, connect rejects after the first round of dials and says which nodes failed.
    const dead = await harness.server();
    const deadAddress = dead.address;
    await dead.close();
    const error = await connect({ ...FAST, nodes: [deadAddress] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotConnectedError);
    expect((error as NotConnectedError).message).toContain(deadAddress);
    expect((error as NotConnectedError).details).toMatchObject({ nodes: { [deadAddress]: expect.any(String) } });
  });

  it('fails queued calls when every node is down, and recovers when a node is back', async () => {
    // A call with no ready node and no dial in progress fails fast; after a redial calls work again.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    server.dropConnections();
    await harness.connectionState(server.address, 'backoff');
    await expect(client.get('k')).rejects.toMatchObject({ code: 'ERR_NOT_CONNECTED', message: /no ringkv node is reachable/ });
    await harness.connectionState(server.address, 'ready');
    expect(await client.get('k')).toMatchObject({ exists: false });
  });
});
