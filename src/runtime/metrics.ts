/**
 * Prometheus metrics for one node (GET /metrics), with prom-client. Each node has its own
 * registry (several nodes may share a process in tests). Counters kept by the core (replication
 * stats, membership, storage) are read at scrape time, so the hot path pays nothing for them;
 * request counts and latency histograms are observed around each client request.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { RingNode } from '../core/node.js';
import type { Transport } from '../core/transport.js';
import type { StorageEngine } from '../storage/types.js';
import { RingkvError } from '../errors.js';

export type RequestOp = 'get' | 'put' | 'delete';

const MEMBER_STATES = ['joining', 'alive', 'suspect', 'dead', 'leaving', 'left'] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  /** Request counts by op and outcome, read into prom-client at scrape time. */
  private readonly outcomes = new Map<RequestOp, Map<string, number>>();
  private readonly latency = new LatencyHistogram(
    'ringkv_request_duration_seconds', 'Client request latency by operation.',
    [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );

  constructor(node: RingNode, storage: StorageEngine, transport: Transport) {
    this.registry.setDefaultLabels({ node: node.localId });
    const outcomes = this.outcomes;
    new Counter({
      name: 'ringkv_requests_total', help: 'Client requests by operation and outcome (ok or the error code).',
      labelNames: ['op', 'outcome'], registers: [this.registry],
      collect() {
        this.reset();
        for (const [op, byOutcome] of outcomes) for (const [outcome, n] of byOutcome) this.inc({ op, outcome }, n);
      },
    });
    // prom-client's Registry takes any object with name, help, type and get(); its Metric type lists
    // only its own classes, hence the cast.
    this.registry.registerMetric(this.latency as unknown as Metric);
    const stats = (): RingNode['replication']['stats'] => node.replication.stats;
    const counterFrom = (name: string, help: string, read: () => number): void => {
      // Core counters only grow; exposing them as gauges read at scrape time keeps them exact.
      new Gauge({ name, help, registers: [this.registry], collect() { this.set(read()); } });
    };
    counterFrom('ringkv_quorum_failures_total', 'Requests that failed because R or W replicas could not answer.', () => stats().quorumFailures);
    counterFrom('ringkv_request_timeouts_total', 'Requests that timed out.', () => stats().timeouts);
    counterFrom('ringkv_forwards_total', 'Writes forwarded to a node in the preference list.', () => stats().forwards);
    counterFrom('ringkv_sloppy_quorum_writes_total', 'Writes that used a fallback node.', () => stats().sloppyQuorumWrites);
    counterFrom('ringkv_hints_stored_total', 'Hinted writes stored here for a down owner.', () => stats().hintsStored);
    counterFrom('ringkv_hints_delivered_total', 'Hints handed off to their owner and deleted.', () => stats().hintsDelivered);
    counterFrom('ringkv_hints_refused_total', 'Hinted writes refused because the hint store was full.', () => stats().hintsRefused);
    counterFrom('ringkv_hints_pending', 'Hints held here now.', () => stats().hintsPending);
    counterFrom('ringkv_hint_bytes_pending', 'Bytes of hints held here now.', () => stats().hintBytesPending);
    counterFrom('ringkv_siblings_created_total', 'Writes that left an object with more than one sibling.', () => stats().siblingsCreated);
    counterFrom('ringkv_read_repairs_total', 'Objects sent to stale replicas after reads.', () => stats().readRepairs);
    counterFrom('ringkv_tombstones_reaped_total', 'Tombstones removed after every primary held them.', () => stats().tombstonesReaped);
    counterFrom('ringkv_peer_requests_pending', 'Peer requests awaiting a reply.', () => node.replication.pendingRequests());
    new Gauge({
      name: 'ringkv_members', help: 'Members known to this node by state.', labelNames: ['state'], registers: [this.registry],
      collect() {
        const counts = new Map<string, number>(MEMBER_STATES.map((s) => [s, 0]));
        for (const m of node.membership.members()) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    counterFrom('ringkv_gossip_rounds_total', 'Gossip rounds this node started.', () => node.membership.stats().gossipRounds);
    counterFrom('ringkv_ring_nodes', 'Physical nodes in this node\'s ring.', () => node.currentRing().nodes.length);
    counterFrom('ringkv_storage_keys', 'Live keys in storage (objects and hints).', () => storage.stats().keys);
    counterFrom('ringkv_storage_live_bytes', 'Bytes of live keys and values in storage.', () => storage.stats().liveBytes);
    counterFrom('ringkv_storage_total_bytes', 'Bytes storage uses, dead records included.', () => storage.stats().totalBytes);
    counterFrom('ringkv_storage_compactions_total', 'Storage compactions completed.', () => storage.stats().compactions);
    counterFrom('ringkv_transport_frames_sent_total', 'Peer frames sent.', () => transport.stats().framesSent);
    counterFrom('ringkv_transport_frames_received_total', 'Peer frames received.', () => transport.stats().framesReceived);
    counterFrom('ringkv_transport_frames_dropped_total', 'Peer frames dropped (peer down, queue full).', () => transport.stats().framesDropped);
    counterFrom('ringkv_transport_connections_rejected_total', 'Peer connections refused (handshake, malformed frames).', () => transport.stats().connectionsRejected);
  }

  /**
   * Counts and times one client request. On the hot path of every request, so it avoids
   * prom-client's timers and label objects: counts go into plain maps read at scrape time, the
   * clock is performance.now(), and the request's promise is chained without an async wrapper.
   */
  observe<T>(op: RequestOp, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    let pending: Promise<T>;
    try {
      pending = run();
    } catch (err) {
      pending = Promise.reject(err);
    }
    return pending.then((result) => {
      this.finish(op, start, undefined);
      return result;
    }, (err: unknown) => {
      this.finish(op, start, err);
      throw err;
    });
  }

  private finish(op: RequestOp, start: number, err: unknown): void {
    this.latency.observe(op, (performance.now() - start) / 1000);
    const outcome = err === undefined ? 'ok' : err instanceof RingkvError ? err.code : 'ERR_INTERNAL';
    let byOutcome = this.outcomes.get(op);
    if (byOutcome === undefined) this.outcomes.set(op, (byOutcome = new Map()));
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

interface HistogramValue {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * A latency histogram by operation that costs one bucket search and three additions per
 * observation (prom-client's Histogram hashes its label object on every observe, a few percent of
 * a request's CPU). It renders in the Prometheus histogram format: cumulative `_bucket{le}`, `_sum`,
 * `_count`. The label value set is bounded: the ops are a closed union.
 */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();

  constructor(readonly name: string, readonly help: string, private readonly upperBounds: readonly number[]) {}

  observe(op: string, seconds: number): void {
    let s = this.series.get(op);
    if (s === undefined) this.series.set(op, (s = { counts: new Array<number>(this.upperBounds.length + 1).fill(0), sum: 0, count: 0 }));
    let i = 0;
    while (i < this.upperBounds.length && seconds > this.upperBounds[i]!) i++;
    s.counts[i]!++;
    s.sum += seconds;
    s.count++;
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: HistogramValue[] } {
    const values: HistogramValue[] = [];
    for (const [op, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.upperBounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.upperBounds.length ? this.upperBounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { op, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { op }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { op }, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }
}
