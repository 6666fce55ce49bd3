// Storage benchmark (a script, not a test): `npm run bench:storage`.
// Measures put/get throughput of the log engine for each fsync policy with 16 concurrent writers,
// restart time for 1M keys with and without hint files, and index memory per key. Prints markdown
// tables with medians over a few repetitions. Re-spawns itself with --expose-gc to measure memory.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogEngine } from '../../src/storage/log/engine.js';
import { DEFAULT_PREALLOCATE_BYTES, type FsyncPolicy } from '../../src/storage/log/options.js';
import type { BatchOp } from '../../src/storage/types.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

/** Child mode: open `dir` and print the memory the index took (heap + array buffers, after GC). */
if (process.argv[2] === '--measure-index') {
  const dir = process.argv[3]!;
  const mem = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const before = mem();
  const engine = await LogEngine.open({ dir, clock: { now: () => Date.now() }, fsync: 'never', compactionCheckIntervalMs: 0, valueCacheMaxBytes: 0 });
  const after = mem();
  const keys = engine.stats().keys;
  await engine.close();
  process.stdout.write(`${JSON.stringify({ bytes: after - before, keys })}\n`);
  process.exit(0);
}

// Environment: BENCH_REPS (3), BENCH_RUN_MS (1500), BENCH_RESTART_KEYS (1 000 000), BENCH_ONLY
// (`throughput` or `restart`: run one part only, for quick iterations).
const REPS = Number(process.env.BENCH_REPS ?? 3);
const ONLY = process.env.BENCH_ONLY;
const RUN_MS = Number(process.env.BENCH_RUN_MS ?? 1500);
const WRITERS = 16;
const KEYS_PER_WRITER = 5000;
const RESTART_KEYS = Number(process.env.BENCH_RESTART_KEYS ?? 1_000_000);
const clock = { now: () => Date.now() };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const key = (i: number): string => `key-${String(i).padStart(7, '0')}`;

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'ringkv-bench-'));
}

/** Runs `WRITERS` loops calling `op(i)` for RUN_MS; returns ops per second. */
async function hammer(op: (worker: number, i: number) => Promise<unknown>): Promise<number> {
  let ops = 0;
  const deadline = performance.now() + RUN_MS;
  const started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async (_, w) => {
    for (let i = 0; performance.now() < deadline; i++) {
      await op(w, i);
      ops++;
    }
  }));
  return ops / ((performance.now() - started) / 1000);
}

async function throughput(fsync: FsyncPolicy, valueBytes: number, preallocateBytes = 0): Promise<{ put: number; get: number; getUncached: number }> {
  const dir = await tempDir();
  try {
    const value = new Uint8Array(valueBytes).fill(7);
    const engine = await LogEngine.open({ dir, clock, fsync, compactionCheckIntervalMs: 0, preallocateBytes });
    // Each writer cycles over its own KEYS_PER_WRITER keys; gets read only keys that were written.
    const written = new Array<number>(WRITERS).fill(0);
    const put = await hammer(async (w, i) => {
      await engine.put(`w${w}-${i % KEYS_PER_WRITER}`, value);
      written[w] = Math.min(KEYS_PER_WRITER, Math.max(written[w]!, i + 1));
    });
    const existing = (w: number, i: number): string => `w${w}-${(i * 7919) % written[w]!}`;
    const check = await engine.get(existing(0, 1));
    if (check?.value.length !== valueBytes) throw new Error('benchmark reads a key it did not write');
    const get = await hammer((w, i) => engine.get(existing(w, i)));
    await engine.close();
    const cold = await LogEngine.open({ dir, clock, fsync, compactionCheckIntervalMs: 0, valueCacheMaxBytes: 0 });
    const getUncached = await hammer((w, i) => cold.get(existing(w, i)));
    await cold.close();
    return { put, get, getUncached };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function removeHints(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir)) if (f.endsWith('.hint')) await fs.rm(path.join(dir, f));
}

interface RestartResult {
  withHintsMs: number;
  withHintsCpuMs: number;
  withoutHintsMs: number;
  withoutHintsCpuMs: number;
  indexBytesPerKey: number;
  diskBytes: number;
}

async function restartBench(): Promise<RestartResult> {
  const dir = await tempDir();
  try {
    const value = new Uint8Array(100).fill(1);
    const engine = await LogEngine.open({ dir, clock, fsync: 'never', compactionCheckIntervalMs: 0 });
    for (let i = 0; i < RESTART_KEYS; i += 1000) {
      const ops: BatchOp[] = [];
      for (let j = i; j < Math.min(i + 1000, RESTART_KEYS); j++) ops.push({ type: 'put', key: key(j), value });
      await engine.batch(ops);
    }
    const diskBytes = engine.stats().totalBytes;
    await engine.close();

    const timeOpen = async (): Promise<[number, number]> => {
      gc!();
      const t = performance.now();
      const cpu = process.cpuUsage();
      const e = await LogEngine.open({ dir, clock, fsync: 'never', compactionCheckIntervalMs: 0, valueCacheMaxBytes: 0 });
      const ms = performance.now() - t;
      const used = process.cpuUsage(cpu);
      if (e.stats().keys !== RESTART_KEYS) throw new Error(`restart found ${e.stats().keys} keys`);
      await e.close();
      return [ms, (used.user + used.system) / 1000];
    };
    const withHints: [number, number][] = [];
    const withoutHints: [number, number][] = [];
    for (let r = 0; r < REPS; r++) withHints.push(await timeOpen()); // close rewrites the active hint
    for (let r = 0; r < REPS; r++) {
      await removeHints(dir);
      withoutHints.push(await timeOpen());
    }

    // Index memory, in a fresh process so nothing else this run allocated blurs it.
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--measure-index', dir], { encoding: 'utf8' });
    const measured = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as { bytes: number; keys: number };
    if (measured.keys !== RESTART_KEYS) throw new Error(`index measurement failed: ${child.stderr}`);
    return {
      withHintsMs: median(withHints.map((x) => x[0])), withHintsCpuMs: median(withHints.map((x) => x[1])),
      withoutHintsMs: median(withoutHints.map((x) => x[0])), withoutHintsCpuMs: median(withoutHints.map((x) => x[1])),
      indexBytesPerKey: measured.bytes / RESTART_KEYS, diskBytes,
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const rows: string[] = [];
const interval = new Map<number, number>();
const always = new Map<number, number>();
// Repetitions interleave the policies (always, interval, never, always, ...), so that a change in
// the machine's load during the run does not land on one policy's figures only: the always /
// interval ratio compares runs made side by side.
for (const valueBytes of ONLY === 'restart' ? [] : [100, 4096]) {
  // "always+prealloc": fsync=always with the opt-in preallocateBytes (4 MiB), measured alongside.
  const policies = ['always', 'always+prealloc', 'interval', 'never'] as const;
  const figures = new Map(policies.map((p) => [p, { puts: [] as number[], gets: [] as number[], cold: [] as number[] }]));
  for (let r = 0; r < REPS; r++) {
    for (const fsync of policies) {
      const t = fsync === 'always+prealloc'
        ? await throughput('always', valueBytes, DEFAULT_PREALLOCATE_BYTES)
        : await throughput(fsync, valueBytes);
      const f = figures.get(fsync)!;
      f.puts.push(t.put);
      f.gets.push(t.get);
      f.cold.push(t.getUncached);
    }
  }
  for (const fsync of policies) {
    const f = figures.get(fsync)!;
    if (fsync === 'interval') interval.set(valueBytes, median(f.puts));
    if (fsync === 'always') always.set(valueBytes, median(f.puts));
    rows.push(`| ${fsync} | ${valueBytes} B | ${fmt(median(f.puts))} | ${fmt(median(f.gets))} | ${fmt(median(f.cold))} |`);
  }
}
const restart = ONLY === 'throughput' ? undefined : await restartBench();

console.log(`\nringkv log engine, Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${os.tmpdir()}, ` +
  `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ` +
  `${WRITERS} concurrent writers (and readers) over ${WRITERS * KEYS_PER_WRITER} keys, ${RUN_MS} ms per run, median of ${REPS}\n`);
if (rows.length > 0) {
  console.log('| fsync | value | put ops/s | get ops/s (64 MiB value cache) | get ops/s (no value cache: positional read) |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(r);
  console.log('');
  for (const v of [100, 4096]) {
    const ratio = always.get(v)! / interval.get(v)!;
    console.log(`- fsync=always / fsync=interval put throughput, ${v} B values: ${ratio.toFixed(2)}x (target >= 0.5x)`);
  }
}
if (restart !== undefined) {
  console.log(`\n| restart (open), ${fmt(RESTART_KEYS)} keys, 100 B values, ${(restart.diskBytes / 2 ** 20).toFixed(0)} MiB on disk | median wall ms | median CPU ms |`);
  console.log('| --- | ---: | ---: |');
  console.log(`| with hint files | ${fmt(restart.withHintsMs)} | ${fmt(restart.withHintsCpuMs)} |`);
  console.log(`| without hint files (scan every segment) | ${fmt(restart.withoutHintsMs)} | ${fmt(restart.withoutHintsCpuMs)} |`);
  console.log(`\n- index memory: ${restart.indexBytesPerKey.toFixed(1)} bytes per key (heap + array buffers after GC, key strings of 11 chars included, in a fresh process; target <= 150)`);
}
