/**
 * Test harness for the RESP server: servers on 127.0.0.1 with OS-chosen ports, raw socket clients
 * that decode replies, and cleanup of everything a test opened.
 */
import { connect, type Socket } from 'node:net';
import type { Clock, Logger } from '../../../src/core/env.js';
import { MapRespBackend, type RespBackend } from '../../../src/api/resp/backend.js';
import { RespServer, type RespClientClosedEvent, type RespServerOptions } from '../../../src/api/resp/server.js';
import { readReplies, type Reply } from './reply-reader.js';

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  constructor(public nowMs = 1_700_000_000_000) {}
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** A raw TCP client that decodes the replies it receives. */
export class RawClient {
  readonly closed: Promise<void>;
  private buffered = Buffer.alloc(0);
  private readonly received: Reply[] = [];
  private waiter: { count: number; resolve: (replies: Reply[]) => void; reject: (error: Error) => void } | undefined;
  private isClosed = false;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      const { replies, consumed } = readReplies(this.buffered);
      this.buffered = this.buffered.subarray(consumed);
      this.received.push(...replies);
      this.wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.isClosed = true;
      this.wake();
      resolve();
    }));
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Resolves with the next `count` replies; rejects if the connection closes first. */
  replies(count: number): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      this.waiter = { count, resolve, reject };
      this.wake();
    });
  }

  /** Replies received and not yet taken by replies(). */
  get unread(): readonly Reply[] {
    return this.received;
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter === undefined) return;
    if (this.received.length >= waiter.count) {
      this.waiter = undefined;
      waiter.resolve(this.received.splice(0, waiter.count));
    } else if (this.isClosed) {
      this.waiter = undefined;
      waiter.reject(new Error(`connection closed after ${this.received.length} of ${waiter.count} replies`));
    }
  }
}

export interface StartedServer {
  readonly server: RespServer;
  readonly port: number;
  readonly backend: RespBackend;
  readonly clock: ManualClock;
  /** Resolves with the next client-closed event. */
  nextClientClosed(): Promise<RespClientClosedEvent>;
}

export class Harness {
  private readonly servers: RespServer[] = [];
  private readonly sockets: Socket[] = [];

  async startServer(options: Partial<RespServerOptions> & { logger?: Logger } = {}): Promise<StartedServer> {
    const clock = new ManualClock();
    const backend = options.backend ?? new MapRespBackend({ clock });
    const server = new RespServer({ host: '127.0.0.1', port: 0, clock, ...options, backend });
    this.servers.push(server);
    const { port } = await server.listen();
    const closedEvents: RespClientClosedEvent[] = [];
    const waiters: ((event: RespClientClosedEvent) => void)[] = [];
    server.onClientClosed((event) => {
      const waiter = waiters.shift();
      if (waiter === undefined) closedEvents.push(event);
      else waiter(event);
    });
    return {
      server, port, backend, clock,
      nextClientClosed: () => {
        const event = closedEvents.shift();
        return event === undefined ? new Promise((resolve) => waiters.push(resolve)) : Promise.resolve(event);
      },
    };
  }

  /** A raw client; allowHalfOpen keeps its sending side open after the server ends (a client that never closes). */
  connectRaw(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: options.allowHalfOpen ?? false }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
      this.sockets.push(socket);
    });
  }

  async cleanup(): Promise<void> {
    for (const socket of this.sockets.splice(0)) socket.destroy();
    await Promise.all(this.servers.splice(0).map((server) => server.close()));
  }
}

/** A logger that records what it is given, for assertions. */
export function recordingLogger(): Logger & { readonly lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const logger = {
    lines,
    trace: (obj: object, msg?: string) => lines.push({ level: 'trace', obj, msg }),
    debug: (obj: object, msg?: string) => lines.push({ level: 'debug', obj, msg }),
    info: (obj: object, msg?: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg?: string) => lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}
