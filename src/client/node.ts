/**
 * The Node socket factory, on the `ws` package. The only file of the SDK that imports a Node-only
 * module; the browser entry (browser.ts) does without it.
 */
import { WebSocket } from 'ws';
import type { SocketCloseEvent, SocketMessageEvent, WebSocketFactory, WebSocketLike } from './socket.js';

/** Close code of a frame too large to accept (RFC 6455 §7.4.1). */
const MESSAGE_TOO_BIG = 1009;

/**
 * WebSocketLike over a `ws` socket. Binary frames arrive as Buffers (Uint8Array views, no copy
 * into an ArrayBuffer); text frames as strings. A frame over maxPayload makes `ws` drop the
 * connection with a local close code 1006; this adapter reports 1009 instead, as the contract asks.
 */
class WsClientSocket implements WebSocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: SocketMessageEvent) => void) | null = null;
  onclose: ((event: SocketCloseEvent) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** Kept for the interface; binary data is always delivered as Uint8Array views, which the SDK reads. */
  binaryType = 'arraybuffer';
  private frameTooLarge = false;

  constructor(private readonly socket: WebSocket) {
    socket.on('open', () => this.onopen?.({}));
    // ws's binaryType stays 'nodebuffer', so a message is one Buffer.
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.onmessage?.({ data: isBinary ? data : data.toString('utf8') });
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.frameTooLarge = true;
      this.onerror?.({ error, message: error.message });
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.onclose?.({ code: this.frameTooLarge ? MESSAGE_TOO_BIG : code, reason: reason.toString('utf8') });
    });
  }

  send(data: Uint8Array): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  terminate(): void {
    this.socket.terminate();
  }
}

/**
 * Opens client sockets with `ws`. `ws` enforces maxFrameBytes itself (maxPayload): a larger frame
 * closes the connection before it is buffered whole.
 */
export const nodeWebSocketFactory: WebSocketFactory = (url, options) =>
  new WsClientSocket(new WebSocket(url, { maxPayload: options.maxFrameBytes, perMessageDeflate: false }));
