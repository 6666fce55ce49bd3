/**
 * Where the simulator benchmark's time and allocations go (`npm run profile:sim`), so the shares
 * quoted in BENCHMARKS.md come from a command in the repository:
 *
 *   npm run profile:sim -- cpu   [--top 40] [bench.js options]   CPU profile: self and inclusive share per function
 *   npm run profile:sim -- alloc [--top 40] [bench.js options]   bytes allocated per function (sampling heap
 *                                                                profiler, objects already collected included)
 *
 * `cpu` runs bench.js in a child process under `--cpu-prof`; `alloc` runs it in this process under
 * the inspector's sampling heap profiler. Both print the bench's own lines first. Both cover all of
 * the bench's runs (default 6, so mostly warm code); `--runs 1` profiles the cold run alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface CpuNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly CpuNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}
interface HeapNode {
  readonly callFrame: CallFrame;
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

const here = dirname(fileURLToPath(import.meta.url));
const bench = join(here, 'bench.js');

function frameName(frame: CallFrame): string {
  const where = frame.url.replace(/.*\/(dist|node_modules)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${where}${where ? `:${frame.lineNumber + 1}` : ''}`;
}

function percent(part: number, total: number): string {
  return `${(100 * part / total).toFixed(1).padStart(5)}%`;
}

/** Self and inclusive time per function (a function counted once per sample however deep it recurses). */
function summariseCpu(profile: CpuProfile, top: number): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfById = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfById.set(id, (selfById.get(id) ?? 0) + dt);
    total += dt;
  });
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, t] of selfById) {
    const own = frameName(byId.get(id)!.callFrame);
    self.set(own, (self.get(own) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = frameName(byId.get(cur)!.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + t);
    }
  }
  console.log(`\nself time (${(total / 1000).toFixed(0)} ms profiled)`);
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${percent(t, total)}  ${name}`);
  console.log('\ninclusive time');
  for (const [name, t] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${percent(t, total)}  ${name}`);
}

function summariseAlloc(root: HeapNode, top: number): void {
  const self = new Map<string, number>();
  let total = 0;
  const walk = (node: HeapNode): void => {
    const name = frameName(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const child of node.children) walk(child);
  };
  walk(root);
  console.log(`\nallocated (sampled): ${(total / 1e6).toFixed(1)} MB`);
  for (const [name, bytes] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${percent(bytes, total)} ${(bytes / 1e6).toFixed(1).padStart(6)} MB  ${name}`);
  }
}

const [mode, ...rest] = process.argv.slice(2);
let top = 40;
const benchArgs: string[] = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--top') top = Number(rest[++i]);
  else benchArgs.push(rest[i]!);
}
if ((mode !== 'cpu' && mode !== 'alloc') || !Number.isInteger(top) || top < 1) {
  console.error('usage: npm run profile:sim -- cpu|alloc [--top N] [bench.js options]');
  process.exit(2);
}

if (mode === 'cpu') {
  const dir = mkdtempSync(join(tmpdir(), 'ringkv-profile-'));
  try {
    const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, bench, ...benchArgs], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('node wrote no CPU profile');
    summariseCpu(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, top);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
  });
  // bench.js reads its options from process.argv.
  process.argv = [process.argv[0]!, bench, ...benchArgs];
  await import('./bench.js');
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  summariseAlloc(profile.head as unknown as HeapNode, top);
}
