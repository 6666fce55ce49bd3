/**
 * The server side of the client protocol (src/api/client-protocol.ts): WebSocket on /client,
 * binary CBOR frames, many requests in flight per connection, replies in completion order.
 * A malformed frame closes that connection (code 1007/1009) and is logged; the node runs on.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Encoder } from 'cbor-x';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../core/env.js';
import {
  CLIENT_PROTOCOL_VERSION, DEFAULT_MAX_CLIENT_FRAME_BYTES, type ClientRequest, type ClientResponse,
} from './client-protocol.js';
import { OverloadedError, ProtocolError, errorToWire, InvalidArgumentError } from '../errors.js';
import type { KvService } from './kv-service.js';

// Plain CBOR maps and byte strings, as the SDK sends (no cbor-x records, no typed-array tags).
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

export interface ClientServerOptions {
  /** Largest frame accepted, bytes. Default 17 MiB: a 16 MiB value plus its envelope. */
  readonly maxFrameBytes?: number;
  /** Requests one connection may have in flight; beyond it requests fail with ERR_OVERLOADED. Default 1024. */
  readonly maxInFlightPerConnection?: number;
  /** Open client connections at most; beyond it new ones are closed with 1013 (try again later). Default 10 000. */
  readonly maxConnections?: number;
  /** Bytes buffered for a slow reader before its connection is closed. Default 64 MiB. */
  readonly maxBufferedBytes?: number;
}

export class ClientServer {
  private readonly wss: WebSocketServer;
  private readonly maxFrameBytes: number;
  private readonly maxInFlight: number;
  private readonly maxConnections: number;
  private readonly maxBufferedBytes: number;
  private requestsServed = 0;

  constructor(private readonly service: KvService, private readonly logger: Logger, options: ClientServerOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_CLIENT_FRAME_BYTES;
    this.maxInFlight = options.maxInFlightPerConnection ?? 1024;
    this.maxConnections = options.maxConnections ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxFrameBytes, perMessageDeflate: false });
  }

  /** Called by the node's HTTP server for upgrades on the client path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.wss.clients.size >= this.maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  get connections(): number {
    return this.wss.clients.size;
  }

  get served(): number {
    return this.requestsServed;
  }

  private onConnection(ws: WebSocket): void {
    let inFlight = 0;
    let helloSeen = false;
    const reply = (response: ClientResponse): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > this.maxBufferedBytes) {
        this.logger.warn({ bufferedBytes: ws.bufferedAmount }, 'closing a client that does not read its replies');
        ws.close(1008, 'reply buffer limit exceeded');
        return;
      }
      ws.send(cbor.encode(response), { binary: true });
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) {
        ws.close(1003, 'text frames are not accepted; send binary CBOR');
        return;
      }
      let request: ClientRequest;
      try {
        request = parseRequest(cbor.decode(toBuffer(data)));
      } catch (err) {
        this.logger.warn({ err }, 'closing a client connection after a malformed frame');
        ws.close(1007, 'malformed frame');
        return;
      }
      if (inFlight >= this.maxInFlight) {
        reply({ id: request.id, ok: false, error: errorToWire(new OverloadedError('requests in flight on this connection', this.maxInFlight)) });
        return;
      }
      if (request.op === 'hello') {
        if (request.version !== CLIENT_PROTOCOL_VERSION) {
          reply({ id: request.id, ok: false, error: errorToWire(new ProtocolError(`client protocol version ${request.version} is not supported; this node speaks ${CLIENT_PROTOCOL_VERSION}`)) });
          ws.close(1002, 'unsupported protocol version');
          return;
        }
        helloSeen = true;
        reply({ id: request.id, ok: true, result: { version: CLIENT_PROTOCOL_VERSION, node: this.service.nodeId } });
        return;
      }
      if (!helloSeen) {
        reply({ id: request.id, ok: false, error: errorToWire(new ProtocolError('send hello first')) });
        return;
      }
      inFlight++;
      this.requestsServed++;
      this.execute(request).then(
        (result) => reply({ id: request.id, ok: true, result }),
        (err: unknown) => reply({ id: request.id, ok: false, error: errorToWire(err) }),
      ).finally(() => {
        inFlight--;
      });
    });
    ws.on('error', (err) => this.logger.debug({ err }, 'client connection error'));
  }

  private async execute(request: Exclude<ClientRequest, { op: 'hello' }>): Promise<unknown> {
    switch (request.op) {
      case 'get':
        return this.service.get(request.key, { r: request.r, timeoutMs: request.timeoutMs });
      // Write results encode their context lazily (a getter); the wire gets a plain object.
      case 'put': {
        const { context } = await this.service.put(request.key, request.value, {
          w: request.w, timeoutMs: request.timeoutMs, context: request.context, ttlMs: request.ttlMs,
        });
        return { context };
      }
      case 'delete': {
        const { context } = await this.service.delete(request.key, { w: request.w, timeoutMs: request.timeoutMs, context: request.context });
        return { context };
      }
      case 'status':
        return this.service.status();
    }
  }

  /** Closes every client connection. */
  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function optionalNumber(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`${name} must be a number`);
  return v;
}

function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new InvalidArgumentError(`${name} must be a string`);
  return v;
}

/** Checks a decoded frame is a ClientRequest; throws on anything else. */
export function parseRequest(v: unknown): ClientRequest {
  if (!isRecord(v)) throw new ProtocolError('request is not a map');
  const id = v.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new ProtocolError('request id is not a positive integer');
  const key = (): string => {
    if (typeof v.key !== 'string') throw new ProtocolError('request key is not a string');
    return v.key;
  };
  const quorum = { r: optionalNumber(v.r, 'r'), w: optionalNumber(v.w, 'w'), timeoutMs: optionalNumber(v.timeoutMs, 'timeoutMs') };
  switch (v.op) {
    case 'hello':
      if (typeof v.version !== 'number') throw new ProtocolError('hello needs a version');
      return { id, op: 'hello', version: v.version, clientName: optionalString(v.clientName, 'clientName') };
    case 'get':
      return { id, op: 'get', key: key(), r: quorum.r, timeoutMs: quorum.timeoutMs };
    case 'put':
      if (!(v.value instanceof Uint8Array)) throw new ProtocolError('put value is not bytes');
      return { id, op: 'put', key: key(), value: v.value, context: optionalString(v.context, 'context'), ttlMs: optionalNumber(v.ttlMs, 'ttlMs'), w: quorum.w, timeoutMs: quorum.timeoutMs };
    case 'delete':
      return { id, op: 'delete', key: key(), context: optionalString(v.context, 'context'), w: quorum.w, timeoutMs: quorum.timeoutMs };
    case 'status':
      return { id, op: 'status' };
    default:
      throw new ProtocolError(`unknown op ${JSON.stringify(v.op)}`);
  }
}
