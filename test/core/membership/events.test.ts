import { describe, expect, test } from 'vitest';
import type { MemberRecord } from '../../../src/core/membership/member.js';
import { MessageType, PROTOCOL_VERSION } from '../../../src/core/wire.js';
import { Cluster } from './harness.js';

describe('change events', () => {
  test('come once the whole message is merged: a joiner hears of every member with the table complete', () => {
    // Shows listeners see a consistent table, so a listener that rebuilds the ring does it once per message.
    const { cluster, ids } = Cluster.startConverged(6, { seed: 25 }, 2_000);
    const joiner = cluster.add('n7');
    const m = joiner.membership;
    const seenOnEvent: Array<{ ring: number; self: string | undefined }> = [];
    m.onChange((change) => {
      if (change.kind === 'joined' && change.member.id !== 'n7') seenOnEvent.push({ ring: m.ringNodeIds().length, self: m.member('n7')?.state });
    });
    m.start([Cluster.addressOf('n1')]);
    cluster.advance(100);
    expect(seenOnEvent).toHaveLength(ids.length);
    for (const seen of seenOnEvent) expect(seen).toEqual({ ring: ids.length + 1, self: 'alive' });
    // The events themselves still describe each member as it was at its change, in order.
    const kinds = joiner.changes.filter((c) => c.id !== 'n7').map((c) => c.kind);
    expect(kinds.filter((k) => k === 'joined')).toHaveLength(ids.length);
  });

  test('each describes the member as it was at that change, in order, even when one message makes several', () => {
    // Shows deferring the events does not change what they say.
    const cluster = new Cluster({ seed: 26 });
    cluster.startAll(['n1'], []);
    const seen: string[] = [];
    cluster.membership('n1').onChange((change) => {
      if (change.member.id === 'p') seen.push(`${change.kind}/${change.member.state}/${change.member.heartbeat}`);
    });
    const peer = cluster.hub.create('p', 'p:7000');
    const record = (heartbeat: number, state: MemberRecord['state']): MemberRecord => ({ id: 'p', address: 'p:7000', generation: 1, heartbeat, state });
    peer.send(Cluster.addressOf('n1'), { v: PROTOCOL_VERSION, t: MessageType.GossipPush, rid: 1, from: 'p', body: { members: [record(1, 'joining'), record(2, 'alive')] } });
    cluster.hub.flush();
    expect(seen).toEqual(['joined/joining/1', 'ring-changed/joining/1', 'alive/alive/2']);
  });
});
