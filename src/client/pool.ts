/**
 * The client's connections, one slot per node: dials every node, picks a ready connection for a
 * request (round-robin or first), and redials a node whose connection failed or dropped, in the
 * background with exponential backoff and jitter. A node that is down is simply not picked.
 */
import { ErrorCode, type RingkvError } from '../errors.js';
import { NodeConnection, type ConnectionOptions } from './connection.js';
import { makeError } from './error-mapping.js';
import type { LoadStrategy } from './options.js';
import type { ConnectionInfo, ConnectionState } from './types.js';

/** The client options the pool needs. */
export interface PoolOptions extends ConnectionOptions {
  readonly nodes: readonly string[];
  readonly strategy: LoadStrategy;
  readonly reconnectBackoffMinMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly onConnectionStateChange: ((info: ConnectionInfo) => void) | undefined;
}

interface Slot {
  readonly address: string;
  state: ConnectionState;
  connection: NodeConnection | undefined;
  nodeId: string | undefined;
  failedDials: number;
  lastError: RingkvError | undefined;
  redialTimer: ReturnType<typeof setTimeout> | undefined;
}

/** Connections to every configured node. */
export class NodePool {
  private readonly slots: Slot[];
  private roundRobinNext = 0;
  private closed = false;
  private startWaiter: { resolve: () => void; reject: (error: RingkvError) => void } | undefined;

  /**
   * @param onChange called after any slot changes state (a connection became ready or unusable).
   * @param random source for backoff jitter, in [0, 1).
   */
  constructor(private readonly options: PoolOptions, private readonly onChange: () => void,
    private readonly random: () => number = Math.random) {
    this.slots = options.nodes.map((address) => ({
      address, state: 'backoff', connection: undefined, nodeId: undefined, failedDials: 0, lastError: undefined, redialTimer: undefined,
    }));
  }

  /**
   * Dials every node. Resolves once one is ready; rejects with NotConnectedError once every node's
   * first dial has failed (each dial is bounded by connectTimeoutMs).
   */
  start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => {
      this.startWaiter = { resolve, reject };
    });
    for (const slot of this.slots) this.dial(slot);
    return started;
  }

  /** A ready connection not to any of `exclude` (addresses), chosen by the strategy; undefined if none. */
  pick(exclude: ReadonlySet<string>): NodeConnection | undefined {
    const count = this.slots.length;
    const first = this.options.strategy === 'round-robin' ? this.roundRobinNext : 0;
    for (let step = 0; step < count; step++) {
      const index = (first + step) % count;
      const slot = this.slots[index];
      if (slot === undefined || slot.state !== 'ready' || exclude.has(slot.address)) continue;
      const connection = slot.connection;
      if (connection === undefined || connection.phase !== 'ready') continue;
      if (this.options.strategy === 'round-robin') this.roundRobinNext = (index + 1) % count;
      return connection;
    }
    return undefined;
  }

  /** True when a dial to a node not in `exclude` is in progress (a request may wait for it). */
  isDialing(exclude: ReadonlySet<string>): boolean {
    return this.slots.some((slot) => slot.state === 'dialing' && !exclude.has(slot.address));
  }

  /** NotConnectedError naming every node and why it is not usable. */
  unreachableError(): RingkvError {
    const reasons: Record<string, string> = {};
    for (const slot of this.slots) reasons[slot.address] = slot.lastError?.message ?? slot.state;
    const list = this.slots.map((slot) => `${slot.address} (${reasons[slot.address]})`).join('; ');
    return makeError(ErrorCode.NOT_CONNECTED,
      `no ringkv node is reachable: ${list}; check that the nodes run and the addresses are right (option nodes)`,
      { details: { nodes: reasons } });
  }

  /** A snapshot of every node's connection. */
  connections(): ConnectionInfo[] {
    return this.slots.map((slot) => this.info(slot));
  }

  /** Stops redialing and closes every connection; pending requests on them fail with `error`. */
  async close(error: RingkvError): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.startWaiter?.reject(error);
    this.startWaiter = undefined;
    const closing: Array<Promise<void>> = [];
    for (const slot of this.slots) {
      clearTimeout(slot.redialTimer);
      slot.redialTimer = undefined;
      const connection = slot.connection;
      slot.connection = undefined;
      slot.state = 'closed';
      if (connection !== undefined) closing.push(connection.close(error));
    }
    await Promise.all(closing);
  }

  private dial(slot: Slot): void {
    slot.redialTimer = undefined;
    slot.state = 'dialing';
    slot.connection = new NodeConnection(slot.address, this.options, {
      onReady: (connection) => {
        if (slot.connection !== connection) return;
        slot.state = 'ready';
        slot.nodeId = connection.nodeId;
        slot.failedDials = 0;
        this.changed(slot);
      },
      onClosed: (connection, error, wasReady) => {
        if (slot.connection !== connection) return;
        slot.connection = undefined;
        slot.lastError = error;
        if (!wasReady) slot.failedDials++;
        this.scheduleRedial(slot);
        this.changed(slot);
      },
    });
    this.changed(slot);
  }

  /** Exponential backoff from the min to the max, with jitter in [delay/2, delay) so clients do not redial in step. */
  private scheduleRedial(slot: Slot): void {
    if (this.closed) {
      slot.state = 'closed';
      return;
    }
    const { reconnectBackoffMinMs: minMs, reconnectBackoffMaxMs: maxMs } = this.options;
    const exponent = Math.min(Math.max(slot.failedDials - 1, 0), 30);
    const delayMs = Math.min(maxMs, minMs * 2 ** exponent);
    slot.state = 'backoff';
    slot.redialTimer = setTimeout(() => this.dial(slot), delayMs / 2 + (this.random() * delayMs) / 2);
  }

  private changed(slot: Slot): void {
    this.options.onConnectionStateChange?.(this.info(slot));
    const waiter = this.startWaiter;
    if (waiter !== undefined) {
      if (this.slots.some((s) => s.state === 'ready')) {
        this.startWaiter = undefined;
        waiter.resolve();
      } else if (this.slots.every((s) => s.failedDials > 0 && s.state !== 'dialing')) {
        this.startWaiter = undefined;
        waiter.reject(this.unreachableError());
      }
    }
    this.onChange();
  }

  private info(slot: Slot): ConnectionInfo {
    return {
      address: slot.address,
      state: slot.state,
      nodeId: slot.nodeId,
      inFlight: slot.connection?.inFlight ?? 0,
      failedDials: slot.failedDials,
      lastError: slot.lastError,
    };
  }
}
