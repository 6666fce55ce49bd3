import { describe, expect, test } from 'vitest';
import { KeyLock } from '../../../src/core/replication/key-lock.js';

/** A promise and the functions that settle it. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('KeyLock', () => {
  test('runs cycles of one key one after another, in order, and cycles of other keys at once', async () => {
    const lock = new KeyLock();
    const log: string[] = [];
    const first = deferred<string>();
    const a1 = lock.run('a', () => {
      log.push('a1 start');
      return first.promise;
    });
    const a2 = lock.run('a', async () => {
      log.push('a2 start');
      return 'a2';
    });
    const b1 = lock.run('b', async () => {
      log.push('b1 start');
      return 'b1';
    });
    // An uncontended cycle starts synchronously; the queued one waits for the first.
    expect(log).toEqual(['a1 start', 'b1 start']);
    expect(lock.size).toBe(2);
    await b1;
    expect(log).toEqual(['a1 start', 'b1 start']);
    first.resolve('a1');
    expect(await a1).toBe('a1');
    expect(await a2).toBe('a2');
    expect(log).toEqual(['a1 start', 'b1 start', 'a2 start']);
  });

  test('a failed cycle (a rejection or a synchronous throw) does not hold up the next one', async () => {
    const lock = new KeyLock();
    const failing = lock.run('k', () => Promise.reject(new Error('boom')));
    const throwing = lock.run('k', () => {
      throw new Error('sync boom');
    });
    const next = lock.run('k', async () => 'ran');
    await expect(failing).rejects.toThrow('boom');
    await expect(throwing).rejects.toThrow('sync boom');
    expect(await next).toBe('ran');
    expect(lock.size).toBe(0);
  });

  test('once a key is idle, its next cycle starts synchronously again', async () => {
    const lock = new KeyLock();
    await lock.run('k', async () => 1);
    await Promise.resolve(); // the release runs one reaction after the cycle settles
    let started = false;
    const again = lock.run('k', async () => {
      started = true;
    });
    expect(started).toBe(true);
    await again;
  });

  test('idle keys are swept: the table stays bounded while cycles of ever new keys come and go', async () => {
    const lock = new KeyLock();
    const held = deferred<void>();
    const busy = lock.run('busy', () => held.promise);
    for (let i = 0; i < 10_000; i++) await lock.run(`key${i}`, async () => i);
    const table = (lock as unknown as { entries: Map<string, unknown> }).entries;
    expect(table.size).toBeLessThanOrEqual(1024);
    // The busy key survived every sweep: a new cycle of it still waits.
    let started = false;
    const queued = lock.run('busy', async () => {
      started = true;
    });
    await Promise.resolve();
    expect(started).toBe(false);
    held.resolve();
    await busy;
    await queued;
    expect(started).toBe(true);
  });
});
