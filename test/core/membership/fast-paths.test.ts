/**
 * The shortcuts of the gossip hot path (records reused per entry, records checked in place instead
 * of copied, phi skipped before the mean) must answer exactly as the plain code did. These tests drive one Membership through a
 * transport that keeps the envelopes it is given by reference, so a record mutated after it was
 * sent, or a stale cache, would show.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Env } from '../../../src/core/env.js';
import { SeededRandom } from '../../../src/core/random.js';
import type { Transport } from '../../../src/core/transport.js';
import { MessageType, PROTOCOL_VERSION, type Address, type Envelope } from '../../../src/core/wire.js';
import type { MemberRecord } from '../../../src/core/membership/member.js';
import { Membership } from '../../../src/core/membership/membership.js';
import { VirtualClock } from './harness.js';

interface Sent {
  readonly address: Address;
  readonly msg: Envelope;
}

/** n1, founded alone (so alive at once), with a transport that records every send by reference. */
function setup() {
  const clock = new VirtualClock();
  const sent: Sent[] = [];
  const transport: Transport = {
    localId: 'n1',
    localAddress: 'n1:7000',
    send: (address, msg) => {
      sent.push({ address, msg });
    },
    onMessage: () => {},
    stats: () => ({ framesSent: 0, framesReceived: 0, framesDropped: 0, connectionsRejected: 0 }),
    close: () => Promise.resolve(),
  };
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const env: Env = { clock, timers: clock.timersFor('n1'), random: new SeededRandom(7), logger: silent };
  const m = new Membership({ env, transport }, { id: 'n1', address: 'n1:7000', generation: 1 });
  m.start([]);
  let rid = 100;
  /** Hands n1 a push from `from`; returns the records of n1's reply (empty when it sent none). */
  const push = (members: readonly unknown[], from = 'p'): MemberRecord[] => {
    const before = sent.length;
    m.handleMessage({ v: PROTOCOL_VERSION, t: MessageType.GossipPush, rid: ++rid, from, body: { members } }, `${from}:7000`);
    const reply = sent.slice(before).find((s) => s.msg.t === MessageType.GossipPull && s.msg.rid === rid);
    return reply === undefined ? [] : (reply.msg.body as { members: MemberRecord[] }).members;
  };
  /** Fires every timer due within the next `ms` of virtual time. */
  const advance = (ms: number): void => {
    const until = clock.now() + ms;
    while (clock.runNext(until));
    clock.jumpTo(until);
  };
  return { sent, m, push, advance };
}

const rec = (id: string, heartbeat: number, state: MemberRecord['state'] = 'alive', generation = 1): MemberRecord =>
  ({ id, address: `${id}:7000`, generation, heartbeat, state });

describe('the record reused per entry', () => {
  test('a member whose version or state changed is gossiped with the new one, and records already sent never change', () => {
    // Shows the per-entry record is remade when any field moves (heartbeat, state, generation and
    // address), and that a reused record is never mutated under a message that holds it.
    const { m, push } = setup();
    push([rec('p', 1), rec('q', 5)]);
    const first = push([rec('p', 2)]);
    const q1 = first.find((r) => r.id === 'q');
    expect(q1).toEqual(rec('q', 5));
    // Unchanged: the same object goes out again.
    expect(push([rec('p', 3)]).find((r) => r.id === 'q')).toBe(q1);
    // A newer heartbeat, then a suspicion at that version, then a restart at a new address.
    push([rec('p', 4), rec('q', 6)]);
    expect(push([rec('p', 5)]).find((r) => r.id === 'q')).toEqual(rec('q', 6));
    push([rec('p', 6), rec('q', 6, 'suspect')]);
    expect(push([rec('p', 7)]).find((r) => r.id === 'q')).toEqual(rec('q', 6, 'suspect'));
    push([rec('p', 8), { ...rec('q', 0, 'alive', 2), address: 'q:7001' }]);
    expect(push([rec('p', 9)]).find((r) => r.id === 'q')).toEqual({ ...rec('q', 0, 'alive', 2), address: 'q:7001' });
    expect(m.member('q')).toMatchObject({ generation: 2, address: 'q:7001' });
    // The record sent first still says what it said.
    expect(q1).toEqual(rec('q', 5));
  });

  test('this node\'s own record carries the heartbeat of every round', () => {
    // Shows the self record, which changes every tick, is never served stale from the cache.
    const { sent, m, push, advance } = setup();
    push([rec('p', 1)]);
    const heartbeats: number[] = [];
    for (let round = 0; round < 5; round++) {
      advance(200);
      const last = sent.filter((s) => s.msg.t === MessageType.GossipPush).at(-1);
      const self = (last?.msg.body as { members: MemberRecord[] } | undefined)?.members[0];
      expect(self?.id).toBe('n1');
      expect(self?.heartbeat).toBe(m.member('n1')?.heartbeat);
      heartbeats.push(self?.heartbeat ?? -1);
    }
    expect(new Set(heartbeats).size).toBe(5);
  });
});

describe('the reply to a push', () => {
  test('for a member sent twice in one push, the last record sent is the one compared', () => {
    // Shows the last record of an id in a push is the one the reply compares with.
    const { push } = setup();
    push([rec('p', 1), rec('q', 5)]);
    // q at 7 is merged, then q at 3 is what the pusher's list ends with: it lacks q at 7.
    expect(push([rec('p', 2), rec('q', 7), rec('q', 3)]).find((r) => r.id === 'q')).toEqual(rec('q', 7));
    // Sent the other way round, the pusher's last word is q at 7, which n1 holds: nothing to add.
    expect(push([rec('p', 3), rec('q', 3), rec('q', 7)]).find((r) => r.id === 'q')).toBeUndefined();
  });

  test('a member the pusher did not send is in the reply, whatever an earlier push said of it', () => {
    // Shows a record remembered from one push is never read while answering the next one.
    const { push } = setup();
    push([rec('p', 1), rec('q', 5)]);
    expect(push([rec('p', 2), rec('q', 5)]).map((r) => r.id)).toEqual(['n1']);
    expect(push([rec('p', 3)]).map((r) => r.id)).toEqual(['n1', 'q']);
  });

  test('unknown fields of pushed records reach neither the table nor any message', () => {
    // Shows records checked in place are never kept: their fields are copied one by one.
    const { sent, m, push } = setup();
    push([{ ...rec('p', 1), evil: 'x' }, { ...rec('q', 5), evil: 'y' }, { ...rec('n1', 0), evil: 'z' }]);
    push([{ ...rec('p', 2), evil: 'x' }, { ...rec('q', 6, 'suspect'), evil: 'y' }]);
    const keys = ['address', 'generation', 'heartbeat', 'id', 'state'];
    for (const view of m.members()) expect(Object.keys(view).filter((k) => !['phi', 'stateChangedAtMs'].includes(k)).sort()).toEqual(keys);
    for (const { msg } of sent) {
      const body = msg.body as { members?: MemberRecord[]; member?: MemberRecord };
      for (const record of body.members ?? (body.member === undefined ? [] : [body.member])) expect(Object.keys(record).sort()).toEqual(keys);
    }
  });

  test('replies match a plain map-based reply on random pushes', () => {
    // Shows, as a property, that the reply is: n1's records (in table order) the pusher sent older or not at all.
    const { m, push } = setup();
    const ids = ['p', 'q', 'r', 'n1'];
    const record = fc.record({
      id: fc.constantFrom(...ids),
      heartbeat: fc.nat(20),
      state: fc.constantFrom<MemberRecord['state']>('joining', 'alive', 'suspect', 'dead', 'leaving', 'left'),
      generation: fc.constantFrom(1, 2),
    }).map((r) => rec(r.id, r.heartbeat, r.state, r.generation));
    fc.assert(fc.property(fc.array(record, { maxLength: 8 }), (tail) => {
      const members = [rec('p', 100), ...tail];
      const reply = push(members);
      const table = m.members();
      const pushed = new Map(members.map((r) => [r.id, r]));
      const expected = table.filter((ours) => {
        const theirs = pushed.get(ours.id);
        if (theirs === undefined) return true;
        if (ours.generation !== theirs.generation) return ours.generation > theirs.generation;
        if (ours.heartbeat !== theirs.heartbeat) return ours.heartbeat > theirs.heartbeat;
        const rank = ['joining', 'alive', 'leaving', 'suspect', 'dead', 'left'];
        return rank.indexOf(ours.state) > rank.indexOf(theirs.state);
      }).map((v) => ({ id: v.id, address: v.address, generation: v.generation, heartbeat: v.heartbeat, state: v.state }));
      expect(reply).toEqual(expected);
    }), { numRuns: 300, seed: 5 });
  });
});
