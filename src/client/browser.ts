/**
 * The SDK for browsers (and other runtimes with a WHATWG `WebSocket` global): the same API as the
 * Node entry, without the `ws` package.
 */
import type { ValueCodec } from './codec.js';
import { RingkvClient } from './client.js';
import { makeError } from './error-mapping.js';
import { resolveClientOptions, type ClientOptions } from './options.js';
import { standardWebSocketFactory, type StandardWebSocketConstructor, type WebSocketFactory } from './socket.js';
import { ErrorCode } from '../errors.js';

export * from './api.js';

function globalConstructor(): StandardWebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: StandardWebSocketConstructor }).WebSocket;
}

/** A factory over `globalThis.WebSocket`, looked up when a socket is opened. */
export const globalWebSocketFactory: WebSocketFactory = (url, options) => {
  const ctor = globalConstructor();
  if (ctor === undefined) {
    throw makeError(ErrorCode.INVALID_CONFIG, 'this runtime has no global WebSocket; pass option webSocketFactory');
  }
  return standardWebSocketFactory(ctor)(url, options);
};

/**
 * Connects to the given nodes and resolves once one of them is ready. Same contract as the Node
 * entry's `connect`; sockets come from the global `WebSocket` unless `webSocketFactory` is given.
 */
export function connect(options: ClientOptions<Uint8Array>): Promise<RingkvClient<Uint8Array>>;
/** Connects with a value codec: values are of the codec's type. */
export function connect<T>(options: ClientOptions<T> & { readonly codec: ValueCodec<T> }): Promise<RingkvClient<T>>;
// `any`: Resolver<T> makes options and client invariant in T, so no concrete type fits both
// overloads; callers only see the overloads, which are exact.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function connect(options: ClientOptions<any>): Promise<RingkvClient<any>> {
/* eslint-enable @typescript-eslint/no-explicit-any */
  const resolved = resolveClientOptions(options, globalWebSocketFactory);
  if (resolved.webSocketFactory === globalWebSocketFactory && globalConstructor() === undefined) {
    throw makeError(ErrorCode.INVALID_CONFIG, 'this runtime has no global WebSocket; pass option webSocketFactory');
  }
  return RingkvClient.open(resolved);
}
