/**
 * The peer transport over WebSockets (DESIGN.md §6): binary frames, one Envelope each, encoded by
 * FrameCodec. The node's HTTP server owns the port and hands upgrades for PEER_WS_PATH to
 * `handleUpgrade`; outgoing connections are dialed lazily on the first send to an address.
 *
 * Per peer address there is at most one connection in use. When two nodes dial each other at the
 * same time, every acceptor applies one rule, so both ends keep the same connection: the one
 * dialed by the smaller node id wins; when the same node dialed both, the newer one wins (the
 * dialer lost the old one, e.g. it restarted). A losing connection is closed with code 4001 before
 * any data goes over it, or, when it was already in use, after its buffered frames are flushed;
 * frames still arriving on it are delivered. Frames queued while connecting wait for whichever
 * connection wins.
 *
 * Delivery is best effort (src/core/transport.ts): frames to an unreachable peer, beyond a bound,
 * or after close() are dropped and counted, never thrown. Frames from one sender arrive in order
 * while they travel over one connection; a reconnect may reorder frames across the two connections.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { PEER_WS_PATH } from '../api/client-protocol.js';
import { assert } from '../core/assert.js';
import type { Logger } from '../core/env.js';
import type { MessageHandler, Transport, TransportStats } from '../core/transport.js';
import {
  envelopeProblem, isKnownMessageType, MessageType, PROTOCOL_VERSION, type Address, type Envelope, type NodeId,
} from '../core/wire.js';
import {
  ErrorCode, FrameTooLargeError, HandshakeRefusedError, MalformedFrameError, type RingkvError,
} from '../errors.js';
import { FrameCodec } from './frame-codec.js';
import {
  handshakeBodyProblem, handshakeEnvelope, handshakeRejectBodyProblem, handshakeRejectEnvelope, refuseHandshake,
  refusalFromReject, type HandshakeBody, type HandshakeRejectBody, type LocalIdentity,
} from './ws-handshake.js';
import {
  reconnectDelayMs, resolveWsTransportOptions, type ResolvedWsTransportOptions, type WsTransportOptions,
} from './ws-options.js';

export type { WsTransportOptions } from './ws-options.js';

/** WebSocket close codes this transport sends (RFC 6455 §7.4 plus one private code). */
export const PeerCloseCode = {
  /** The node is shutting down. */
  GoingAway: 1001,
  /** A frame broke the protocol (wrong first frame, wrong sender, handshake twice). */
  ProtocolError: 1002,
  /** A text frame: peers send binary frames only. */
  UnsupportedData: 1003,
  /** A frame that is not CBOR or not an envelope. */
  InvalidPayload: 1007,
  /** The handshake was refused or timed out. */
  PolicyViolation: 1008,
  /** A frame over maxFrameBytes. */
  MessageTooBig: 1009,
  /** Another connection between the same two nodes is kept (simultaneous dial). */
  DuplicateConnection: 4001,
} as const;

export interface WsTransportStats extends TransportStats {
  /** Connections whose handshake completed and that are not closing. */
  connectionsOpen: number;
  /** Connections whose handshake is still in progress (dials and accepted sockets). */
  connectionsPending: number;
  /** Connections closing (waiting for the peer's close frame, at most closeTimeoutMs). */
  connectionsClosing: number;
  /** Inbound connections whose handshake we accepted. */
  connectionsAccepted: number;
  /** Outbound dials started (first dials and reconnects). */
  connectionsDialed: number;
  /** Dials that ended before a handshake: refused, unreachable, timed out or refused by the peer. */
  dialFailures: number;
  /** Dials started by the backoff timer after a failed dial. */
  reconnects: number;
  /** Connections closed because another one between the same two nodes was kept. */
  duplicateConnectionsClosed: number;
  /** Valid frames with a message type this version does not know (dropped, logged at debug). */
  framesUnknownType: number;
  /** Bytes of data frames written to sockets / read from sockets (handshakes excluded). */
  bytesSent: number;
  bytesReceived: number;
}

/** A connection refused by us or by the peer, reported to `onPeerRejected` listeners. */
export interface PeerRejection {
  /** The peer's listen address when known (dialed, or from its handshake), else its TCP endpoint "ip:port". */
  readonly peer: string;
  /** The peer's node id when it got as far as a handshake. */
  readonly nodeId: NodeId | undefined;
  /** "local": this node refused the peer or its frame; "remote": the peer refused this node's handshake. */
  readonly refusedBy: 'local' | 'remote';
  /**
   * Why: HandshakeRefusedError (code ERR_CLUSTER_MISMATCH, ERR_PROTOCOL_VERSION or
   * ERR_HANDSHAKE_REFUSED, also for a handshake timeout), MalformedFrameError or FrameTooLargeError.
   */
  readonly error: RingkvError;
}

export type PeerRejectionListener = (rejection: PeerRejection) => void;

type Direction = 'inbound' | 'outbound';

interface Connection {
  /** Per-transport serial number, for logs. */
  readonly serial: number;
  readonly ws: WebSocket;
  readonly direction: Direction;
  /** Outbound: the dialed address; inbound: the TCP endpoint "ip:port" (until the handshake names the peer). */
  readonly endpoint: string;
  state: 'handshaking' | 'open' | 'closing' | 'closed';
  /** Outbound: from the dial; inbound: once its handshake is accepted. */
  peer: Peer | undefined;
  /** The peer's node id, from its handshake. */
  peerId: NodeId | undefined;
  /** Set when the handshake completed (it stays set while the connection closes). */
  established: boolean;
  /** Set once the connection was refused: later frames on it are ignored. */
  rejected: boolean;
  /** Why an outbound connection failed, for the dial-failure log. */
  failure: string | undefined;
  lastReceivedAtMs: number;
  /** The TCP socket under the WebSocket, corked while frames of one tick are written. */
  rawSocket: Duplex | undefined;
  corked: boolean;
  handshakeTimer: NodeJS.Timeout | undefined;
  closeTimer: NodeJS.Timeout | undefined;
  readonly closed: Promise<void>;
  resolveClosed: () => void;
}

interface Peer {
  readonly address: Address;
  /** The connection frames go out on; undefined while there is none. */
  active: Connection | undefined;
  /** Our outbound connection while its handshake is in progress. */
  dialing: Connection | undefined;
  /** Encoded frames waiting for a connection, in send order, bounded by maxSendQueueFrames/Bytes. */
  queue: Uint8Array[];
  queuedBytes: number;
  /** Consecutive failed dials; drives the backoff; reset when a connection opens. */
  failedDials: number;
  reconnectTimer: NodeJS.Timeout | undefined;
}

const SEND_OPTIONS = { binary: true, compress: false, fin: true } as const;

/**
 * Client frames carry an all-zero mask, which ws then skips applying (no per-frame random bytes,
 * no XOR pass, no copy). RFC 6455 masking protects intermediaries that cache by content from a
 * hostile browser script; peer links are node-to-node, with no browser and no proxy on the path.
 */
function zeroMask(mask: Uint8Array): void {
  mask.fill(0);
}

export class WsTransport implements Transport {
  readonly localId: NodeId;
  readonly localAddress: Address;
  private readonly options: ResolvedWsTransportOptions;
  private readonly identity: LocalIdentity;
  private readonly logger: Logger;
  private readonly codec: FrameCodec;
  private readonly wss: WebSocketServer;
  private readonly peers = new Map<Address, Peer>();
  private readonly connections = new Set<Connection>();
  private readonly rejectionListeners = new Set<PeerRejectionListener>();
  private readonly keepaliveTimer: NodeJS.Timeout;
  private handler: MessageHandler | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private nextSerial = 1;
  private droppedSinceWarn = 0;
  private lastDropWarnAtMs = Number.NEGATIVE_INFINITY;
  private readonly counters = {
    framesSent: 0, framesReceived: 0, framesDropped: 0, connectionsRejected: 0, connectionsAccepted: 0,
    connectionsDialed: 0, dialFailures: 0, reconnects: 0, duplicateConnectionsClosed: 0, framesUnknownType: 0,
    bytesSent: 0, bytesReceived: 0,
  };

  constructor(options: WsTransportOptions) {
    this.options = resolveWsTransportOptions(options);
    this.localId = this.options.localId;
    this.localAddress = this.options.localAddress;
    this.identity = { clusterName: this.options.clusterName, nodeId: this.localId, address: this.localAddress };
    this.logger = this.options.logger.child({ component: 'peer-transport' });
    this.codec = new FrameCodec({ maxFrameBytes: this.options.maxFrameBytes });
    this.wss = new WebSocketServer({
      noServer: true, maxPayload: this.options.maxFrameBytes, perMessageDeflate: false, clientTracking: false,
    });
    this.keepaliveTimer = setInterval(() => this.onKeepaliveTick(), this.options.keepaliveIntervalMs);
    // The keepalive never keeps the process alive by itself: servers and sockets do.
    this.keepaliveTimer.unref();
  }

  send(address: Address, msg: Envelope): void {
    assert(envelopeProblem(msg) === undefined, `sending a malformed envelope: ${envelopeProblem(msg)}`);
    assert(msg.v === PROTOCOL_VERSION, `sending an envelope of protocol version ${msg.v}, ours is ${PROTOCOL_VERSION}`);
    assert(msg.from === this.localId, `sending an envelope from '${msg.from}' through the transport of '${this.localId}'`);
    assert(msg.t !== MessageType.Handshake && msg.t !== MessageType.HandshakeReject, 'the transport owns the handshake');
    if (this.closed) {
      this.drop(address, 1, 'the transport is closed');
      return;
    }
    let frame: Uint8Array;
    try {
      frame = this.codec.encode(msg);
    } catch (e) {
      if (!(e instanceof FrameTooLargeError)) throw e;
      this.logger.error({ peer: address, t: msg.t, err: e }, `not sending message type ${msg.t} to ${address}: ${e.message}`);
      this.drop(address, 1, 'frame too large');
      return;
    }
    if (address === this.localAddress) {
      this.deliverToSelf(frame);
      return;
    }
    const peer = this.peerFor(address);
    if (peer.active !== undefined && peer.active.ws.readyState !== WebSocket.OPEN) {
      // The peer started closing this connection (it keeps another, or is going away): frames
      // written now would be lost, so queue them for the next connection instead.
      peer.active = undefined;
    }
    if (peer.active !== undefined) {
      this.writeOrDrop(peer, peer.active, frame);
      return;
    }
    if (peer.queue.length >= this.options.maxSendQueueFrames) {
      this.drop(address, 1, `send queue full (${this.options.maxSendQueueFrames} frames, option maxSendQueueFrames)`);
      return;
    }
    if (peer.queuedBytes + frame.byteLength > this.options.maxSendQueueBytes) {
      this.drop(address, 1, `send queue full (${this.options.maxSendQueueBytes} bytes, option maxSendQueueBytes)`);
      return;
    }
    peer.queue.push(frame);
    peer.queuedBytes += frame.byteLength;
    if (peer.dialing === undefined && peer.reconnectTimer === undefined) this.dial(peer);
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** Calls `listener` for every refused connection, either way; returns a function that unsubscribes. */
  onPeerRejected(listener: PeerRejectionListener): () => void {
    this.rejectionListeners.add(listener);
    return () => {
      this.rejectionListeners.delete(listener);
    };
  }

  stats(): WsTransportStats {
    let connectionsOpen = 0;
    let connectionsPending = 0;
    let connectionsClosing = 0;
    for (const conn of this.connections) {
      if (conn.state === 'open') connectionsOpen++;
      else if (conn.state === 'handshaking') connectionsPending++;
      else connectionsClosing++;
    }
    return { ...this.counters, connectionsOpen, connectionsPending, connectionsClosing };
  }

  /**
   * Takes over an HTTP upgrade request for PEER_WS_PATH from the node's HTTP server. After close(),
   * or with maxConnections connections, the upgrade is answered with HTTP 503.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closed || this.connections.size >= this.options.maxConnections) {
      const why = this.closed ? 'transport closed' : `${this.options.maxConnections} connections (option maxConnections)`;
      this.logger.warn({ endpoint: endpointOf(req) }, `refusing peer connection from ${endpointOf(req)}: ${why}`);
      socket.once('finish', () => socket.destroy());
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.closed) {
        ws.terminate();
        return;
      }
      this.track(ws, 'inbound', endpointOf(req)).rawSocket = socket;
    });
  }

  /** Closes every connection and stops reconnecting; idempotent; resolves once every socket is closed. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    clearInterval(this.keepaliveTimer);
    for (const peer of this.peers.values()) {
      if (peer.reconnectTimer !== undefined) clearTimeout(peer.reconnectTimer);
      peer.reconnectTimer = undefined;
      this.dropQueue(peer, 'the transport is closed');
    }
    const waits = [...this.connections].map((conn) => this.closeConnection(conn, PeerCloseCode.GoingAway, 'node shutting down'));
    this.wss.close();
    this.closing = Promise.all(waits).then(() => {
      this.peers.clear();
      this.logger.debug({}, 'peer transport closed');
    });
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------
  // Sending.

  private peerFor(address: Address): Peer {
    let peer = this.peers.get(address);
    if (peer === undefined) {
      peer = { address, active: undefined, dialing: undefined, queue: [], queuedBytes: 0, failedDials: 0, reconnectTimer: undefined };
      this.peers.set(address, peer);
    }
    return peer;
  }

  private writeOrDrop(peer: Peer, conn: Connection, frame: Uint8Array): void {
    // ws buffers without bound when the peer reads slowly; bound it like the connect queue.
    if (conn.ws.bufferedAmount + frame.byteLength > this.options.maxSendQueueBytes) {
      this.drop(peer.address, 1, `socket buffer full (${this.options.maxSendQueueBytes} bytes, option maxSendQueueBytes); the peer reads slowly`);
      return;
    }
    this.write(conn, frame);
  }

  /** Writes an admitted frame (within the bounds when it was sent) to an open connection. */
  private write(conn: Connection, frame: Uint8Array): void {
    assert(conn.state === 'open', 'frames go out on open connections only');
    if (!conn.corked && conn.rawSocket !== undefined) {
      // Frames written during one event-loop iteration leave in one writev instead of a syscall
      // each: uncorking in the check phase (setImmediate) batches the frames of every socket read
      // handled in the same poll phase — under load, many client requests — not just one tick's.
      // test/transport/bench.ts: system CPU per 330-byte frame fell from ~4 µs to ~2.2 µs with
      // per-tick corking; bench:cluster measures the per-iteration gain.
      const socket = conn.rawSocket;
      socket.cork();
      conn.corked = true;
      setImmediate(() => {
        conn.corked = false;
        socket.uncork();
      });
    }
    conn.ws.send(frame, SEND_OPTIONS);
    this.counters.framesSent++;
    this.counters.bytesSent += frame.byteLength;
  }

  private writeControl(conn: Connection, envelope: Envelope): void {
    assert(envelope.t === MessageType.Handshake || envelope.t === MessageType.HandshakeReject, 'control frames are handshakes');
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.send(this.codec.encode(envelope), SEND_OPTIONS);
  }

  private deliverToSelf(frame: Uint8Array): void {
    // Through the codec, so the receiver shares no objects with the sender, as over a socket.
    const envelope = this.codec.decode(frame);
    this.counters.framesSent++;
    queueMicrotask(() => {
      if (this.closed) return;
      this.counters.framesReceived++;
      this.handler?.(envelope, this.localAddress);
    });
  }

  private drop(address: Address, count: number, reason: string): void {
    if (count === 0) return;
    this.counters.framesDropped += count;
    this.droppedSinceWarn += count;
    const nowMs = performance.now();
    if (nowMs - this.lastDropWarnAtMs < this.options.dropWarnIntervalMs) return;
    this.logger.warn({ peer: address, reason, framesDroppedSinceLastWarning: this.droppedSinceWarn, framesDroppedTotal: this.counters.framesDropped },
      `dropping frames to ${address}: ${reason}`);
    this.lastDropWarnAtMs = nowMs;
    this.droppedSinceWarn = 0;
  }

  private dropQueue(peer: Peer, reason: string): void {
    const count = peer.queue.length;
    peer.queue = [];
    peer.queuedBytes = 0;
    this.drop(peer.address, count, reason);
  }

  // ---------------------------------------------------------------------------------------------
  // Connecting.

  private dial(peer: Peer): void {
    assert(peer.dialing === undefined, 'one dial per peer at a time');
    assert(peer.active === undefined, 'no dial while a connection is open');
    if (this.connections.size >= this.options.maxConnections) {
      this.onDialFailed(peer, `${this.options.maxConnections} connections already (option maxConnections)`);
      return;
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(`ws://${peer.address}${PEER_WS_PATH}`, {
        perMessageDeflate: false, maxPayload: this.options.maxFrameBytes, followRedirects: false, generateMask: zeroMask,
      });
    } catch (e) {
      // ws throws synchronously for an address that makes no URL.
      this.onDialFailed(peer, `cannot dial '${peer.address}': ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.counters.connectionsDialed++;
    const conn = this.track(ws, 'outbound', peer.address);
    conn.peer = peer;
    peer.dialing = conn;
    ws.once('upgrade', (res) => {
      conn.rawSocket = res.socket;
    });
    ws.once('open', () => {
      if (conn.state === 'handshaking') this.writeControl(conn, handshakeEnvelope(this.identity));
    });
  }

  private track(ws: WebSocket, direction: Direction, endpoint: string): Connection {
    let resolveClosed = (): void => {};
    const closed = new Promise<void>((resolve) => {
      resolveClosed = resolve;
    });
    const conn: Connection = {
      serial: this.nextSerial++, ws, direction, endpoint, state: 'handshaking', peer: undefined, peerId: undefined,
      established: false, rejected: false, failure: undefined, lastReceivedAtMs: performance.now(), rawSocket: undefined, corked: false,
      handshakeTimer: undefined, closeTimer: undefined, closed, resolveClosed,
    };
    this.connections.add(conn);
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.onFrame(conn, data, isBinary));
    ws.on('pong', () => {
      conn.lastReceivedAtMs = performance.now();
    });
    ws.on('ping', () => {
      conn.lastReceivedAtMs = performance.now();
    });
    ws.on('error', (err) => this.onSocketError(conn, err));
    ws.on('close', (code) => this.onClose(conn, code));
    conn.handshakeTimer = setTimeout(() => this.onHandshakeTimeout(conn), this.options.handshakeTimeoutMs);
    conn.handshakeTimer.unref();
    return conn;
  }

  private onHandshakeTimeout(conn: Connection): void {
    conn.handshakeTimer = undefined;
    if (conn.state !== 'handshaking') return;
    const ms = this.options.handshakeTimeoutMs;
    if (conn.direction === 'outbound' && conn.ws.readyState === WebSocket.CONNECTING) {
      // Not even connected: the peer is unreachable, not misbehaving.
      conn.failure = `no connection within ${ms} ms (option handshakeTimeoutMs)`;
      void this.closeConnection(conn, PeerCloseCode.PolicyViolation, 'connect timeout');
      return;
    }
    this.reject(conn, new HandshakeRefusedError(ErrorCode.HANDSHAKE_REFUSED,
      `peer ${conn.endpoint} did not complete the handshake within ${ms} ms (option handshakeTimeoutMs); closing`,
      { peer: conn.endpoint, handshakeTimeoutMs: ms }), PeerCloseCode.PolicyViolation, 'local');
  }

  private onHandshake(conn: Connection, envelope: Envelope): void {
    assert(conn.state === 'handshaking', 'one handshake per connection');
    if (conn.direction === 'outbound' && envelope.t === MessageType.HandshakeReject) {
      this.onHandshakeReject(conn, envelope);
      return;
    }
    if (envelope.t !== MessageType.Handshake) {
      this.reject(conn, new MalformedFrameError(`the first frame must be a handshake, got message type ${envelope.t}`),
        PeerCloseCode.ProtocolError, 'local');
      return;
    }
    const problem = handshakeBodyProblem(envelope.body);
    if (problem !== undefined) {
      this.reject(conn, new MalformedFrameError(problem), PeerCloseCode.ProtocolError, 'local');
      return;
    }
    const theirs = envelope.body as HandshakeBody;
    if (envelope.from !== theirs.nodeId) {
      this.reject(conn, new MalformedFrameError(`handshake sent from '${envelope.from}' names node '${theirs.nodeId}'`),
        PeerCloseCode.ProtocolError, 'local');
      return;
    }
    const peerName = conn.direction === 'outbound' ? conn.endpoint : theirs.address;
    const refusal = refuseHandshake(this.identity, theirs, envelope.v, peerName);
    if (refusal !== undefined) {
      this.writeControl(conn, handshakeRejectEnvelope(this.identity, refusal));
      this.reject(conn, refusal, PeerCloseCode.PolicyViolation, 'local', theirs.nodeId, peerName);
      return;
    }
    conn.peerId = theirs.nodeId;
    if (conn.direction === 'inbound') this.acceptInbound(conn, theirs);
    else this.completeOutbound(conn, theirs);
  }

  private onHandshakeReject(conn: Connection, envelope: Envelope): void {
    assert(conn.direction === 'outbound', 'only a dialer is sent a reject');
    const problem = handshakeRejectBodyProblem(envelope.body);
    if (problem !== undefined) {
      this.reject(conn, new MalformedFrameError(problem), PeerCloseCode.ProtocolError, 'local');
      return;
    }
    const body = envelope.body as HandshakeRejectBody;
    this.reject(conn, refusalFromReject(this.identity, body, conn.endpoint), PeerCloseCode.PolicyViolation, 'remote', body.nodeId);
  }

  private acceptInbound(conn: Connection, theirs: HandshakeBody): void {
    assert(conn.direction === 'inbound', 'accepting an inbound connection');
    const peer = this.peerFor(theirs.address);
    for (const rival of [peer.active, peer.dialing]) {
      if (rival === undefined || this.replaces(conn, rival)) continue;
      this.logger.debug({ peer: theirs.address, kept: rival.serial, closed: conn.serial },
        `closing duplicate connection from ${theirs.address}: the connection dialed by the smaller node id is kept`);
      this.counters.duplicateConnectionsClosed++;
      void this.closeConnection(conn, PeerCloseCode.DuplicateConnection, 'duplicate connection');
      return;
    }
    conn.peer = peer;
    this.counters.connectionsAccepted++;
    this.writeControl(conn, handshakeEnvelope(this.identity));
    // A pending dial of ours that lost stays open until the peer closes it as a duplicate: the
    // peer applies the same rule, so it will not use it.
    if (peer.active !== undefined) this.retire(peer.active, 'the peer dialed again');
    this.activate(peer, conn);
  }

  private completeOutbound(conn: Connection, theirs: HandshakeBody): void {
    const peer = conn.peer;
    assert(peer !== undefined, 'an outbound connection belongs to a peer');
    assert(peer.dialing === conn, 'the connection completing is the peer\'s dial');
    peer.dialing = undefined;
    if (theirs.address !== peer.address) {
      this.logger.debug({ peer: peer.address, advertised: theirs.address },
        `peer dialed at ${peer.address} advertises ${theirs.address}; use one address per node to avoid duplicate connections`);
    }
    // The acceptor answered, so on its side this connection beat any other between us: follow it.
    if (peer.active !== undefined) this.retire(peer.active, 'the peer kept our newer connection');
    this.activate(peer, conn);
  }

  /**
   * True when `incoming` should be kept over `existing` (both to the same peer): the connection
   * dialed by the smaller node id wins; when one node dialed both, the newer wins.
   */
  private replaces(incoming: Connection, existing: Connection): boolean {
    const incomingDialer = incoming.direction === 'outbound' ? this.localId : incoming.peerId;
    const existingDialer = existing.direction === 'outbound' ? this.localId : existing.peerId;
    assert(incomingDialer !== undefined, 'the incoming connection finished its handshake');
    assert(existingDialer !== undefined, 'an open inbound connection has a peer id');
    if (incomingDialer === existingDialer) return true;
    return incomingDialer < existingDialer;
  }

  private activate(peer: Peer, conn: Connection): void {
    assert(conn.state === 'handshaking', 'a connection opens once');
    assert(peer.active === undefined, 'one active connection per peer');
    if (conn.handshakeTimer !== undefined) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = undefined;
    conn.state = 'open';
    conn.established = true;
    conn.peer = peer;
    peer.active = conn;
    peer.failedDials = 0;
    if (peer.reconnectTimer !== undefined) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = undefined;
    this.logger.debug({ peer: peer.address, peerId: conn.peerId, direction: conn.direction, queued: peer.queue.length },
      `connected to ${peer.address} (node '${conn.peerId}', ${conn.direction})`);
    const queue = peer.queue;
    peer.queue = [];
    peer.queuedBytes = 0;
    // These frames were admitted under maxSendQueueBytes already; moving them to the socket adds
    // only WebSocket framing, so they are not checked (and dropped) a second time.
    for (const frame of queue) this.write(conn, frame);
  }

  /** Stops using an open connection that another one replaces; frames still arriving on it are delivered. */
  private retire(conn: Connection, why: string): void {
    assert(conn.state === 'open', 'only an open connection is retired');
    this.logger.debug({ peer: conn.peer?.address, serial: conn.serial }, `closing older connection to ${conn.peer?.address}: ${why}`);
    this.counters.duplicateConnectionsClosed++;
    void this.closeConnection(conn, PeerCloseCode.DuplicateConnection, 'duplicate connection');
  }

  /**
   * Gossip says the node at `address` is alive: forget the backoff of earlier failed dials (they
   * failed while it was starting) and dial at once if frames wait for it.
   */
  peerUp(address: Address): void {
    const peer = this.peers.get(address);
    if (this.closed || peer === undefined || peer.active !== undefined || peer.dialing !== undefined) return;
    if (peer.reconnectTimer === undefined) return;
    clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = undefined;
    peer.failedDials = 0;
    if (peer.queue.length > 0) {
      this.counters.reconnects++;
      this.dial(peer);
    } else {
      this.forgetIfIdle(peer);
    }
  }

  private onDialFailed(peer: Peer, reason: string): void {
    peer.failedDials++;
    this.counters.dialFailures++;
    this.logger.debug({ peer: peer.address, failedDials: peer.failedDials, reason }, `dial to ${peer.address} failed: ${reason}`);
    this.dropQueue(peer, `peer unreachable (${reason})`);
    this.scheduleReconnect(peer);
  }

  private scheduleReconnect(peer: Peer): void {
    if (peer.reconnectTimer !== undefined || this.closed) return;
    const o = this.options;
    const delayMs = reconnectDelayMs(peer.failedDials, o.reconnectBackoffMinMs, o.reconnectBackoffMaxMs, o.random);
    peer.reconnectTimer = setTimeout(() => this.onReconnectTimeout(peer), delayMs);
    peer.reconnectTimer.unref();
  }

  private onReconnectTimeout(peer: Peer): void {
    peer.reconnectTimer = undefined;
    if (this.closed || peer.active !== undefined || peer.dialing !== undefined) return;
    // Dial lazily: only when something waits to go out. Otherwise the next send dials.
    if (peer.queue.length === 0) {
      this.forgetIfIdle(peer);
      return;
    }
    this.counters.reconnects++;
    this.dial(peer);
  }

  private forgetIfIdle(peer: Peer): void {
    const idle = peer.active === undefined && peer.dialing === undefined && peer.reconnectTimer === undefined && peer.queue.length === 0;
    // A peer with failed dials is kept, so its backoff keeps growing while it stays down.
    if (idle && peer.failedDials === 0) this.peers.delete(peer.address);
  }

  // ---------------------------------------------------------------------------------------------
  // Receiving.

  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.rejected || conn.state === 'closed') return;
    conn.lastReceivedAtMs = performance.now();
    if (!isBinary) {
      this.reject(conn, new MalformedFrameError('text frame (peers send binary frames only)'), PeerCloseCode.UnsupportedData, 'local');
      return;
    }
    assert(Buffer.isBuffer(data), 'binaryType "nodebuffer" delivers one Buffer per message');
    let envelope: Envelope;
    try {
      envelope = this.codec.decode(data);
    } catch (e) {
      if (e instanceof FrameTooLargeError) this.reject(conn, e, PeerCloseCode.MessageTooBig, 'local');
      else if (e instanceof MalformedFrameError) this.reject(conn, e, PeerCloseCode.InvalidPayload, 'local');
      else throw e;
      return;
    }
    assert(envelopeProblem(envelope) === undefined, 'the codec returns well-formed envelopes');
    if (!conn.established) {
      // A connection closing before its handshake completed (a duplicate, or shutdown) delivers nothing.
      if (conn.state === 'handshaking') this.onHandshake(conn, envelope);
      return;
    }
    this.onPeerFrame(conn, envelope, data.byteLength);
  }

  private onPeerFrame(conn: Connection, envelope: Envelope, sizeBytes: number): void {
    const peer = conn.peer;
    assert(peer !== undefined, 'a connection past its handshake belongs to a peer');
    if (envelope.v !== PROTOCOL_VERSION) {
      this.reject(conn, new MalformedFrameError(`envelope of protocol version ${envelope.v} on a version ${PROTOCOL_VERSION} connection`),
        PeerCloseCode.ProtocolError, 'local');
      return;
    }
    if (envelope.from !== conn.peerId) {
      this.reject(conn, new MalformedFrameError(`envelope from '${envelope.from}' on the connection of node '${conn.peerId}'`),
        PeerCloseCode.ProtocolError, 'local');
      return;
    }
    if (envelope.t === MessageType.Handshake || envelope.t === MessageType.HandshakeReject) {
      this.reject(conn, new MalformedFrameError('handshake frame after the handshake'), PeerCloseCode.ProtocolError, 'local');
      return;
    }
    if (!isKnownMessageType(envelope.t)) {
      this.counters.framesUnknownType++;
      this.logger.debug({ peer: peer.address, t: envelope.t }, `ignoring message type ${envelope.t} from ${peer.address}: unknown to this version`);
      return;
    }
    this.counters.framesReceived++;
    this.counters.bytesReceived += sizeBytes;
    this.handler?.(envelope, peer.address);
  }

  private onSocketError(conn: Connection, err: Error): void {
    const code = (err as Error & { code?: unknown }).code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      // ws stops reading at the frame header, so only the bound is known: the frame exceeds it.
      this.reject(conn, new FrameTooLargeError(this.options.maxFrameBytes + 1, this.options.maxFrameBytes),
        PeerCloseCode.MessageTooBig, 'local');
      return;
    }
    if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
      this.reject(conn, new MalformedFrameError(`WebSocket protocol error (${err.message})`, err), PeerCloseCode.ProtocolError, 'local');
      return;
    }
    // Network errors (refused, reset, unreachable): the close event follows and decides.
    conn.failure ??= err.message;
    this.logger.debug({ endpoint: conn.endpoint, serial: conn.serial, err: err.message }, `peer connection ${conn.endpoint}: ${err.message}`);
  }

  private onClose(conn: Connection, code: number): void {
    const wasOpen = conn.state === 'open';
    conn.state = 'closed';
    if (conn.handshakeTimer !== undefined) clearTimeout(conn.handshakeTimer);
    if (conn.closeTimer !== undefined) clearTimeout(conn.closeTimer);
    conn.handshakeTimer = undefined;
    conn.closeTimer = undefined;
    this.connections.delete(conn);
    conn.resolveClosed();
    const peer = conn.peer;
    if (peer === undefined) return;
    if (wasOpen) {
      this.logger.info({ peer: peer.address, peerId: conn.peerId, code }, `connection to ${peer.address} (node '${conn.peerId}') closed (code ${code})`);
    }
    if (peer.active === conn) peer.active = undefined;
    if (peer.dialing === conn) {
      peer.dialing = undefined;
      if (this.closed) return;
      if (code === PeerCloseCode.DuplicateConnection) {
        // The peer keeps its own dial to us; queued frames wait for it. If it never comes, redial.
        this.counters.duplicateConnectionsClosed++;
        if (peer.active === undefined && peer.queue.length > 0) {
          peer.failedDials++;
          this.scheduleReconnect(peer);
        }
      } else {
        this.onDialFailed(peer, conn.failure ?? `connection closed with code ${code}`);
      }
      return;
    }
    if (!this.closed) this.forgetIfIdle(peer);
  }

  private onKeepaliveTick(): void {
    const nowMs = performance.now();
    for (const conn of this.connections) {
      if (conn.state !== 'open') continue;
      const idleMs = nowMs - conn.lastReceivedAtMs;
      if (idleMs >= this.options.deadConnectionTimeoutMs) {
        this.logger.warn({ peer: conn.peer?.address, idleMs: Math.round(idleMs) },
          `nothing from ${conn.peer?.address} for ${Math.round(idleMs)} ms (option deadConnectionTimeoutMs); dropping the connection`);
        conn.ws.terminate();
      } else if (idleMs >= this.options.keepaliveIntervalMs) {
        conn.ws.ping();
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Closing.

  /** Refuses a connection: counts it, logs an error naming the peer, tells listeners, closes it. */
  private reject(conn: Connection, error: RingkvError, closeCode: number, refusedBy: 'local' | 'remote',
    nodeId: NodeId | undefined = conn.peerId, peerName: string = conn.peer?.address ?? conn.endpoint): void {
    if (conn.rejected) return;
    conn.rejected = true;
    conn.failure = error.message;
    this.counters.connectionsRejected++;
    this.logger.error({ peer: peerName, peerId: nodeId, endpoint: conn.endpoint, code: error.code, refusedBy },
      error instanceof HandshakeRefusedError ? error.message : `closing connection with ${peerName}: ${error.message}`);
    const rejection: PeerRejection = { peer: peerName, nodeId, refusedBy, error };
    for (const listener of this.rejectionListeners) listener(rejection);
    void this.closeConnection(conn, closeCode, error.code);
  }

  private closeConnection(conn: Connection, code: number, reason: string): Promise<void> {
    if (conn.state === 'closing' || conn.state === 'closed') return conn.closed;
    conn.state = 'closing';
    if (conn.handshakeTimer !== undefined) clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = undefined;
    // Nothing more goes out on it; a pending dial stays attached until its close event decides.
    if (conn.peer !== undefined && conn.peer.active === conn) conn.peer.active = undefined;
    conn.ws.close(code, reason);
    conn.closeTimer = setTimeout(() => conn.ws.terminate(), this.options.closeTimeoutMs);
    conn.closeTimer.unref();
    return conn.closed;
  }
}

function endpointOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
}
