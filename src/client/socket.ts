/**
 * The little of a WebSocket the SDK uses, so its core runs on any implementation: the `ws`
 * package in Node (src/client/node.ts) or the browser's own `WebSocket`. Nothing here imports Node.
 */

/**
 * The event a message handler receives; `data` is an ArrayBuffer (or a Uint8Array view) for a
 * binary frame, a string for a text frame.
 */
export interface SocketMessageEvent {
  readonly data: unknown;
}

/** The event a close handler receives. */
export interface SocketCloseEvent {
  /** WebSocket close code (1000 normal, 1006 abnormal, 1009 too big, ...). */
  readonly code: number;
  readonly reason: string;
}

/**
 * A subset of the WHATWG WebSocket. The SDK sets `binaryType = 'arraybuffer'`, assigns the four
 * handlers once, and calls `send` with binary data and `close`. An implementation that enforces
 * `maxFrameBytes` itself reports a frame over it by closing with code 1009; the SDK also checks
 * the size of every frame it is handed.
 */
export interface WebSocketLike {
  binaryType: string;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: SocketMessageEvent) => void) | null;
  onclose: ((event: SocketCloseEvent) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close handshake, when the implementation can (`ws` can). */
  terminate?(): void;
}

/** Options the SDK passes to a socket factory. */
export interface SocketFactoryOptions {
  /** Largest frame to accept; an implementation that can enforce it should (`ws`: maxPayload). */
  readonly maxFrameBytes: number;
}

/** Opens a WebSocket to `url` (e.g. `ws://127.0.0.1:7000/client`). May throw on a malformed URL. */
export type WebSocketFactory = (url: string, options: SocketFactoryOptions) => WebSocketLike;

/** A constructor with the WHATWG WebSocket signature, such as the browser's `WebSocket`. */
export type StandardWebSocketConstructor = new (url: string) => object;

/**
 * A factory over a WHATWG-compatible WebSocket constructor (the browser's global `WebSocket`).
 * Such sockets cannot enforce `maxFrameBytes` themselves; the SDK checks every frame it receives.
 */
export function standardWebSocketFactory(ctor: StandardWebSocketConstructor): WebSocketFactory {
  // The cast is sound for how the SDK uses a socket: it only writes the handlers and reads the
  // event fields listed above. TypeScript's property variance cannot say "write-only handler",
  // so a real WebSocket's typed handler properties do not match structurally.
  return (url) => new ctor(url) as WebSocketLike;
}
