/**
 * Client options: every bound, retry and timeout the SDK has, with its default and why. Defaults
 * are applied here and nowhere else.
 */
import { DEFAULT_MAX_CLIENT_FRAME_BYTES } from '../api/client-protocol.js';
import { ErrorCode } from '../errors.js';
import { bytesCodec, type ValueCodec } from './codec.js';
import { makeError } from './error-mapping.js';
import type { WebSocketFactory } from './socket.js';
import type { ConnectionInfo, Resolver } from './types.js';

/** How requests are spread over the connected nodes. */
export type LoadStrategy = 'round-robin' | 'first';

/** Options of `connect`. Only `nodes` is required. */
export interface ClientOptions<T> {
  /**
   * Nodes to connect to, as "host:port" ("[::1]:7000" for IPv6). Any node coordinates any request,
   * so these are all seeds: the client connects to each and fails over between them.
   */
  readonly nodes: readonly string[];
  /** Name sent in the hello, shown in the server's logs. Default "ringkv-client". */
  readonly clientName?: string | undefined;
  /**
   * Default time budget of a call in ms. Default 5000: well above a healthy ring's latency
   * (Dynamo's p99.9 target was 300 ms), short enough that a stuck request does not hang a caller.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Extra ms the client waits past a call's budget before it gives up itself. The server gets the
   * budget and times out first with a more useful error (which replicas were missing); the grace
   * lets that error arrive. Default 200.
   */
  readonly timeoutGraceMs?: number | undefined;
  /** Ms to open a connection and finish the hello. Default 3000: a LAN dial takes milliseconds. */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Most requests in flight at once, over all connections. Default 512: enough to keep a few nodes
   * busy, few enough that a burst does not bury the servers. Beyond it requests queue.
   */
  readonly maxInFlight?: number | undefined;
  /**
   * Most requests waiting for an in-flight slot or a connection; beyond it calls fail at once with
   * `OverloadedError`. Default 10000: a short burst fits, an unbounded backlog (memory, and
   * latency that only grows) does not.
   */
  readonly maxQueuedRequests?: number | undefined;
  /**
   * Default of how many requests one `getMany`/`putMany` has in flight. Default 64: hides round
   * trips without one batch taking all of `maxInFlight` from other callers.
   */
  readonly batchConcurrency?: number | undefined;
  /** Ms before the first redial of a node that failed. Default 100: a restarted node is back soon. */
  readonly reconnectBackoffMinMs?: number | undefined;
  /**
   * Ceiling of the redial delay, which doubles after each failed dial. Default 5000: a node that
   * comes back is used again within seconds, while a dead one costs one dial per 5 s.
   */
  readonly reconnectBackoffMaxMs?: number | undefined;
  /** `round-robin` (default) spreads requests over all connected nodes; `first` uses the first connected node in `nodes` order. */
  readonly strategy?: LoadStrategy | undefined;
  /**
   * Whether a put or delete whose connection dropped before the reply is retried once on another
   * node. Default true: in ringkv's model a retried write with the same context cannot overwrite
   * anything silently; if the first attempt was applied, the retry at worst adds a sibling (with
   * the same value), which the next read resolves. Without it the caller gets a
   * `NotConnectedError` and does not know whether the write happened. Gets are always retried.
   */
  readonly retryWritesOnFailover?: boolean | undefined;
  /** Value codec. Default `bytesCodec` (values are `Uint8Array`). */
  readonly codec?: ValueCodec<T> | undefined;
  /**
   * Merges siblings on read. When set and a get sees several versions, the client merges the live
   * values, writes the result back with the read's context (awaited; its errors reject the get)
   * and returns the merged value. Concurrent deletes are not passed in: a value written
   * concurrently with a delete survives. The write-back carries no TTL.
   */
  readonly resolver?: Resolver<T> | undefined;
  /**
   * Largest frame sent or accepted, in bytes. Default DEFAULT_MAX_CLIENT_FRAME_BYTES (17 MiB: a
   * 16 MiB value plus overhead), the same as the server's.
   */
  readonly maxFrameBytes?: number | undefined;
  /** Ms `close()` waits for each socket's close handshake before dropping it. Default 1000. */
  readonly closeTimeoutMs?: number | undefined;
  /** Opens sockets. Default: the `ws` package in Node, the global `WebSocket` in the browser entry. */
  readonly webSocketFactory?: WebSocketFactory | undefined;
  /** Called whenever a node's connection changes state (for logs and metrics). Must not throw. */
  readonly onConnectionStateChange?: ((info: ConnectionInfo) => void) | undefined;
}

/** Options with every default applied. */
export interface ResolvedClientOptions<T> {
  readonly nodes: readonly string[];
  readonly clientName: string;
  readonly timeoutMs: number;
  readonly timeoutGraceMs: number;
  readonly connectTimeoutMs: number;
  readonly maxInFlight: number;
  readonly maxQueuedRequests: number;
  readonly batchConcurrency: number;
  readonly reconnectBackoffMinMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly strategy: LoadStrategy;
  readonly retryWritesOnFailover: boolean;
  readonly codec: ValueCodec<T>;
  readonly resolver: Resolver<T> | undefined;
  readonly maxFrameBytes: number;
  readonly closeTimeoutMs: number;
  readonly webSocketFactory: WebSocketFactory;
  readonly onConnectionStateChange: ((info: ConnectionInfo) => void) | undefined;
}

/** The defaults; see ClientOptions for why each is what it is. */
export const CLIENT_DEFAULTS = {
  clientName: 'ringkv-client',
  timeoutMs: 5000,
  timeoutGraceMs: 200,
  connectTimeoutMs: 3000,
  maxInFlight: 512,
  maxQueuedRequests: 10_000,
  batchConcurrency: 64,
  reconnectBackoffMinMs: 100,
  reconnectBackoffMaxMs: 5000,
  strategy: 'round-robin',
  retryWritesOnFailover: true,
  maxFrameBytes: DEFAULT_MAX_CLIENT_FRAME_BYTES,
  closeTimeoutMs: 1000,
} as const satisfies Partial<ResolvedClientOptions<unknown>>;

const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Longest delay a timer can have (setTimeout fires at once for anything above 2^31 - 1 ms). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks a "host:port" address; returns a reason when it is not one. */
export function checkAddress(address: string): string | undefined {
  const match = ADDRESS_PATTERN.exec(address);
  if (match === null) return 'expected "host:port"';
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return 'port must be 1..65535';
  return undefined;
}

function invalid(message: string, details?: Record<string, unknown>): never {
  throw makeError(ErrorCode.INVALID_CONFIG, message, details === undefined ? undefined : { details });
}

/** Throws InvalidConfigError unless `value` is an integer in `min..max`. */
export function checkInteger(name: string, value: number, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    invalid(`option ${name} must be an integer in ${min}..${max}, got ${value}`, { [name]: value });
  }
  return value;
}

/** checkInteger for a duration used as a timer delay. */
function checkMs(name: string, value: number, min: number): number {
  return checkInteger(name, value, min, MAX_TIMER_MS);
}

/**
 * Applies the defaults and checks every option; throws InvalidConfigError naming the bad option.
 * `defaultFactory` is the entry point's socket factory (Node or browser).
 */
export function resolveClientOptions<T>(options: ClientOptions<T>, defaultFactory: WebSocketFactory): ResolvedClientOptions<T> {
  if (!Array.isArray(options.nodes) || options.nodes.length === 0) invalid('option nodes must list at least one "host:port"');
  for (const node of options.nodes) {
    const reason = checkAddress(node);
    if (reason !== undefined) invalid(`option nodes: ${JSON.stringify(node)} is not an address: ${reason}`, { node });
  }
  if (new Set(options.nodes).size !== options.nodes.length) invalid('option nodes lists a node twice', { nodes: [...options.nodes] });

  const resolved: ResolvedClientOptions<T> = {
    nodes: [...options.nodes],
    clientName: options.clientName ?? CLIENT_DEFAULTS.clientName,
    timeoutMs: checkMs('timeoutMs', options.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs, 1),
    timeoutGraceMs: checkMs('timeoutGraceMs', options.timeoutGraceMs ?? CLIENT_DEFAULTS.timeoutGraceMs, 0),
    connectTimeoutMs: checkMs('connectTimeoutMs', options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs, 1),
    maxInFlight: checkInteger('maxInFlight', options.maxInFlight ?? CLIENT_DEFAULTS.maxInFlight, 1),
    maxQueuedRequests: checkInteger('maxQueuedRequests', options.maxQueuedRequests ?? CLIENT_DEFAULTS.maxQueuedRequests, 0),
    batchConcurrency: checkInteger('batchConcurrency', options.batchConcurrency ?? CLIENT_DEFAULTS.batchConcurrency, 1),
    reconnectBackoffMinMs: checkMs('reconnectBackoffMinMs', options.reconnectBackoffMinMs ?? CLIENT_DEFAULTS.reconnectBackoffMinMs, 1),
    reconnectBackoffMaxMs: checkMs('reconnectBackoffMaxMs', options.reconnectBackoffMaxMs ?? CLIENT_DEFAULTS.reconnectBackoffMaxMs, 1),
    strategy: options.strategy ?? CLIENT_DEFAULTS.strategy,
    retryWritesOnFailover: options.retryWritesOnFailover ?? CLIENT_DEFAULTS.retryWritesOnFailover,
    // Without a codec T is Uint8Array (connect's overloads make sure of it).
    codec: options.codec ?? (bytesCodec as unknown as ValueCodec<T>),
    resolver: options.resolver,
    maxFrameBytes: checkInteger('maxFrameBytes', options.maxFrameBytes ?? CLIENT_DEFAULTS.maxFrameBytes, 1024),
    closeTimeoutMs: checkMs('closeTimeoutMs', options.closeTimeoutMs ?? CLIENT_DEFAULTS.closeTimeoutMs, 0),
    webSocketFactory: options.webSocketFactory ?? defaultFactory,
    onConnectionStateChange: options.onConnectionStateChange,
  };
  if (resolved.timeoutMs + resolved.timeoutGraceMs > MAX_TIMER_MS) {
    invalid(`options timeoutMs + timeoutGraceMs must not exceed ${MAX_TIMER_MS}`);
  }
  if (resolved.reconnectBackoffMinMs > resolved.reconnectBackoffMaxMs) {
    invalid('option reconnectBackoffMinMs must not exceed reconnectBackoffMaxMs',
      { reconnectBackoffMinMs: resolved.reconnectBackoffMinMs, reconnectBackoffMaxMs: resolved.reconnectBackoffMaxMs });
  }
  if (resolved.strategy !== 'round-robin' && resolved.strategy !== 'first') {
    invalid(`option strategy must be "round-robin" or "first", got ${JSON.stringify(resolved.strategy)}`);
  }
  return resolved;
}
