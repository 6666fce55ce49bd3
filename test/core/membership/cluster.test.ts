import { describe, expect, test } from 'vitest';
import type { Random } from '../../../src/core/env.js';
import { MessageType, PROTOCOL_VERSION, type NodeId } from '../../../src/core/wire.js';
import { Cluster, type ClusterOptions, type RecordedChange } from './harness.js';

const jitter = (maxMs: number) => (random: Random): number => 1 + random.next() * maxMs;

/** A node's view as comparable data: (id, state, generation) of every member, sorted. */
function viewOf(cluster: Cluster, id: NodeId): string[] {
  return cluster.membership(id).members().map((m) => `${m.id}/${m.state}/${m.generation}`).sort();
}

function changesAbout(cluster: Cluster, observer: NodeId, subject: NodeId): RecordedChange[] {
  return cluster.node(observer).changes.filter((c) => c.id === subject);
}

/** Starts `count` nodes seeded by n1 and runs until they converge; returns the cluster and ids. */
function converged(count: number, options: ClusterOptions = {}): { cluster: Cluster; ids: NodeId[] } {
  const cluster = new Cluster(options);
  const ids = Cluster.ids(count);
  cluster.startAll(ids);
  const at = cluster.advanceUntil(() => cluster.converged(ids), 5_000);
  expect(at).toBeDefined();
  return { cluster, ids };
}

describe('joining', () => {
  test('five nodes converge to all alive with the same sorted ring and a joined event per peer', () => {
    // Shows basic convergence from one seed, and the events the node composition listens to.
    const { cluster, ids } = converged(5, { seed: 1 });
    for (const id of ids) {
      expect(cluster.membership(id).ringNodeIds()).toEqual(ids);
      const joined = cluster.node(id).changes.filter((c) => c.kind === 'joined').map((c) => c.id).sort();
      expect(joined).toEqual([...ids].sort());
      expect(cluster.membership(id).stats().malformedDropped).toBe(0);
    }
  });

  test.each([
    ['instant delivery', undefined],
    ['1–20 ms latency', jitter(20)],
  ])('ten nodes at default settings all see each other alive within 0.5 s (%s)', (_name, latencyMs) => {
    // Shows the convergence requirement, measured in virtual time over several seeds.
    const times: number[] = [];
    for (let seed = 1; seed <= 5; seed++) {
      const cluster = new Cluster({ seed, ...(latencyMs === undefined ? {} : { latencyMs }) });
      const ids = Cluster.ids(10);
      cluster.startAll(ids, [Cluster.addressOf('n1'), Cluster.addressOf('n2')]);
      const at = cluster.advanceUntil(() => cluster.converged(ids), 2_000, 5);
      expect(at).toBeDefined();
      times.push(at ?? Infinity);
    }
    expect(Math.max(...times)).toBeLessThanOrEqual(500);
  });

  test('nodes started while their seed was down join as soon as it comes up', () => {
    // Shows seeds are contacted again while a node knows nobody: no node stays joining.
    const cluster = new Cluster({ seed: 4 });
    const ids = Cluster.ids(4);
    for (const id of ids) cluster.add(id);
    const seed = cluster.node('n1');
    cluster.crash('n1');
    for (const id of ['n2', 'n3', 'n4']) cluster.membership(id).start([seed.address]);
    cluster.advance(5_000);
    expect(cluster.membership('n2').member('n2')?.state).toBe('joining');
    cluster.restart('n1', []);
    const at = cluster.advanceUntil(() => cluster.converged(ids), 3_000);
    expect(at).toBeDefined();
  });
});

describe('failure detection', () => {
  test.each([
    ['instant delivery', undefined],
    ['1–50 ms latency', jitter(50)],
  ])('a kill -9 node is suspected, then declared dead by every survivor within 3 s (%s)', (_name, latencyMs) => {
    // Shows the detection requirement and that suspect precedes dead on every survivor.
    for (let seed = 1; seed <= 3; seed++) {
      const { cluster, ids } = converged(10, { seed, ...(latencyMs === undefined ? {} : { latencyMs }) });
      cluster.advance(2_000);
      const killedAt = cluster.clock.now();
      cluster.crash('n7');
      const survivors = ids.filter((id) => id !== 'n7');
      const at = cluster.advanceUntil(() => cluster.allSee(survivors, ['n7'], 'dead'), 6_000);
      expect(at).toBeDefined();
      expect((at ?? Infinity) - killedAt).toBeLessThanOrEqual(3_000);
      for (const id of survivors) {
        const kinds = changesAbout(cluster, id, 'n7').filter((c) => c.atMs >= killedAt).map((c) => c.kind);
        expect(kinds).toEqual(['suspect', 'dead']);
        const m = cluster.membership(id);
        expect(m.isUp('n7')).toBe(false);
        expect(m.ringNodeIds()).toContain('n7');
      }
    }
  });

  test('a steady cluster with irregular latency raises no suspicion', () => {
    // Shows the detector is not trigger-happy: 20 s of 1–100 ms jitter, no false positive.
    const { cluster, ids } = converged(10, { seed: 9, latencyMs: jitter(100) });
    cluster.advance(20_000);
    for (const id of ids) expect(cluster.membership(id).stats().suspicions).toBe(0);
    expect(cluster.converged(ids)).toBe(true);
  });

  test('one blocked link raises no suspicion: heartbeats also travel through other members', () => {
    // Shows gossip gives SWIM's indirect probing for free.
    const { cluster, ids } = converged(5, { seed: 2 });
    cluster.hub.block(Cluster.addressOf('n1'), Cluster.addressOf('n2'));
    cluster.hub.block(Cluster.addressOf('n2'), Cluster.addressOf('n1'));
    cluster.advance(10_000);
    for (const id of ids) expect(cluster.membership(id).stats().suspicions).toBe(0);
    expect(cluster.converged(ids)).toBe(true);
  });

  test('a false suspicion is refuted: a node whose outgoing links were blocked briefly is suspected, never dead', () => {
    // Shows SWIM-style refutation: the suspected node hears the suspicion and its newer heartbeat wins.
    const { cluster, ids } = converged(5, { seed: 3 });
    cluster.advance(2_000);
    const others = ids.filter((id) => id !== 'n3');
    const blockedAt = cluster.clock.now();
    for (const id of others) cluster.hub.block(Cluster.addressOf('n3'), Cluster.addressOf(id));
    const suspectedAt = cluster.advanceUntil(() => others.some((id) => cluster.membership(id).member('n3')?.state === 'suspect'), 5_000);
    expect(suspectedAt).toBeDefined();
    cluster.heal();
    cluster.advance(5_000);
    expect(cluster.converged(ids)).toBe(true);
    expect(cluster.membership('n3').stats().refutations).toBeGreaterThanOrEqual(1);
    for (const id of others) {
      const kinds = changesAbout(cluster, id, 'n3').map((c) => c.kind);
      expect(kinds).not.toContain('dead');
    }
    const afterBlock = (id: NodeId): string => changesAbout(cluster, id, 'n3').filter((c) => c.atMs >= blockedAt).map((c) => c.kind).join();
    expect(others.some((id) => afterBlock(id) === 'suspect,alive')).toBe(true);
  });
});

describe('restarts', () => {
  test('a dead node restarted with a newer generation is alive again everywhere, with a restarted event', () => {
    // Shows generations: the new process's heartbeat 0 beats the old process's last heartbeat.
    const { cluster, ids } = converged(5, { seed: 5 });
    cluster.advance(1_000);
    cluster.crash('n3');
    const survivors = ids.filter((id) => id !== 'n3');
    expect(cluster.advanceUntil(() => cluster.allSee(survivors, ['n3'], 'dead'), 5_000)).toBeDefined();
    const restartedAt = cluster.clock.now();
    cluster.restart('n3', [Cluster.addressOf('n1')]);
    expect(cluster.advanceUntil(() => cluster.converged(ids), 1_000)).toBeDefined();
    for (const id of survivors) {
      expect(cluster.membership(id).member('n3')?.generation).toBe(2);
      const after = changesAbout(cluster, id, 'n3').filter((c) => c.atMs >= restartedAt);
      expect(after[0]).toMatchObject({ kind: 'restarted', generation: 2 });
      expect(after.map((c) => c.kind)).toContain('alive');
    }
    expect(viewOf(cluster, 'n3')).toEqual(viewOf(cluster, 'n1'));
  });

  test('a node restarted before anyone noticed is never declared dead', () => {
    // Shows a quick restart is a restart, not a failure.
    const { cluster, ids } = converged(5, { seed: 6 });
    cluster.advance(1_000);
    cluster.crash('n4');
    cluster.advance(300);
    cluster.restart('n4', [Cluster.addressOf('n1')]);
    cluster.advance(3_000);
    expect(cluster.converged(ids)).toBe(true);
    for (const id of ids.filter((x) => x !== 'n4')) {
      const kinds = changesAbout(cluster, id, 'n4').map((c) => c.kind);
      expect(kinds).toContain('restarted');
      expect(kinds).not.toContain('dead');
    }
  });
});

describe('graceful leave', () => {
  test('others see the leaver left, drop it from the ring, and it stops gossiping', () => {
    // Shows leave(): leaving → left announced, ring-changed everywhere, timers disarmed afterwards.
    const { cluster, ids } = converged(5, { seed: 7 });
    cluster.advance(1_000);
    const leftAt = cluster.clock.now();
    cluster.membership('n4').leave();
    const rest = ids.filter((id) => id !== 'n4');
    expect(cluster.advanceUntil(() => cluster.allSee(rest, ['n4'], 'left'), 2_000)).toBeDefined();
    cluster.advance(2_000);
    for (const id of rest) {
      expect(cluster.membership(id).ringNodeIds()).toEqual(rest);
      expect(cluster.membership(id).isUp('n4')).toBe(false);
      const kinds = changesAbout(cluster, id, 'n4').filter((c) => c.atMs >= leftAt).map((c) => c.kind);
      expect(kinds).toEqual(['left', 'ring-changed']);
    }
    const leaver = cluster.membership('n4');
    expect(leaver.member('n4')?.state).toBe('left');
    const rounds = leaver.stats().gossipRounds;
    cluster.advance(2_000);
    expect(leaver.stats().gossipRounds).toBe(rounds);
    expect(cluster.converged(rest)).toBe(true);
  });

  test('stale gossip, and a node that missed the leave, do not resurrect the left member', () => {
    // Shows the tombstone at work: an old push and a healed partition both lose to "left".
    const { cluster, ids } = converged(5, { seed: 8 });
    cluster.advance(1_000);
    const oldRecord = cluster.membership('n1').member('n4');
    expect(oldRecord?.state).toBe('alive');
    cluster.partition(['n5'], ['n1', 'n2', 'n3', 'n4']);
    cluster.membership('n4').leave();
    cluster.advance(4_000);
    expect(cluster.membership('n5').member('n4')?.state).toBe('dead');

    const replay = cluster.hub.create('replayer', 'replayer:7000');
    const { phi: _phi, stateChangedAtMs: _at, ...stale } = oldRecord ?? { phi: 0, stateChangedAtMs: 0 };
    replay.send(Cluster.addressOf('n1'), { v: PROTOCOL_VERSION, t: MessageType.GossipPush, rid: 1, from: 'replayer', body: { members: [stale] } });
    cluster.hub.flush();
    expect(cluster.membership('n1').member('n4')?.state).toBe('left');

    cluster.heal();
    const rest = ids.filter((id) => id !== 'n4');
    expect(cluster.advanceUntil(() => cluster.converged(rest) && cluster.allSee(rest, ['n4'], 'left'), 5_000)).toBeDefined();
    cluster.advance(2_000);
    for (const id of rest) {
      expect(cluster.membership(id).member('n4')?.state).toBe('left');
      expect(cluster.membership(id).ringNodeIds()).toEqual(rest);
    }
  });

  test('tombstones are purged after leftMemberTtlMs', () => {
    // Shows the tombstone bound in time.
    const { cluster, ids } = converged(4, { seed: 10, membership: { leftMemberTtlMs: 10_000 } });
    cluster.membership('n2').leave();
    cluster.advance(5_000);
    const rest = ids.filter((id) => id !== 'n2');
    expect(cluster.allSee(rest, ['n2'], 'left')).toBe(true);
    cluster.advance(7_000);
    for (const id of rest) expect(cluster.membership(id).member('n2')).toBeUndefined();
  });
});

describe('partitions', () => {
  test('a partition marks the other side dead on both sides; after healing membership agrees again', () => {
    // Shows dead members are still gossiped to (Cassandra's probability), so a healed partition reconverges.
    const { cluster, ids } = converged(5, { seed: 11 });
    cluster.advance(2_000);
    const a = ['n1', 'n2'];
    const b = ['n3', 'n4', 'n5'];
    cluster.partition(a, b);
    expect(cluster.advanceUntil(() => cluster.allSee(a, b, 'dead') && cluster.allSee(b, a, 'dead'), 4_000)).toBeDefined();
    expect(cluster.allSee(a, a, 'alive') && cluster.allSee(b, b, 'alive')).toBe(true);
    for (const id of ids) expect(cluster.membership(id).ringNodeIds()).toEqual(ids);
    cluster.advance(5_000);
    const healedAt = cluster.clock.now();
    cluster.heal();
    const at = cluster.advanceUntil(() => cluster.converged(ids), 5_000);
    expect(at).toBeDefined();
    expect((at ?? Infinity) - healedAt).toBeLessThanOrEqual(2_000);
    const reference = viewOf(cluster, 'n1');
    for (const id of ids) expect(viewOf(cluster, id)).toEqual(reference);
  });

  test('a partition of a cluster whose only seed is dead heals too', () => {
    // Shows gossip to dead members alone (no seed reachable) reconnects a healed partition.
    const { cluster, ids } = converged(5, { seed: 12 });
    cluster.crash('n1');
    const live = ids.filter((id) => id !== 'n1');
    expect(cluster.advanceUntil(() => cluster.allSee(live, ['n1'], 'dead'), 4_000)).toBeDefined();
    const a = ['n2', 'n3'];
    const b = ['n4', 'n5'];
    cluster.partition(a, b);
    expect(cluster.advanceUntil(() => cluster.allSee(a, b, 'dead') && cluster.allSee(b, a, 'dead'), 4_000)).toBeDefined();
    cluster.advance(3_000);
    cluster.heal();
    expect(cluster.advanceUntil(() => cluster.converged(live), 3_000)).toBeDefined();
    for (const id of live) expect(cluster.membership(id).stats().deadGossipSent).toBeGreaterThan(0);
    const reference = viewOf(cluster, 'n2');
    for (const id of live) expect(viewOf(cluster, id)).toEqual(reference);
  });
});
