/**
 * A ring of real node processes as a fault target for the scenarios: kill -9 and restart through
 * TestCluster (test/helpers/cluster.ts), SIGSTOP/SIGCONT pauses, and partitions through each
 * node's fault-injection endpoint (nodes started with --testing-faults: POST /testing/faults with
 * the addresses to drop outbound and the node ids to drop inbound; POST /testing/faults/heal).
 *
 * Scenario calls return at once; the work (HTTP calls, process starts) runs in the background and
 * `settle()` waits for it. A node that restarts or resumes gets the current partition again (a
 * restarted process starts with no faults; a paused one cannot answer until it resumes). Clock
 * skew and message loss/duplication/reordering have no real-process counterpart here, so
 * scenarios that need them are refused.
 */
import type { NodeId } from '../../src/core/wire.js';
import type { TestCluster } from '../../test/helpers/cluster.js';
import type { FaultTarget } from '../scenarios/index.js';
import type { PartitionPlan } from '../world/partitions.js';

type ProcessState = 'running' | 'paused' | 'down' | 'starting';

/**
 * How long a fault-endpoint call may take, ms: a local HTTP call answers in milliseconds; a node
 * that does not answer within 5 s is stuck, and the run reports the failed fault action.
 */
const FAULT_CALL_TIMEOUT_MS = 5000;

export class ChaosCluster implements FaultTarget {
  readonly ids: readonly NodeId[];
  private readonly states = new Map<NodeId, ProcessState>();
  private blocked: ReadonlyArray<readonly [NodeId, NodeId]> = [];
  private readonly work = new Set<Promise<void>>();
  readonly faultLog: string[] = [];
  readonly errors: string[] = [];
  private readonly startedAt = performance.now();

  constructor(readonly cluster: TestCluster) {
    this.ids = cluster.specs.map((s) => s.id);
    for (const id of this.ids) this.states.set(id, 'running');
  }

  private note(text: string): void {
    this.faultLog.push(`${((performance.now() - this.startedAt) / 1000).toFixed(3)}s ${text}`);
  }

  private background(what: string, task: () => Promise<void>): void {
    const p = task().catch((err: unknown) => {
      this.errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    });
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }

  /** Waits until every background fault action finished. */
  async settle(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  state(id: NodeId): ProcessState {
    return this.states.get(id) ?? 'down';
  }

  runningIds(): NodeId[] {
    return this.ids.filter((id) => this.states.get(id) === 'running');
  }

  /** Base URL of a node that can take a request now, preferring `home`. */
  urlFor(home: NodeId, pick: () => number): string | undefined {
    if (this.states.get(home) === 'running' || this.states.get(home) === 'paused') return this.cluster.url(home);
    const running = this.runningIds();
    if (running.length === 0) return undefined;
    return this.cluster.url(running[pick() % running.length] as NodeId);
  }

  private faultsOf(id: NodeId): { dropOutbound: string[]; dropInbound: string[] } {
    const dropOutbound = this.blocked.filter(([from]) => from === id).map(([, to]) => this.cluster.spec(to).address);
    const dropInbound = this.blocked.filter(([, to]) => to === id).map(([from]) => from);
    return { dropOutbound, dropInbound };
  }

  private async applyFaults(id: NodeId): Promise<void> {
    if (this.states.get(id) !== 'running') return;
    const res = await fetch(`${this.cluster.url(id)}/testing/faults`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(this.faultsOf(id)),
      signal: AbortSignal.timeout(FAULT_CALL_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`POST /testing/faults on ${id}: HTTP ${res.status}`);
  }

  partition(plan: PartitionPlan): void {
    this.note(`partition ${plan.description}`);
    this.blocked = plan.blocked;
    for (const id of this.ids) this.background(`partition ${id}`, () => this.applyFaults(id));
  }

  healNetwork(): void {
    if (this.blocked.length > 0) this.note('heal');
    this.blocked = [];
    for (const id of this.ids) this.background(`heal ${id}`, () => this.applyFaults(id));
  }

  crash(id: NodeId): void {
    if (this.states.get(id) !== 'running' && this.states.get(id) !== 'paused') return;
    this.note(`kill -9 ${id}`);
    this.states.set(id, 'down');
    this.background(`kill ${id}`, () => this.cluster.kill(id, 'SIGKILL'));
  }

  start(id: NodeId): void {
    if (this.states.get(id) !== 'down') return;
    this.note(`restart ${id}`);
    this.states.set(id, 'starting');
    this.background(`restart ${id}`, async () => {
      await this.cluster.startNode(id);
      this.states.set(id, 'running');
      await this.applyFaults(id);
    });
  }

  pause(id: NodeId): void {
    if (this.states.get(id) !== 'running') return;
    this.note(`SIGSTOP ${id}`);
    this.states.set(id, 'paused');
    this.cluster.signal(id, 'SIGSTOP');
  }

  resume(id: NodeId): void {
    if (this.states.get(id) !== 'paused') return;
    this.note(`SIGCONT ${id}`);
    this.cluster.signal(id, 'SIGCONT');
    this.states.set(id, 'running');
    this.background(`refault ${id}`, () => this.applyFaults(id));
  }

  /** Ends every fault: heal, resume, restart; resolves once all of it is done. */
  async healAll(): Promise<void> {
    await this.settle();
    for (const id of this.ids) if (this.states.get(id) === 'paused') this.resume(id);
    this.healNetwork();
    for (const id of this.ids) if (this.states.get(id) === 'down') this.start(id);
    await this.settle();
  }
}
