import { describe, expect, it } from 'vitest';
import { MapRespBackend } from '../../../src/api/resp/backend.js';
import { errorLineFor, INTERNAL_ERROR_LINE } from '../../../src/api/resp/error-reply.js';
import { InvalidKeyError, OverloadedError, StorageClosedError, TooManySiblingsError } from '../../../src/errors.js';
import { ManualClock } from './harness.js';

describe('MapRespBackend', () => {
  // Entries expire exactly ttlMs after the write, by the injected clock.
  it('expires entries by the injected clock', async () => {
    const clock = new ManualClock();
    const backend = new MapRespBackend({ clock });
    await backend.set('k', Buffer.from('v'), { ttlMs: 100 });
    clock.advance(99);
    expect(await backend.exists(['k'])).toBe(1);
    clock.advance(1);
    expect(await backend.get('k')).toBeUndefined();
    expect(backend.size).toBe(0);
  });

  // NX writes only absent keys, XX only present ones; an expired key counts as absent.
  it('applies NX and XX', async () => {
    const clock = new ManualClock();
    const backend = new MapRespBackend({ clock });
    expect(await backend.set('k', Buffer.from('1'), { condition: 'XX' })).toBe(false);
    expect(await backend.set('k', Buffer.from('1'), { condition: 'NX', ttlMs: 10 })).toBe(true);
    expect(await backend.set('k', Buffer.from('2'), { condition: 'NX' })).toBe(false);
    clock.advance(10);
    expect(await backend.set('k', Buffer.from('3'), { condition: 'XX' })).toBe(false);
    expect(await backend.set('k', Buffer.from('4'), { condition: 'NX' })).toBe(true);
    expect(Buffer.from((await backend.get('k')) ?? []).toString()).toBe('4');
  });

  // A stored value is a copy, not a view of the caller's (network) buffer.
  it('copies values it keeps', async () => {
    const backend = new MapRespBackend();
    const chunk = Buffer.from('xxvaluexx');
    await backend.set('k', chunk.subarray(2, 7), {});
    chunk.fill(0);
    const stored = await backend.get('k');
    expect(Buffer.from(stored ?? []).toString()).toBe('value');
  });

  // DEL counts a repeated key once; EXISTS counts it each time, as Redis does.
  it('counts like Redis', async () => {
    const backend = new MapRespBackend();
    await backend.set('a', Buffer.from('1'), {});
    expect(await backend.exists(['a', 'a', 'b'])).toBe(2);
    expect(await backend.del(['a', 'a', 'b'])).toBe(1);
  });
});

describe('errorLineFor', () => {
  // Each typed error gets the prefix its code maps to; unknown throwables are internal.
  it('maps codes to prefixes', () => {
    expect(errorLineFor(new OverloadedError('coordinator queue', 100)).line).toBe('OVERLOADED coordinator queue is full (bound 100); retry later');
    expect(errorLineFor(new TooManySiblingsError('k', 101, 100)).line).toMatch(/^SIBLINGS key "k" would have 101 siblings/);
    expect(errorLineFor(new StorageClosedError()).line).toBe('STORAGE the storage engine is closed');
    expect(errorLineFor(new InvalidKeyError('key is empty')).line).toBe('ERR key is empty');
    expect(errorLineFor(new Error('boom'))).toEqual({ line: INTERNAL_ERROR_LINE, internal: true });
    expect(errorLineFor('string')).toEqual({ line: INTERNAL_ERROR_LINE, internal: true });
  });
});
