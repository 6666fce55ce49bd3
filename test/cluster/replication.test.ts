/**
 * Quorum reads and writes on real rings of node processes on 127.0.0.1: hinted handoff after a
 * kill -9, siblings from concurrent writers and their resolution by the SDK, read repair, and the
 * error a client gets when a quorum cannot be met.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, waitFor } from '../helpers/cluster.js';
import { connect, stringCodec } from '../../src/client/index.js';

interface Preflist {
  primaries: string[];
  preflist: Array<{ node: string; role: 'primary' | 'fallback'; standsFor?: string }>;
}

interface Status {
  replication: { hintsPending: number; hintsDelivered: number; hintsStored: number; readRepairs: number };
}

async function put(cluster: TestCluster, via: string, key: string, value: string, query = '', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${cluster.url(via)}/kv/${encodeURIComponent(key)}${query}`, { method: 'PUT', body: value, headers });
}

async function local(cluster: TestCluster, id: string, key: string, hintFor?: string): Promise<{ found: boolean; siblings?: Array<{ value: string | null }> }> {
  return cluster.json(id, `/testing/local/${encodeURIComponent(key)}${hintFor ? `?hintFor=${hintFor}` : ''}`);
}

describe('a 5-node ring at N=3, R=2, W=2', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 5, args: ['--testing-faults'] });
    await cluster.waitConverged();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('reads what it wrote, through any node', async () => {
    // This shows a write acknowledged by W=2 is read back by R=2 from every coordinator.
    for (let i = 0; i < 20; i++) {
      const res = await put(cluster, `n${(i % 5) + 1}`, `user:${i}`, `value-${i}`);
      expect(res.status).toBe(204);
      expect(res.headers.get('x-ringkv-context')).toBeTruthy();
    }
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${cluster.url(`n${((i + 2) % 5) + 1}`)}/kv/user:${i}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`value-${i}`);
    }
  });

  it('keeps writing through a fallback while a primary is down, and hands the hint off when it returns', async () => {
    // This shows sloppy quorum + hinted handoff: the fallback holds a durable hint that is delivered and deleted once the owner is back.
    const key = 'handoff:key';
    const { primaries } = await cluster.json<Preflist>('n1', `/cluster/preflist/${key}`);
    const victim = primaries[0]!;
    const coordinator = primaries[1]!;
    await cluster.kill(victim);
    await waitFor(`${coordinator} to see ${victim} down`, async () =>
      (await cluster.members(coordinator)).find((m) => m.id === victim)?.state === 'dead');

    const { preflist } = await cluster.json<Preflist>(coordinator, `/cluster/preflist/${key}`);
    const fallback = preflist.find((e) => e.role === 'fallback' && e.standsFor === victim);
    expect(fallback).toBeDefined();
    const res = await put(cluster, coordinator, key, 'written-while-down', '?w=3');
    expect(res.status).toBe(204);
    const hinted = await local(cluster, fallback!.node, key, victim);
    expect(hinted.found).toBe(true);
    expect((await cluster.json<Status>(fallback!.node, '/status')).replication.hintsPending).toBeGreaterThan(0);

    await cluster.startNode(victim);
    await waitFor('the hint to be delivered and deleted', async () => {
      const s = await cluster.json<Status>(fallback!.node, '/status');
      return s.replication.hintsPending === 0 && s.replication.hintsDelivered > 0;
    });
    expect((await local(cluster, fallback!.node, key, victim)).found).toBe(false);
    // A read served by the restarted primary alone (R=1, its own replica answers) has the value.
    const own = await local(cluster, victim, key);
    expect(own.siblings?.map((s) => s.value)).toEqual(['written-while-down']);
    const read = await fetch(`${cluster.url(victim)}/kv/${key}?r=1`);
    expect(await read.text()).toBe('written-while-down');
  });

  it('keeps concurrent writes with the same context as siblings, and the SDK resolver leaves one', async () => {
    // This shows no silent overwrite: two writers who read the same version both survive until a reader resolves them.
    const key = 'cart:alice';
    const first = await put(cluster, 'n1', key, 'apples');
    const context = first.headers.get('x-ringkv-context')!;
    await cluster.waitConverged();
    const a = await put(cluster, 'n2', key, 'apples,bread', '', { 'x-ringkv-context': context });
    const b = await put(cluster, 'n3', key, 'apples,milk', '', { 'x-ringkv-context': context });
    expect([a.status, b.status]).toEqual([204, 204]);

    const read = await fetch(`${cluster.url('n4')}/kv/${key}?r=3`);
    expect(read.status).toBe(300);
    const body = (await read.json()) as { siblings: Array<{ value: string }> };
    expect(body.siblings.map((s) => s.value).sort()).toEqual(['apples,bread', 'apples,milk']);

    const client = await connect({
      nodes: [cluster.spec('n1').address, cluster.spec('n2').address],
      codec: stringCodec,
      resolver: (values: string[]) => [...new Set(values.flatMap((v) => v.split(',')))].sort().join(','),
    });
    try {
      const resolved = await client.get(key, { r: 3 });
      expect(resolved.value).toBe('apples,bread,milk');
      const after = await client.get(key, { r: 3, resolver: null });
      expect(after.siblings.map((s) => s.value)).toEqual(['apples,bread,milk']);
    } finally {
      await client.close();
    }
  });

  it('read repair brings a stale replica up to date', async () => {
    // This shows a replica that missed a write (its frames were dropped) is repaired by the next read.
    const key = 'repair:key';
    const { primaries } = await cluster.json<Preflist>('n1', `/cluster/preflist/${key}`);
    const [coordinator, stale] = [primaries[0]!, primaries[2]!];
    expect((await put(cluster, coordinator, key, 'v1', '?w=3')).status).toBe(204);
    const v1Context = (await fetch(`${cluster.url(coordinator)}/kv/${key}?r=3`)).headers.get('x-ringkv-context')!;

    // The coordinator's frames to `stale` are dropped, so `stale` misses v2 (W=2 is met without it).
    await fetch(`${cluster.url(coordinator)}/testing/faults`, {
      method: 'POST', body: JSON.stringify({ dropOutbound: [cluster.spec(stale).address] }),
    });
    expect((await put(cluster, coordinator, key, 'v2', '?w=2', { 'x-ringkv-context': v1Context })).status).toBe(204);
    await fetch(`${cluster.url(coordinator)}/testing/faults/heal`, { method: 'POST' });
    expect((await local(cluster, stale, key)).siblings?.map((s) => s.value)).toEqual(['v1']);

    const repairsBefore = (await cluster.json<Status>(coordinator, '/status')).replication.readRepairs;
    expect(await (await fetch(`${cluster.url(coordinator)}/kv/${key}?r=3`)).text()).toBe('v2');
    await waitFor('the stale replica to be repaired', async () =>
      (await local(cluster, stale, key)).siblings?.map((s) => s.value).join() === 'v2');
    expect((await cluster.json<Status>(coordinator, '/status')).replication.readRepairs).toBeGreaterThan(repairsBefore);
  });

  it('refuses an impossible quorum before sending anything', async () => {
    // This shows W > N is a 400 with ERR_INVALID_QUORUM, not a timeout.
    const res = await put(cluster, 'n1', 'k', 'v', '?w=4');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ERR_INVALID_QUORUM');
  });

  it('answers malformed HTTP input with typed errors', async () => {
    // This shows bad input gets a clear 4xx with a code, never a crash.
    const badTimeout = await fetch(`${cluster.url('n1')}/kv/k?timeout=soon`);
    expect(badTimeout.status).toBe(400);
    const badContext = await put(cluster, 'n1', 'k', 'v', '', { 'x-ringkv-context': '!!not-a-context!!' });
    expect(badContext.status).toBe(400);
    expect(((await badContext.json()) as { error: { code: string } }).error.code).toBe('ERR_INVALID_CONTEXT');
    const tooLarge = await fetch(`${cluster.url('n1')}/kv/big`, { method: 'PUT', body: new Uint8Array(17 * 1024 * 1024) });
    expect(tooLarge.status).toBe(413);
    const badKey = await fetch(`${cluster.url('n1')}/kv/%E0%A4%A`);
    expect(badKey.status).toBe(400);
    expect((await fetch(`${cluster.url('n1')}/health`)).status).toBe(200);
  });
});

describe('W=3 with one node of three down', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, storage: 'memory' });
    await cluster.waitConverged();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('fails with the replica counts in the error: a sloppy quorum finds no third node', async () => {
    // This shows ERR_QUORUM_UNAVAILABLE names how many replicas acknowledged and how many were needed.
    await cluster.kill('n3');
    await waitFor('n1 to see n3 dead', async () => (await cluster.members('n1')).find((m) => m.id === 'n3')?.state === 'dead');
    const res = await put(cluster, 'n1', 'some-key', 'v', '?w=3');
    expect(res.status).toBe(503);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('ERR_QUORUM_UNAVAILABLE');
    expect(error.message).toContain('2 of 3 replicas acknowledged, W=3 required');
    expect((await put(cluster, 'n1', 'some-key', 'v', '?w=2')).status).toBe(204);
  });
});
