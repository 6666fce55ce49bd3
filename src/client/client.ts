/**
 * The ringkv client: get/put/delete with contexts and siblings, batches, timeouts, AbortSignal,
 * and failover over connections to several nodes. Browser-safe: it reaches sockets only through
 * the injected WebSocketFactory. Create one with `connect` from the entry point.
 */
import { AbortedError, ErrorCode, OverloadedError, TimeoutError, type RingkvError } from '../errors.js';
import { assert } from '../core/assert.js';
import type { ValueCodec } from './codec.js';
import type { NodeConnection } from './connection.js';
import { makeError } from './error-mapping.js';
import { checkInteger, MAX_TIMER_MS, type ResolvedClientOptions } from './options.js';
import { NodePool } from './pool.js';
import type {
  BatchItemResult, ClientStatus, ConnectionInfo, DeleteOptions, DeleteResult, GetManyOptions, GetOptions, GetResult,
  PutManyEntry, PutManyOptions, PutOptions, PutResult, Resolver, Sibling,
} from './types.js';
import { parseDeleteContext, parseGetResult, parsePutResult, type RequestBody } from './wire.js';

/** A server's answer and who gave it. */
interface Reply {
  readonly result: unknown;
  readonly address: string;
  readonly nodeId: string | undefined;
}

/** One call from the caller's point of view: queued, then in flight on one connection, maybe retried once. */
interface Call {
  readonly body: RequestBody;
  readonly key: string | undefined;
  readonly startedAtMs: number;
  readonly timeoutMs: number;
  /** Whether a request lost with its connection may be sent again to another node. */
  readonly retryable: boolean;
  /** Addresses this call was sent to. */
  readonly tried: Set<string>;
  attempt: { readonly connection: NodeConnection; readonly id: number } | undefined;
  holdsSlot: boolean;
  done: boolean;
  settle: (outcome: Reply | Error) => void;
}

/** How many times a call is sent at most: once, plus one retry on another node after a drop. */
const MAX_ATTEMPTS = 2;

/**
 * Options of any value type, for the implementation signatures behind the typed overloads. `any`
 * because Resolver<U> is invariant in U, so no single concrete type accepts every overload's
 * options; the overloads are what callers see and they are exact.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyGetOptions = GetManyOptions<any>;

function now(): number {
  return globalThis.performance.now();
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function encodeValue<T>(codec: ValueCodec<T>, value: T, key: string): Uint8Array {
  try {
    return codec.encode(value);
  } catch (cause) {
    throw makeError(ErrorCode.INVALID_ARGUMENT,
      `value for key ${JSON.stringify(key)} cannot be encoded with the ${codec.name} codec: ${toError(cause).message}`,
      { cause, details: { key, codec: codec.name } });
  }
}

function decodeValue<T>(codec: ValueCodec<T>, bytes: Uint8Array, key: string): T {
  try {
    return codec.decode(bytes);
  } catch (cause) {
    throw makeError(ErrorCode.INVALID_ARGUMENT,
      `value of key ${JSON.stringify(key)} is not valid for the ${codec.name} codec: ${toError(cause).message}; ` +
      'read it with the codec it was written with',
      { cause, details: { key, codec: codec.name } });
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw makeError(ErrorCode.INVALID_ARGUMENT, `key must be a string, got ${typeof key}`);
}

/**
 * A connection-pooled ringkv client for values of type `T` (as the client's codec produces them).
 * Create it with `connect()`; call `close()` when done.
 */
export class RingkvClient<T> {
  private readonly pool: NodePool;
  /** Calls waiting for an in-flight slot or a connection, oldest first. */
  private readonly queue = new Set<Call>();
  /** Every call not yet settled, queued or in flight. */
  private readonly active = new Set<Call>();
  private inFlight = 0;
  private pumping = false;
  private pumpAgain = false;
  /** Set by close(): nothing more is sent, and the pool's close is in progress or done. */
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: ResolvedClientOptions<T>) {
    this.pool = new NodePool(options, () => this.pump());
  }

  /**
   * Connects to the configured nodes; resolves once one is ready. Entry points' `connect` calls
   * this with resolved options; use `connect` instead.
   * @internal
   */
  static async open<T>(options: ResolvedClientOptions<T>): Promise<RingkvClient<T>> {
    const client = new RingkvClient(options);
    try {
      await client.pool.start();
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /**
   * Reads a key: every live sibling, the context for the next write, and `value` when there is
   * exactly one. With a resolver (client option or per call) and several versions, the merged value
   * is written back with the read's context before this resolves; errors of the write-back reject.
   * Rejects with the server's typed error (e.g. QuorumUnavailableError), TimeoutError,
   * AbortedError, NotConnectedError or OverloadedError.
   */
  get(key: string, options?: GetOptions<T>): Promise<GetResult<T>>;
  /** Reads a key with a codec other than the client's. */
  get<U>(key: string, options: GetOptions<U> & { readonly codec: ValueCodec<U> }): Promise<GetResult<U>>;
  async get(key: string, options: AnyGetOptions = {}): Promise<GetResult<unknown>> {
    checkKey(key);
    const codec: ValueCodec<unknown> = options.codec ?? this.options.codec;
    const resolver: Resolver<unknown> | undefined = options.resolver !== undefined
      ? (options.resolver ?? undefined)
      : options.codec === undefined ? this.options.resolver as Resolver<unknown> | undefined : undefined;
    const timeoutMs = this.callTimeoutMs(options.timeoutMs);
    const startedAtMs = now();
    const reply = await this.execute({ op: 'get', key, r: options.r }, key, timeoutMs, options.signal);
    const read = parseGetResult(reply.result);
    const siblings: Array<Sibling<unknown>> = [];
    let tombstones = 0;
    for (const sibling of read.siblings) {
      if (sibling.value === null) {
        tombstones++;
        continue;
      }
      siblings.push({ value: decodeValue(codec, sibling.value, key), writtenAtMs: sibling.writtenAtMs, node: sibling.node,
        expiresAtMs: sibling.expiresAtMs });
    }
    if (resolver !== undefined && read.siblings.length > 1 && siblings.length > 0) {
      const merged = resolver(siblings.map((sibling) => sibling.value), key);
      const remainingMs = Math.floor(timeoutMs - (now() - startedAtMs));
      if (remainingMs < 1) throw new TimeoutError('get (resolver write-back)', timeoutMs, { key });
      const written = await this.execute({ op: 'put', key, value: encodeValue(codec, merged, key), context: read.context },
        key, remainingMs, options.signal);
      return { siblings, tombstones, context: parsePutResult(written.result).context, value: merged, exists: true, resolved: true };
    }
    const only = siblings.length === 1 ? siblings[0] : undefined;
    return { siblings, tombstones, context: read.context, value: only?.value, exists: siblings.length > 0, resolved: false };
  }

  /**
   * Writes a value. With the context of an earlier read it replaces what that read saw; without,
   * it becomes a sibling of whatever exists. Resolves with the object's context after the write.
   * A put that times out or is aborted may still have been applied.
   */
  put(key: string, value: T, options?: PutOptions<T>): Promise<PutResult>;
  /** Writes a value with a codec other than the client's. */
  put<U>(key: string, value: U, options: PutOptions<U> & { readonly codec: ValueCodec<U> }): Promise<PutResult>;
  async put(key: string, value: unknown, options: PutOptions<unknown> = {}): Promise<PutResult> {
    checkKey(key);
    const codec: ValueCodec<unknown> = options.codec ?? this.options.codec;
    const bytes = encodeValue(codec, value, key);
    const reply = await this.execute({ op: 'put', key, value: bytes, context: options.context, ttlMs: options.ttlMs, w: options.w },
      key, this.callTimeoutMs(options.timeoutMs), options.signal);
    return parsePutResult(reply.result);
  }

  /**
   * Deletes a key (writes a tombstone). With the context of an earlier read it replaces what that
   * read saw; a value written concurrently survives as a sibling.
   */
  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    checkKey(key);
    const reply = await this.execute({ op: 'delete', key, context: options.context, w: options.w },
      key, this.callTimeoutMs(options.timeoutMs), options.signal);
    return { context: parseDeleteContext(reply.result) };
  }

  /**
   * Reads many keys with up to `concurrency` requests in flight. Never rejects for a key's
   * failure: the result has one item per key, in order, each with its result or its own error.
   */
  getMany(keys: readonly string[], options?: GetManyOptions<T>): Promise<Array<BatchItemResult<GetResult<T>>>>;
  /** Reads many keys with a codec other than the client's. */
  getMany<U>(keys: readonly string[], options: GetManyOptions<U> & { readonly codec: ValueCodec<U> }):
    Promise<Array<BatchItemResult<GetResult<U>>>>;
  async getMany(keys: readonly string[], options: AnyGetOptions = {}): Promise<Array<BatchItemResult<GetResult<unknown>>>> {
    const { concurrency, ...getOptions } = options;
    // The implementation signature of get takes GetOptions<unknown>; going through it keeps one code path.
    const get = this.get.bind(this) as (key: string, options: AnyGetOptions) => Promise<GetResult<unknown>>;
    return this.runBatch(keys, (key) => key, (key) => get(key, getOptions), concurrency);
  }

  /**
   * Writes many entries with up to `concurrency` requests in flight. Never rejects for an entry's
   * failure: the result has one item per entry, in order, each with its result or its own error.
   */
  putMany(entries: ReadonlyArray<PutManyEntry<T>>, options?: PutManyOptions<T>): Promise<Array<BatchItemResult<PutResult>>>;
  /** Writes many entries with a codec other than the client's. */
  putMany<U>(entries: ReadonlyArray<PutManyEntry<U>>, options: PutManyOptions<U> & { readonly codec: ValueCodec<U> }):
    Promise<Array<BatchItemResult<PutResult>>>;
  async putMany(entries: ReadonlyArray<PutManyEntry<unknown>>, options: PutManyOptions<unknown> = {}):
    Promise<Array<BatchItemResult<PutResult>>> {
    const { concurrency, ...putOptions } = options;
    const put = this.put.bind(this) as (key: string, value: unknown, options: PutOptions<unknown>) => Promise<PutResult>;
    return this.runBatch(entries, (entry) => entry.key,
      (entry) => put(entry.key, entry.value, { ...putOptions, context: entry.context, ttlMs: entry.ttlMs }), concurrency);
  }

  /** Asks one node for its status report, and adds the client's view of every connection. */
  async status(options: { readonly timeoutMs?: number | undefined; readonly signal?: AbortSignal | undefined } = {}): Promise<ClientStatus> {
    const reply = await this.execute({ op: 'status' }, undefined, this.callTimeoutMs(options.timeoutMs), options.signal);
    return {
      address: reply.address, nodeId: reply.nodeId, server: reply.result,
      connections: this.pool.connections(), inFlight: this.inFlight, queued: this.queue.size,
    };
  }

  /** The client's view of each node's connection, without asking any node. */
  connections(): ConnectionInfo[] {
    return this.pool.connections();
  }

  /**
   * Closes the client: queued and in-flight calls reject with NotConnectedError (in-flight writes
   * may still be applied), redials stop, sockets close. Safe to call more than once.
   */
  close(): Promise<void> {
    if (this.closing === undefined) {
      const error = makeError(ErrorCode.NOT_CONNECTED, 'the client was closed', {});
      let poolClosed = (): void => undefined;
      // Set before the calls are failed, so that the slots they free do not send queued calls.
      this.closing = new Promise<void>((resolve) => {
        poolClosed = resolve;
      });
      for (const call of [...this.active]) this.finish(call, error);
      void this.pool.close(error).then(poolClosed);
    }
    return this.closing;
  }

  private callTimeoutMs(timeoutMs: number | undefined): number {
    if (timeoutMs === undefined) return this.options.timeoutMs;
    const maxMs = MAX_TIMER_MS - this.options.timeoutGraceMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > maxMs) {
      throw makeError(ErrorCode.INVALID_ARGUMENT, `timeoutMs must be an integer in 1..${maxMs}, got ${timeoutMs}`, { details: { timeoutMs } });
    }
    return timeoutMs;
  }

  private async runBatch<I, R>(items: readonly I[], keyOf: (item: I) => string, run: (item: I) => Promise<R>,
    concurrency: number | undefined): Promise<Array<BatchItemResult<R>>> {
    const limit = concurrency === undefined ? this.options.batchConcurrency : checkInteger('concurrency', concurrency, 1);
    const results: Array<BatchItemResult<R> | undefined> = new Array<BatchItemResult<R> | undefined>(items.length).fill(undefined);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < items.length) {
        const index = next++;
        const item = items[index] as I;
        const key = keyOf(item);
        try {
          results[index] = { ok: true, key, result: await run(item) };
        } catch (error) {
          results[index] = { ok: false, key, error: toError(error) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results.map((result) => {
      assert(result !== undefined, 'every batch item has a result');
      return result;
    });
  }

  /** Sends one request with the call's budget, queueing, failover and cancellation. */
  private execute(body: RequestBody, key: string | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<Reply> {
    if (this.closing !== undefined) return Promise.reject(makeError(ErrorCode.NOT_CONNECTED, 'the client is closed', {}));
    if (signal?.aborted === true) return Promise.reject(new AbortedError(signal.reason));
    return new Promise<Reply>((resolve, reject) => {
      const onTimeout = (): void => this.finish(call, new TimeoutError(body.op, timeoutMs,
        { key, address: call.attempt?.connection.address, side: 'client' }));
      const onAbort = (): void => this.finish(call, new AbortedError(signal?.reason));
      // The server gets the budget and answers with its own (more telling) timeout error first.
      const timer = setTimeout(onTimeout, timeoutMs + this.options.timeoutGraceMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const call: Call = {
        body, key, startedAtMs: now(), timeoutMs,
        retryable: body.op === 'get' || body.op === 'status' || this.options.retryWritesOnFailover,
        tried: new Set(), attempt: undefined, holdsSlot: false, done: false,
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        },
      };
      this.active.add(call);
      this.enqueue(call);
    });
  }

  private enqueue(call: Call): void {
    if (this.queue.size === 0) {
      const route = this.route(call);
      if (route !== 'wait') {
        this.dispatch(call, route);
        return;
      }
    }
    if (this.queue.size >= this.options.maxQueuedRequests) {
      this.finish(call, new OverloadedError('the client request queue (option maxQueuedRequests)', this.options.maxQueuedRequests));
      return;
    }
    this.queue.add(call);
  }

  /** Where a call can go now: a connection, an error (no node can take it), or wait. */
  private route(call: Call): NodeConnection | RingkvError | 'wait' {
    if (this.inFlight >= this.options.maxInFlight) return 'wait';
    const connection = this.pool.pick(call.tried);
    if (connection !== undefined) return connection;
    return this.pool.isDialing(call.tried) ? 'wait' : this.pool.unreachableError();
  }

  private dispatch(call: Call, route: NodeConnection | RingkvError): void {
    if (route instanceof Error) this.finish(call, route);
    else this.send(call, route);
  }

  /** Sends queued calls while there are free slots and connections. Re-entrant calls loop instead of nesting. */
  private pump(): void {
    if (this.closing !== undefined) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (const call of this.queue) {
          const route = this.route(call);
          // Queued calls were never sent, so they all have the same choices: if the oldest waits, all wait.
          if (route === 'wait') break;
          this.queue.delete(call);
          this.dispatch(call, route);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private send(call: Call, connection: NodeConnection): void {
    assert(!call.done, 'send of a settled call');
    assert(call.attempt === undefined, 'send of a call already in flight');
    if (!call.holdsSlot) {
      call.holdsSlot = true;
      this.inFlight++;
    }
    call.tried.add(connection.address);
    const remainingMs = Math.max(1, Math.floor(call.timeoutMs - (now() - call.startedAtMs)));
    const body: RequestBody = call.body.op === 'get' || call.body.op === 'put' || call.body.op === 'delete'
      ? { ...call.body, timeoutMs: remainingMs }
      : call.body;
    let id: number;
    try {
      id = connection.send(body, {
        onResult: (result) => this.finish(call, { result, address: connection.address, nodeId: connection.nodeId }),
        onFailure: (error, lost) => this.onAttemptFailed(call, error, lost),
      });
    } catch (error) {
      this.finish(call, toError(error));
      return;
    }
    call.attempt = { connection, id };
  }

  /** A failed attempt: retried once on another ready node when the connection was lost and the op allows it. */
  private onAttemptFailed(call: Call, error: RingkvError, lost: boolean): void {
    call.attempt = undefined;
    if (call.done) return;
    if (lost && call.retryable && call.tried.size < MAX_ATTEMPTS && this.closing === undefined) {
      const connection = this.pool.pick(call.tried);
      if (connection !== undefined) {
        this.send(call, connection);
        return;
      }
    }
    this.finish(call, error);
  }

  /** Settles a call once: frees its slot, forgets its request, and lets the queue move. */
  private finish(call: Call, outcome: Reply | Error): void {
    if (call.done) return;
    call.done = true;
    this.active.delete(call);
    this.queue.delete(call);
    if (call.attempt !== undefined) {
      call.attempt.connection.forget(call.attempt.id);
      call.attempt = undefined;
    }
    if (call.holdsSlot) {
      call.holdsSlot = false;
      this.inFlight--;
    }
    call.settle(outcome);
    this.pump();
  }
}
