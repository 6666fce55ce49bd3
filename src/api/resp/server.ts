/**
 * The RESP2 (Redis protocol) server of a ringkv node: redis-cli, ioredis and redis-benchmark work
 * against it unchanged. It owns the listening socket and the client registry (maxClients, close);
 * each client is a RespConnection, commands are in commands.ts, storage is the injected RespBackend.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { assert } from '../../core/assert.js';
import { silentLogger, type Clock, type Logger } from '../../core/env.js';
import { listenError } from '../../errors.js';
import type { RespBackend } from './backend.js';
import type { RespServerStatus } from './commands.js';
import { RespConnection, type RespCloseReason, type RespConnectionLimits } from './connection.js';
import {
  DEFAULT_MAX_ARRAY_LENGTH, DEFAULT_MAX_BULK_BYTES, DEFAULT_MAX_COMMAND_BYTES, DEFAULT_MAX_INLINE_BYTES, type RespParserOptions,
} from './parser.js';

export interface RespServerOptions extends RespParserOptions {
  /** The store behind the commands. */
  readonly backend: RespBackend;
  /** Interface to listen on. Default "127.0.0.1": exposing a node is a deliberate choice. */
  readonly host?: string | undefined;
  /** TCP port; 0 lets the OS choose (listen() returns it). Default 6379, Redis's, so redis-cli works without -p. */
  readonly port?: number | undefined;
  /** Default: silent. */
  readonly logger?: Logger | undefined;
  /** Time source for INFO uptime and CLIENT INFO ages. Default wall clock. */
  readonly clock?: Clock | undefined;
  /** Most simultaneous clients; the next one gets "ERR max number of clients reached" and is closed. Default 10000, Redis's maxclients. */
  readonly maxClients?: number | undefined;
  /**
   * Most commands of one client waiting for their replies; reading from that client pauses at
   * this many (TCP backpressure) and resumes at half. Default 1024: 64 redis-benchmark -P 16
   * batches, and a small memory bound (commands hold at most one 64 KiB read each beyond it).
   */
  readonly maxPendingRepliesPerClient?: number | undefined;
  /**
   * Most reply bytes buffered for one client (written by us, not yet taken by its socket); past it
   * the client is disconnected, like Redis's client-output-buffer-limit. Default 64 MiB: an MGET of
   * three maximal (16 MiB) values still fits, and a client that stops reading cannot hold more.
   */
  readonly maxOutputBufferBytes?: number | undefined;
  /**
   * Most commands of one client's pipeline running at once (see connection.ts: commands on
   * conflicting keys never overlap). Default 16, redis-benchmark's usual -P; 1 = strictly one at a
   * time, like Redis.
   */
  readonly maxConcurrentCommandsPerClient?: number | undefined;
  /** Close a client idle this long (no command in flight). Default 0 = never, like Redis's `timeout 0`. */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * After QUIT or a protocol error the server ends the connection once its last replies are out;
   * a client that does not take them is destroyed after this long. Default 10000 ms: ample for a
   * reply on any live connection, short enough that dead ones do not hold a client slot.
   */
  readonly endTimeoutMs?: number | undefined;
}

export const DEFAULT_RESP_PORT = 6379;
export const DEFAULT_MAX_CLIENTS = 10_000;
export const DEFAULT_MAX_PENDING_REPLIES_PER_CLIENT = 1024;
export const DEFAULT_MAX_OUTPUT_BUFFER_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_CONCURRENT_COMMANDS_PER_CLIENT = 16;
export const DEFAULT_END_TIMEOUT_MS = 10_000;

/** Reported when a client connection ends. */
export interface RespClientClosedEvent {
  readonly id: number;
  readonly remoteAddress: string;
  readonly reason: RespCloseReason;
}

const wallClock: Clock = { now: () => Date.now() };

export class RespServer {
  private readonly options: RespServerOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly server: Server;
  private readonly clients = new Set<RespConnection>();
  private readonly closedListeners = new Set<(event: RespClientClosedEvent) => void>();
  private readonly status: RespServerStatus;
  private readonly maxClients: number;
  private nextClientId = 1;
  private port = 0;
  private startedAtMs: number;
  private totalConnectionsReceived = 0;
  private totalCommandsProcessed = 0;
  private rejectedConnections = 0;
  private listening = false;
  private closing: Promise<void> | undefined = undefined;

  constructor(options: RespServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? wallClock;
    this.maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
    this.startedAtMs = this.clock.now();
    const limits = this.limits();
    assert(Number.isSafeInteger(this.maxClients) && this.maxClients >= 1, 'maxClients is a positive integer');
    assert(Number.isSafeInteger(limits.maxPendingRepliesPerClient) && limits.maxPendingRepliesPerClient >= 1, 'maxPendingRepliesPerClient is a positive integer');
    assert(Number.isSafeInteger(limits.maxOutputBufferBytes) && limits.maxOutputBufferBytes >= 1, 'maxOutputBufferBytes is a positive integer');
    assert(Number.isSafeInteger(limits.maxConcurrentCommandsPerClient) && limits.maxConcurrentCommandsPerClient >= 1, 'maxConcurrentCommandsPerClient is a positive integer');
    assert(Number.isSafeInteger(limits.idleTimeoutMs) && limits.idleTimeoutMs >= 0, 'idleTimeoutMs is a non-negative integer');
    assert(Number.isSafeInteger(limits.endTimeoutMs) && limits.endTimeoutMs >= 1, 'endTimeoutMs is a positive integer');

    const runId = randomBytes(20).toString('hex');
    const config = new Map<string, string>([
      ['save', ''],
      ['appendonly', 'no'],
      ['databases', '1'],
      ['maxclients', String(this.maxClients)],
      ['timeout', String(Math.ceil(limits.idleTimeoutMs / 1000))],
      ['proto-max-bulk-len', String(options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES)],
      ['port', '0'],
    ]);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the status object reads live counters through it
    const self = this;
    this.status = {
      get tcpPort() { return self.port; },
      get startedAtMs() { return self.startedAtMs; },
      runId,
      get connectedClients() { return self.clients.size; },
      maxClients: this.maxClients,
      get totalConnectionsReceived() { return self.totalConnectionsReceived; },
      get totalCommandsProcessed() { return self.totalCommandsProcessed; },
      get rejectedConnections() { return self.rejectedConnections; },
      config,
    };
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.onConnection(socket));
    this.server.on('error', (error) => this.logger.error({ err: error }, 'RESP server error'));
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(): Promise<{ port: number }> {
    assert(!this.listening, 'listen() is called once');
    assert(this.closing === undefined, 'a closed server does not listen again');
    this.listening = true;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(listenError(error, 'Redis clients (--resp-port)', this.options.host ?? '127.0.0.1', this.options.port ?? DEFAULT_RESP_PORT));
      this.server.once('error', onError);
      this.server.listen(this.options.port ?? DEFAULT_RESP_PORT, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        const address = this.server.address();
        assert(address !== null && typeof address === 'object', 'a TCP server has an address object');
        this.port = address.port;
        this.startedAtMs = this.clock.now();
        (this.status.config as Map<string, string>).set('port', String(this.port));
        this.logger.info({ host: this.options.host ?? '127.0.0.1', port: this.port }, 'RESP server listening');
        resolve({ port: this.port });
      });
    });
  }

  /** Stops accepting, closes every client socket (unsent replies are dropped), resolves when all are closed. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const client of this.clients) client.destroy('server-closing');
      if (!this.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  /** Calls `listener` whenever a client connection ends; returns a function that unsubscribes. */
  onClientClosed(listener: (event: RespClientClosedEvent) => void): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  private limits(): RespConnectionLimits {
    return {
      maxPendingRepliesPerClient: this.options.maxPendingRepliesPerClient ?? DEFAULT_MAX_PENDING_REPLIES_PER_CLIENT,
      maxOutputBufferBytes: this.options.maxOutputBufferBytes ?? DEFAULT_MAX_OUTPUT_BUFFER_BYTES,
      maxConcurrentCommandsPerClient: this.options.maxConcurrentCommandsPerClient ?? DEFAULT_MAX_CONCURRENT_COMMANDS_PER_CLIENT,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 0,
      endTimeoutMs: this.options.endTimeoutMs ?? DEFAULT_END_TIMEOUT_MS,
    };
  }

  private onConnection(socket: Socket): void {
    this.totalConnectionsReceived += 1;
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.maxClients) {
      this.rejectedConnections += 1;
      socket.on('error', () => {});
      socket.end('-ERR max number of clients reached\r\n');
      this.logger.warn({ maxClients: this.maxClients }, 'RESP client refused: max number of clients reached');
      return;
    }
    const connection = new RespConnection(socket, this.nextClientId++, {
      backend: this.options.backend,
      server: this.status,
      logger: this.logger,
      clock: this.clock,
      parserOptions: {
        maxBulkBytes: this.options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES,
        maxArrayLength: this.options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH,
        maxInlineBytes: this.options.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES,
        maxCommandBytes: this.options.maxCommandBytes ?? DEFAULT_MAX_COMMAND_BYTES,
      },
      limits: this.limits(),
      onCommandsProcessed: (count) => {
        this.totalCommandsProcessed += count;
      },
      onClosed: (closed, reason) => this.onClientSocketClosed(closed, reason),
    });
    this.clients.add(connection);
  }

  private onClientSocketClosed(connection: RespConnection, reason: RespCloseReason): void {
    const removed = this.clients.delete(connection);
    assert(removed, 'a closing client was registered');
    const event: RespClientClosedEvent = { id: connection.id, remoteAddress: connection.remoteAddress, reason };
    for (const listener of this.closedListeners) listener(event);
  }
}
