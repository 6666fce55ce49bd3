/**
 * Options of the WebSocket peer transport, their defaults (applied here and nowhere else) and the
 * reconnect backoff they drive.
 */
import type { Logger } from '../core/env.js';
import type { Address, NodeId } from '../core/wire.js';
import { InvalidConfigError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES } from './frame-codec.js';

export interface WsTransportOptions {
  /** This node's id: sent in the handshake and expected in every envelope this node sends. */
  readonly localId: NodeId;
  /** "host:port" peers dial to reach this node; sent in the handshake so acceptors can reply on the connection. */
  readonly localAddress: Address;
  /** Peers in another cluster are refused at the handshake, so two rings never mix by a wrong seed. */
  readonly clusterName: string;
  readonly logger: Logger;
  /**
   * Largest frame in bytes, sent or received. Default 64 MiB: the largest value is 16 MiB and a
   * replica reply may carry several siblings of it. A larger frame closes the connection.
   */
  readonly maxFrameBytes?: number | undefined;
  /**
   * Frames queued per peer while its connection is being set up. Default 4096: about 100 ms of a
   * busy node's replication traffic to one peer, enough to ride out a dial on a LAN; beyond it
   * frames are dropped (and counted), because the core times out and retries by itself.
   */
  readonly maxSendQueueFrames?: number | undefined;
  /**
   * Bytes waiting for one peer: queued while connecting, or buffered by the socket once open (a slow
   * peer). Default 64 MiB, equal to maxFrameBytes so that any legal frame fits an empty queue;
   * beyond it frames are dropped (and counted) rather than growing memory without bound.
   */
  readonly maxSendQueueBytes?: number | undefined;
  /**
   * First delay before redialing a peer whose dial failed, in ms. Default 100: a restarting node is
   * found within a gossip round, while a refused dial costs a single SYN.
   */
  readonly reconnectBackoffMinMs?: number | undefined;
  /**
   * Cap of the exponential redial delay, in ms. Default 5000: frames queued for a down peer are
   * dropped at each failed dial, so this also bounds how stale a queued frame can get.
   */
  readonly reconnectBackoffMaxMs?: number | undefined;
  /**
   * Time from opening a connection (TCP + HTTP upgrade) until the peer's handshake frame must have
   * arrived, in ms. Default 5000: generous on a LAN, short enough that a stuck peer does not hold
   * queued frames for long; a timeout closes the connection and counts it rejected.
   */
  readonly handshakeTimeoutMs?: number | undefined;
  /**
   * How long a closing connection may wait for the peer's close frame before the socket is
   * destroyed, in ms. Default 1000: a live peer answers in one round trip; close() of the
   * transport resolves within about this long even when a peer does not answer.
   */
  readonly closeTimeoutMs?: number | undefined;
  /**
   * An open connection with nothing received for this long gets a WebSocket ping, in ms.
   * Default 2000: idle links are probed cheaply; busy ones are never pinged.
   */
  readonly keepaliveIntervalMs?: number | undefined;
  /**
   * An open connection with nothing received (not even a pong) for this long is destroyed, in ms.
   * Default 10000: detects half-open TCP (peer host gone without a FIN) long before TCP would,
   * yet survives long GC pauses. Must exceed keepaliveIntervalMs.
   */
  readonly deadConnectionTimeoutMs?: number | undefined;
  /**
   * Connections (inbound and outbound, any state) at once. Default 1024: one per peer is needed,
   * a ring has at most hundreds of nodes; beyond the bound upgrades get HTTP 503 and dials drop.
   */
  readonly maxConnections?: number | undefined;
  /**
   * At most one warning per this many ms about dropped frames (the count since the last warning
   * is included). Default 10000: a down peer must not flood the log.
   */
  readonly dropWarnIntervalMs?: number | undefined;
  /** Random source in [0, 1) for backoff jitter. Default Math.random; tests may pin it. */
  readonly random?: (() => number) | undefined;
}

export type ResolvedWsTransportOptions = Required<{
  [K in keyof WsTransportOptions]: Exclude<WsTransportOptions[K], undefined>;
}>;

export const WS_TRANSPORT_DEFAULTS = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxSendQueueFrames: 4096,
  maxSendQueueBytes: 64 * 1024 * 1024,
  reconnectBackoffMinMs: 100,
  reconnectBackoffMaxMs: 5000,
  handshakeTimeoutMs: 5000,
  closeTimeoutMs: 1000,
  keepaliveIntervalMs: 2000,
  deadConnectionTimeoutMs: 10_000,
  maxConnections: 1024,
  dropWarnIntervalMs: 10_000,
} as const;

/** Applies the defaults and checks every bound; a bad value is an InvalidConfigError naming the option. */
export function resolveWsTransportOptions(options: WsTransportOptions): ResolvedWsTransportOptions {
  const d = WS_TRANSPORT_DEFAULTS;
  const resolved: ResolvedWsTransportOptions = {
    localId: options.localId,
    localAddress: options.localAddress,
    clusterName: options.clusterName,
    logger: options.logger,
    maxFrameBytes: options.maxFrameBytes ?? d.maxFrameBytes,
    maxSendQueueFrames: options.maxSendQueueFrames ?? d.maxSendQueueFrames,
    maxSendQueueBytes: options.maxSendQueueBytes ?? d.maxSendQueueBytes,
    reconnectBackoffMinMs: options.reconnectBackoffMinMs ?? d.reconnectBackoffMinMs,
    reconnectBackoffMaxMs: options.reconnectBackoffMaxMs ?? d.reconnectBackoffMaxMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs ?? d.closeTimeoutMs,
    keepaliveIntervalMs: options.keepaliveIntervalMs ?? d.keepaliveIntervalMs,
    deadConnectionTimeoutMs: options.deadConnectionTimeoutMs ?? d.deadConnectionTimeoutMs,
    maxConnections: options.maxConnections ?? d.maxConnections,
    dropWarnIntervalMs: options.dropWarnIntervalMs ?? d.dropWarnIntervalMs,
    random: options.random ?? Math.random,
  };
  checkText('localId', resolved.localId, 128);
  checkText('localAddress', resolved.localAddress, 256);
  checkText('clusterName', resolved.clusterName, 256);
  checkPositiveInteger('maxFrameBytes', resolved.maxFrameBytes);
  checkPositiveInteger('maxSendQueueFrames', resolved.maxSendQueueFrames);
  checkPositiveInteger('maxSendQueueBytes', resolved.maxSendQueueBytes);
  checkPositiveInteger('reconnectBackoffMinMs', resolved.reconnectBackoffMinMs);
  checkPositiveInteger('reconnectBackoffMaxMs', resolved.reconnectBackoffMaxMs);
  checkPositiveInteger('handshakeTimeoutMs', resolved.handshakeTimeoutMs);
  checkPositiveInteger('closeTimeoutMs', resolved.closeTimeoutMs);
  checkPositiveInteger('keepaliveIntervalMs', resolved.keepaliveIntervalMs);
  checkPositiveInteger('deadConnectionTimeoutMs', resolved.deadConnectionTimeoutMs);
  checkPositiveInteger('maxConnections', resolved.maxConnections);
  checkPositiveInteger('dropWarnIntervalMs', resolved.dropWarnIntervalMs);
  if (resolved.reconnectBackoffMinMs > resolved.reconnectBackoffMaxMs) {
    throw new InvalidConfigError(
      `reconnectBackoffMinMs (${resolved.reconnectBackoffMinMs}) exceeds reconnectBackoffMaxMs (${resolved.reconnectBackoffMaxMs})`);
  }
  if (resolved.deadConnectionTimeoutMs <= resolved.keepaliveIntervalMs) {
    throw new InvalidConfigError(
      `deadConnectionTimeoutMs (${resolved.deadConnectionTimeoutMs}) must exceed keepaliveIntervalMs (${resolved.keepaliveIntervalMs}), ` +
      'or live idle connections would be closed before their ping is answered');
  }
  return resolved;
}

/**
 * Delay before the next dial after `failedDials` consecutive failures (1 = the first failure):
 * exponential from `minMs`, capped at `maxMs`, with "equal jitter" (half fixed, half random) so
 * that nodes which lost the same peer at once do not redial it in lockstep.
 */
export function reconnectDelayMs(failedDials: number, minMs: number, maxMs: number, random: () => number): number {
  const exponent = Math.min(Math.max(failedDials - 1, 0), 30);
  const ceilingMs = Math.min(maxMs, minMs * 2 ** exponent);
  const r = random();
  const delayMs = ceilingMs / 2 + (ceilingMs / 2) * Math.min(Math.max(r, 0), 1);
  return Math.round(delayMs);
}

function checkText(name: string, value: unknown, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw new InvalidConfigError(`${name} must be a non-empty string of at most ${maxLength} characters`, { option: name });
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidConfigError(`${name} must be a positive integer, got ${String(value)}`, { option: name, value });
  }
}
