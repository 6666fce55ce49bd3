import { describe, expect, it } from 'vitest';
import {
  AbortedError, connect, ErrorCode, HandshakeRefusedError, InvalidArgumentError, InvalidConfigError,
  InvalidContextError, NotConnectedError, OverloadedError, ProtocolError, QuorumUnavailableError, RingkvError,
  stringCodec, TimeoutError, TooManySiblingsError,
} from '../../src/client/index.js';
import { typedErrorFromWire as errorFromWire } from '../../src/client/error-mapping.js';
import { useHarness } from './harness.js';

describe('errors from the wire', () => {
  it('builds the matching class for every code, keeping message and details', () => {
    // Each stable code maps to a RingkvError whose code, message and details are the server's.
    for (const code of Object.values(ErrorCode)) {
      const error = errorFromWire({ code, message: `m ${code}`, details: { n: 1 } });
      expect(error).toBeInstanceOf(RingkvError);
      expect(error).toMatchObject({ code, message: `m ${code}`, details: { n: 1 } });
      expect(error.name).toBe(error.constructor.name);
    }
    expect(errorFromWire({ code: 'ERR_QUORUM_UNAVAILABLE', message: 'x' })).toBeInstanceOf(QuorumUnavailableError);
    expect(errorFromWire({ code: 'ERR_TOO_MANY_SIBLINGS', message: 'x' })).toBeInstanceOf(TooManySiblingsError);
    expect(errorFromWire({ code: 'ERR_CLUSTER_MISMATCH', message: 'x' })).toBeInstanceOf(HandshakeRefusedError);
    expect(errorFromWire({ code: 'ERR_PROTOCOL', message: 'x' })).toBeInstanceOf(ProtocolError);
    expect(errorFromWire({ code: 'ERR_OVERLOADED', message: 'x' })).toBeInstanceOf(OverloadedError);
    expect(errorFromWire({ code: 'ERR_NOT_MEMBER', message: 'x' }).constructor).toBe(RingkvError);
  });

  it('turns a code it does not know into ERR_INTERNAL with the server code in details', () => {
    // A newer server's code still yields a RingkvError with a known code.
    const error = errorFromWire({ code: 'ERR_FROM_THE_FUTURE', message: 'new' });
    expect(error).toMatchObject({ code: 'ERR_INTERNAL', message: 'new', details: { remoteCode: 'ERR_FROM_THE_FUTURE' } });
  });
});

describe('errors of calls', () => {
  const harness = useHarness();

  it('rejects with the typed error the server sent', async () => {
    // A server's quorum error arrives as QuorumUnavailableError with its details and the node's address.
    const server = await harness.server();
    server.intercept = () => ({ kind: 'error', error: { code: 'ERR_QUORUM_UNAVAILABLE', message: '1 of 3 replicas answered, R=2 required',
      details: { op: 'get', acknowledged: 1, nVal: 3, required: 2, which: 'R' } } });
    const client = await harness.client({ nodes: [server.address] });
    const error = await client.get('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuorumUnavailableError);
    expect(error).toMatchObject({ code: 'ERR_QUORUM_UNAVAILABLE', message: '1 of 3 replicas answered, R=2 required',
      details: { acknowledged: 1, required: 2, address: server.address } });
    server.intercept = undefined;
    await expect(client.put('k', new Uint8Array(), { context: 'not a context' })).rejects.toBeInstanceOf(InvalidContextError);
  });

  it('times out with TimeoutError when the server does not answer, and ignores the late reply', async () => {
    // The call fails after its budget; the reply that comes later does not disturb the connection.
    const server = await harness.server();
    let release = (): void => undefined;
    const late = new Promise<void>((resolve) => {
      release = resolve;
    });
    server.intercept = (request) => (request.op === 'get' ? { kind: 'delay', until: late } : undefined);
    const client = await harness.client({ nodes: [server.address], codec: stringCodec });
    const startedAtMs = performance.now();
    const error = await client.get('slow', { timeoutMs: 40 }).catch((e: unknown) => e);
    expect(performance.now() - startedAtMs).toBeGreaterThanOrEqual(39);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT', details: { op: 'get', timeoutMs: 40, key: 'slow', side: 'client' } });
    server.intercept = undefined;
    release();
    await server.waitFor(() => server.unansweredCount === 0);
    await client.put('after', 'ok');
    expect((await client.get('after')).value).toBe('ok');
    expect(server.requestsOf('hello')).toHaveLength(1);
    expect(client.connections()[0]).toMatchObject({ state: 'ready', failedDials: 0 });
  });

  it('rejects with AbortedError at once when the signal fires, before or during the call', async () => {
    // An aborted signal fails the call without sending it; aborting in flight fails it without waiting for the server.
    const server = await harness.server();
    server.intercept = () => ({ kind: 'hold' });
    const client = await harness.client({ nodes: [server.address] });
    await expect(client.get('k', { signal: AbortSignal.abort('gone') })).rejects.toMatchObject({ code: 'ERR_ABORTED', cause: 'gone' });
    expect(server.requestsOf('get')).toHaveLength(0);

    const controller = new AbortController();
    const pending = client.put('k', new Uint8Array([1]), { signal: controller.signal, timeoutMs: 60_000 });
    await server.waitFor(() => server.requestsOf('put').length === 1);
    controller.abort(new Error('user left'));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toEqual(new Error('user left'));
    expect(client.connections()[0]?.inFlight).toBe(0);
  });

  it('refuses bad options and bad arguments with typed errors', async () => {
    // Configuration mistakes are InvalidConfigError naming the option; bad call arguments are InvalidArgumentError.
    await expect(connect({ nodes: [] })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(connect({ nodes: ['no-port'] })).rejects.toThrow(/not an address/);
    await expect(connect({ nodes: ['127.0.0.1:70000'] })).rejects.toThrow(/port/);
    await expect(connect({ nodes: ['a:1', 'a:1'] })).rejects.toThrow(/twice/);
    await expect(connect({ nodes: ['a:1'], maxInFlight: 0 })).rejects.toThrow(/maxInFlight/);
    await expect(connect({ nodes: ['a:1'], reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 5 })).rejects.toThrow(/reconnectBackoffMinMs/);
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    await expect(client.get('k', { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.get('k', { timeoutMs: 2 ** 31 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(connect({ nodes: ['a:1'], connectTimeoutMs: 2 ** 31 })).rejects.toThrow(/connectTimeoutMs/);
    await expect(client.getMany(['k'], { concurrency: 0 })).rejects.toBeInstanceOf(InvalidConfigError);
    await expect(client.get(42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('rejects calls after close with NotConnectedError', async () => {
    // A closed client refuses new calls with a typed error instead of hanging.
    const server = await harness.server();
    const client = await harness.client({ nodes: [server.address] });
    await client.close();
    await client.close();
    await expect(client.get('k')).rejects.toBeInstanceOf(NotConnectedError);
    await server.waitFor(() => server.connectionCount === 0);
  });
});
