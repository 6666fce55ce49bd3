/**
 * One connection to one node, for its whole life: dial, hello, requests correlated by id, close.
 * It does not reconnect (the pool dials a new one) and knows nothing of timeouts per request or
 * retries (the client owns those). Browser-safe: it only sees the WebSocketLike interface.
 */
import { CLIENT_PROTOCOL_VERSION, CLIENT_WS_PATH, type ClientRequest } from '../api/client-protocol.js';
import { assert } from '../core/assert.js';
import { ErrorCode, FrameTooLargeError, MalformedFrameError, TimeoutError, type RingkvError } from '../errors.js';
import { makeError, typedErrorFromWire } from './error-mapping.js';
import type { WebSocketFactory, WebSocketLike } from './socket.js';
import { decodeResponse, encodeRequest, parseHelloNodeId, type RequestBody } from './wire.js';

/** Where the answer to one request goes. Exactly one of the two is called, at most once. */
export interface ReplyHandlers {
  /** The server answered ok. */
  onResult(result: unknown): void;
  /**
   * The request failed. `lost` is true when the connection dropped before a reply, so the request
   * may or may not have been applied and may be retried elsewhere; false for a server's error and
   * for failures a retry would repeat (malformed or oversized frames).
   */
  onFailure(error: RingkvError, lost: boolean): void;
}

/** What the pool hears from a connection. */
export interface ConnectionEvents {
  /** The hello was answered: requests may be sent. */
  onReady(connection: NodeConnection): void;
  /** The connection is unusable from now on (a failed dial, a drop, or close()). Called once. */
  onClosed(connection: NodeConnection, error: RingkvError, wasReady: boolean): void;
}

/** The client options a connection needs. */
export interface ConnectionOptions {
  readonly clientName: string;
  readonly connectTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly closeTimeoutMs: number;
  readonly webSocketFactory: WebSocketFactory;
}

/** `opening` (socket) → `handshaking` (hello sent) → `ready` → `closed`; or straight to `closed`. */
export type ConnectionPhase = 'opening' | 'handshaking' | 'ready' | 'closed';

/** WebSocket close codes the SDK sends or recognises. */
const CloseCode = { normal: 1000, protocolError: 1002, messageTooBig: 1009 } as const;

function frameBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

function describeSocketError(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const { message, error } = event as { message?: unknown; error?: unknown };
  if (error instanceof Error) return error.message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

/** A client connection to one node. Dialing starts in the constructor. */
export class NodeConnection {
  readonly address: string;
  private phaseValue: ConnectionPhase = 'opening';
  private nodeIdValue: string | undefined;
  private socket: WebSocketLike | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, ReplyHandlers>();
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private socketErrorMessage: string | undefined;
  private socketClosed = false;
  private readonly socketClosedWaiters: Array<() => void> = [];

  constructor(address: string, private readonly options: ConnectionOptions, private readonly events: ConnectionEvents) {
    this.address = address;
    this.connectTimer = setTimeout(() => this.onConnectTimeout(), options.connectTimeoutMs);
    try {
      this.socket = options.webSocketFactory(`ws://${address}${CLIENT_WS_PATH}`, { maxFrameBytes: options.maxFrameBytes });
    } catch (cause) {
      this.socketClosed = true;
      // Reported after the constructor returns so the pool has its reference first.
      queueMicrotask(() => this.fail(makeError(ErrorCode.NOT_CONNECTED, `cannot open a connection to ${address}: ${String(cause)}`,
        { cause, details: { address } }), false));
      return;
    }
    const socket = this.socket;
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => this.onSocketOpen();
    socket.onmessage = (event) => this.onSocketMessage(event.data);
    socket.onerror = (event) => { this.socketErrorMessage = describeSocketError(event) ?? this.socketErrorMessage; };
    socket.onclose = (event) => this.onSocketClose(event.code, event.reason);
  }

  /** Where the connection is in its life. */
  get phase(): ConnectionPhase {
    return this.phaseValue;
  }

  /** The node's id from its hello reply, if it sent one. */
  get nodeId(): string | undefined {
    return this.nodeIdValue;
  }

  /** Requests sent and not yet answered (or forgotten). */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends a request on a ready connection and returns its id. Throws FrameTooLargeError (nothing
   * is sent) when the request exceeds maxFrameBytes. The handlers are never called synchronously.
   */
  send(body: RequestBody, handlers: ReplyHandlers): number {
    assert(this.phaseValue === 'ready', 'send on a connection that is not ready');
    return this.sendFrame(body, handlers);
  }

  /** Drops interest in a request (timed out or aborted): a late reply to it is ignored. */
  forget(id: number): void {
    this.pending.delete(id);
  }

  /**
   * Closes the connection: pending requests fail with `error` (not retryable), the socket closes
   * with a close handshake, dropped after closeTimeoutMs. Resolves when the socket is closed.
   */
  async close(error: RingkvError): Promise<void> {
    this.fail(error, false, CloseCode.normal);
    await this.socketClosedOrTimeout();
  }

  private sendFrame(body: RequestBody, handlers: ReplyHandlers): number {
    const socket = this.socket;
    assert(socket !== undefined, 'a connection past opening has a socket');
    const id = this.nextId++;
    // The spread of a distributive Omit loses the union's discriminant for TypeScript; adding the
    // id back yields exactly a ClientRequest.
    const bytes = encodeRequest({ ...body, id } as ClientRequest, this.options.maxFrameBytes);
    this.pending.set(id, handlers);
    try {
      socket.send(bytes);
    } catch (cause) {
      // Deferred so send never calls the handlers re-entrantly; the request is pending, so it fails as lost.
      queueMicrotask(() => this.fail(this.lostError(`send failed: ${String(cause)}`), true));
    }
    return id;
  }

  private onSocketOpen(): void {
    if (this.phaseValue !== 'opening') return;
    this.phaseValue = 'handshaking';
    this.sendFrame({ op: 'hello', version: CLIENT_PROTOCOL_VERSION, clientName: this.options.clientName }, {
      onResult: (result) => this.onHelloReply(result),
      onFailure: (error) => this.fail(error, false),
    });
  }

  private onHelloReply(result: unknown): void {
    assert(this.phaseValue === 'handshaking', 'hello reply outside the handshake');
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.nodeIdValue = parseHelloNodeId(result);
    this.phaseValue = 'ready';
    this.events.onReady(this);
  }

  private onSocketMessage(data: unknown): void {
    if (this.phaseValue === 'closed' || this.phaseValue === 'opening') return;
    const bytes = frameBytes(data);
    if (bytes === undefined) {
      this.fail(new MalformedFrameError(`${typeof data === 'string' ? 'text' : 'unknown'} frame, expected a binary frame`), false,
        CloseCode.protocolError);
      return;
    }
    if (bytes.byteLength > this.options.maxFrameBytes) {
      this.fail(new FrameTooLargeError(bytes.byteLength, this.options.maxFrameBytes), false, CloseCode.messageTooBig);
      return;
    }
    let response;
    try {
      response = decodeResponse(bytes);
    } catch (error) {
      this.fail(error as RingkvError, false, CloseCode.protocolError);
      return;
    }
    const handlers = this.pending.get(response.id);
    if (handlers === undefined) {
      // Replies to forgotten requests (timed out, aborted) are expected; to ids never sent are not.
      if (response.id >= this.nextId) {
        this.fail(new MalformedFrameError(`reply to request id ${response.id}, which was never sent`), false, CloseCode.protocolError);
      }
      return;
    }
    this.pending.delete(response.id);
    if (response.ok) handlers.onResult(response.result);
    else handlers.onFailure(typedErrorFromWire(response.error, { address: this.address }), false);
  }

  private onSocketClose(code: number, reason: string): void {
    this.socketClosed = true;
    for (const waiter of this.socketClosedWaiters.splice(0)) waiter();
    if (this.phaseValue === 'closed') return;
    if (code === CloseCode.messageTooBig) {
      this.fail(makeError(ErrorCode.FRAME_TOO_LARGE,
        `${this.address} sent a frame larger than ${this.options.maxFrameBytes} bytes (option maxFrameBytes)`,
        { details: { address: this.address, maxBytes: this.options.maxFrameBytes } }), false);
      return;
    }
    const why = this.socketErrorMessage ?? `close code ${code}${reason === '' ? '' : ` (${reason})`}`;
    this.fail(this.lostError(why), true);
  }

  private onConnectTimeout(): void {
    this.connectTimer = undefined;
    if (this.phaseValue === 'ready' || this.phaseValue === 'closed') return;
    this.fail(new TimeoutError(`connect to ${this.address}`, this.options.connectTimeoutMs, { address: this.address }), false);
    this.socket?.terminate?.();
  }

  private lostError(why: string): RingkvError {
    const during = this.phaseValue === 'ready' ? 'closed' : 'failed before the hello completed';
    return makeError(ErrorCode.NOT_CONNECTED,
      `connection to ${this.address} ${during}: ${why}; a request in flight on it may or may not have been applied`,
      { details: { address: this.address } });
  }

  /** Ends the connection once: tells the pool, then fails every pending request. */
  private fail(error: RingkvError, lost: boolean, closeCode: number = CloseCode.normal): void {
    if (this.phaseValue === 'closed') return;
    const wasReady = this.phaseValue === 'ready';
    this.phaseValue = 'closed';
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const failed = [...this.pending.values()];
    this.pending.clear();
    if (!this.socketClosed) {
      try {
        this.socket?.close(closeCode, error.code);
      } catch {
        // Browsers only allow codes 1000 and 3000-4999 from scripts; close plainly instead.
        try {
          this.socket?.close();
        } catch {
          // A socket that cannot even close is gone already; onclose (or the close timeout) follows.
        }
      }
    }
    // The pool first, so that retries of the failed requests do not pick this connection.
    this.events.onClosed(this, error, wasReady);
    for (const handlers of failed) handlers.onFailure(error, lost);
  }

  private socketClosedOrTimeout(): Promise<void> {
    if (this.socketClosed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket?.terminate?.();
        resolve();
      }, this.options.closeTimeoutMs);
      this.socketClosedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
