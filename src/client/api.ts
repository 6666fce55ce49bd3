/**
 * Everything the SDK exports that works in any JavaScript runtime. The entry points (index.ts for
 * Node, browser.ts for browsers) re-export it and add `connect` with their socket factory.
 */
export { RingkvClient } from './client.js';
export { bytesCodec, jsonCodec, stringCodec, type ValueCodec } from './codec.js';
export { CLIENT_DEFAULTS, type ClientOptions, type LoadStrategy } from './options.js';
export {
  standardWebSocketFactory, type SocketCloseEvent, type SocketFactoryOptions, type SocketMessageEvent,
  type StandardWebSocketConstructor, type WebSocketFactory, type WebSocketLike,
} from './socket.js';
export type {
  BatchItemResult, BatchOptions, ClientStatus, ConnectionInfo, ConnectionState, DeleteOptions, DeleteResult, GetManyOptions,
  GetOptions, GetResult, PutManyEntry, PutManyOptions, PutOptions, PutResult, RequestOptions, Resolver, Sibling,
} from './types.js';
export * from '../errors.js';
export { CLIENT_PROTOCOL_VERSION, DEFAULT_MAX_CLIENT_FRAME_BYTES } from '../api/client-protocol.js';
