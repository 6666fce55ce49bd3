import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MessageType, PROTOCOL_VERSION, type Envelope, type MessageType as MessageTypeValue } from '../../../src/core/wire.js';
import type { MemberRecord } from '../../../src/core/membership/member.js';
import type { MembershipOptions } from '../../../src/core/membership/options.js';
import { Cluster } from './harness.js';

/** One founder node n1 and a raw peer transport that speaks to it with hand-written messages. */
function setup(options?: MembershipOptions) {
  const cluster = new Cluster({ seed: 3, ...(options === undefined ? {} : { membership: options }) });
  cluster.startAll(['n1'], []);
  const node = cluster.node('n1');
  const peer = cluster.hub.create('p', 'p:7000');
  const inbox: Envelope[] = [];
  peer.onMessage((msg) => inbox.push(msg));
  const send = (t: MessageTypeValue, body: unknown, from = 'p', rid = 1): void => {
    peer.send(node.address, { v: PROTOCOL_VERSION, t, rid, from, body });
    cluster.hub.flush();
  };
  const push = (...members: MemberRecord[]): void => send(MessageType.GossipPush, { members });
  const kinds = (id: string): string[] => node.changes.filter((c) => c.id === id).map((c) => c.kind);
  return { cluster, node, m: node.membership, peer, inbox, send, push, kinds };
}

const rec = (id: string, heartbeat: number, state: MemberRecord['state'], generation = 1): MemberRecord =>
  ({ id, address: `${id}:7000`, generation, heartbeat, state });

describe('merging gossip', () => {
  test('a push from an unknown member adds it and the reply carries what the pusher lacked', () => {
    // Shows push-pull: n1 learns p (joined, ring-changed) and answers with its own record, same rid.
    const { m, inbox, send, kinds } = setup();
    send(MessageType.GossipPush, { members: [rec('p', 3, 'alive')] }, 'p', 42);
    expect(m.member('p')).toMatchObject({ state: 'alive', heartbeat: 3, address: 'p:7000' });
    expect(kinds('p')).toEqual(['joined', 'ring-changed']);
    expect(m.ringNodeIds()).toEqual(['n1', 'p']);
    const reply = inbox.find((msg) => msg.t === MessageType.GossipPull);
    expect(reply?.rid).toBe(42);
    expect((reply?.body as { members: MemberRecord[] }).members.map((r) => r.id)).toEqual(['n1']);
  });

  test('suspicion at the same version overrides alive, dead overrides suspect, and only a newer heartbeat refutes', () => {
    // Shows SWIM precedence on gossiped opinions, and that suspect counts as up while dead does not.
    const { m, push, kinds } = setup();
    push(rec('p', 5, 'alive'));
    push(rec('p', 5, 'suspect'));
    expect(m.member('p')?.state).toBe('suspect');
    expect(m.isUp('p')).toBe(true);
    push(rec('p', 5, 'alive'));
    expect(m.member('p')?.state).toBe('suspect');
    push(rec('p', 5, 'dead'));
    expect(m.member('p')?.state).toBe('dead');
    expect(m.isUp('p')).toBe(false);
    expect(m.ringNodeIds()).toContain('p');
    push(rec('p', 4, 'alive'));
    expect(m.member('p')?.state).toBe('dead');
    push(rec('p', 6, 'alive'));
    expect(m.member('p')?.state).toBe('alive');
    expect(kinds('p')).toEqual(['joined', 'ring-changed', 'suspect', 'dead', 'alive']);
  });

  test('a node that hears itself suspected at its current version bumps its heartbeat and answers with it', () => {
    // Shows refutation: the reply to the suspicion carries a newer alive record of n1.
    const { m, inbox, push } = setup();
    const current = m.member('n1');
    expect(current?.state).toBe('alive');
    const heartbeat = current?.heartbeat ?? -1;
    push(rec('p', 1, 'alive'), { ...rec('n1', heartbeat, 'suspect'), generation: 1 });
    expect(m.stats().refutations).toBe(1);
    expect(m.member('n1')?.state).toBe('alive');
    expect(m.member('n1')?.heartbeat).toBeGreaterThan(heartbeat);
    const reply = inbox.filter((msg) => msg.t === MessageType.GossipPull).at(-1);
    const self = (reply?.body as { members: MemberRecord[] }).members.find((r) => r.id === 'n1');
    expect(self?.state).toBe('alive');
    expect(self?.heartbeat).toBeGreaterThan(heartbeat);
    // An older suspicion, already outrun, is not refuted twice.
    push({ ...rec('n1', heartbeat, 'dead'), generation: 1 });
    expect(m.stats().refutations).toBe(1);
  });

  test('left is final within a generation; a newer generation rejoins', () => {
    // Shows the tombstone: stale or forged newer heartbeats of the same generation cannot resurrect it.
    const { m, send, push, kinds } = setup();
    push(rec('p', 5, 'alive'));
    send(MessageType.Leave, { member: rec('p', 7, 'left') }, 'p', 0);
    expect(m.member('p')?.state).toBe('left');
    expect(m.ringNodeIds()).toEqual(['n1']);
    expect(m.isUp('p')).toBe(false);
    push(rec('p', 5, 'alive'));
    push(rec('p', 100, 'alive'));
    expect(m.member('p')?.state).toBe('left');
    push(rec('p', 0, 'joining', 2));
    expect(m.member('p')).toMatchObject({ state: 'joining', generation: 2 });
    expect(m.ringNodeIds()).toEqual(['n1', 'p']);
    expect(kinds('p')).toEqual(['joined', 'ring-changed', 'left', 'ring-changed', 'joined', 'ring-changed']);
  });

  test('a newer generation of a known member is a restart', () => {
    // Shows the restarted event and that the new version replaces the old one, even a dead one.
    const { m, push, kinds } = setup();
    push(rec('p', 50, 'alive'));
    push(rec('p', 50, 'dead'));
    push(rec('p', 1, 'alive', 2));
    expect(m.member('p')).toMatchObject({ state: 'alive', generation: 2, heartbeat: 1 });
    expect(kinds('p')).toEqual(['joined', 'ring-changed', 'dead', 'restarted', 'alive']);
    push(rec('p', 999, 'alive', 1));
    expect(m.member('p')?.generation).toBe(2);
  });

  test('a member first heard of as left is not added, so purged tombstones never come back', () => {
    // Shows tombstones only disappear: a node that never knew q does not take over q's tombstone.
    const { m, push, kinds } = setup();
    push(rec('q', 9, 'left'));
    expect(m.member('q')).toBeUndefined();
    expect(kinds('q')).toEqual([]);
    expect(m.ringNodeIds()).toEqual(['n1']);
  });
});

describe('bounds', () => {
  test('the table holds at most maxMembers; the oldest tombstone is evicted first, then newcomers are refused', () => {
    // Shows the maxMembers bound with its counter and warning.
    const { m, node, push } = setup({ maxMembers: 4 });
    push(rec('a', 1, 'alive'), rec('b', 1, 'alive'), rec('c', 1, 'alive'));
    push(rec('b', 2, 'left'));
    expect(m.members()).toHaveLength(4);
    push(rec('d', 1, 'alive'));
    expect(m.member('b')).toBeUndefined();
    expect(m.member('d')?.state).toBe('alive');
    push(rec('e', 1, 'alive'), rec('f', 1, 'alive'));
    expect(m.members()).toHaveLength(4);
    expect(m.stats().membersRejected).toBe(2);
    expect(node.logger.lines.some((l) => l.level === 'warn' && /maxMembers/.test(l.msg ?? ''))).toBe(true);
  });

  test('messages carry at most maxGossipMembersPerMessage records, self first, and extra received records are ignored', () => {
    // Shows the per-message bound on both sides.
    const { m, inbox, send, push } = setup({ maxGossipMembersPerMessage: 3 });
    push(rec('a', 1, 'alive'), rec('b', 1, 'alive'), rec('c', 1, 'alive'), rec('d', 1, 'alive'), rec('e', 1, 'alive'));
    expect(m.stats().recordsTruncated).toBe(2);
    expect(m.member('d')).toBeUndefined();
    send(MessageType.JoinRequest, { member: rec('p', 0, 'joining') }, 'p', 9);
    const reply = inbox.filter((msg) => msg.t === MessageType.GossipPull).at(-1);
    const records = (reply?.body as { members: MemberRecord[] }).members;
    expect(records).toHaveLength(3);
    expect(records[0]?.id).toBe('n1');
  });
});

describe('malformed and foreign messages', () => {
  test('malformed bodies are dropped, counted and logged, and change nothing', () => {
    // Shows validation on receipt: wrong shapes from a buggy or hostile peer never throw out of handleMessage.
    const { m, node, send } = setup();
    const before = JSON.stringify(m.members());
    send(MessageType.GossipPush, null);
    send(MessageType.GossipPush, { members: 'everyone' });
    send(MessageType.GossipPull, { members: [{ id: 'x', address: 'x:1', generation: 1, heartbeat: -5, state: 'alive' }] });
    send(MessageType.GossipPush, { members: [rec('ok', 1, 'alive'), { ...rec('bad', 1, 'alive'), state: 'undead' }] });
    send(MessageType.JoinRequest, { member: rec('someone-else', 0, 'joining') });
    send(MessageType.JoinRequest, 'hello');
    send(MessageType.Leave, { member: rec('p', 9, 'alive') });
    expect(m.stats().malformedDropped).toBe(7);
    expect(node.logger.lines.filter((l) => l.level === 'warn' && l.msg === 'dropped a malformed membership message')).toHaveLength(7);
    expect(JSON.stringify(m.members())).toBe(before);
  });

  test('handleMessage claims membership types only, and ignores messages sent with our own id', () => {
    // Shows the dispatch contract the node composition relies on.
    const { m } = setup();
    const envelope = (t: MessageTypeValue, from = 'p'): Envelope => ({ v: PROTOCOL_VERSION, t, rid: 0, from, body: {} });
    expect(m.handleMessage(envelope(MessageType.ReplicaGet), 'p:7000')).toBe(false);
    expect(m.handleMessage(envelope(MessageType.Ping), 'p:7000')).toBe(true);
    expect(m.handleMessage(envelope(MessageType.GossipPush, 'n1'), 'p:7000')).toBe(true);
    expect(m.stats().messagesIgnored).toBe(2);
    expect(m.stats().malformedDropped).toBe(0);
  });

  test('arbitrary bodies never throw and never break the table', () => {
    // Shows robustness against any decoded CBOR value in any membership message type (property test).
    const { m } = setup();
    const types = [MessageType.GossipPush, MessageType.GossipPull, MessageType.JoinRequest, MessageType.Leave, MessageType.Ping];
    const recordish = fc.record({
      id: fc.oneof(fc.constantFrom('n1', 'p', 'q'), fc.string()),
      address: fc.oneof(fc.constant('q:7000'), fc.anything()),
      generation: fc.oneof(fc.nat(3), fc.anything()),
      heartbeat: fc.oneof(fc.nat(1000), fc.double()),
      state: fc.oneof(fc.constantFrom('joining', 'alive', 'suspect', 'dead', 'leaving', 'left'), fc.string()),
    }, { requiredKeys: [] });
    const body = fc.oneof(fc.anything(), fc.record({ members: fc.array(fc.oneof(recordish, fc.anything()), { maxLength: 5 }) }),
      fc.record({ member: recordish }));
    fc.assert(fc.property(fc.constantFrom(...types), fc.constantFrom('p', 'q', 'n1'), body, (t, from, b) => {
      expect(m.handleMessage({ v: PROTOCOL_VERSION, t, rid: 1, from, body: b }, 'p:7000')).toBe(true);
      expect(m.member('n1')?.state).toBe('alive');
      for (const view of m.members()) expect(m.ringNodeIds().includes(view.id)).toBe(view.state !== 'left');
    }), { numRuns: 500, seed: 11 });
  });

  test('messages before start() are ignored', () => {
    // Shows a node that is not running yet does not merge or answer.
    const cluster = new Cluster({ seed: 5 });
    const node = cluster.add('n1');
    expect(node.membership.handleMessage({ v: PROTOCOL_VERSION, t: MessageType.GossipPush, rid: 1, from: 'p', body: { members: [rec('p', 1, 'alive')] } }, 'p:7000')).toBe(true);
    expect(node.membership.member('p')).toBeUndefined();
    expect(node.membership.stats().messagesIgnored).toBe(1);
  });
});
