/**
 * Virtual time (FoundationDB sim2 style): one queue of timed events, and a loop that jumps the
 * clock straight to the next one. No real time passes between events, so an hour of cluster time
 * costs only the CPU its events need.
 *
 * Ordering is a pure function of the schedule calls: events fire by (time, creation order). The
 * node code is promise-based, so after every event the loop lets the microtask queue drain
 * completely before the next event: a storage call that resolves "at once" resolves before
 * virtual time moves on, as on a real node. Each event fires in a microtask of its own, which then
 * queues a process.nextTick: Node runs that tick only once the microtask queue is empty (a tick
 * queued by a microtask waits for the whole queue), and the tick queues the microtask that fires
 * the next event. That costs no turn of the event loop, and no promise, per event; every
 * EVENTS_PER_LOOP_TURN events the loop does take a turn (setImmediate), so timers and I/O of the
 * hosting process (a test runner's timeouts, worker messages) are not starved by a long run.
 *
 * Every event has an owner (a node incarnation, the network, the clients, ...). Cancelling an
 * owner cancels all its pending events at once, which is what a crash does to a process's timers.
 */
import { assert } from '../../src/core/assert.js';

export type EventCallback = () => void;

/** A callback that receives the argument it was scheduled with (Scheduler.scheduleWith). */
export type EventFunction<A> = (arg: A) => void;

/** Whose events these are; cancel() drops every pending event of the owner. */
export class EventOwner {
  cancelled = false;
  constructor(readonly name: string) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** A scheduled event; also the handle that cancels it. */
export interface SimEvent {
  readonly id: number;
  readonly atMs: number;
  readonly owner: EventOwner;
  /** What the event is, for traces ("timer", "msg", ...). */
  readonly label: string;
  /** A number that details the label (message type and endpoints), hashed into the trace. */
  readonly detail: number;
  /** Replaced by a no-op once the event fired or was cancelled (see Scheduler.cancel). */
  callback: EventFunction<never>;
  /** What `callback` is called with (undefined for plain callbacks); dropped with the callback. */
  arg: unknown;
  cancelled: boolean;
}

const NOTHING: EventFunction<unknown> = () => {};

/** Receives every fired event, for trace hashes and debugging output. */
export interface EventObserver {
  onEvent(atMs: number, owner: string, label: string, detail: number): void;
}

/** Why `run` returned. */
export type RunOutcome = 'reached' | 'stopped' | 'idle' | 'event-budget';

export interface RunOptions {
  /** Checked after every event; the loop returns 'stopped' once it is true. */
  readonly stop?: (() => boolean) | undefined;
  /** Most events this call may fire; guards against a livelock of zero-delay events. Default 50 million. */
  readonly maxEvents?: number | undefined;
}

const SETTLED = Promise.resolve();

/** The queue is compacted once it holds at least this many cancelled events, and more cancelled than live ones. */
const COMPACT_MIN_CANCELLED = 64;

/** Events between two turns of the host's event loop. */
const EVENTS_PER_LOOP_TURN = 1000;

export class Scheduler {
  private nowMs: number;
  private nextId = 1;
  private readonly heap: SimEvent[] = [];
  /** Cancelled events still in the heap. */
  private cancelledQueued = 0;
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

  /** Schedules `callback` `delayMs` from now (negative delays count as 0). */
  schedule(delayMs: number, owner: EventOwner, label: string, callback: EventCallback, detail = 0): SimEvent {
    return this.scheduleWith(delayMs, owner, label, callback, undefined, detail);
  }

  /**
   * Schedules `callback(arg)` `delayMs` from now: the hot callers (a message in flight, a node's
   * timer) pass one shared function and their own record instead of a new closure per event.
   */
  scheduleWith<A>(delayMs: number, owner: EventOwner, label: string, callback: EventFunction<A>, arg: A, detail = 0): SimEvent {
    assert(Number.isFinite(delayMs), 'event delays are finite');
    const event: SimEvent = {
      id: this.nextId++, atMs: delayMs > 0 ? this.nowMs + delayMs : this.nowMs, owner, label, detail, callback, arg, cancelled: false,
    };
    this.push(event);
    return event;
  }

  /** Cancels one event; cancelling a fired or cancelled event is a no-op. */
  cancel(event: SimEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    // Most cancelled events are request timeouts, due seconds later, and at any moment they
    // outnumber the live events many times over. Dropping the callback frees what it holds (a
    // request's promise chain) at once, and compacting the queue frees the events themselves,
    // while they are young: otherwise the garbage collector copies them and promotes them to the
    // old generation, and every push and pop walks a heap of mostly dead events.
    event.callback = NOTHING;
    event.arg = undefined;
    this.cancelledQueued++;
    if (this.cancelledQueued >= COMPACT_MIN_CANCELLED && 2 * this.cancelledQueued > this.heap.length) this.compact();
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
  run(untilMs: number, options: RunOptions = {}): Promise<RunOutcome> {
    const maxEvents = options.maxEvents ?? 50_000_000;
    const stop = options.stop;
    if (stop?.()) return Promise.resolve('stopped');
    return new Promise<RunOutcome>((resolve, reject) => {
      let fired = 0;
      // Events fire only from within a microtask: a tick queued there waits for the whole
      // microtask queue, whereas one queued from a macrotask or a tick runs before the pending
      // microtasks.
      // A reaction to a settled promise, not queueMicrotask: Node wraps each queueMicrotask
      // callback in an async resource, which costs more than the event often does.
      const queueStep = (): void => {
        void SETTLED.then(step);
      };
      const step = (): void => {
        try {
          if (fired > 0 && stop?.()) {
            resolve('stopped');
            return;
          }
          this.skipCancelled();
          const next = this.heap[0];
          if (next === undefined || next.atMs > untilMs) {
            if (untilMs > this.nowMs) this.nowMs = untilMs;
            resolve(next === undefined ? 'idle' : 'reached');
            return;
          }
          if (fired >= maxEvents) {
            resolve('event-budget');
            return;
          }
          this.pop();
          next.cancelled = true;
          this.nowMs = next.atMs;
          fired++;
          this.firedEvents++;
          this.observer?.onEvent(next.atMs, next.owner.name, next.label, next.detail);
          // The callback was scheduled with this very argument (scheduleWith pairs them).
          const callback = next.callback as EventFunction<unknown>;
          const arg = next.arg;
          next.callback = NOTHING;
          next.arg = undefined;
          try {
            callback(arg);
          } catch (err) {
            this.onError(err, next.owner.name, next.label);
          }
          if (this.firedEvents % EVENTS_PER_LOOP_TURN === 0) setImmediate(queueStep);
          else process.nextTick(queueStep);
        } catch (err) {
          reject(err);
        }
      };
      queueStep();
    });
  }

  /** Runs until `condition` holds, checking after every event, or until `deadlineMs`; true when it held. */
  async runUntil(condition: () => boolean, deadlineMs: number): Promise<boolean> {
    if (condition()) return true;
    await this.run(deadlineMs, { stop: condition });
    return condition();
  }

  private skipCancelled(): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return;
      if (top.cancelled) this.cancelledQueued--;
      else if (top.owner.cancelled) top.cancelled = true; // out of the queue: a later cancel() is a no-op
      else return;
      this.pop();
    }
  }

  /** Drops every cancelled event from the queue. The firing order stays: (atMs, id) is a total order. */
  private compact(): void {
    const heap = this.heap;
    let n = 0;
    for (const event of heap) {
      if (event.cancelled) continue;
      if (event.owner.cancelled) {
        event.cancelled = true;
        event.callback = NOTHING;
        event.arg = undefined;
        continue;
      }
      heap[n++] = event;
    }
    heap.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, heap[i] as SimEvent);
    this.cancelledQueued = 0;
  }

  // A binary min-heap on (atMs, id). Events in it with `cancelled` set are the cancelledQueued ones.

  private push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as SimEvent;
      if (p.atMs < event.atMs || (p.atMs === event.atMs && p.id < event.id)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) this.siftDown(0, last);
  }

  /** Puts `event` at `i` or below, moving smaller children up. */
  private siftDown(i: number, event: SimEvent): void {
    const heap = this.heap;
    const n = heap.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      let c = heap[left] as SimEvent;
      if (right < n) {
        const r = heap[right] as SimEvent;
        if (r.atMs < c.atMs || (r.atMs === c.atMs && r.id < c.id)) {
          child = right;
          c = r;
        }
      }
      if (event.atMs < c.atMs || (event.atMs === c.atMs && event.id < c.id)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = event;
  }
}
