/**
 * Test setup for the SDK: starts fake servers and clients, watches connection state changes, and
 * closes everything after each test.
 */
import { afterEach } from 'vitest';
import { connect, type ClientOptions, type ConnectionInfo, type ConnectionState, type RingkvClient, type ValueCodec } from '../../src/client/index.js';
import { FakeServer, type FakeServerOptions } from './fake-server.js';

/** Short timings so failure paths run in milliseconds. */
export const FAST = { connectTimeoutMs: 2000, reconnectBackoffMinMs: 5, reconnectBackoffMaxMs: 20, timeoutGraceMs: 0 } as const;

export interface Harness {
  server(options?: FakeServerOptions): Promise<FakeServer>;
  client(options: ClientOptions<Uint8Array>): Promise<RingkvClient<Uint8Array>>;
  client<T>(options: ClientOptions<T> & { readonly codec: ValueCodec<T> }): Promise<RingkvClient<T>>;
  /** Resolves when a client's connection to `address` reaches `state` (now or later). */
  connectionState(address: string, state: ConnectionState): Promise<void>;
}

/** Registers cleanup with afterEach and returns the helpers. */
export function useHarness(): Harness {
  const servers: FakeServer[] = [];
  const clients: Array<RingkvClient<unknown>> = [];
  const states = new Map<string, ConnectionState>();
  let watchers: Array<(info: ConnectionInfo) => boolean> = [];
  const onConnectionStateChange = (info: ConnectionInfo): void => {
    states.set(info.address, info.state);
    watchers = watchers.filter((watcher) => !watcher(info));
  };

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
    states.clear();
    watchers = [];
  });

  return {
    async server(options) {
      const server = await FakeServer.start(options);
      servers.push(server);
      return server;
    },
    async client(options: ClientOptions<unknown>) {
      // The overloads above give callers exact types; here one implementation serves both.
      const client = await connect({ ...FAST, ...options, onConnectionStateChange } as ClientOptions<Uint8Array>);
      clients.push(client as RingkvClient<unknown>);
      return client;
    },
    connectionState(address, state) {
      if (states.get(address) === state) return Promise.resolve();
      return new Promise((resolve) => {
        watchers.push((info) => {
          if (info.address !== address || info.state !== state) return false;
          resolve();
          return true;
        });
      });
    },
  } as Harness;
}
