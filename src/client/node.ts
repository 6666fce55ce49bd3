/**
 * The Node socket factory, on the `ws` package. The only file of the SDK that imports a Node-only
 * module; the browser entry (browser.ts) does without it.
 */
import { WebSocket } from 'ws';
import type { WebSocketFactory, WebSocketLike } from './socket.js';

/**
 * Opens client sockets with `ws`. `ws` enforces maxFrameBytes itself (maxPayload): a larger frame
 * closes the connection with code 1009 before it is buffered whole.
 */
export const nodeWebSocketFactory: WebSocketFactory = (url, options) => {
  const socket = new WebSocket(url, { maxPayload: options.maxFrameBytes, perMessageDeflate: false });
  // `ws` implements the WHATWG handler properties and `terminate`; its handler property types are
  // narrower than WebSocketLike's write-only use of them, so TypeScript needs the cast.
  return socket as unknown as WebSocketLike;
};
