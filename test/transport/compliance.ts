/**
 * The transport compliance suite: what every Transport (memory, WebSocket, ...) must do, run by
 * each implementation's test file with a factory for connected transports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/core/transport.js';
import { MessageType, type Address } from '../../src/core/wire.js';
import { envelope, Inbox, waitFor } from './helpers.js';

export interface TransportFactory {
  /** Creates `count` transports at distinct addresses, each able to reach the others by address. */
  create(count: number): Promise<Transport[]>;
  /** An address at which no transport listens. */
  unreachableAddress(): Promise<Address>;
  /** Closes everything this factory created (called after each test). */
  cleanup(): Promise<void>;
}

export function transportComplianceSuite(name: string, makeFactory: () => TransportFactory): void {
  describe(`${name}: transport compliance`, () => {
    let factory: TransportFactory;

    beforeEach(() => {
      factory = makeFactory();
    });

    afterEach(async () => {
      await factory.cleanup();
    });

    it('delivers a request and its reply, naming the sender\'s address', async () => {
      // A request from a reaches b with a's address, and b's reply to that address reaches a with the same request id.
      const [a, b] = await createPair(factory);
      const inboxA = new Inbox(a);
      b.onMessage((msg, from) => {
        expect(from).toBe(a.localAddress);
        if (from !== undefined) b.send(from, envelope(b.localId, { echo: msg.body }, msg.rid, MessageType.ReplicaGetReply));
      });
      a.send(b.localAddress, envelope(a.localId, { key: 'k' }, 42, MessageType.ReplicaGet));
      await inboxA.waitForCount(1);
      const reply = inboxA.received[0];
      expect(reply?.msg).toEqual({ v: 1, t: MessageType.ReplicaGetReply, rid: 42, from: b.localId, body: { echo: { key: 'k' } } });
      expect(reply?.from).toBe(b.localAddress);
      expect(a.stats().framesSent).toBe(1);
      expect(a.stats().framesReceived).toBe(1);
      expect(b.stats().framesReceived).toBe(1);
    });

    it('keeps each sender\'s order over many messages', async () => {
      // Two senders interleave 500 messages each to one receiver; each sender's messages arrive complete and in order.
      const ts = await factory.create(3);
      const [a, b, c] = [at(ts, 0), at(ts, 1), at(ts, 2)];
      const inboxB = new Inbox(b);
      const count = 500;
      for (let seq = 0; seq < count; seq++) {
        a.send(b.localAddress, envelope(a.localId, { seq }));
        c.send(b.localAddress, envelope(c.localId, { seq }));
      }
      await inboxB.waitForCount(2 * count);
      for (const sender of [a, c]) {
        const fromSender = inboxB.received.filter((r) => r.msg.from === sender.localId);
        expect(fromSender.map((r) => (r.msg.body as { seq: number }).seq)).toEqual(Array.from({ length: count }, (_, i) => i));
        expect(new Set(fromSender.map((r) => r.from))).toEqual(new Set([sender.localAddress]));
      }
      expect(b.stats().framesReceived).toBe(2 * count);
    });

    it('delivers Uint8Array bodies as Uint8Array, copied as if over a wire', async () => {
      // Byte arrays (empty, small, nested, 1 MiB) arrive as Uint8Array with the bytes sent, unaffected by later changes at the sender.
      const [a, b] = await createPair(factory);
      const inboxB = new Inbox(b);
      const small = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7919) % 251);
      const body = { small, empty: new Uint8Array(0), nested: { list: [Uint8Array.of(1, 2, 3)] }, big };
      a.send(b.localAddress, envelope(a.localId, body));
      small[0] = 99; // a change after send must not reach the receiver
      await inboxB.waitForCount(1);
      const got = inboxB.received[0]?.msg.body as typeof body;
      for (const bytes of [got.small, got.empty, got.nested.list[0], got.big]) {
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
      }
      expect(Array.from(got.small)).toEqual(Array.from({ length: 256 }, (_, i) => i));
      expect(got.empty.byteLength).toBe(0);
      expect(Array.from(got.nested.list[0] ?? [])).toEqual([1, 2, 3]);
      expect(Buffer.from(got.big).equals(Buffer.from(big))).toBe(true);
    });

    it('drops and counts a send to an unreachable address without throwing', async () => {
      // Sending to an address nobody listens at returns normally and shows up as one dropped frame.
      const a = at(await factory.create(1), 0);
      const nowhere = await factory.unreachableAddress();
      expect(() => a.send(nowhere, envelope(a.localId, { lost: true }))).not.toThrow();
      await waitFor(() => a.stats().framesDropped === 1, 'the frame to be counted as dropped');
      expect(a.stats().framesSent).toBe(0);
    });

    it('stops delivering after close', async () => {
      // Once b is closed (twice: close is idempotent), frames to it are dropped, never delivered, and b's own sends are dropped.
      const [a, b] = await createPair(factory);
      const inboxB = new Inbox(b);
      a.send(b.localAddress, envelope(a.localId, { n: 1 }));
      await inboxB.waitForCount(1);
      await b.close();
      await b.close();
      const droppedBefore = a.stats().framesDropped;
      a.send(b.localAddress, envelope(a.localId, { n: 2 }));
      await waitFor(() => a.stats().framesDropped > droppedBefore, 'the frame to the closed transport to be dropped');
      expect(inboxB.received).toHaveLength(1);
      expect(() => b.send(a.localAddress, envelope(b.localId, { n: 3 }))).not.toThrow();
      expect(b.stats().framesDropped).toBe(1);
    });

    it('carries messages both ways between one pair at once', async () => {
      // a and b send to each other in the same tick; both messages arrive, each naming the other's address.
      const [a, b] = await createPair(factory);
      const inboxA = new Inbox(a);
      const inboxB = new Inbox(b);
      a.send(b.localAddress, envelope(a.localId, { dir: 'a->b' }));
      b.send(a.localAddress, envelope(b.localId, { dir: 'b->a' }));
      await Promise.all([inboxA.waitForCount(1), inboxB.waitForCount(1)]);
      expect(inboxA.received[0]).toMatchObject({ msg: { from: b.localId, body: { dir: 'b->a' } }, from: b.localAddress });
      expect(inboxB.received[0]).toMatchObject({ msg: { from: a.localId, body: { dir: 'a->b' } }, from: a.localAddress });
      // And again, over whatever connections the first exchange set up.
      for (let i = 0; i < 10; i++) {
        a.send(b.localAddress, envelope(a.localId, { i }));
        b.send(a.localAddress, envelope(b.localId, { i }));
      }
      await Promise.all([inboxA.waitForCount(11), inboxB.waitForCount(11)]);
    });
  });
}

async function createPair(factory: TransportFactory): Promise<[Transport, Transport]> {
  const ts = await factory.create(2);
  return [at(ts, 0), at(ts, 1)];
}

function at(transports: Transport[], index: number): Transport {
  const t = transports[index];
  if (t === undefined) throw new Error(`the factory created ${transports.length} transports, wanted index ${index}`);
  return t;
}
