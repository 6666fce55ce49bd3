import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Harness, type StartedServer } from './harness.js';

const harness = new Harness();
const clients: Redis[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await harness.cleanup();
});

/** An ioredis client that does not retry, so a broken server fails the test instead of hanging it. */
async function connectIoredis(started: StartedServer, options: { connectionName?: string } = {}): Promise<Redis> {
  const client = new Redis({
    host: '127.0.0.1',
    port: started.port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...options,
  });
  clients.push(client);
  await client.connect();
  return client;
}

describe('RespServer with ioredis', () => {
  // ioredis connects (CLIENT SETINFO, INFO ready check, CLIENT SETNAME) and runs the basic commands.
  it('runs get, set, del, exists, mget, mset', async () => {
    const started = await harness.startServer();
    const redis = await connectIoredis(started, { connectionName: 'tester' });
    expect(await redis.client('GETNAME')).toBe('tester');
    expect(await redis.set('a', '1')).toBe('OK');
    expect(await redis.get('a')).toBe('1');
    expect(await redis.mset({ b: '2', c: '3' })).toBe('OK');
    expect(await redis.mget('a', 'b', 'zz', 'c')).toEqual(['1', '2', null, '3']);
    expect(await redis.exists('a', 'b', 'zz')).toBe(2);
    expect(await redis.del('a', 'b', 'zz')).toBe(2);
    expect(await redis.get('a')).toBeNull();
    const binary = Buffer.from([0, 1, 2, 255]);
    await redis.set('bin', binary);
    expect((await redis.getBuffer('bin'))?.equals(binary)).toBe(true);
  });

  // A pipeline's replies come back in order, reads seeing earlier writes of the same pipeline.
  it('runs pipelines', async () => {
    const started = await harness.startServer();
    const redis = await connectIoredis(started);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 200; i += 1) pipeline.set(`k${i % 5}`, `v${i}`).get(`k${i % 5}`);
    const results = await pipeline.exec();
    expect(results).toHaveLength(400);
    results?.forEach(([error, value], index) => {
      expect(error).toBeNull();
      expect(value).toBe(index % 2 === 0 ? 'OK' : `v${(index - 1) / 2}`);
    });
  });

  // EX and PX expire by the server's injected clock; NX and XX are honoured.
  it('expires keys and applies NX/XX', async () => {
    const started = await harness.startServer();
    const redis = await connectIoredis(started);
    expect(await redis.set('t', 'v', 'EX', 10)).toBe('OK');
    started.clock.advance(9_999);
    expect(await redis.get('t')).toBe('v');
    started.clock.advance(1);
    expect(await redis.get('t')).toBeNull();
    expect(await redis.set('p', 'v', 'PX', 5, 'NX')).toBe('OK');
    expect(await redis.set('p', 'w', 'NX')).toBeNull();
    expect(await redis.set('p', 'w', 'XX')).toBe('OK');
    expect(await redis.get('p')).toBe('w');
    expect(await redis.set('q', 'v', 'XX')).toBeNull();
  });

  // Errors reach ioredis as rejected promises with the Redis error text.
  it('surfaces errors', async () => {
    const started = await harness.startServer();
    const redis = await connectIoredis(started);
    await expect(redis.set('k', 'v', 'EX', 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(redis.call('nosuch', 'x')).rejects.toThrow("ERR unknown command 'nosuch', with args beginning with: 'x' ");
    expect(await redis.ping()).toBe('PONG');
  });
});
