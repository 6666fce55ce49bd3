/**
 * The Redis protocol port of a real 3-node ring: redis-cli and ioredis work unchanged, SET
 * supersedes what the coordinator has seen, GET of a key with siblings picks one value by the
 * deterministic rule on every node while HTTP readers still see every sibling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { TestCluster } from '../helpers/cluster.js';

const run = promisify(execFile);

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

describe('RESP port on a 3-node ring', () => {
  let cluster: TestCluster;
  let redis: Redis;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, resp: true, storage: 'memory' });
    await cluster.waitConverged();
    redis = new Redis({ host: '127.0.0.1', port: cluster.spec('n1').respPort, lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  it('works with redis-cli', async () => {
    // This shows the commands redis-cli sends at start and for set/get/del are served.
    const port = cluster.spec('n2').respPort;
    expect(await redisCli(port, 'ping')).toBe('PONG');
    expect(await redisCli(port, 'set', 'greeting', 'hello')).toBe('OK');
    expect(await redisCli(cluster.spec('n3').respPort, 'get', 'greeting')).toBe('hello');
    expect(await redisCli(port, 'exists', 'greeting', 'nope')).toBe('1');
    expect(await redisCli(port, 'del', 'greeting')).toBe('1');
    expect(await redisCli(port, 'get', 'greeting')).toBe('');
    expect(await redisCli(port, 'info', 'ringkv')).toContain('node_id:n2');
  });

  it('works with ioredis: pipelines, MSET/MGET, NX/XX, expiry', async () => {
    // This shows a standard client library needs no change.
    expect(await redis.set('a', '1')).toBe('OK');
    expect(await redis.mset('b', '2', 'c', '3')).toBe('OK');
    expect(await redis.mget('a', 'b', 'c', 'missing')).toEqual(['1', '2', '3', null]);
    expect(await redis.set('a', 'x', 'NX')).toBeNull();
    expect(await redis.set('fresh', 'y', 'XX')).toBeNull();
    expect(await redis.set('fresh', 'y', 'NX')).toBe('OK');
    const results = await redis.pipeline().set('p', 'v1').get('p').set('p', 'v2').get('p').exec();
    expect(results?.map(([, v]) => v)).toEqual(['OK', 'v1', 'OK', 'v2']);
    expect(await redis.set('short', 'lived', 'PX', 300)).toBe('OK');
    expect(await redis.get('short')).toBe('lived');
    await new Promise((r) => setTimeout(r, 400)); // the TTL itself is the event under test
    expect(await redis.get('short')).toBeNull();
  });

  it('GET picks one sibling by the deterministic rule on every node while HTTP sees all of them', async () => {
    // This shows the documented rule for context-less Redis readers: latest write time, then node id.
    const key = 'doc:rule';
    const first = await fetch(`${cluster.url('n1')}/kv/${key}`, { method: 'PUT', body: 'base' });
    const ctx = first.headers.get('x-ringkv-context')!;
    await fetch(`${cluster.url('n2')}/kv/${key}`, { method: 'PUT', body: 'left', headers: { 'x-ringkv-context': ctx } });
    await fetch(`${cluster.url('n3')}/kv/${key}`, { method: 'PUT', body: 'right', headers: { 'x-ringkv-context': ctx } });
    const http = await fetch(`${cluster.url('n1')}/kv/${key}?r=3`);
    expect(http.status).toBe(300);
    const siblings = ((await http.json()) as { siblings: Array<{ value: string; writtenAtMs: number; node: string }> }).siblings;
    const expected = [...siblings].sort((x, y) => y.writtenAtMs - x.writtenAtMs || (x.node < y.node ? 1 : -1))[0]!.value;
    const picks = await Promise.all(['n1', 'n2', 'n3'].map((id) => redisCli(cluster.spec(id).respPort, 'get', key)));
    expect(new Set(picks).size).toBe(1);
    expect(siblings.map((s) => s.value)).toContain(picks[0]);
    expect(picks[0]).toBe(expected);

    // A Redis SET supersedes what its coordinator has seen: the siblings collapse to one.
    expect(await redisCli(cluster.spec('n1').respPort, 'set', key, 'resolved')).toBe('OK');
    const after = await fetch(`${cluster.url('n2')}/kv/${key}?r=3`);
    expect(after.status).toBe(200);
    expect(await after.text()).toBe('resolved');
  });

  it('answers garbage with a protocol error and keeps serving', async () => {
    // This shows a malformed RESP frame gets an error reply and never takes the node down.
    const port = cluster.spec('n1').respPort;
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1', () => socket.write('*2\r\n$abc\r\nGET\r\n'));
      let data = '';
      socket.on('data', (b) => (data += b.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^-ERR Protocol error/);
    expect(await redisCli(port, 'ping')).toBe('PONG');
    expect(await redisCli(port, 'nosuchcommand', 'x')).toContain("unknown command 'nosuchcommand'");
  });
});
