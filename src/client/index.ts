/**
 * `ringkv/client`: the TypeScript SDK for Node. A browser build uses src/client/browser.ts, the
 * same API over the global WebSocket.
 *
 * @example
 * ```ts
 * import { connect, jsonCodec } from 'ringkv/client';
 * const client = await connect({
 *   nodes: ['127.0.0.1:7001', '127.0.0.1:7002'],
 *   codec: jsonCodec<string[]>(),
 *   resolver: (carts) => [...new Set(carts.flat())], // merge concurrent versions as a set
 * });
 * const cart = await client.get('cart:42');
 * await client.put('cart:42', [...(cart.value ?? []), 'book'], { context: cart.context });
 * await client.close();
 * ```
 */
import type { ValueCodec } from './codec.js';
import { RingkvClient } from './client.js';
import { nodeWebSocketFactory } from './node.js';
import { resolveClientOptions, type ClientOptions } from './options.js';

export * from './api.js';
export { nodeWebSocketFactory } from './node.js';

/**
 * Connects to the given nodes and resolves once one of them is ready (the others keep dialing in
 * the background). Rejects with NotConnectedError when none can be reached within
 * connectTimeoutMs, InvalidConfigError for bad options. Values are `Uint8Array` unless a codec is given.
 */
export function connect(options: ClientOptions<Uint8Array>): Promise<RingkvClient<Uint8Array>>;
/** Connects with a value codec: values are of the codec's type. */
export function connect<T>(options: ClientOptions<T> & { readonly codec: ValueCodec<T> }): Promise<RingkvClient<T>>;
// `any`: Resolver<T> makes options and client invariant in T, so no concrete type fits both
// overloads; callers only see the overloads, which are exact.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function connect(options: ClientOptions<any>): Promise<RingkvClient<any>> {
/* eslint-enable @typescript-eslint/no-explicit-any */
  return RingkvClient.open(resolveClientOptions(options, nodeWebSocketFactory));
}
