/**
 * A workload client inside the simulated world. It talks to one "home" node, as a client
 * connected to that node would (clients are not behind the simulated network's partitions, as in
 * Jepsen, where each client talks to its own node): refused when the node is down (then it fails
 * over to a random node that is up for that request), waiting while the node is paused, and
 * bounded by its own timeout in virtual time.
 */
import type { Random } from '../src/core/env.js';
import type { NodeId } from '../src/core/wire.js';
import { NotConnectedError, TimeoutError } from '../src/errors.js';
import type { ClientRead, ClientWrite, KvClient, WorkloadRuntime } from './workloads/client.js';
import type { EventOwner } from './world/scheduler.js';
import type { SimNodeHost } from './world/sim-node.js';
import type { SimWorld } from './world/world.js';
import type { RingNode } from '../src/core/node.js';

export interface SimClientOptions {
  /** Server-side timeout sent with every request, ms. Default 5000 (the replication default). */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * The client gives up after this long, ms. Default requestTimeoutMs + 2000: a forwarded write may
   * take up to a second more than the request timeout (coordinator.ts), and a crashed node never answers.
   */
  readonly clientTimeoutMs?: number | undefined;
}

export class SimKvClient implements KvClient {
  readonly name: string;
  private readonly requestTimeoutMs: number;
  private readonly clientTimeoutMs: number;

  constructor(private readonly world: SimWorld, private readonly home: NodeId, private readonly random: Random, options: SimClientOptions = {}) {
    this.name = home;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.clientTimeoutMs = options.clientTimeoutMs ?? this.requestTimeoutMs + 2000;
  }

  private target(): SimNodeHost | undefined {
    const home = this.world.host(this.home);
    if (home.state !== 'down') return home;
    const up = this.world.upIds();
    if (up.length === 0) return undefined;
    return this.world.host(up[this.random.int(up.length)] as NodeId);
  }

  private call<T>(request: (node: RingNode) => Promise<T>): Promise<T> {
    const host = this.target();
    if (host === undefined) return Promise.reject(new NotConnectedError('every node is down'));
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.world.scheduler.schedule(this.clientTimeoutMs, this.world.owners.client, 'client timeout', () => {
        if (settled) return;
        settled = true;
        reject(new TimeoutError('client request', this.clientTimeoutMs, { node: host.id }));
      });
      host.call(
        request,
        (value) => {
          if (settled) return;
          settled = true;
          this.world.scheduler.cancel(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          this.world.scheduler.cancel(timer);
          reject(err);
        },
      );
    });
  }

  async get(key: string, options: { readonly r?: number | undefined } = {}): Promise<ClientRead> {
    const result = await this.call((node) => node.get(key, { r: options.r, timeoutMs: this.requestTimeoutMs }));
    const values: Uint8Array[] = [];
    for (const s of result.siblings) if (s.value !== null) values.push(s.value);
    return { values, context: result.context };
  }

  put(key: string, value: Uint8Array, options: { readonly context?: string | undefined; readonly w?: number | undefined } = {}): Promise<ClientWrite> {
    return this.call((node) => node.put(key, value, { context: options.context, w: options.w, timeoutMs: this.requestTimeoutMs }));
  }

  delete(key: string, options: { readonly context?: string | undefined; readonly w?: number | undefined } = {}): Promise<ClientWrite> {
    return this.call((node) => node.delete(key, { context: options.context, w: options.w, timeoutMs: this.requestTimeoutMs }));
  }
}

/** Virtual time and sleeps for workloads and fault loops in the simulated world. */
export function simRuntime(world: SimWorld, owner: EventOwner): WorkloadRuntime {
  return {
    now: () => world.elapsedMs(),
    sleep: (ms: number) => new Promise<void>((resolve) => {
      world.scheduler.schedule(ms, owner, 'sleep', resolve);
    }),
  };
}
