// Crash safety with real processes: a child writes with fsync=always from 16 concurrent writers and
// is SIGKILLed at random moments, 20 times; after each kill every acknowledged write is there with
// its value, every batch is all-or-nothing, and nothing that survived an earlier crash is lost.
// The writer's segments are preallocated (preallocateBytes, opt-in), so most kills leave a tail of
// zeros after the records of the newest segment, which recovery must read as their end.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { LogEngine } from '../../src/storage/log/engine.js';
import { killAndWait, onLines, spawnFixture } from './fixtures.js';
import { FakeClock, TempDirs } from './helpers.js';

const CYCLES = 20;
const dirs = new TempDirs();
let child: ChildProcessWithoutNullStreams | undefined;
afterAll(async () => {
  if (child !== undefined) await killAndWait(child);
  await dirs.removeAll();
});

type Effect = [key: string, sha1: string | null];

/** Runs one child until it has acknowledged `acksBeforeKill` ops, then SIGKILLs it. */
async function runAndKill(dir: string, cycle: number, acksBeforeKill: number): Promise<{ acked: Effect[][]; unacked: Effect[][] }> {
  const begun = new Map<number, Effect[]>();
  const acked: Effect[][] = [];
  const c = spawnFixture('storage-crash-writer', [dir, String(cycle), String(cycle * 7919 + 1)]);
  child = c;
  let stderr = '';
  c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    onLines(c, (line) => {
      if (line.startsWith('B ')) {
        const sp = line.indexOf(' ', 2);
        begun.set(Number(line.slice(2, sp)), JSON.parse(line.slice(sp + 1)) as Effect[]);
      } else if (line.startsWith('A ')) {
        const id = Number(line.slice(2));
        acked.push(begun.get(id)!);
        begun.delete(id);
        if (acked.length === acksBeforeKill && c.pid !== undefined) {
          process.kill(c.pid, 'SIGKILL');
          resolve();
        }
      }
    });
    c.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`crash writer exited by itself (code ${code}): ${stderr}`));
    });
  });
  await killAndWait(c);
  child = undefined;
  return { acked, unacked: [...begun.values()] };
}

describe('log engine crash safety', () => {
  it(`keeps every acknowledged write across ${CYCLES} SIGKILLs`, async () => {
    // Shows that an acknowledged fsync=always write survives SIGKILL, and that batches stay atomic.
    const dir = await dirs.make('ringkv-crash-');
    const survived = new Map<string, string>(); // key → sha1 of everything present after earlier cycles
    let preallocatedTails = 0; // cycles whose newest segment had a preallocated tail at the kill
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const { acked, unacked } = await runAndKill(dir, cycle, 30 + rand(400));
      const newest = (await fs.readdir(dir)).filter((f) => f.endsWith('.seg')).sort().pop()!;
      const newestBytes = (await fs.stat(path.join(dir, newest))).size;
      const engine = await LogEngine.open({ dir, clock: new FakeClock(Date.now()), recovery: 'fail', compactionCheckIntervalMs: 0 });
      // The writer preallocates: the kill usually leaves zeros after the records.
      if (engine.segments().find((s) => s.file === newest)!.sizeBytes < newestBytes) preallocatedTails++;
      const present = new Map<string, string>();
      for await (const { key, record } of engine.entries()) present.set(key, createHash('sha1').update(record.value).digest('hex'));
      await engine.close();

      const where = `cycle ${cycle}`;
      // Nothing from earlier cycles changed (this cycle's writers only touch this cycle's keys).
      for (const [key, sha] of survived) expect(present.get(key), `${where}: ${key} survived an earlier crash`).toBe(sha);
      const holds = ([key, sha]: Effect): boolean => (sha === null ? !present.has(key) : present.get(key) === sha);
      // The newest acknowledged effect on each key (a writer's delete follows the put it deletes).
      const expected = new Map<string, string | null>();
      for (const effects of acked) for (const [key, sha] of effects) expected.set(key, sha);
      const inFlight = new Set(unacked.flat().map(([key]) => key));
      for (const [key, sha] of expected) {
        if (inFlight.has(key)) continue; // checked below
        expect(holds([key, sha]), `${where}: acknowledged ${JSON.stringify([key, sha])}`).toBe(true);
      }
      // An op in flight at the kill happened entirely or not at all. Its puts are on fresh keys
      // and its delete targets a key an acknowledged put wrote, so "not at all" is: no put
      // present, the delete's target still present.
      for (const effects of unacked) {
        const all = effects.every(holds);
        const none = effects.every(([key, sha]) => (sha === null ? present.has(key) : !present.has(key)));
        expect(all || none, `${where}: in-flight op ${JSON.stringify(effects)} half applied`).toBe(true);
      }
      survived.clear();
      for (const [k, v] of present) survived.set(k, v);
    }
    expect(survived.size).toBeGreaterThan(CYCLES * 20);
    expect(preallocatedTails).toBeGreaterThan(CYCLES / 2);
  }, 180_000);
});
