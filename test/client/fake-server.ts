/**
 * A small fake ringkv node for the SDK's tests: speaks the client protocol over ws on
 * 127.0.0.1 with an OS-chosen port, keeps objects in memory as sibling sets with a simple
 * context (the ids of the siblings read), and lets a test intercept any request to answer with an
 * error, delay, garbage, or a dropped connection.
 */
import type { AddressInfo } from 'node:net';
import { Encoder } from 'cbor-x';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLIENT_PROTOCOL_VERSION, CLIENT_WS_PATH, type ClientRequest, type ClientResponse, type WireError,
} from '../../src/api/client-protocol.js';

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** One stored version; `value` null is a tombstone. */
export interface FakeSibling {
  readonly id: number;
  readonly value: Uint8Array | null;
  readonly writtenAtMs: number;
  readonly node: string;
  readonly expiresAtMs?: number;
}

/** The data behind one or more fake servers (share it to make two servers look like one ring). */
export class FakeStore {
  readonly objects = new Map<string, FakeSibling[]>();
  private nextSiblingId = 1;

  /** Ids of a key's siblings, as the context string the fake hands out. */
  contextOf(key: string): string {
    return (this.objects.get(key) ?? []).map((sibling) => sibling.id).join(',');
  }

  /** Replaces the siblings named in `context` (all of them are kept when it is absent) with a new one. */
  write(key: string, value: Uint8Array | null, context: string | undefined, node: string, ttlMs?: number): string {
    const seen = parseContext(context);
    const kept = (this.objects.get(key) ?? []).filter((sibling) => !seen.has(sibling.id));
    const sibling: FakeSibling = {
      id: this.nextSiblingId++, value: value === null ? null : Uint8Array.from(value), writtenAtMs: Date.now(), node,
      ...(ttlMs === undefined ? {} : { expiresAtMs: Date.now() + ttlMs }),
    };
    const siblings = [...kept, sibling];
    if (siblings.every((s) => s.value === null)) this.objects.delete(key);
    else this.objects.set(key, siblings);
    return this.contextOf(key);
  }
}

/** Thrown by parseContext; the server answers ERR_INVALID_CONTEXT. */
class BadContext extends Error {}

function parseContext(context: string | undefined): Set<number> {
  if (context === undefined || context === '') return new Set();
  const ids = context.split(',').map(Number);
  if (ids.some((id) => !Number.isSafeInteger(id))) throw new BadContext(context);
  return new Set(ids);
}

/** What to do with one request instead of (or before) the default handling. */
export type Intercept =
  | { readonly kind: 'error'; readonly error: WireError }
  /** Handle normally, but only send the reply once `until` settles. */
  | { readonly kind: 'delay'; readonly until: Promise<unknown> }
  /** Never answer. */
  | { readonly kind: 'hold' }
  /** Send these bytes (or text) as the reply frame. */
  | { readonly kind: 'raw'; readonly data: Uint8Array | string }
  /** Drop the connection without answering. */
  | { readonly kind: 'close' };

export interface FakeServerOptions {
  readonly nodeId?: string;
  readonly store?: FakeStore;
  /** `reverse`: replies to requests that arrive in one event-loop turn are sent in reverse order. */
  readonly replyOrder?: 'arrival' | 'reverse';
}

/** A fake node listening on 127.0.0.1 with an OS-chosen port. */
export class FakeServer {
  readonly store: FakeStore;
  readonly nodeId: string;
  /** Every request received, in order. */
  readonly requests: ClientRequest[] = [];
  /** Consulted for each request other than hello; undefined = default handling. */
  intercept: ((request: ClientRequest) => Intercept | undefined) | undefined;
  /** Most replies held back at once in `reverse` order (shows replies really were reordered). */
  largestReversedBatch = 0;
  /** Most requests received and not yet answered at once. */
  maxUnanswered = 0;
  private unanswered = 0;
  private readonly sockets = new Set<WebSocket>();
  private readonly waiters: Array<() => boolean> = [];

  private constructor(private readonly wss: WebSocketServer, readonly port: number, private readonly options: FakeServerOptions) {
    this.store = options.store ?? new FakeStore();
    this.nodeId = options.nodeId ?? `fake-${port}`;
    wss.on('connection', (socket) => this.onConnection(socket));
  }

  /** Starts a fake server. */
  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: CLIENT_WS_PATH });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeServer(wss, (wss.address() as AddressInfo).port, options);
  }

  /** "127.0.0.1:port", as the SDK's `nodes` option takes it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Requests received and not yet answered. */
  get unansweredCount(): number {
    return this.unanswered;
  }

  /** Client connections open now. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Resolves once `predicate` holds (checked now and after every request, reply and connection change). */
  waitFor(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(() => {
        if (!predicate()) return false;
        resolve();
        return true;
      });
    });
  }

  /** Requests (other than hello) received with the given op. */
  requestsOf<Op extends ClientRequest['op']>(op: Op): Array<Extract<ClientRequest, { op: Op }>> {
    return this.requests.filter((request): request is Extract<ClientRequest, { op: Op }> => request.op === op);
  }

  /** Drops every client connection abruptly; keeps listening, so clients can redial. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]?.()) this.waiters.splice(i, 1);
    }
  }

  private onConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.notify();
    });
    let helloDone = false;
    let held: Array<() => void> = [];
    const reply = (send: () => void): void => {
      if (this.options.replyOrder !== 'reverse') {
        send();
        return;
      }
      held.push(send);
      if (held.length === 1) {
        setImmediate(() => {
          const batch = held.reverse();
          held = [];
          this.largestReversedBatch = Math.max(this.largestReversedBatch, batch.length);
          for (const flush of batch) flush();
        });
      }
    };
    const respond = (response: ClientResponse): void => {
      reply(() => {
        this.unanswered--;
        if (socket.readyState === socket.OPEN) socket.send(cbor.encode(response));
        this.notify();
      });
    };
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        socket.close(1002, 'binary frames only');
        return;
      }
      const request = cbor.decode(data) as ClientRequest;
      this.requests.push(request);
      this.unanswered++;
      this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
      this.notify();
      if (!helloDone) {
        if (request.op !== 'hello' || request.version !== CLIENT_PROTOCOL_VERSION) {
          respond({ id: request.id, ok: false, error: { code: 'ERR_PROTOCOL', message: 'expected hello with version 1' } });
          socket.close();
          return;
        }
        helloDone = true;
        respond({ id: request.id, ok: true, result: { version: CLIENT_PROTOCOL_VERSION, node: this.nodeId } });
        return;
      }
      const action = this.intercept?.(request);
      if (action === undefined) {
        respond(this.handle(request));
        return;
      }
      switch (action.kind) {
        case 'error':
          respond({ id: request.id, ok: false, error: action.error });
          return;
        case 'delay':
          void action.until.finally(() => respond(this.handle(request)));
          return;
        case 'hold':
          return;
        case 'raw':
          this.unanswered--;
          socket.send(action.data);
          return;
        case 'close':
          socket.terminate();
          return;
      }
    });
    this.notify();
  }

  private handle(request: ClientRequest): ClientResponse {
    try {
      switch (request.op) {
        case 'hello':
          return { id: request.id, ok: false, error: { code: 'ERR_PROTOCOL', message: 'hello sent twice' } };
        case 'get': {
          const siblings = this.store.objects.get(request.key) ?? [];
          return {
            id: request.id, ok: true,
            result: {
              siblings: siblings.map(({ value, writtenAtMs, node, expiresAtMs }) => ({ value, writtenAtMs, node, expiresAtMs })),
              context: this.store.contextOf(request.key),
            },
          };
        }
        case 'put':
          return { id: request.id, ok: true,
            result: { context: this.store.write(request.key, request.value, request.context, this.nodeId, request.ttlMs) } };
        case 'delete':
          return { id: request.id, ok: true, result: { context: this.store.write(request.key, null, request.context, this.nodeId) } };
        case 'status':
          return { id: request.id, ok: true, result: { nodeId: this.nodeId, keys: this.store.objects.size } };
      }
    } catch (error) {
      if (error instanceof BadContext) {
        return { id: request.id, ok: false, error: { code: 'ERR_INVALID_CONTEXT', message: `invalid context: ${error.message}` } };
      }
      throw error;
    }
  }
}
