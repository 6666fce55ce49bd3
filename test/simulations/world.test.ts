/**
 * The simulated world's parts: virtual time, latency models, the fsync=interval disk, partition
 * shapes, pauses, and the determinism that makes a seed replayable.
 */
import { describe, expect, test } from 'vitest';
import { createKeyHasher } from '../../src/core/ring/index.js';
import { deriveConfig } from '../../simulations/config.js';
import { runSimulation } from '../../simulations/runner.js';
import { SimDisk } from '../../simulations/world/disk.js';
import { describeLatency, meanLatency, parseLatency, sampleLatency } from '../../simulations/world/latency.js';
import { bridge, isolateOne, majoritiesRing, oneWay, randomHalves } from '../../simulations/world/partitions.js';
import { EventOwner, Scheduler } from '../../simulations/world/scheduler.js';
import { deriveRandom, deriveSeed } from '../../simulations/world/seeds.js';
import { copyWireData, NotWireDataError } from '../../simulations/world/wire-copy.js';
import { SimWorld } from '../../simulations/world/world.js';
import type { Timers } from '../../src/core/env.js';
import { WARS_MODELS } from '../../simulations/staleness/wars.js';

const hasher = await createKeyHasher();

describe('virtual time', () => {
  test('events fire in (time, creation) order, time jumps, and a cancelled owner\'s events never fire', async () => {
    // Shows the scheduler's ordering rule and what a crash relies on to cancel a node's timers.
    const scheduler = new Scheduler(1000, (err) => {
      throw err;
    });
    const a = new EventOwner('a');
    const b = new EventOwner('b');
    const fired: string[] = [];
    scheduler.schedule(5, a, 'x', () => fired.push(`a5@${scheduler.now()}`));
    scheduler.schedule(1, b, 'x', () => fired.push(`b1@${scheduler.now()}`));
    scheduler.schedule(5, b, 'x', () => fired.push(`b5@${scheduler.now()}`));
    const cancelled = scheduler.schedule(2, b, 'x', () => fired.push('cancelled'));
    scheduler.schedule(3, a, 'x', () => {
      fired.push(`a3@${scheduler.now()}`);
      b.cancel();
    });
    scheduler.cancel(cancelled);
    expect(await scheduler.run(10_000)).toBe('idle');
    expect(fired).toEqual(['b1@1001', 'a3@1003', 'a5@1005']);
    expect(scheduler.now()).toBe(10_000);
  });

  test('promise continuations of an event run before the next event', async () => {
    // Shows the microtask drain: an async chain started by an event completes at that event's virtual time.
    const scheduler = new Scheduler(0, (err) => {
      throw err;
    });
    const owner = new EventOwner('o');
    const seen: Array<[string, number]> = [];
    scheduler.schedule(1, owner, 'x', () => {
      void (async () => {
        for (let i = 0; i < 50; i++) await Promise.resolve();
        seen.push(['chain', scheduler.now()]);
      })();
    });
    scheduler.schedule(2, owner, 'x', () => seen.push(['next', scheduler.now()]));
    await scheduler.run(10);
    expect(seen).toEqual([['chain', 1], ['next', 2]]);
  });

  test('with most events cancelled, the rest still fire in (time, creation) order', async () => {
    // Shows that compacting the queue of its cancelled events (request timeouts, mostly) changes no firing order.
    const scheduler = new Scheduler(0, (err) => {
      throw err;
    });
    const random = deriveRandom(3, 'cancel-order');
    const owners = [new EventOwner('a'), new EventOwner('b')];
    const fired: number[] = [];
    const expected: Array<{ atMs: number; id: number }> = [];
    for (let i = 0; i < 2000; i++) {
      const atMs = random.int(50); // many equal times, so creation order decides ties
      const owner = owners[i % 2] as EventOwner;
      const event = scheduler.schedule(atMs, owner, 'x', () => fired.push(event.id));
      if (random.next() < 0.8) scheduler.cancel(event);
      else if (owner.name === 'a') expected.push({ atMs, id: event.id });
      if (i === 1500) (owners[1] as EventOwner).cancel();
    }
    scheduler.cancel(scheduler.schedule(1, owners[0] as EventOwner, 'x', () => fired.push(-1)));
    expected.sort((p, q) => p.atMs - q.atMs || p.id - q.id);
    await scheduler.run(100);
    expect(fired).toEqual(expected.map((e) => e.id));
  });

  test('promise continuations of an event run before the next event, whatever context run() is called from', async () => {
    // Shows the drain also holds when run() starts outside a microtask (here from an immediate), where Node runs ticks before microtasks.
    const scheduler = new Scheduler(0, (err) => {
      throw err;
    });
    const owner = new EventOwner('o');
    const seen: string[] = [];
    scheduler.schedule(1, owner, 'x', () => {
      void (async () => {
        for (let i = 0; i < 20; i++) await Promise.resolve();
        seen.push('chain');
      })();
    });
    scheduler.schedule(1, owner, 'x', () => seen.push('next'));
    await new Promise<void>((resolve) => {
      setImmediate(() => void scheduler.run(10).then(() => resolve()));
    });
    expect(seen).toEqual(['chain', 'next']);
  });

  test('a long run still lets the host process\'s event loop turn', async () => {
    // Shows that events are not one event-loop turn each, yet a run never starves the test runner's timers and I/O.
    const scheduler = new Scheduler(0, (err) => {
      throw err;
    });
    const owner = new EventOwner('o');
    let left = 5000;
    const step = (): void => {
      if (--left > 0) scheduler.schedule(0, owner, 'x', step);
    };
    scheduler.schedule(0, owner, 'x', step);
    let firedAtTurn = -1;
    setImmediate(() => {
      firedAtTurn = scheduler.firedEvents;
    });
    await scheduler.run(10);
    expect(scheduler.firedEvents).toBe(5000);
    expect(firedAtTurn).toBeGreaterThan(0);
    expect(firedAtTurn).toBeLessThan(5000);
  });
});

describe('latency models', () => {
  test('the text form parses back to the same model, and samples have the model\'s mean', () => {
    // Shows the CLI's --latency round trip and that the Pareto/exponential samplers are right.
    const random = deriveRandom(1, 'latency-test');
    for (const text of ['const(2)', 'exp(1.66)', 'pareto(0.235,10)', '0.9122*pareto(0.235,10)+0.0878*exp(1.66)', '1.5x(exp(2))']) {
      const model = parseLatency(text);
      expect(describeLatency(parseLatency(describeLatency(model)))).toBe(describeLatency(model));
      let sum = 0;
      const count = 200_000;
      for (let i = 0; i < count; i++) sum += sampleLatency(model, random);
      expect(sum / count).toBeCloseTo(meanLatency(model), 1);
    }
    for (const m of WARS_MODELS) expect(Number.isFinite(meanLatency(m.w))).toBe(true);
    expect(() => parseLatency('gauss(1)')).toThrow(/const\(ms\)/);
  });
});

describe('the fsync=interval disk', () => {
  test('a crash keeps what was synced and loses what was written after the last sync tick', async () => {
    // Shows the durability model the lost-write checker's configuration statement rests on.
    const scheduler = new Scheduler(0, (err) => {
      throw err;
    });
    let owner = new EventOwner('node#1');
    const timersOf = (o: EventOwner): Timers => ({
      setTimer: (delayMs, callback) => scheduler.schedule(delayMs, o, 'timer', callback),
      clearTimer: () => {},
    });
    const disk = new SimDisk({ now: () => scheduler.now() }, { fsync: 'interval', fsyncIntervalMs: 1000 });
    const first = await disk.open(timersOf(owner));
    await first.put('synced', new Uint8Array([1]));
    await scheduler.run(1000);
    await first.put('unsynced', new Uint8Array([2]));
    await first.delete('synced');
    owner.cancel();
    disk.crash();
    await expect(first.get('synced')).rejects.toThrow();
    owner = new EventOwner('node#2');
    const second = await disk.open(timersOf(owner));
    expect((await second.get('synced'))?.value).toEqual(new Uint8Array([1]));
    expect(await second.get('unsynced')).toBeUndefined();
    expect(disk.stats.writesLostInCrashes).toBe(2);
  });
});

describe('partition shapes', () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
  const reach = (blocked: ReadonlyArray<readonly [string, string]>, from: string): string[] =>
    ids.filter((to) => to === from || !blocked.some(([a, b]) => a === from && b === to));

  test.each([5, 7])('majorities ring on %i nodes: every node sees a majority, no two the same one', (count) => {
    // Shows Jepsen's majorities-ring shape.
    const nodes = ids.slice(0, count);
    const plan = majoritiesRing(nodes, deriveRandom(3, 'ring'));
    const views = nodes.map((id) => reach(plan.blocked, id).filter((x) => nodes.includes(x)).sort().join(','));
    for (const view of views) expect(view.split(',').length).toBeGreaterThan(count / 2);
    expect(new Set(views).size).toBe(count);
  });

  test('bridge, halves, isolation and one-way block what they should', () => {
    // Shows the other shapes: the bridge node reaches everyone, halves are symmetric, one-way is not.
    const random = deriveRandom(4, 'shapes');
    const b = bridge(ids, random);
    const bridgeNode = /<(n\d)>/.exec(b.description)?.[1] as string;
    expect(reach(b.blocked, bridgeNode)).toEqual(ids);
    const halves = randomHalves(ids, random);
    for (const [x, y] of halves.blocked) expect(halves.blocked.some(([p, q]) => p === y && q === x)).toBe(true);
    expect(isolateOne(ids, random).blocked).toHaveLength(2 * 6);
    const one = oneWay(ids, random);
    expect(one.blocked.length).toBeGreaterThan(0);
    for (const [x, y] of one.blocked) expect(one.blocked.some(([p, q]) => p === y && q === x)).toBe(false);
  });
});

describe('nodes in the world', () => {
  test('a paused node handles nothing until it resumes, then rejoins; a crashed node restarts with a new generation', async () => {
    // Shows SIGSTOP semantics (work waits at the gate) and kill -9 / restart through the real RingNode.
    const world = new SimWorld({ seed: 5, nodes: 3, hasher, latency: parseLatency('exp(1)') });
    world.startAll();
    await world.runFor(2000);
    const n1 = world.host('n1');
    const received = (): number => n1.node?.membership.stats().messagesReceived ?? -1;
    world.pause('n1');
    const before = received();
    await world.runFor(5000);
    expect(received()).toBe(before);
    expect(world.host('n2').node?.membership.member('n1')?.state).toBe('dead');
    world.resume('n1');
    await world.runFor(3000);
    expect(received()).toBeGreaterThan(before);
    expect(world.host('n2').node?.membership.member('n1')?.state).toBe('alive');
    world.crash('n3');
    await world.runFor(3000);
    world.start('n3');
    await world.runFor(3000);
    expect(world.host('n1').node?.membership.member('n3')).toMatchObject({ state: 'alive', generation: 2 });
    expect(world.errors).toEqual([]);
  });
});

describe('the simulated wire', () => {
  test('a copied message shares nothing with the sender, and what the peer wire would change is refused', () => {
    // Shows the default wire's isolation (no node can mutate what another holds) and its strictness.
    const value = Buffer.from([1, 2, 3]);
    const body = { key: 'k', obj: value, list: [{ n: 1 }], none: undefined };
    const copy = copyWireData(body);
    expect(copy).toEqual({ key: 'k', obj: new Uint8Array([1, 2, 3]), list: [{ n: 1 }], none: undefined });
    expect(Object.getPrototypeOf(copy.obj)).toBe(Uint8Array.prototype);
    value[0] = 9;
    body.list[0]!.n = 2;
    expect(copy.obj[0]).toBe(1);
    expect(copy.list[0]!.n).toBe(1);
    expect(() => copyWireData({ members: new Map() })).toThrow(/body\.members is a Map/);
    expect(() => copyWireData({ at: [1, new Date(0)] })).toThrow(/body\.at\[1\] is a Date/);
    expect(() => copyWireData({ big: 1n })).toThrow(NotWireDataError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => copyWireData(cycle)).toThrow(/levels deep/);
  });

  test('a whole envelope is copied like any body: nothing shared, keys in order, what the wire would change refused', () => {
    // Shows that the envelope's fast path keeps the general copy's guarantee, and that a near-envelope takes the general path.
    const obj = new Uint8Array([4, 5]);
    const envelope = { v: 1, t: 22, rid: 7, from: 'n1', body: { key: 'k', obj, members: [{ id: 'n2' }] } };
    const copy = copyWireData(envelope);
    expect(copy).toEqual(envelope);
    expect(Object.keys(copy)).toEqual(['v', 't', 'rid', 'from', 'body']);
    expect(copy.body).not.toBe(envelope.body);
    expect(copy.body.obj).not.toBe(obj);
    expect(copy.body.members[0]).not.toBe(envelope.body.members[0]);
    expect(() => copyWireData({ v: 1, t: 22, rid: 7, from: 'n1', body: { at: new Map() } })).toThrow(/body\.body\.at is a Map/);
    expect(() => copyWireData({ v: 1, t: 22, rid: 7n, from: 'n1', body: {} })).toThrow(/body\.rid is a bigint/);
    const extra = { v: 1, t: 22, rid: 7, from: 'n1', body: {}, more: [1] };
    expect(copyWireData(extra)).toEqual(extra);
    const reordered = { t: 22, v: 1, rid: 7, from: 'n1', body: {} };
    expect(Object.keys(copyWireData(reordered))).toEqual(['t', 'v', 'rid', 'from', 'body']);
  });

  test('the copying wire and the real frame codec give the very same run', async () => {
    // Shows that the fast default wire changes nothing the nodes can observe: same seed, same trace, under faults.
    const config = deriveConfig(42, { scenario: 'mixed', workload: 'register', nodes: 5, durationMs: 10_000 });
    const copied = await runSimulation(config, { hasher, wire: 'copy' });
    const encoded = await runSimulation(config, { hasher, wire: 'cbor' });
    expect(copied.passed).toBe(true);
    expect(copied.faultLog.length).toBeGreaterThan(2);
    expect(encoded.traceHash).toBe(copied.traceHash);
    expect(encoded.facts).toEqual(copied.facts);
  });
});

describe('determinism', () => {
  test('the same seed gives the same event trace, a different seed a different one', async () => {
    // Shows that a run is a pure function of its seed and configuration, so a failing seed replays exactly.
    const config = deriveConfig(42, { scenario: 'mixed', workload: 'register', nodes: 5, durationMs: 10_000 });
    const first = await runSimulation(config, { hasher });
    const second = await runSimulation(config, { hasher });
    const other = await runSimulation(deriveConfig(43, { scenario: 'mixed', workload: 'register', nodes: 5, durationMs: 10_000 }), { hasher });
    expect(first.events).toBeGreaterThan(3000);
    expect(first.faultLog.length).toBeGreaterThan(2);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.events).toBe(first.events);
    expect(second.faultLog).toEqual(first.faultLog);
    expect(other.traceHash).not.toBe(first.traceHash);
    expect(deriveSeed(42, 'a')).not.toBe(deriveSeed(42, 'b'));
  });
});
