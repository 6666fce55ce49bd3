import { describe, expect, test } from 'vitest';
import type { Random } from '../../../src/core/env.js';
import type { MemberRecord } from '../../../src/core/membership/member.js';
import { MessageType, PROTOCOL_VERSION, type Envelope, type NodeId } from '../../../src/core/wire.js';
import { Cluster } from './harness.js';

const jitter = (maxMs: number) => (random: Random): number => 1 + random.next() * maxMs;

/** Starts `newcomer` against seed n1 and returns the virtual ms until all of `ids` and it see each other alive. */
function joinTime(cluster: Cluster, ids: readonly NodeId[], newcomer: NodeId): number | undefined {
  const startedAt = cluster.clock.now();
  cluster.add(newcomer);
  cluster.membership(newcomer).start([Cluster.addressOf('n1')]);
  const all = [...ids, newcomer];
  const at = cluster.advanceUntil(() => cluster.converged(all), 2_000, 1);
  return at === undefined ? undefined : at - startedAt;
}

describe('join', () => {
  test('a seed records a JoinRequest sender alive at once and answers with its whole table', () => {
    // Shows the seed needs no second message from the joiner to call it alive.
    const { cluster } = Cluster.startConverged(3, { seed: 21 }, 2_000);
    const joiner = cluster.hub.create('j', 'j:7000');
    const inbox: Envelope[] = [];
    joiner.onMessage((msg) => inbox.push(msg));
    const request: MemberRecord = { id: 'j', address: 'j:7000', generation: 1, heartbeat: 0, state: 'joining' };
    joiner.send(Cluster.addressOf('n1'), { v: PROTOCOL_VERSION, t: MessageType.JoinRequest, rid: 9, from: 'j', body: { member: request } });
    cluster.hub.flush();
    const seed = cluster.membership('n1');
    expect(seed.member('j')).toMatchObject({ state: 'alive', heartbeat: 0, generation: 1 });
    expect(seed.isUp('j')).toBe(true);
    const joinedEvents = cluster.node('n1').changes.filter((c) => c.id === 'j' && c.kind === 'joined');
    expect(joinedEvents.map((c) => c.state)).toEqual(['alive']);
    const reply = inbox.find((msg) => msg.t === MessageType.GossipPull);
    expect(reply?.rid).toBe(9);
    const records = (reply?.body as { members: MemberRecord[] }).members;
    expect(records.map((r) => `${r.id}/${r.state}`).sort()).toEqual(['j/alive', 'n1/alive', 'n2/alive', 'n3/alive']);
  });

  test('the joiner\'s own alive record supersedes the one the seed made for it', () => {
    // Shows the seed's record is a version like any other: the joiner's next heartbeat wins everywhere.
    const { cluster, ids } = Cluster.startConverged(3, { seed: 22 }, 2_000);
    cluster.add('n4');
    cluster.membership('n4').start([Cluster.addressOf('n1')]);
    cluster.advance(1_000);
    const own = cluster.membership('n4').member('n4');
    expect(own?.state).toBe('alive');
    for (const id of ids) {
      const seen = cluster.membership(id).member('n4');
      expect(seen?.state).toBe('alive');
      expect(seen?.heartbeat).toBeGreaterThan(0);
    }
  });

  test('a joining node sends nothing but JoinRequests, so no member ever holds it as joining', () => {
    // Shows there is no joining → alive step to wait for, and no alive → joining flap from a late push.
    const cluster = new Cluster({ seed: 23 });
    cluster.add('n2');
    const silentSeed = cluster.hub.create('n1', Cluster.addressOf('n1'));
    const sent: Envelope[] = [];
    silentSeed.onMessage((msg) => sent.push(msg));
    cluster.membership('n2').start([Cluster.addressOf('n1')]);
    cluster.advance(1_000);
    expect(cluster.membership('n2').member('n2')?.state).toBe('joining');
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(new Set(sent.map((msg) => msg.t))).toEqual(new Set([MessageType.JoinRequest]));

    const ten = new Cluster({ seed: 24, latencyMs: jitter(20) });
    const ids = Cluster.ids(10);
    ten.startAll(ids, [Cluster.addressOf('n1'), Cluster.addressOf('n2')]);
    expect(ten.advanceUntil(() => ten.converged(ids), 2_000)).toBeDefined();
    ten.advance(3_000);
    for (const id of ids) {
      for (const change of ten.node(id).changes) {
        if (change.id !== id && change.kind === 'joined') expect(change.state).toBe('alive');
        expect(change.kind).not.toBe('suspect');
      }
    }
  });

  test.each([
    ['instant delivery', undefined, 1],
    ['1–20 ms latency', jitter(20), 63],
  ])('a node joining a converged ten-node cluster is alive on every member, and sees them all alive, within three one-way hops (%s)', (_name, latencyMs, boundMs) => {
    // Shows the join path: request to the seed, the seed's answer, the joiner's push to every member.
    for (let seed = 1; seed <= 5; seed++) {
      const { cluster, ids } = Cluster.startConverged(10, { seed, ...(latencyMs === undefined ? {} : { latencyMs }) }, 2_000);
      const ms = joinTime(cluster, ids, 'n11');
      expect(ms).toBeDefined();
      expect(ms ?? Infinity).toBeLessThanOrEqual(boundMs);
    }
  });
});
