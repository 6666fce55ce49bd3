// Model-based test of the log engine: random sequences of puts, deletes, batches, clock moves,
// segment rolls, compactions of random segment subsets and reopens (with or without hints) must
// always leave the engine holding exactly what a Map model holds.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LogEngine } from '../../src/storage/log/engine.js';
import { dump, FakeClock, scanAll, TempDirs } from './helpers.js';

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

type Op =
  | { t: 'put'; key: string; v: number; ttl: number | undefined }
  | { t: 'del'; key: string }
  | { t: 'batch'; ops: ({ t: 'put'; key: string; v: number } | { t: 'del'; key: string })[] }
  | { t: 'tick'; ms: number }
  | { t: 'roll' }
  | { t: 'compact'; pick: number }
  | { t: 'reopen'; dropHints: boolean };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('put' as const), key, v: fc.nat(1000), ttl: fc.option(fc.integer({ min: -5, max: 50 }), { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), key }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('batch' as const), ops: fc.array(fc.oneof(
    fc.record({ t: fc.constant('put' as const), key, v: fc.nat(1000) }), fc.record({ t: fc.constant('del' as const), key })), { maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('roll' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('compact' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('reopen' as const), dropHints: fc.boolean() }) },
);

const valueOf = (key: string, v: number): Uint8Array => Buffer.from(`${key}=${v}`.padEnd(10 + (v % 40), '#'));

describe('log engine against a Map model', () => {
  it('holds what the model holds after every step', async () => {
    // Shows that no interleaving of writes, rolls, compactions and restarts changes what is stored.
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
      const dir = await dirs.make('ringkv-model-');
      const clock = new FakeClock(0);
      const options = { dir, clock, fsync: 'never' as const, compactionCheckIntervalMs: 0, maxSegmentBytes: 300 };
      let engine = await LogEngine.open(options);
      const model = new Map<string, { value: Uint8Array; exp: number | undefined }>();
      const expected = (): Map<string, string> => {
        const out: [string, string][] = [];
        for (const [k, r] of model) {
          if (r.exp !== undefined && r.exp <= clock.now()) continue;
          out.push([k, `${Buffer.from(r.value).toString('hex')}@${r.exp ?? '-'}`]);
        }
        return new Map(out.sort((x, y) => (x[0] < y[0] ? -1 : 1)));
      };
      try {
        for (const o of ops) {
          switch (o.t) {
            case 'put': {
              const exp = o.ttl === undefined ? undefined : clock.now() + o.ttl;
              await engine.put(o.key, valueOf(o.key, o.v), { expiresAtMs: exp });
              model.set(o.key, { value: valueOf(o.key, o.v), exp });
              break;
            }
            case 'del':
              await engine.delete(o.key);
              model.delete(o.key);
              break;
            case 'batch':
              await engine.batch(o.ops.map((b) => (b.t === 'put' ? { type: 'put', key: b.key, value: valueOf(b.key, b.v) } : { type: 'delete', key: b.key })));
              for (const b of o.ops) {
                if (b.t === 'put') model.set(b.key, { value: valueOf(b.key, b.v), exp: undefined });
                else model.delete(b.key);
              }
              break;
            case 'tick':
              clock.advance(o.ms);
              break;
            case 'roll':
              await engine.rollSegment();
              break;
            case 'compact': {
              const sealed = engine.segments().filter((s) => !s.active);
              if (sealed.length === 0) break;
              // Any choice of sealed segments must be safe: a random subset, or one segment alone
              // (often not the oldest, the case where tombstones must be kept).
              const subset = sealed.filter((_, i) => ((o.pick >> (i % 30)) & 1) === 1);
              const single = [sealed[sealed.length - 1 - (o.pick % sealed.length)]!];
              await engine.compact({ segments: o.pick % 2 === 0 && subset.length > 0 ? subset : single });
              break;
            }
            case 'reopen':
              await engine.close();
              if (o.dropHints) {
                for (const f of await fs.readdir(dir)) if (f.endsWith('.hint')) await fs.rm(path.join(dir, f));
              }
              engine = await LogEngine.open(options);
              break;
          }
          const want = expected();
          expect(await dump(engine)).toEqual(want);
          expect(await scanAll(engine, { limit: 3 })).toEqual([...want.keys()]);
          expect(engine.stats().keys).toBe(want.size);
        }
      } finally {
        await engine.close();
        await fs.rm(dir, { recursive: true, force: true });
      }
    }), { numRuns: 100, examples: [[[{ t: 'put', key: 'a', v: 1, ttl: undefined }, { t: 'roll' }, { t: 'del', key: 'a' }, { t: 'roll' }, { t: 'compact', pick: 0 }, { t: 'reopen', dropHints: false }]]] });
  }, 120_000);
});
