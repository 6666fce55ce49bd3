/**
 * Virtual time (FoundationDB sim2 style): one queue of timed events, and a loop that jumps the
 * clock straight to the next one. No real time passes between events, so an hour of cluster time
 * costs only the CPU its events need.
 *
 * Ordering is a pure function of the schedule calls: events fire by (time, creation order). The
 * node code is promise-based, so after every event the loop lets the microtask queue drain
 * completely (a setImmediate hop runs only after every pending microtask) before the next event:
 * a storage call that resolves "at once" resolves before virtual time moves on, as on a real node.
 *
 * Events carry an owner tag (a node's incarnation, "net", "client", ...), so a crash cancels exactly
 * that node's timers.
 */
import { assert } from '../../src/core/assert.js';

export type EventCallback = () => void;

interface SimEvent {
  readonly id: number;
  readonly atMs: number;
  readonly owner: string;
  readonly label: string;
  readonly callback: EventCallback;
  cancelled: boolean;
}

/** Receives every fired event, for trace hashes and debugging output. */
export interface EventObserver {
  onEvent(atMs: number, owner: string, label: string): void;
}

/** Why `run` returned. */
export type RunOutcome = 'reached' | 'stopped' | 'idle' | 'event-budget';

export interface RunOptions {
  /** Checked after every event; the loop returns 'stopped' once it is true. */
  readonly stop?: (() => boolean) | undefined;
  /** Most events this call may fire; guards against a livelock of zero-delay events. Default 50 million. */
  readonly maxEvents?: number | undefined;
}

/** Lets every queued microtask (and the microtasks those queue) run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export class Scheduler {
  private nowMs: number;
  private nextId = 1;
  private readonly heap: SimEvent[] = [];
  private readonly live = new Map<number, SimEvent>();
  private readonly byOwner = new Map<string, Set<number>>();
  private observer: EventObserver | undefined;
  /** Events fired since construction. */
  firedEvents = 0;

  /**
   * @param startMs virtual time at the start, ms.
   * @param onError called when an event's callback throws (the node code's assertions throw).
   */
  constructor(startMs: number, private readonly onError: (err: unknown, owner: string, label: string) => void) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  observe(observer: EventObserver | undefined): void {
    this.observer = observer;
  }

  /** Schedules `callback` `delayMs` from now (negative delays count as 0); returns its id. */
  schedule(delayMs: number, owner: string, label: string, callback: EventCallback): number {
    assert(Number.isFinite(delayMs), 'event delays are finite');
    const event: SimEvent = { id: this.nextId++, atMs: this.nowMs + Math.max(0, delayMs), owner, label, callback, cancelled: false };
    this.push(event);
    this.live.set(event.id, event);
    let ids = this.byOwner.get(owner);
    if (ids === undefined) {
      ids = new Set();
      this.byOwner.set(owner, ids);
    }
    ids.add(event.id);
    return event.id;
  }

  /** Cancels one event; cancelling a fired or cancelled event is a no-op. */
  cancel(id: number): void {
    const event = this.live.get(id);
    if (event === undefined) return;
    event.cancelled = true;
    this.forget(event);
  }

  /** Cancels every pending event of `owner`; returns how many. */
  cancelOwner(owner: string): number {
    const ids = this.byOwner.get(owner);
    if (ids === undefined) return 0;
    const count = ids.size;
    for (const id of [...ids]) this.cancel(id);
    this.byOwner.delete(owner);
    return count;
  }

  /** Pending (not cancelled) events. */
  get pending(): number {
    return this.live.size;
  }

  /** Time of the next pending event, or undefined. */
  nextEventAt(): number | undefined {
    this.skipCancelled();
    return this.heap[0]?.atMs;
  }

  /**
   * Fires events in order until virtual time would pass `untilMs` (then the clock is set to
   * `untilMs`), `stop` returns true, or the event budget is spent.
   */
  async run(untilMs: number, options: RunOptions = {}): Promise<RunOutcome> {
    const maxEvents = options.maxEvents ?? 50_000_000;
    let fired = 0;
    if (options.stop?.()) return 'stopped';
    for (;;) {
      this.skipCancelled();
      const next = this.heap[0];
      if (next === undefined || next.atMs > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return next === undefined ? 'idle' : 'reached';
      }
      if (fired >= maxEvents) return 'event-budget';
      this.pop();
      this.forget(next);
      this.nowMs = next.atMs;
      fired++;
      this.firedEvents++;
      this.observer?.onEvent(next.atMs, next.owner, next.label);
      try {
        next.callback();
      } catch (err) {
        this.onError(err, next.owner, next.label);
      }
      await drainMicrotasks();
      if (options.stop?.()) return 'stopped';
    }
  }

  /** Runs until `condition` holds, checking after every event, or until `deadlineMs`; true when it held. */
  async runUntil(condition: () => boolean, deadlineMs: number): Promise<boolean> {
    if (condition()) return true;
    await this.run(deadlineMs, { stop: condition });
    return condition();
  }

  private forget(event: SimEvent): void {
    this.live.delete(event.id);
    const ids = this.byOwner.get(event.owner);
    if (ids !== undefined) {
      ids.delete(event.id);
      if (ids.size === 0) this.byOwner.delete(event.owner);
    }
  }

  private skipCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as SimEvent).cancelled) this.pop();
  }

  // A binary min-heap on (atMs, id).

  private static before(a: SimEvent, b: SimEvent): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.id < b.id);
  }

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as SimEvent;
      if (!Scheduler.before(event, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): SimEvent | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && Scheduler.before(heap[right] as SimEvent, heap[left] as SimEvent) ? right : left;
      const c = heap[child] as SimEvent;
      if (!Scheduler.before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
