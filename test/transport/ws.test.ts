// The WebSocket peer transport: the compliance suite over real sockets on 127.0.0.1, then what only
// a network transport has: handshake refusals, hostile frames, restarts, simultaneous dials, bounds.
import { encode } from 'cbor-x';
import { createServer } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { PEER_WS_PATH } from '../../src/api/client-protocol.js';
import { MessageType, PROTOCOL_VERSION, type Envelope } from '../../src/core/wire.js';
import { ErrorCode } from '../../src/errors.js';
import { FrameCodec } from '../../src/runtime/frame-codec.js';
import { PeerCloseCode, type PeerRejection } from '../../src/runtime/ws-transport.js';
import { transportComplianceSuite, type TransportFactory } from './compliance.js';
import { closeServer, envelope, listen, unusedAddress, waitFor, WsFixture, type WsNode } from './helpers.js';

transportComplianceSuite('WsTransport', (): TransportFactory => {
  const fixture = new WsFixture();
  return {
    async create(count) {
      const nodes = await Promise.all(Array.from({ length: count }, () => fixture.start()));
      return nodes.map((n) => n.transport);
    },
    unreachableAddress: unusedAddress,
    cleanup: () => fixture.closeAll(),
  };
});

const codec = new FrameCodec();

/** A raw WebSocket client at `node`'s peer path, with its frames and close code recorded. */
async function rawClient(fixture: WsFixture, node: WsNode, options: { autoPong?: boolean } = {}): Promise<RawClient> {
  const ws = new WebSocket(`ws://${node.address}${PEER_WS_PATH}`, { autoPong: options.autoPong ?? true });
  const client = new RawClient(ws);
  fixture.onClose(() => client.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

class RawClient {
  readonly frames: Envelope[] = [];
  readonly closed: Promise<number>;
  pings = 0;

  constructor(readonly ws: WebSocket) {
    ws.on('ping', () => {
      this.pings++;
    });
    ws.on('message', (data: RawData) => {
      this.frames.push(codec.decode(data as Buffer));
    });
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }

  send(frame: Uint8Array | string): void {
    this.ws.send(frame);
  }

  handshake(overrides: Partial<{ clusterName: string; protocolVersion: number; nodeId: string; address: string; v: number }> = {}): void {
    const nodeId = overrides.nodeId ?? 'raw';
    this.send(codec.encode({
      v: overrides.v ?? PROTOCOL_VERSION, t: MessageType.Handshake, rid: 0, from: nodeId,
      body: {
        clusterName: overrides.clusterName ?? 'test', protocolVersion: overrides.protocolVersion ?? PROTOCOL_VERSION, nodeId,
        address: overrides.address ?? '127.0.0.1:1',
      },
    }));
  }

  terminate(): void {
    this.ws.terminate();
  }
}

function rejectionsOf(node: WsNode): PeerRejection[] {
  const seen: PeerRejection[] = [];
  node.transport.onPeerRejected((r) => seen.push(r));
  return seen;
}

describe('WsTransport', () => {
  let fixture: WsFixture;

  beforeEach(() => {
    fixture = new WsFixture();
  });

  afterEach(async () => {
    await fixture.closeAll();
  });

  it('refuses a peer from another cluster, and both sides report it naming both clusters', async () => {
    // A node of cluster 'dev' dialing a node of cluster 'prod' is refused: both log and report ERR_CLUSTER_MISMATCH, nothing is delivered.
    const dev = await fixture.start({ clusterName: 'dev' });
    const prod = await fixture.start({ clusterName: 'prod' });
    const devRejections = rejectionsOf(dev);
    const prodRejections = rejectionsOf(prod);
    dev.transport.send(prod.address, envelope(dev.transport.localId, { hello: 'prod' }));
    await waitFor(() => devRejections.length === 1 && prodRejections.length === 1, 'both sides to report the refusal');
    expect(prodRejections[0]).toMatchObject({ refusedBy: 'local', peer: dev.address, nodeId: dev.transport.localId, error: { code: ErrorCode.CLUSTER_MISMATCH } });
    expect(devRejections[0]).toMatchObject({ refusedBy: 'remote', peer: prod.address, nodeId: prod.transport.localId, error: { code: ErrorCode.CLUSTER_MISMATCH } });
    expect(prod.logger.messages('error')).toContain(
      `peer ${dev.address} (node '${dev.transport.localId}') is in cluster 'dev', we are 'prod'; refusing (check its seeds and cluster name)`);
    expect(dev.logger.messages('error').some((m) => m.includes(`it is in cluster 'prod', we are 'dev'`))).toBe(true);
    expect(prod.transport.stats().connectionsRejected).toBe(1);
    expect(dev.transport.stats().connectionsRejected).toBe(1);
    await waitFor(() => dev.transport.stats().framesDropped === 1, 'the queued frame to be dropped');
    expect(prod.inbox.received).toHaveLength(0);
    expect(dev.transport.stats().connectionsOpen).toBe(0);
  });

  it('refuses a peer that speaks another protocol version, telling it why', async () => {
    // A handshake with protocol version 2 gets a HandshakeReject with ERR_PROTOCOL_VERSION and the connection is closed.
    const node = await fixture.start();
    const rejections = rejectionsOf(node);
    const client = await rawClient(fixture, node);
    client.handshake({ protocolVersion: PROTOCOL_VERSION + 1, v: PROTOCOL_VERSION + 1, address: '127.0.0.1:9' });
    expect(await client.closed).toBe(PeerCloseCode.PolicyViolation);
    expect(client.frames).toHaveLength(1);
    expect(client.frames[0]).toMatchObject({
      t: MessageType.HandshakeReject,
      body: { code: ErrorCode.PROTOCOL_VERSION, protocolVersion: PROTOCOL_VERSION, clusterName: 'test', nodeId: node.transport.localId },
    });
    expect(rejections).toHaveLength(1);
    expect(rejections[0]).toMatchObject({ refusedBy: 'local', peer: '127.0.0.1:9', error: { code: ErrorCode.PROTOCOL_VERSION } });
    expect(rejections[0]?.error.message).toContain(`speaks protocol version ${PROTOCOL_VERSION + 1}, we speak ${PROTOCOL_VERSION}`);
    expect(node.transport.stats().connectionsRejected).toBe(1);
  });

  it('refuses, as the dialer, a peer that answers with another protocol version', async () => {
    // A fake peer answering our handshake with version 2 is sent a HandshakeReject and reported; the queued frame is dropped.
    const node = await fixture.start();
    const rejections = rejectionsOf(node);
    const server = createServer();
    const wss = new WebSocketServer({ server, path: PEER_WS_PATH });
    const fakeFrames: Envelope[] = [];
    const fakeClosed = new Promise<number>((resolve) => {
      wss.on('connection', (ws) => {
        ws.on('close', (code) => resolve(code));
        ws.on('message', (data: RawData) => {
          fakeFrames.push(codec.decode(data as Buffer));
          ws.send(codec.encode({
            v: PROTOCOL_VERSION + 1, t: MessageType.Handshake, rid: 0, from: 'future',
            body: { clusterName: 'test', protocolVersion: PROTOCOL_VERSION + 1, nodeId: 'future', address: 'x:1' },
          }));
        });
      });
    });
    const port = await listen(server, 0);
    fixture.onClose(async () => {
      wss.close();
      await closeServer(server);
    });
    node.transport.send(`127.0.0.1:${port}`, envelope(node.transport.localId, { q: 1 }));
    await fakeClosed;
    expect(fakeFrames.map((f) => f.t)).toEqual([MessageType.Handshake, MessageType.HandshakeReject]);
    expect(fakeFrames[0]?.body).toEqual({ clusterName: 'test', protocolVersion: PROTOCOL_VERSION, nodeId: node.transport.localId, address: node.address });
    expect(fakeFrames[1]?.body).toMatchObject({ code: ErrorCode.PROTOCOL_VERSION });
    expect(rejections).toMatchObject([{ refusedBy: 'local', nodeId: 'future', error: { code: ErrorCode.PROTOCOL_VERSION } }]);
    await waitFor(() => node.transport.stats().framesDropped === 1, 'the queued frame to be dropped');
  });

  it('closes a connection that sends a bad frame and goes on serving other peers', async () => {
    // Garbage, text, oversized, non-envelope and pre-handshake frames each close their own connection with the matching code; a real peer is unaffected.
    const node = await fixture.start({ maxFrameBytes: 4096 });
    const peer = await fixture.start();
    const rejections = rejectionsOf(node);
    peer.transport.send(node.address, envelope(peer.transport.localId, { before: true }));
    await node.inbox.waitForCount(1);

    const cases: Array<{ what: string; send: (c: RawClient) => void; code: number }> = [
      { what: 'not CBOR', send: (c) => c.send(Uint8Array.of(0xff, 0xfe, 0xfd)), code: PeerCloseCode.InvalidPayload },
      { what: 'text frame', send: (c) => c.send('hello'), code: PeerCloseCode.UnsupportedData },
      { what: 'oversized frame', send: (c) => c.send(new Uint8Array(5000)), code: PeerCloseCode.MessageTooBig },
      { what: 'CBOR but not an envelope', send: (c) => c.send(encode({ not: 'an envelope' })), code: PeerCloseCode.InvalidPayload },
      { what: 'data before the handshake', send: (c) => c.send(codec.encode(envelope('raw', { early: true }))), code: PeerCloseCode.ProtocolError },
      { what: 'garbage after the handshake', send: (c) => {
        c.handshake();
        c.send(Uint8Array.of(0x1c));
      }, code: PeerCloseCode.InvalidPayload },
      { what: 'wrong sender after the handshake', send: (c) => {
        c.handshake();
        c.send(codec.encode(envelope('someone-else', {})));
      }, code: PeerCloseCode.ProtocolError },
    ];
    for (const [i, testCase] of cases.entries()) {
      const client = await rawClient(fixture, node);
      testCase.send(client);
      expect(await client.closed, testCase.what).toBe(testCase.code);
      expect(node.transport.stats().connectionsRejected, testCase.what).toBe(i + 1);
    }
    expect(rejections.map((r) => r.refusedBy)).toEqual(cases.map(() => 'local'));
    expect(rejections[2]?.error.code).toBe(ErrorCode.FRAME_TOO_LARGE);
    expect(rejections.filter((r) => r.error.code === ErrorCode.MALFORMED_FRAME)).toHaveLength(cases.length - 1);
    expect(node.logger.messages('error')).toHaveLength(cases.length);
    expect(node.inbox.received).toHaveLength(1);

    peer.transport.send(node.address, envelope(peer.transport.localId, { after: true }));
    node.transport.send(peer.address, envelope(node.transport.localId, { back: true }));
    await Promise.all([node.inbox.waitForCount(2), peer.inbox.waitForCount(1)]);
    expect(node.inbox.received[1]?.msg.body).toEqual({ after: true });
  });

  it('drops frames of unknown message types and keeps the connection', async () => {
    // A frame with a type this version does not know is counted and not delivered; the next known frame is.
    const node = await fixture.start();
    const client = await rawClient(fixture, node);
    client.handshake({ nodeId: 'raw' });
    client.send(codec.encode({ v: PROTOCOL_VERSION, t: 77 as MessageType, rid: 0, from: 'raw', body: {} }));
    client.send(codec.encode(envelope('raw', { known: true })));
    await node.inbox.waitForCount(1);
    expect(node.inbox.received[0]).toMatchObject({ msg: { body: { known: true } }, from: '127.0.0.1:1' });
    expect(node.transport.stats()).toMatchObject({ framesUnknownType: 1, framesReceived: 1, connectionsRejected: 0, connectionsOpen: 1 });
  });

  it('closes a connection whose handshake does not arrive in time', async () => {
    // A client that connects and stays silent is closed after handshakeTimeoutMs and reported.
    const node = await fixture.start({ handshakeTimeoutMs: 100 });
    const rejections = rejectionsOf(node);
    const client = await rawClient(fixture, node);
    expect(await client.closed).toBe(PeerCloseCode.PolicyViolation);
    expect(rejections).toMatchObject([{ refusedBy: 'local', error: { code: ErrorCode.HANDSHAKE_REFUSED } }]);
    expect(rejections[0]?.error.message).toContain('did not complete the handshake within 100 ms');
  });

  it('pings idle connections and drops one whose peer stopped answering', async () => {
    // An idle peer that answers pings stays connected; one that stops answering is dropped after deadConnectionTimeoutMs.
    // Timeouts well above an event-loop stall on a loaded machine, so the live peer's pongs are never late.
    const node = await fixture.start({ keepaliveIntervalMs: 25, deadConnectionTimeoutMs: 300 });
    const live = await rawClient(fixture, node);
    const silent = await rawClient(fixture, node, { autoPong: false });
    live.handshake({ nodeId: 'live', address: '127.0.0.1:2' });
    silent.handshake({ nodeId: 'silent', address: '127.0.0.1:3' });
    expect(await silent.closed).toBe(1006); // destroyed, no close handshake
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    expect(node.logger.messages('warn').some((m) => m.includes('nothing from 127.0.0.1:3'))).toBe(true);
    // The live peer, idle as long, has been pinged throughout and is still connected.
    await waitFor(() => live.pings >= 15, 'more pings to the live peer (15 x 25 ms outlasts the 300 ms timeout)');
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
    expect(node.transport.stats().connectionsOpen).toBe(1);
  });

  it('reaches a peer again after its server restarts at the same address', async () => {
    // b goes down (a's frame to it is dropped) and comes back on the same port; a's later frames reach the new b.
    const a = await fixture.start({ reconnectBackoffMinMs: 20, reconnectBackoffMaxMs: 50 });
    const b = await fixture.start({ localId: 'b' });
    a.transport.send(b.address, envelope(a.transport.localId, { n: 1 }));
    await b.inbox.waitForCount(1);
    await b.stop();
    a.transport.send(b.address, envelope(a.transport.localId, { n: 2 }));
    await waitFor(() => a.transport.stats().framesDropped >= 1, 'the frame to the stopped peer to be dropped');

    const b2 = await fixture.start({ localId: 'b', port: b.port });
    expect(b2.address).toBe(b.address);
    a.transport.send(b.address, envelope(a.transport.localId, { n: 3 }));
    await waitFor(() => {
      // Until the new b is found, frames sent meanwhile may be dropped at a failed dial: keep sending.
      if (b2.inbox.received.length === 0 && a.transport.stats().framesDropped > 1) {
        a.transport.send(b.address, envelope(a.transport.localId, { n: 3 }));
      }
      return b2.inbox.received.length > 0;
    }, 'a frame to reach the restarted peer');
    expect(b2.inbox.received[0]?.msg.body).toEqual({ n: 3 });
    expect(a.transport.stats().connectionsOpen).toBe(1);
    expect(a.transport.stats().dialFailures).toBeGreaterThanOrEqual(1);
  });

  it('ends a simultaneous dial with one connection per pair and loses no frames', async () => {
    // Pairs that dial each other in the same tick keep one connection each, and every frame from both sides arrives in order.
    for (let round = 0; round < 5; round++) {
      const a = await fixture.start();
      const b = await fixture.start();
      const count = 50;
      for (let seq = 0; seq < count; seq++) {
        a.transport.send(b.address, envelope(a.transport.localId, { seq }));
        b.transport.send(a.address, envelope(b.transport.localId, { seq }));
      }
      await Promise.all([a.inbox.waitForCount(count), b.inbox.waitForCount(count)]);
      const expected = Array.from({ length: count }, (_, i) => ({ seq: i }));
      expect(a.inbox.bodies).toEqual(expected);
      expect(b.inbox.bodies).toEqual(expected);
      await waitFor(() => oneConnection(a) && oneConnection(b), 'one connection per side');
      // The kept connection carries more traffic both ways.
      a.transport.send(b.address, envelope(a.transport.localId, { more: true }));
      b.transport.send(a.address, envelope(b.transport.localId, { more: true }));
      await Promise.all([a.inbox.waitForCount(count + 1), b.inbox.waitForCount(count + 1)]);
      expect(a.transport.stats().framesDropped + b.transport.stats().framesDropped).toBe(0);
      // Both dials started before any I/O, so one of the two connections was closed as a duplicate.
      expect(a.transport.stats().connectionsDialed).toBe(1);
      expect(b.transport.stats().connectionsDialed).toBe(1);
      expect(a.transport.stats().duplicateConnectionsClosed + b.transport.stats().duplicateConnectionsClosed).toBeGreaterThanOrEqual(1);
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('closes a losing duplicate before its handshake and ignores frames sent on it', async () => {
    // A second connection claiming to be a peer we already dialed (and whose id is larger) is closed with 4001; data sent on it anyway is not delivered.
    const node = await fixture.start({ localId: 'aa' });
    const peer = await fixture.start({ localId: 'zz' });
    node.transport.send(peer.address, envelope('aa', { first: true }));
    await peer.inbox.waitForCount(1);
    const rejections = rejectionsOf(node);
    const client = await rawClient(fixture, node);
    client.handshake({ nodeId: 'zz', address: peer.address });
    client.send(codec.encode(envelope('zz', { sneaky: true })));
    expect(await client.closed).toBe(PeerCloseCode.DuplicateConnection);
    expect(client.frames).toHaveLength(0); // no handshake answer on a losing connection
    expect(rejections).toHaveLength(0);
    expect(node.transport.stats()).toMatchObject({ duplicateConnectionsClosed: 1, connectionsOpen: 1, framesReceived: 0 });
    // The kept connection still works both ways.
    peer.transport.send(node.address, envelope('zz', { back: true }));
    await node.inbox.waitForCount(1);
    expect(node.inbox.bodies).toEqual([{ back: true }]);
  });

  it('drops frames beyond the send queue bounds while connecting', async () => {
    // With room for 10 frames, 15 sends before the connection is up drop 5 at once and deliver the first 10 in order.
    const a = await fixture.start({ maxSendQueueFrames: 10 });
    const b = await fixture.start();
    for (let seq = 0; seq < 15; seq++) a.transport.send(b.address, envelope(a.transport.localId, { seq }));
    expect(a.transport.stats().framesDropped).toBe(5);
    expect(a.logger.messages('warn')).toHaveLength(1); // rate-limited: one warning for the burst
    await b.inbox.waitForCount(10);
    expect(b.inbox.bodies).toEqual(Array.from({ length: 10 }, (_, i) => ({ seq: i })));
    expect(a.transport.stats()).toMatchObject({ framesSent: 10, framesDropped: 5 });

    // With room for three frames' bytes, two of five equal-sized frames are dropped.
    const value = new Uint8Array(300);
    const frameBytes = codec.encode(envelope('c', { seq: 0, value })).byteLength;
    const c = await fixture.start({ localId: 'c', maxSendQueueBytes: 3 * frameBytes + 1 });
    for (let seq = 0; seq < 5; seq++) c.transport.send(b.address, envelope('c', { seq, value }));
    expect(c.transport.stats().framesDropped).toBe(2);
    await b.inbox.waitForCount(13);
    expect(b.inbox.received.slice(10).map((r) => (r.msg.body as { seq: number }).seq)).toEqual([0, 1, 2]);
  });

  it('drops frames beyond maxSendQueueBytes buffered on an open connection', async () => {
    // On an open connection, a burst larger than maxSendQueueBytes is cut: the frames that fit arrive in order, the rest are counted as dropped.
    const value = new Uint8Array(300);
    const frameBytes = codec.encode(envelope('d', { seq: 0, value })).byteLength;
    const d = await fixture.start({ localId: 'd', maxSendQueueBytes: 3 * frameBytes + 1 });
    const b = await fixture.start();
    d.transport.send(b.address, envelope('d', { seq: -1 }));
    await b.inbox.waitForCount(1);
    const burst = 10;
    for (let seq = 0; seq < burst; seq++) d.transport.send(b.address, envelope('d', { seq, value }));
    const dropped = d.transport.stats().framesDropped;
    expect(dropped).toBeGreaterThanOrEqual(burst - 3);
    await b.inbox.waitForCount(1 + burst - dropped);
    expect(b.inbox.received.slice(1).map((r) => (r.msg.body as { seq: number }).seq))
      .toEqual(Array.from({ length: burst - dropped }, (_, i) => i));
  });

  it('delivers frames sent to its own address through the codec', async () => {
    // A send to the local address arrives on a later microtask as a copy, not the object sent.
    const node = await fixture.start();
    const body = { bytes: Uint8Array.of(1, 2) };
    node.transport.send(node.address, envelope(node.transport.localId, body));
    expect(node.inbox.received).toHaveLength(0);
    await node.inbox.waitForCount(1);
    expect(node.inbox.received[0]?.msg.body).toEqual(body);
    expect(node.inbox.received[0]?.msg.body).not.toBe(body);
    expect(node.transport.stats()).toMatchObject({ framesSent: 1, framesReceived: 1 });
  });

  it('refuses a peer that uses our own node id or address', async () => {
    // Two nodes configured with the same id, or a node advertising our address, are refused with ERR_HANDSHAKE_REFUSED.
    const a = await fixture.start({ localId: 'same' });
    const b = await fixture.start({ localId: 'same' });
    const rejections = rejectionsOf(b);
    a.transport.send(b.address, envelope('same', {}));
    await waitFor(() => rejections.length === 1, 'the refusal');
    expect(rejections[0]).toMatchObject({ refusedBy: 'local', error: { code: ErrorCode.HANDSHAKE_REFUSED } });
    expect(rejections[0]?.error.message).toContain('uses our own node id');
    // Nor can a node that advertises b's address.
    const client = await rawClient(fixture, b);
    client.handshake({ nodeId: 'other', address: b.address });
    expect(await client.closed).toBe(PeerCloseCode.PolicyViolation);
    expect(rejections[1]).toMatchObject({ refusedBy: 'local', nodeId: 'other', error: { code: ErrorCode.HANDSHAKE_REFUSED } });
    expect(rejections[1]?.error.message).toContain('advertises our own address');
  });

  it('answers upgrades with 503 after close, and close resolves with sockets closed', async () => {
    // After close() resolves no peer socket is left, and a new dial to the closed transport's port is refused.
    const a = await fixture.start();
    const b = await fixture.start();
    a.transport.send(b.address, envelope(a.transport.localId, {}));
    await b.inbox.waitForCount(1);
    await b.transport.close();
    expect(b.transport.stats()).toMatchObject({ connectionsOpen: 0, connectionsPending: 0, connectionsClosing: 0 });
    const ws = new WebSocket(`ws://${b.address}${PEER_WS_PATH}`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('error', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(503);
  });
});

/** True when the node has exactly one connection and nothing pending or closing. */
function oneConnection(node: WsNode): boolean {
  const stats = node.transport.stats();
  return stats.connectionsOpen === 1 && stats.connectionsPending === 0 && stats.connectionsClosing === 0;
}
