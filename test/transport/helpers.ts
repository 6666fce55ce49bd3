/**
 * Test helpers for transports: an inbox that resolves when messages arrive, a bounded wait for
 * conditions that have no event, a logger that records lines, and WsTransport nodes each behind
 * its own HTTP server on 127.0.0.1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PEER_WS_PATH } from '../../src/api/client-protocol.js';
import type { Logger } from '../../src/core/env.js';
import type { Transport } from '../../src/core/transport.js';
import { MessageType, PROTOCOL_VERSION, type Address, type Envelope } from '../../src/core/wire.js';
import { WsTransport, type WsTransportOptions } from '../../src/runtime/ws-transport.js';

export interface Received {
  readonly msg: Envelope;
  readonly from: Address | undefined;
}

/** Collects every message a transport delivers; `waitForCount` resolves as soon as enough arrived. */
export class Inbox {
  readonly received: Received[] = [];
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(transport: Transport) {
    transport.onMessage((msg, from) => {
      this.received.push({ msg, from });
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const waiter = this.waiters[i];
        if (waiter !== undefined && this.received.length >= waiter.count) {
          this.waiters.splice(i, 1);
          waiter.resolve();
        }
      }
    });
  }

  get bodies(): unknown[] {
    return this.received.map((r) => r.msg.body);
  }

  /** Resolves once `count` messages in total have arrived; rejects after `timeoutMs` naming how many did. */
  waitForCount(count: number, timeoutMs = 5000): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`expected ${count} messages within ${timeoutMs} ms, got ${this.received.length}`));
      }, timeoutMs);
      this.waiters.push({ count, resolve: () => {
        clearTimeout(timer);
        resolve();
      } });
    });
  }
}

/** Polls `condition` until it holds, for conditions no event announces; rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/** An envelope from `from` with message type ReplicaPut (a type every version knows). */
export function envelope(from: string, body: unknown, rid = 0, t: MessageType = MessageType.ReplicaPut): Envelope {
  return { v: PROTOCOL_VERSION, t, rid, from, body };
}

export interface LogLine {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

/** A Logger that keeps every line, so tests can assert on what an operator would read. */
export class RecordingLogger implements Logger {
  constructor(readonly lines: LogLine[] = []) {}
  trace(obj: object, msg = ''): void {
    this.lines.push({ level: 'trace', obj, msg });
  }
  debug(obj: object, msg = ''): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  info(obj: object, msg = ''): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg = ''): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg = ''): void {
    this.lines.push({ level: 'error', obj, msg });
  }
  child(): Logger {
    return this;
  }
  messages(level: LogLine['level']): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg);
  }
}

export interface WsNode {
  readonly transport: WsTransport;
  readonly server: Server;
  readonly address: Address;
  readonly port: number;
  readonly logger: RecordingLogger;
  readonly inbox: Inbox;
  /** Closes the transport, then the HTTP server (idempotent). */
  stop(): Promise<void>;
}

export type WsNodeOptions = Partial<Omit<WsTransportOptions, 'localAddress' | 'logger'>> & {
  /** Listen on this port (e.g. to restart a node at the same address); default 0, chosen by the OS. */
  readonly port?: number;
};

/** Keeps track of what a test started, so afterEach can close all of it. */
export class WsFixture {
  private readonly nodes: WsNode[] = [];
  private readonly closers: Array<() => Promise<void> | void> = [];
  private nextId = 1;

  /** Starts an HTTP server on 127.0.0.1 whose upgrades for PEER_WS_PATH go to a new WsTransport. */
  async start(options: WsNodeOptions = {}): Promise<WsNode> {
    const server = createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    // The transport needs the port in its address, so it exists only after listen.
    const ref: { transport: WsTransport | undefined } = { transport: undefined };
    server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path === PEER_WS_PATH && ref.transport !== undefined) ref.transport.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    const port = await listen(server, options.port ?? 0);
    const address = `127.0.0.1:${port}`;
    const logger = new RecordingLogger();
    const { port: _port, ...transportOptions } = options;
    const started = new WsTransport({
      localId: `n${this.nextId++}`, clusterName: 'test', ...transportOptions, localAddress: address, logger,
    });
    ref.transport = started;
    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        await started.close();
        await closeServer(server);
      })();
      return stopped;
    };
    const node: WsNode = { transport: started, server, address, port, logger, inbox: new Inbox(started), stop };
    this.nodes.push(node);
    return node;
  }

  /** Registers something else to close in `closeAll` (raw sockets, extra servers). */
  onClose(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  async closeAll(): Promise<void> {
    for (const closer of this.closers.splice(0)) await closer();
    await Promise.all(this.nodes.splice(0).map((n) => n.stop()));
  }
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An address where nothing listens: a port the OS handed out and that was closed again. */
export async function unusedAddress(): Promise<Address> {
  const server = createServer();
  const port = await listen(server, 0);
  await closeServer(server);
  return `127.0.0.1:${port}`;
}
