// Ring benchmark (a script, not a test): `npm run bench:ring` (= tsc, then node dist/test/bench/ring.js).
// Measures, and prints as markdown tables:
//   1. key hashing: pure-TS XXH32 vs xxhash-wasm h32 vs h64 (BigInt), by key length;
//   2. lookups/s: owner, preference list of 3, annotated list of 3, on keys like "user:123456";
//   3. balance: largest share over the mean share at 5, 10 and 50 nodes for several vnode counts;
//   4. keys moved when a node joins (n -> n+1), against the ideal 1/(n+1).
// Throughputs are medians over BENCH_REPS runs, timed in CPU time of this process
// (process.cpuUsage) as well as wall time: on a shared machine other processes steal the CPU, and
// CPU time is what a lookup costs. Balance figures are medians (and worst) over several sets of
// node ids, since a ring's balance depends on the ids.
import * as os from 'node:os';
import xxhash from 'xxhash-wasm';
import { createKeyHasher, typescriptKeyHasher, type KeyHasher } from '../../src/core/ring/hash.js';
import { Ring, DEFAULT_VNODES_PER_NODE } from '../../src/core/ring/ring.js';
import { xxh32 } from '../../src/core/ring/xxh32.js';
import { SeededRandom } from '../../src/core/random.js';

const REPS = Number(process.env.BENCH_REPS ?? 7);
/** CPU time per throughput run. */
const RUN_CPU_MS = Number(process.env.BENCH_RUN_MS ?? 150);
/** Node-id sets per balance figure. */
const ID_SETS = Number(process.env.BENCH_ID_SETS ?? 9);
const VNODE_COUNTS = [64, 128, 256, 512, 1024, 2048];
const CLUSTER_SIZES = [5, 10, 50];

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mops = (opsPerS: number): string => (opsPerS / 1e6).toFixed(2);
const cpuNowMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Sink so that the optimiser cannot drop the work being measured. */
let sink = 0;

/**
 * Runs `batch` (which does `opsPerBatch` operations) until RUN_CPU_MS of CPU time passed, REPS
 * times after a warm-up; returns the median ops/s in CPU time and in wall time.
 */
function measure(opsPerBatch: number, batch: () => number): { cpu: number; wall: number } {
  const warmupEnd = cpuNowMs() + RUN_CPU_MS;
  while (cpuNowMs() < warmupEnd) sink ^= batch();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const cpu0 = cpuNowMs();
    const wall0 = performance.now();
    let ops = 0;
    do {
      sink ^= batch();
      ops += opsPerBatch;
    } while (cpuNowMs() - cpu0 < RUN_CPU_MS);
    cpu.push(ops / ((cpuNowMs() - cpu0) / 1000));
    wall.push(ops / ((performance.now() - wall0) / 1000));
  }
  return { cpu: median(cpu), wall: median(wall) };
}

/** 65,536 keys shaped like "user:123456" (11 bytes). */
function userKeys(): string[] {
  const random = new SeededRandom(1);
  return Array.from({ length: 1 << 16 }, () => `user:${100000 + random.int(900000)}`);
}

/**
 * 4,096 keys of exactly `length` characters, ASCII (or with 'é', 2 UTF-8 bytes). Flat strings
 * decoded from bytes, as keys arriving from the wire are (a sliced or concatenated string is far
 * slower to read character by character, which would mislead the comparison), and few enough to
 * stay in cache, as a key just decoded is: this measures the hash, not the memory.
 */
function keysOfLength(length: number, nonAscii = false): string[] {
  const random = new SeededRandom(length);
  return Array.from({ length: 1 << 12 }, () => {
    let key = nonAscii ? `clé:${random.int(1e9)}:` : `tenant/${random.int(1e9)}/`;
    while (key.length < length) key += nonAscii ? 'é' : String.fromCharCode(97 + random.int(26));
    return Buffer.from(key.slice(0, length)).toString('utf8');
  });
}

function hashBatch(keys: readonly string[], token: (key: string) => number): () => number {
  return () => {
    let acc = 0;
    for (let i = 0; i < keys.length; i++) acc = (acc + token(keys[i]!)) | 0;
    return acc;
  };
}

async function benchHashing(): Promise<void> {
  const wasm = await xxhash();
  const product = await createKeyHasher();
  const h32Wasm = wasm.h32;
  const h64Wasm = wasm.h64;
  const low32 = 0xffff_ffffn;
  console.log('\n### Key hashing (M tokens/s, CPU time; wall time in brackets)\n');
  console.log('| key | bytes | TS xxh32 | wasm h32 | wasm h64 → low 32 bits | product hasher |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const cases: { name: string; keys: string[] }[] = [
    { name: '"user:123456"', keys: userKeys().slice(0, 1 << 12) },
    { name: 'ascii 16', keys: keysOfLength(16) },
    { name: 'ascii 24', keys: keysOfLength(24) },
    { name: 'ascii 32', keys: keysOfLength(32) },
    { name: 'ascii 40', keys: keysOfLength(40) },
    { name: 'ascii 64', keys: keysOfLength(64) },
    { name: 'ascii 128', keys: keysOfLength(128) },
    { name: 'utf-8 20 chars', keys: keysOfLength(20, true) },
  ];
  for (const { name, keys } of cases) {
    const bytes = Buffer.byteLength(keys[0]!);
    const n = keys.length;
    const ts = measure(n, hashBatch(keys, (k) => xxh32(k)));
    const w32 = measure(n, hashBatch(keys, (k) => h32Wasm(k)));
    const w64 = measure(n, hashBatch(keys, (k) => Number(h64Wasm(k) & low32)));
    const prod = measure(n, hashBatch(keys, (k) => product.token(k)));
    const cell = (m: { cpu: number; wall: number }): string => `${mops(m.cpu)} (${mops(m.wall)})`;
    console.log(`| ${name} | ${bytes} | ${cell(ts)} | ${cell(w32)} | ${cell(w64)} | ${cell(prod)} |`);
  }
}

function benchLookups(hasher: KeyHasher): void {
  const keys = userKeys();
  const n = keys.length;
  console.log(`\n### Lookups on "user:123456" keys (M lookups/s, CPU time; wall time in brackets; ${DEFAULT_VNODES_PER_NODE} vnodes per node)\n`);
  console.log('| nodes | build ms (first / rebuild) | owner | preference list N=3 | annotated N=3, all up | annotated N=3, 1 node down |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const size of CLUSTER_SIZES) {
    const ids = Array.from({ length: size }, (_, i) => `node-${i + 1}`);
    const builds: number[] = [];
    const rebuilds: number[] = [];
    let ring = Ring.build(ids, hasher);
    for (let r = 0; r < REPS; r++) {
      // A new hasher object has no memoized vnode tokens: a first build.
      const fresh: KeyHasher = { token: (key) => hasher.token(key) };
      let t0 = performance.now();
      Ring.build(ids, fresh);
      builds.push(performance.now() - t0);
      t0 = performance.now();
      ring = Ring.build(ids, hasher);
      rebuilds.push(performance.now() - t0);
    }
    const owner = measure(n, () => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ring.owner(keys[i]!).length;
      return acc;
    });
    const pref = measure(n, () => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ring.preferenceList(keys[i]!, 3).length;
      return acc;
    });
    const allUp = (): boolean => true;
    const annotated = measure(n, () => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ring.annotatedPreferenceList(keys[i]!, 3, allUp).length;
      return acc;
    });
    const oneDown = (id: string): boolean => id !== 'node-2';
    const annotatedDown = measure(n, () => {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ring.annotatedPreferenceList(keys[i]!, 3, oneDown).length;
      return acc;
    });
    const cell = (m: { cpu: number; wall: number }): string => `${mops(m.cpu)} (${mops(m.wall)})`;
    console.log(`| ${size} | ${median(builds).toFixed(1)} / ${median(rebuilds).toFixed(1)} | ${cell(owner)} | ${cell(pref)} | ${cell(annotated)} | ${cell(annotatedDown)} |`);
  }
}

/** Node-id set number `set` of `size` nodes, plus the id of a node that would join it. */
function idSet(set: number, size: number): { ids: string[]; joiner: string } {
  const style = set % 3;
  const random = new SeededRandom(1000 + set);
  const name = (i: number): string => {
    if (style === 0) return `node-${set}-${i + 1}`;
    if (style === 1) return `10.${set}.${Math.floor(i / 200)}.${(i % 200) + 10}:7000`;
    return `ringkv-${random.nextUint32().toString(16).padStart(8, '0')}`;
  };
  const ids = Array.from({ length: size }, (_, i) => name(i));
  return { ids, joiner: name(size) };
}

function benchBalance(hasher: KeyHasher): void {
  console.log(`\n### Balance: largest share / mean share (median over ${ID_SETS} node-id sets; worst in brackets)\n`);
  console.log(`| vnodes per node | ${CLUSTER_SIZES.map((s) => `${s} nodes`).join(' | ')} | first build ms at 50 nodes |`);
  console.log(`|---:|${CLUSTER_SIZES.map(() => '---:').join('|')}|---:|`);
  for (const vnodes of VNODE_COUNTS) {
    const cells: string[] = [];
    let buildMs = 0;
    for (const size of CLUSTER_SIZES) {
      const ratios: number[] = [];
      for (let set = 0; set < ID_SETS; set++) {
        const fresh: KeyHasher = { token: (key) => hasher.token(key) };
        const t0 = performance.now();
        const ring = Ring.build(idSet(set, size).ids, fresh, { vnodesPerNode: vnodes });
        if (size === 50) buildMs += (performance.now() - t0) / ID_SETS;
        const shares = [...ring.ownership().values()];
        ratios.push(Math.max(...shares) * size);
      }
      cells.push(`${median(ratios).toFixed(3)} (${Math.max(...ratios).toFixed(3)})`);
    }
    console.log(`| ${vnodes}${vnodes === DEFAULT_VNODES_PER_NODE ? ' (default)' : ''} | ${cells.join(' | ')} | ${buildMs.toFixed(1)} |`);
  }
}

function benchJoin(hasher: KeyHasher): void {
  const sampleKeys = userKeys();
  console.log(`\n### Keys moved when a node joins (n → n+1), ${DEFAULT_VNODES_PER_NODE} vnodes per node, over the ideal 1/(n+1) (median over ${ID_SETS} node-id sets; worst in brackets)\n`);
  console.log('| n → n+1 | ideal share | moved share (exact) | moved / ideal | sampled moved / ideal | keys that moved elsewhere | replicas moved (N=3) / ideal 3/(n+1) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const size of CLUSTER_SIZES) {
    const ideal = 1 / (size + 1);
    const moved: number[] = [];
    const sampled: number[] = [];
    const replicas: number[] = [];
    let elsewhere = 0;
    for (let set = 0; set < ID_SETS; set++) {
      const { ids, joiner } = idSet(set, size);
      const before = Ring.build(ids, hasher);
      const after = Ring.build([...ids, joiner], hasher);
      // Keys only move to the joiner, so the share that moves is exactly the joiner's share.
      moved.push(after.ownership().get(joiner)!);
      const row = after.ownershipReport(3).rows.find((r) => r.node === joiner)!;
      // Each key whose list now holds the joiner moves one replica to it (and drops its last one).
      replicas.push(row.replicaShare);
      let count = 0;
      for (const key of sampleKeys) {
        const owner = after.owner(key);
        if (owner !== before.owner(key)) {
          count++;
          if (owner !== joiner) elsewhere++;
        }
      }
      sampled.push(count / sampleKeys.length);
    }
    const ratio = (xs: number[]): string => `${(median(xs) / ideal).toFixed(3)} (${(Math.max(...xs) / ideal).toFixed(3)})`;
    console.log(`| ${size} → ${size + 1} | ${ideal.toFixed(4)} | ${median(moved).toFixed(4)} | ${ratio(moved)} | ${ratio(sampled)} | ${elsewhere} | ${(median(replicas) / (3 / (size + 1))).toFixed(3)} (${(Math.max(...replicas) / (3 / (size + 1))).toFixed(3)}) |`);
  }
}

const hasher = await createKeyHasher();
console.log(`## Ring benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown CPU'} ×${os.cpus().length}, load average ${os.loadavg()[0]!.toFixed(1)}`);
console.log(`REPS=${REPS}, RUN_CPU_MS=${RUN_CPU_MS}, ID_SETS=${ID_SETS}; TS hasher sanity: ${typescriptKeyHasher.token('user:123456')} = ${hasher.token('user:123456')}`);
await benchHashing();
benchLookups(hasher);
benchBalance(hasher);
benchJoin(hasher);
console.log(`\n(sink ${sink})`);
