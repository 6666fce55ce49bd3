import { describe, expect, it } from 'vitest';
import { OverloadedError, QuorumUnavailableError, stringCodec, TimeoutError } from '../../src/client/index.js';
import { useHarness } from './harness.js';

/** A promise and its resolve function, for holding server replies until the test lets them go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('many requests on one connection', () => {
  const harness = useHarness();

  it('correlates 1000 concurrent puts and gets when the server answers out of order', async () => {
    // Every reply reaches the call it answers although the server sends them in reverse order.
    const server = await harness.server({ replyOrder: 'reverse' });
    const client = await harness.client({ nodes: [server.address], codec: stringCodec, maxInFlight: 1000 });
    const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}`);
    const puts = await Promise.all(keys.map((key) => client.put(key, `value of ${key}`)));
    for (const [i, key] of keys.entries()) expect(puts[i]?.context).toBe(server.store.contextOf(key));
    expect(server.maxUnanswered).toBeGreaterThan(100);
    expect(server.largestReversedBatch).toBeGreaterThan(100);

    const gets = await Promise.all(keys.map((key) => client.get(key)));
    for (const [i, key] of keys.entries()) expect(gets[i]?.value).toBe(`value of ${key}`);
    expect(server.connectionCount).toBe(1);
  });

  it('keeps at most maxInFlight requests on the wire and queues the rest', async () => {
    // With maxInFlight 10 the server never has more than 10 unanswered requests, and all 50 complete.
    const server = await harness.server();
    const release = gate();
    server.intercept = () => ({ kind: 'delay', until: release.promise });
    const client = await harness.client({ nodes: [server.address], maxInFlight: 10 });
    const puts = Array.from({ length: 50 }, (_, i) => client.put(`k${i}`, new Uint8Array([i])));
    await server.waitFor(() => server.requestsOf('put').length === 10);
    expect(client.connections()[0]?.inFlight).toBe(10);
    release.open();
    await Promise.all(puts);
    expect(server.requestsOf('put')).toHaveLength(50);
    expect(server.maxUnanswered).toBe(10);
  });

  it('fails at once with OverloadedError when the queue is full', async () => {
    // One in flight and two queued fill maxInFlight 1 + maxQueuedRequests 2; the fourth call is refused.
    const server = await harness.server();
    const release = gate();
    server.intercept = () => ({ kind: 'delay', until: release.promise });
    const client = await harness.client({ nodes: [server.address], maxInFlight: 1, maxQueuedRequests: 2 });
    const accepted = [client.put('a', new Uint8Array()), client.put('b', new Uint8Array()), client.put('c', new Uint8Array())];
    const refused = client.put('d', new Uint8Array());
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toMatchObject({ code: 'ERR_OVERLOADED', details: { bound: 2 } });
    release.open();
    await Promise.all(accepted);
    expect(server.requestsOf('put').map((put) => put.key)).toEqual(['a', 'b', 'c']);
  });

  it('times out a call that waits in the queue too long', async () => {
    // The budget covers queueing: a call stuck behind a held request fails with TimeoutError.
    const server = await harness.server();
    server.intercept = () => ({ kind: 'hold' });
    const client = await harness.client({ nodes: [server.address], maxInFlight: 1 });
    const first = client.get('held', { timeoutMs: 5000 });
    await expect(client.get('queued', { timeoutMs: 30 })).rejects.toBeInstanceOf(TimeoutError);
    expect(server.requestsOf('get').map((get) => get.key)).toEqual(['held']);
    const firstFails = expect(first).rejects.toMatchObject({ code: 'ERR_NOT_CONNECTED' });
    await client.close();
    await firstFails;
  });

  it('fails queued and in-flight calls on close without sending the queued ones', async () => {
    // close() rejects every pending call with NotConnectedError, and the slot it frees is not reused.
    const server = await harness.server();
    server.intercept = () => ({ kind: 'hold' });
    const client = await harness.client({ nodes: [server.address], maxInFlight: 1 });
    const calls = ['a', 'b', 'c'].map((key) => client.get(key));
    await server.waitFor(() => server.requestsOf('get').length === 1);
    const failures = Promise.all(calls.map((call) => expect(call).rejects.toMatchObject({ code: 'ERR_NOT_CONNECTED' })));
    await client.close();
    await failures;
    expect(server.requestsOf('get').map((get) => get.key)).toEqual(['a']);
  });
});

describe('batches', () => {
  const harness = useHarness();

  it('putMany and getMany return one result per item, in order, with per-item errors', async () => {
    // A failing key yields an error item; the other items succeed; order follows the input.
    const server = await harness.server({ replyOrder: 'reverse' });
    server.intercept = (request) => 'key' in request && request.key === 'k3'
      ? { kind: 'error', error: { code: 'ERR_QUORUM_UNAVAILABLE', message: '1 of 3 answered', details: { acknowledged: 1 } } }
      : undefined;
    const client = await harness.client({ nodes: [server.address], codec: stringCodec });
    const entries = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    const written = await client.putMany(entries, { concurrency: 4, w: 1 });
    expect(written.map((item) => item.key)).toEqual(entries.map((entry) => entry.key));
    expect(written.filter((item) => !item.ok).map((item) => item.key)).toEqual(['k3']);
    const failed = written[3];
    expect(failed?.ok === false && failed.error).toBeInstanceOf(QuorumUnavailableError);
    expect(server.maxUnanswered).toBeLessThanOrEqual(4);
    expect(server.requestsOf('put').every((put) => put.w === 1)).toBe(true);

    const keys = [...entries.map((entry) => entry.key), 'missing'];
    const read = await client.getMany(keys, { concurrency: 3 });
    expect(read.map((item) => item.key)).toEqual(keys);
    expect(read.map((item) => (item.ok ? item.result.value ?? null : item.error.name))).toEqual([
      'v0', 'v1', 'v2', 'QuorumUnavailableError', ...entries.slice(4).map((entry) => entry.value), null,
    ]);
  });

  it('aborts the rest of a batch with the signal', async () => {
    // Once the signal fires, every unfinished item fails with AbortedError and the batch resolves.
    const server = await harness.server();
    server.intercept = () => ({ kind: 'hold' });
    const client = await harness.client({ nodes: [server.address] });
    const controller = new AbortController();
    const batch = client.getMany(['a', 'b', 'c'], { signal: controller.signal, concurrency: 2 });
    await server.waitFor(() => server.requestsOf('get').length === 2);
    controller.abort();
    const results = await batch;
    expect(results.map((item) => (item.ok ? 'ok' : item.error.name))).toEqual(['AbortedError', 'AbortedError', 'AbortedError']);
    expect(server.requestsOf('get')).toHaveLength(2);
  });
});
