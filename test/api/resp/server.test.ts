import { afterEach, describe, expect, it } from 'vitest';
import { MapRespBackend, type RespBackend } from '../../../src/api/resp/backend.js';
import { encodeCommand } from '../../../src/api/resp/encoder.js';
import { AddressInUseError, QuorumUnavailableError, TimeoutError, ValueTooLargeError } from '../../../src/errors.js';
import { Harness, recordingLogger } from './harness.js';
import { printable, ReplyError } from './reply-reader.js';

const harness = new Harness();
afterEach(() => harness.cleanup());

const command = (...argv: (string | Buffer)[]): Buffer => encodeCommand(argv);

/** A backend whose get/set calls wait until the test releases them, recording the order they start in. */
class GatedBackend implements RespBackend {
  readonly started: string[] = [];
  private readonly gates = new Map<string, () => void>();
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private readonly inner = new MapRespBackend();

  get(key: string): Promise<Uint8Array | undefined> {
    return this.gated(`get ${key}`).then(() => this.inner.get(key));
  }
  set(key: string, value: Uint8Array, options: { ttlMs?: number; condition?: 'NX' | 'XX' }): Promise<boolean> {
    return this.gated(`set ${key}`).then(() => this.inner.set(key, value, options));
  }
  del(keys: readonly string[]): Promise<number> {
    return this.inner.del(keys);
  }
  exists(keys: readonly string[]): Promise<number> {
    return this.inner.exists(keys);
  }
  info(): Record<string, string | number> {
    return {};
  }
  release(call: string): void {
    const open = this.gates.get(call);
    if (open === undefined) throw new Error(`${call} has not started`);
    this.gates.delete(call);
    open();
  }
  /** Resolves once `count` calls have started. */
  startedCount(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ count, resolve });
      this.wake();
    });
  }
  private gated(call: string): Promise<void> {
    this.started.push(call);
    const promise = new Promise<void>((resolve) => this.gates.set(call, resolve));
    this.wake();
    return promise;
  }
  private wake(): void {
    for (const waiter of [...this.waiters]) {
      if (this.started.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

describe('RespServer pipelining', () => {
  // A long pipeline of writes and reads on few keys gets every reply in order, each read seeing the write before it.
  it.each([1, 16])('keeps order and read-your-writes with concurrency %i', async (maxConcurrentCommandsPerClient) => {
    const { port } = await harness.startServer({ maxConcurrentCommandsPerClient });
    const client = await harness.connectRaw(port);
    const requests: Buffer[] = [];
    const expected: unknown[] = [];
    for (let i = 0; i < 600; i += 1) {
      const key = `k${i % 7}`;
      requests.push(command('SET', key, `v${i}`), command('GET', key), command('GET', `k${(i + 1) % 7}`), command('PING'));
      expected.push('OK', `v${i}`, i + 1 < 7 ? null : `v${i - 6}`, 'PONG');
    }
    client.send(Buffer.concat(requests));
    expect((await client.replies(expected.length)).map(printable)).toEqual(expected);
  });

  // Independent commands of a pipeline overlap in the backend, yet replies keep command order.
  it('overlaps independent commands and replies in order', async () => {
    const backend = new GatedBackend();
    const { port } = await harness.startServer({ backend, maxConcurrentCommandsPerClient: 16 });
    const client = await harness.connectRaw(port);
    client.send(Buffer.concat([command('SET', 'a', '1'), command('SET', 'b', '2'), command('GET', 'c')]));
    await backend.startedCount(3);
    expect(backend.started).toEqual(['set a', 'set b', 'get c']);
    backend.release('get c');
    backend.release('set b');
    backend.release('set a');
    expect((await client.replies(3)).map(printable)).toEqual(['OK', 'OK', null]);
  });

  // A command on a key that an unfinished write in the same pipeline touches waits for it.
  it('does not overlap conflicting commands', async () => {
    const backend = new GatedBackend();
    const { port } = await harness.startServer({ backend, maxConcurrentCommandsPerClient: 16 });
    const client = await harness.connectRaw(port);
    client.send(Buffer.concat([command('SET', 'a', '1'), command('GET', 'b'), command('GET', 'a')]));
    await backend.startedCount(2);
    expect(backend.started).toEqual(['set a', 'get b']);
    backend.release('get b');
    backend.release('set a');
    await backend.startedCount(3);
    expect(backend.started).toEqual(['set a', 'get b', 'get a']);
    backend.release('get a');
    expect((await client.replies(3)).map(printable)).toEqual(['OK', null, '1']);
  });

  // With concurrency 1, a pipeline runs strictly one command at a time, as in Redis.
  it('runs one command at a time with concurrency 1', async () => {
    const backend = new GatedBackend();
    const { port } = await harness.startServer({ backend, maxConcurrentCommandsPerClient: 1 });
    const client = await harness.connectRaw(port);
    client.send(Buffer.concat([command('GET', 'a'), command('GET', 'b')]));
    await backend.startedCount(1);
    expect(backend.started).toEqual(['get a']);
    backend.release('get a');
    await backend.startedCount(2);
    backend.release('get b');
    expect((await client.replies(2)).map(printable)).toEqual([null, null]);
  });
});

describe('RespServer listening', () => {
  it('refuses a port another server holds with ERR_ADDRESS_IN_USE naming the address', async () => {
    // A taken --resp-port is a clear, typed error, not a raw EADDRINUSE stack.
    const { port } = await harness.startServer();
    const error = await harness.startServer({ port }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AddressInUseError);
    expect(error).toMatchObject({ code: 'ERR_ADDRESS_IN_USE', details: { host: '127.0.0.1', port } });
    expect(String((error as Error).message)).toContain(`127.0.0.1:${port}`);
  });
});

describe('RespServer connection handling', () => {
  // Garbage gets Redis's protocol error after the commands before it ran, the connection closes, and the server serves the next one.
  it('replies a protocol error, closes, and keeps serving', async () => {
    const started = await harness.startServer();
    const client = await harness.connectRaw(started.port);
    client.send('SET a 1\r\n*1\r\n$x\r\nPING\r\n');
    expect((await client.replies(2)).map(printable)).toEqual(['OK', { error: 'ERR Protocol error: invalid bulk length' }]);
    await client.closed;
    expect((await started.nextClientClosed()).reason).toBe('protocol-error');
    expect(client.unread).toEqual([]);
    const next = await harness.connectRaw(started.port);
    next.send(command('GET', 'a'));
    expect((await next.replies(1)).map(printable)).toEqual(['1']);
  });

  // QUIT replies OK, closes the connection, and nothing after it runs.
  it('closes on QUIT', async () => {
    const started = await harness.startServer();
    const client = await harness.connectRaw(started.port);
    client.send('PING\r\nQUIT\r\nSET after 1\r\n');
    expect((await client.replies(2)).map(printable)).toEqual(['PONG', 'OK']);
    await client.closed;
    expect((await started.nextClientClosed()).reason).toBe('quit');
    expect(await started.backend.exists(['after'])).toBe(0);
  });

  // After QUIT the server closes the connection even if the client never closes its side.
  it('closes after QUIT even when the client keeps its side open', async () => {
    const started = await harness.startServer();
    const client = await harness.connectRaw(started.port, { allowHalfOpen: true });
    client.send('QUIT\r\n');
    expect((await client.replies(1)).map(printable)).toEqual(['OK']);
    expect((await started.nextClientClosed()).reason).toBe('quit');
  }, 5_000);

  // A client that sends and then shuts down its side still gets every reply before the server closes.
  it('answers a half-closed client before closing', async () => {
    const { port } = await harness.startServer();
    const client = await harness.connectRaw(port);
    client.socket.end(Buffer.from('SET a b\r\nGET a\r\n'));
    expect((await client.replies(2)).map(printable)).toEqual(['OK', 'b']);
    await client.closed;
  });

  // A client that never reads its replies is disconnected once they exceed the output bound.
  it('disconnects a client that does not read', async () => {
    const logger = recordingLogger();
    const started = await harness.startServer({ maxOutputBufferBytes: 1024 * 1024, logger });
    await started.backend.set('big', Buffer.alloc(256 * 1024, 1), {});
    const client = await harness.connectRaw(started.port);
    client.socket.pause();
    // 400 replies of 256 KiB = 100 MiB, far more than the kernel buffers in between.
    client.send(Buffer.concat(Array.from({ length: 400 }, () => command('GET', 'big'))));
    expect((await started.nextClientClosed()).reason).toBe('output-limit');
    expect(logger.lines.some((line) => line.level === 'warn' && line.msg?.includes('output buffer limit') === true)).toBe(true);
    client.socket.resume();
    await client.closed;
    expect(started.server.clientCount).toBe(0);
  });

  // While replies are pending, the server stops reading: the client's writes back up instead of the server's memory.
  it('applies TCP backpressure past maxPendingRepliesPerClient', async () => {
    let openValve: () => void = () => {};
    const valve = new Promise<void>((resolve) => (openValve = resolve));
    const map = new MapRespBackend();
    const backend: RespBackend = { ...map, get: (key) => valve.then(() => map.get(key)), set: map.set.bind(map), del: map.del.bind(map), exists: map.exists.bind(map), info: () => ({}) };
    const { port } = await harness.startServer({ backend, maxPendingRepliesPerClient: 8, maxConcurrentCommandsPerClient: 1 });
    const client = await harness.connectRaw(port);
    const batch = Buffer.concat(Array.from({ length: 64 }, (_, i) => command('GET', `${'k'.repeat(1000)}${i}`)));
    let sentCommands = 0;
    let backedUp = false;
    // Without backpressure the server would read all 64 MiB into memory and write() would keep returning true.
    while (sentCommands * 1024 < 64 * 1024 * 1024) {
      backedUp = !client.socket.write(batch);
      sentCommands += 64;
      if (backedUp) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(backedUp).toBe(true);
    openValve();
    const replies = await client.replies(sentCommands);
    expect(replies.every((reply) => reply === null)).toBe(true);
  });

  // Past maxClients a new client gets Redis's error and is closed; the first one keeps working.
  it('refuses clients past maxClients', async () => {
    const { port } = await harness.startServer({ maxClients: 1 });
    const first = await harness.connectRaw(port);
    first.send('PING\r\n');
    await first.replies(1);
    const second = await harness.connectRaw(port);
    expect((await second.replies(1)).map(printable)).toEqual([{ error: 'ERR max number of clients reached' }]);
    await second.closed;
    first.send('PING\r\n');
    expect((await first.replies(1)).map(printable)).toEqual(['PONG']);
  });

  // An idle client is closed after idleTimeoutMs.
  it('closes idle clients', async () => {
    const started = await harness.startServer({ idleTimeoutMs: 50 });
    const client = await harness.connectRaw(started.port);
    await client.closed;
    expect((await started.nextClientClosed()).reason).toBe('idle-timeout');
  });

  // A 4 MiB value crosses many TCP reads on the way in and leaves by reference on the way out, intact.
  it('round-trips a large value', async () => {
    const { port } = await harness.startServer();
    const client = await harness.connectRaw(port);
    const value = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 1) value[i] = (i * 7919) & 0xff;
    client.send(Buffer.concat([command('SET', 'big', value), command('GET', 'big'), command('PING')]));
    const replies = await client.replies(3);
    expect(replies[0]).toBe('OK');
    expect((replies[1] as Buffer).equals(value)).toBe(true);
    expect(replies[2]).toBe('PONG');
  });

  // Closing the server while a backend call is in flight drops that reply without error.
  it('closes cleanly with a backend call in flight', async () => {
    const backend = new GatedBackend();
    const started = await harness.startServer({ backend });
    const client = await harness.connectRaw(started.port);
    client.send(command('GET', 'slow'));
    await backend.startedCount(1);
    await started.server.close();
    await client.closed;
    backend.release('get slow');
    // Let the late reply's callbacks run inside this test, so an error in them fails it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(client.unread).toEqual([]);
  });

  // close() closes every client socket and resolves.
  it('closes client sockets on close()', async () => {
    const started = await harness.startServer();
    const client = await harness.connectRaw(started.port);
    client.send('PING\r\n');
    await client.replies(1);
    await started.server.close();
    await client.closed;
    expect(started.server.clientCount).toBe(0);
  });
});

describe('RespServer backend errors', () => {
  /** A backend whose every call fails with the given error. */
  function failing(error: unknown): RespBackend {
    const fail = (): Promise<never> => Promise.reject(error);
    return { get: fail, set: fail, del: fail, exists: fail, info: () => ({}) };
  }

  // Typed ringkv errors become error lines prefixed with a word derived from their code.
  it.each([
    [new QuorumUnavailableError('put', 1, 3, 2, 'W'), 'QUORUM 1 of 3 replicas acknowledged, W=2 required; bring nodes back, or retry with a lower W'],
    [new TimeoutError('get', 500), 'TIMEOUT get timed out after 500 ms; the ring may be overloaded or partitioned, retry with a longer timeout'],
    [new ValueTooLargeError(20, 10), 'ERR value is 20 bytes, the limit is 10 bytes (option maxValueBytes); split the value or raise the limit'],
  ])('maps %s', async (error, line) => {
    const { port } = await harness.startServer({ backend: failing(error) });
    const client = await harness.connectRaw(port);
    client.send(command('SET', 'k', 'v'));
    expect((await client.replies(1)).map(printable)).toEqual([{ error: line }]);
  });

  // An unexpected error is logged, the client gets a generic error, and the connection keeps working.
  it('hides and logs unexpected errors', async () => {
    const logger = recordingLogger();
    const { port } = await harness.startServer({ backend: failing(new Error('bug')), logger });
    const client = await harness.connectRaw(port);
    client.send(Buffer.concat([command('GET', 'k'), command('PING')]));
    const replies = await client.replies(2);
    expect(replies[0]).toBeInstanceOf(ReplyError);
    expect(replies.map(printable)).toEqual([{ error: 'ERR internal error; see the server log' }, 'PONG']);
    expect(logger.lines.some((line) => line.level === 'error')).toBe(true);
  });
});
