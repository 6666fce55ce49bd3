// The storage compliance suite: one set of behaviours every engine must show, run by memory.test.ts
// and log.test.ts against their engine.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { StorageEngine } from '../../src/storage/types.js';
import { MAX_SCAN_LIMIT, NOT_IN_MEMORY } from '../../src/storage/types.js';
import { bytes, FakeClock, scanAll, text } from './helpers.js';

export interface ComplianceOptions {
  readonly clock: FakeClock;
  readonly maxKeyBytes?: number;
  readonly maxValueBytes?: number;
}

/** Opens a fresh, empty engine. */
export type EngineFactory = (options: ComplianceOptions) => Promise<StorageEngine>;

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

export function storageCompliance(name: string, factory: EngineFactory, cleanup: () => Promise<void> = async () => {}): void {
  describe(`storage compliance: ${name}`, () => {
    const opened: StorageEngine[] = [];
    const open = async (options: Partial<ComplianceOptions> = {}): Promise<{ engine: StorageEngine; clock: FakeClock }> => {
      const clock = options.clock ?? new FakeClock();
      const engine = await factory({ maxKeyBytes: 64, maxValueBytes: 1024, ...options, clock });
      opened.push(engine);
      return { engine, clock };
    };
    afterEach(async () => {
      for (const e of opened.splice(0)) await e.close();
      await cleanup();
    });

    it('gets what was put, and nothing for absent keys', async () => {
      // Shows the basic contract: a put is visible to the next get, other keys stay absent.
      const { engine } = await open();
      expect(await engine.get('a')).toBeUndefined();
      await engine.put('a', bytes('alpha'));
      expect(text((await engine.get('a'))?.value)).toBe('alpha');
      expect((await engine.get('a'))?.expiresAtMs).toBeUndefined();
      expect(await engine.get('b')).toBeUndefined();
      await engine.put('empty', new Uint8Array(0));
      expect((await engine.get('empty'))?.value.byteLength).toBe(0);
    });

    it('keeps its own copy of a value', async () => {
      // Shows that a caller reusing its buffer after put cannot change the stored value.
      const { engine } = await open();
      const buf = bytes('original');
      await engine.put('k', buf);
      buf.fill(0x78);
      expect(text((await engine.get('k'))?.value)).toBe('original');
    });

    it('overwrites and deletes', async () => {
      // Shows that the newest write wins and that delete makes a key absent (deleting an absent key is fine).
      const { engine } = await open();
      await engine.put('k', bytes('one'));
      await engine.put('k', bytes('two'));
      expect(text((await engine.get('k'))?.value)).toBe('two');
      await engine.delete('k');
      expect(await engine.get('k')).toBeUndefined();
      await engine.delete('never-there');
      await engine.put('k', bytes('three'));
      expect(text((await engine.get('k'))?.value)).toBe('three');
    });

    it('applies concurrent writes to one key in call order', async () => {
      // Shows that writes issued without awaiting apply in the order they were called.
      const { engine } = await open();
      await Promise.all(Array.from({ length: 50 }, (_, i) => engine.put('k', bytes(String(i)))));
      expect(text((await engine.get('k'))?.value)).toBe('49');
      await Promise.all([engine.put('d', bytes('x')), engine.delete('d')]);
      expect(await engine.get('d')).toBeUndefined();
    });

    it('applies a batch of puts and deletes, the last op on a key winning', async () => {
      // Shows batch semantics: every op applied, in order.
      const { engine } = await open();
      await engine.put('gone', bytes('x'));
      await engine.batch([
        { type: 'put', key: 'a', value: bytes('1') },
        { type: 'put', key: 'b', value: bytes('2') },
        { type: 'delete', key: 'gone' },
        { type: 'put', key: 'a', value: bytes('3') },
        { type: 'delete', key: 'b' },
      ]);
      expect(text((await engine.get('a'))?.value)).toBe('3');
      expect(await engine.get('b')).toBeUndefined();
      expect(await engine.get('gone')).toBeUndefined();
      await engine.batch([]);
    });

    it('writes nothing of a batch with one invalid op', async () => {
      // Shows that a batch is validated whole before anything is written.
      const { engine } = await open();
      await expectCode(engine.batch([
        { type: 'put', key: 'ok', value: bytes('1') },
        { type: 'put', key: 'x'.repeat(65), value: bytes('2') },
      ]), ErrorCode.KEY_TOO_LARGE);
      await expectCode(engine.batch([
        { type: 'put', key: 'ok', value: bytes('1') },
        { type: 'frobnicate', key: 'b' } as never,
      ]), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.batch('nope' as never), ErrorCode.INVALID_ARGUMENT);
      expect(await engine.get('ok')).toBeUndefined();
    });

    it('scans by prefix and by range, in ascending key order', async () => {
      // Shows the scan filters (prefix, start, end, both) and the order (JS string order).
      const { engine } = await open();
      const keys = ['b', 'a', 'ab', 'abc', 'ac', 'b/1', 'b/2', 'c', 'é', 'z', 'Z', '~'];
      for (const k of keys) await engine.put(k, bytes(k));
      const sorted = [...keys].sort();
      expect(await scanAll(engine)).toEqual(sorted);
      expect(await scanAll(engine, { prefix: 'a' })).toEqual(['a', 'ab', 'abc', 'ac']);
      expect(await scanAll(engine, { prefix: 'ab' })).toEqual(['ab', 'abc']);
      expect(await scanAll(engine, { prefix: 'b/' })).toEqual(['b/1', 'b/2']);
      expect(await scanAll(engine, { prefix: 'nothing' })).toEqual([]);
      expect(await scanAll(engine, { start: 'ab', end: 'b/1' })).toEqual(['ab', 'abc', 'ac', 'b']);
      expect(await scanAll(engine, { start: 'c' })).toEqual(sorted.filter((k) => k >= 'c'));
      expect(await scanAll(engine, { end: 'ab' })).toEqual(['Z', 'a']);
      expect(await scanAll(engine, { prefix: 'a', start: 'abc', end: 'ac' })).toEqual(['abc']);
      expect(await scanAll(engine, { start: 'q', end: 'b' })).toEqual([]);
      const page = await engine.scan({ prefix: 'b/' });
      expect(page.entries.map((e) => text(e.record.value))).toEqual(['b/1', 'b/2']);
      expect(page.cursor).toBeUndefined();
    });

    it('pages with cursors, also when writes happen between pages', async () => {
      // Shows cursor paging: no key twice, ascending order, keys after the cursor written meanwhile
      // are seen, keys before it are not revisited, deleted keys are not returned.
      const { engine } = await open();
      const all = Array.from({ length: 250 }, (_, i) => `k${String(i).padStart(4, '0')}`);
      for (let i = 0; i < all.length; i += 50) {
        await engine.batch(all.slice(i, i + 50).map((key) => ({ type: 'put' as const, key, value: bytes(key) })));
      }
      expect(await scanAll(engine, { limit: 100 })).toEqual(all);

      const p1 = await engine.scan({ limit: 100 });
      expect(p1.entries).toHaveLength(100);
      expect(p1.cursor).toBeDefined();
      await engine.put('k0000a', bytes('before the cursor'));
      await engine.put('k0150a', bytes('after the cursor'));
      await engine.delete('k0101');
      await engine.delete('k0200');
      const p2 = await engine.scan({ limit: 100, cursor: p1.cursor });
      const p3 = await engine.scan({ limit: 100, cursor: p2.cursor });
      expect(p3.cursor).toBeUndefined();
      const seen = [...p1.entries, ...p2.entries, ...p3.entries].map((e) => e.key);
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toContain('k0150a');
      expect(seen).not.toContain('k0000a');
      expect(seen).not.toContain('k0101');
      expect(seen).not.toContain('k0200');
      expect(seen).toHaveLength(250 + 1 - 2);
    });

    it('bounds the page size', async () => {
      // Shows limit handling: default 100, at most MAX_SCAN_LIMIT, bad limits refused.
      const { engine } = await open();
      const n = MAX_SCAN_LIMIT + 5;
      for (let i = 0; i < n; i += 5000) {
        await engine.batch(Array.from({ length: Math.min(5000, n - i) }, (_, j) => ({
          type: 'put' as const, key: `k${String(i + j).padStart(6, '0')}`, value: new Uint8Array(1),
        })));
      }
      expect((await engine.scan()).entries).toHaveLength(100);
      const big = await engine.scan({ limit: n + 1000 });
      expect(big.entries).toHaveLength(MAX_SCAN_LIMIT);
      expect(big.cursor).toBeDefined();
      const rest = await engine.scan({ limit: n + 1000, cursor: big.cursor });
      expect(rest.entries).toHaveLength(5);
      expect(rest.cursor).toBeUndefined();
      expect((await engine.scan({ limit: 1 })).entries).toHaveLength(1);
      for (const limit of [0, -1, 1.5, Number.NaN, '3' as never]) {
        await expectCode(engine.scan({ limit }), ErrorCode.INVALID_ARGUMENT);
      }
      await expectCode(engine.scan({ prefix: 7 as never }), ErrorCode.INVALID_ARGUMENT);
    });

    it('refuses cursors it did not make', async () => {
      // Shows that a mangled or invented cursor is an InvalidCursorError, not a silent restart.
      const { engine } = await open();
      for (let i = 0; i < 5; i++) await engine.put(`k${i}`, bytes('v'));
      const page = await engine.scan({ limit: 2 });
      expect(page.cursor).toBeDefined();
      for (const bad of ['garbage', `${page.cursor!}x`, page.cursor!.slice(0, -1), 'c1.AAAA.0', '']) {
        await expectCode(engine.scan({ limit: 2, cursor: bad }), ErrorCode.INVALID_CURSOR);
      }
    });

    it('iterates every live entry with entries(), also while writes go on', async () => {
      // Shows entries(): all live entries once each, none deleted before the iteration started.
      const { engine } = await open();
      for (let i = 0; i < 100; i++) await engine.put(`k${i}`, bytes(`v${i}`));
      await engine.delete('k5');
      const seen = new Map<string, string>();
      let i = 0;
      for await (const { key, record } of engine.entries()) {
        expect(seen.has(key)).toBe(false);
        seen.set(key, text(record.value)!);
        if (i++ === 10) {
          await engine.put('k50', bytes('changed'));
          await engine.put('new', bytes('n'));
        }
      }
      expect(seen.has('k5')).toBe(false);
      for (let j = 0; j < 100; j++) if (j !== 5) expect(seen.has(`k${j}`)).toBe(true);
      expect(['v50', 'changed']).toContain(seen.get('k50'));
    });

    it('hides expired records from get, scan, entries and stats', async () => {
      // Shows expiry against the engine clock, moved by hand.
      const { engine, clock } = await open();
      const t = clock.now();
      await engine.put('short', bytes('s'), { expiresAtMs: t + 1000 });
      await engine.put('long', bytes('l'), { expiresAtMs: t + 5000 });
      await engine.put('forever', bytes('f'));
      await engine.put('past', bytes('p'), { expiresAtMs: t - 1 });
      expect((await engine.get('short'))?.expiresAtMs).toBe(t + 1000);
      expect(await engine.get('past')).toBeUndefined();
      expect(engine.stats().keys).toBe(3);
      clock.advance(1000);
      expect(await engine.get('short')).toBeUndefined();
      expect(await scanAll(engine)).toEqual(['forever', 'long']);
      const keys: string[] = [];
      for await (const e of engine.entries()) keys.push(e.key);
      expect(keys.sort()).toEqual(['forever', 'long']);
      expect(engine.stats().keys).toBe(2);
      await engine.put('long', bytes('l2'));
      clock.advance(10_000);
      expect(text((await engine.get('long'))?.value)).toBe('l2');
      await engine.batch([{ type: 'put', key: 'b', value: bytes('b'), expiresAtMs: clock.now() + 1 }]);
      expect(await engine.get('b')).toBeDefined();
      clock.advance(1);
      expect(await engine.get('b')).toBeUndefined();
    });

    it('enforces key and value limits and input types', async () => {
      // Shows the typed errors for bad input, raised before anything is written.
      const { engine } = await open();
      await engine.put('k'.repeat(64), new Uint8Array(1024));
      await engine.put('é'.repeat(32), bytes('two bytes per char: exactly 64'));
      await expectCode(engine.put('k'.repeat(65), bytes('v')), ErrorCode.KEY_TOO_LARGE);
      await expectCode(engine.put('é'.repeat(33), bytes('v')), ErrorCode.KEY_TOO_LARGE);
      await expectCode(engine.put('k', new Uint8Array(1025)), ErrorCode.VALUE_TOO_LARGE);
      await expectCode(engine.put('', bytes('v')), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.put(42 as never, bytes('v')), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.put('k', 'not bytes' as never), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.put('k', bytes('v'), { expiresAtMs: Number.NaN }), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.put('lone\uD800', bytes('v')), ErrorCode.INVALID_KEY);
      await expectCode(engine.get(undefined as never), ErrorCode.INVALID_ARGUMENT);
      await expectCode(engine.delete('' as never), ErrorCode.INVALID_ARGUMENT);
      expect(await engine.get('k')).toBeUndefined();
      await engine.put('😀 emoji', bytes('ok'));
      expect(text((await engine.get('😀 emoji'))?.value)).toBe('ok');
    });

    it('reports stats', async () => {
      // Shows that stats count live keys and bytes.
      const { engine } = await open();
      expect(engine.stats().keys).toBe(0);
      await engine.put('a', new Uint8Array(100));
      await engine.put('b', new Uint8Array(100));
      await engine.delete('b');
      const s = engine.stats();
      expect(s.keys).toBe(1);
      expect(s.liveBytes).toBeGreaterThanOrEqual(101);
      expect(s.totalBytes).toBeGreaterThanOrEqual(s.liveBytes);
      expect(s.compactions).toBe(0);
    });

    it('peek answers as get does, without a promise, or says NOT_IN_MEMORY', async () => {
      // Shows the sync peek agrees with get through put, overwrite, expiry and delete.
      const { engine, clock } = await open();
      if (engine.peek === undefined) return;
      const peekText = (key: string): string | undefined | typeof NOT_IN_MEMORY => {
        const record = engine.peek!(key);
        return record === NOT_IN_MEMORY ? record : text(record?.value);
      };
      const agrees = async (key: string, expected: string | undefined): Promise<void> => {
        const peeked = peekText(key);
        if (peeked !== NOT_IN_MEMORY) expect(peeked).toBe(expected);
        expect(text((await engine.get(key))?.value)).toBe(expected);
      };
      await agrees('a', undefined);
      await engine.put('a', bytes('alpha'));
      await agrees('a', 'alpha');
      await engine.put('a', bytes('beta'));
      await agrees('a', 'beta');
      await engine.put('e', bytes('soon gone'), { expiresAtMs: clock.now() + 10 });
      await agrees('e', 'soon gone');
      const record = engine.peek('e');
      if (record !== NOT_IN_MEMORY) expect(record?.expiresAtMs).toBe(clock.now() + 10);
      clock.advance(10);
      await agrees('e', undefined);
      await engine.delete('a');
      await agrees('a', undefined);
      expect(() => engine.peek!('')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
      await engine.close();
      expect(() => engine.peek!('a')).toThrow(expect.objectContaining({ code: ErrorCode.STORAGE_CLOSED }));
    });

    it('returns one value instance for an unchanged key while it holds the value in memory', async () => {
      // Shows what lets callers cache what they derive from a value, checked by identity.
      const { engine } = await open();
      await engine.put('k', bytes('v1'));
      const first = await engine.get('k');
      const second = await engine.get('k');
      const inMemory = engine.peek?.('k');
      if (inMemory !== undefined && inMemory !== NOT_IN_MEMORY) {
        expect(second!.value).toBe(first!.value);
        expect(inMemory.value).toBe(first!.value);
      }
      await engine.put('k', bytes('v2'));
      expect(text((await engine.get('k'))?.value)).toBe('v2');
    });

    it('refuses every operation after close, and closes twice without harm', async () => {
      // Shows the closed state: StorageClosedError for everything, close idempotent.
      const { engine } = await open();
      await engine.put('k', bytes('v'));
      await engine.close();
      await engine.close();
      await expectCode(engine.get('k'), ErrorCode.STORAGE_CLOSED);
      await expectCode(engine.put('k', bytes('v')), ErrorCode.STORAGE_CLOSED);
      await expectCode(engine.delete('k'), ErrorCode.STORAGE_CLOSED);
      await expectCode(engine.batch([]), ErrorCode.STORAGE_CLOSED);
      await expectCode(engine.scan(), ErrorCode.STORAGE_CLOSED);
      expect(() => engine.stats()).toThrow(expect.objectContaining({ code: ErrorCode.STORAGE_CLOSED }));
      const it = engine.entries()[Symbol.asyncIterator]();
      await expectCode(it.next(), ErrorCode.STORAGE_CLOSED);
    });
  });
}
