/**
 * `npm run bench:cluster`: redis-benchmark against (a) redis-server, (b) one ringkv node with N=1,
 * (c) a 3-node ringkv ring with N=3 R=2 W=2 — all in one run, side by side, so the ratios hold on
 * a noisy shared machine — and (d) the Node.js floor (test/bench/resp-floor.ts: a Node TCP server
 * that only counts commands and answers +OK; what Node's socket path alone costs). Installs
 * redis-tools / redis-server when missing (Debian, as root).
 *
 *   npm run bench:cluster -- [--reps 3] [--requests 200000] [--clients 50] [--targets redis,floor,single,ring]
 *                            [--floor-work 1,2,4,8]
 *
 * `--floor-work` adds one floor target per figure, each burning that many µs of CPU per command
 * before it answers, and prints the work budget: how many µs per request above the floor a server
 * may spend and still reach each target ratio (linear interpolation between the measured points),
 * next to what ringkv's single node spends above the floor (its CPU per request minus the floor's).
 *
 * Prints a markdown table: req/s, p50 and p99 per target, mode (plain, -P 16) and test (SET, GET),
 * each figure also as a ratio of redis-server's, and the servers' CPU time per request (user +
 * system, from /proc, summed over a ring's processes): the figure least disturbed by other load on
 * the machine. Medians over the repetitions.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/cluster.js';
import { median } from '../../simulations/stats.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./resp-floor.js', import.meta.url));

interface Args {
  reps: number;
  requests: number;
  clients: number;
  targets: string[];
  /** µs of CPU per command for the extra floor targets. */
  floorWork: number[];
  keyspace: number;
  dataBytes: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { reps: 3, requests: 200_000, clients: 50, targets: ['redis', 'floor', 'single', 'ring'], floorWork: [], keyspace: 100_000, dataBytes: 100 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = argv[i + 1] ?? '';
    switch (argv[i]) {
      case '--reps': a.reps = Number(v); break;
      case '--requests': a.requests = Number(v); break;
      case '--clients': a.clients = Number(v); break;
      case '--targets': a.targets = v.split(','); break;
      case '--floor-work':
        a.floorWork = v.split(',').map(Number);
        if (a.floorWork.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error('--floor-work takes positive µs values, e.g. 1,2,4,8');
        break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return a;
}

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ensureRedis(): void {
  if (have('redis-benchmark') && have('redis-server')) return;
  process.stderr.write('installing redis-server and redis-tools (apt-get)…\n');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  execFileSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'update', '-qq'], { stdio: 'inherit' });
  execFileSync(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', 'redis-server', 'redis-tools'], { stdio: 'inherit' });
}

const children: ChildProcess[] = [];

function stopAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
}
process.on('exit', stopAll);
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

/** Server processes per target, for CPU accounting. */
const pidsOf = new Map<string, number[]>();

/** CPU time (user + system) of `pids` so far, in microseconds. */
function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    // /proc/<pid>/stat: fields 14 and 15 are utime and stime; the command name (field 2) may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / CLOCK_TICKS;
}

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

async function startFloor(port: number, target: string, workUs: number): Promise<void> {
  const child = spawn(process.execPath, [FLOOR, String(port), String(workUs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  pidsOf.set(target, [child.pid!]);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`resp-floor exited (${code})`)));
  });
}

async function startRedis(port: number): Promise<void> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  pidsOf.set('redis', [child.pid!]);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
}

async function startRingkv(nodes: number, nVal: number, r: number, w: number, dataRoot: string): Promise<number> {
  const ports = await Promise.all(Array.from({ length: nodes }, () => freePort()));
  const respPort = await freePort();
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  const pids: number[] = [];
  pidsOf.set(nodes === 1 ? 'single' : 'ring', pids);
  await Promise.all(ports.map(async (port, i) => {
    const args = [CLI, 'start', '--id', `b${i + 1}`, '--port', String(port), '--seeds', addresses.filter((_, j) => j !== i).join(','),
      '--data-dir', path.join(dataRoot, `b${i + 1}`), '--n-val', String(nVal), '--r', String(r), '--w', String(w),
      '--log-format', 'json', '--log-level', 'warn', ...(i === 0 ? ['--resp-port', String(respPort)] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    pids.push(child.pid!);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`ringkv node exited (${code})`)));
      // With --log-level warn there is no "node started" line: poll /health instead.
      const poll = (): void => {
        fetch(`http://127.0.0.1:${port}/health`).then((res) => (res.ok ? resolve() : setTimeout(poll, 100)), () => setTimeout(poll, 100));
      };
      poll();
    });
  }));
  // Wait until every node sees the whole ring, so the first requests do not meet a partial ring.
  for (;;) {
    const views = await Promise.all(ports.map(async (p) => ((await (await fetch(`http://127.0.0.1:${p}/cluster/ring`)).json()) as { nodes: number }).nodes));
    if (views.every((n) => n === nodes)) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return respPort;
}

interface Row {
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU time per request, µs. */
  cpuUs: number;
}

/** One redis-benchmark run per test, so each test's server CPU time is its own. */
function runBenchmark(port: number, pids: readonly number[], a: Args, pipeline: number): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (const test of ['set', 'get']) {
    const cpuBefore = cpuMicros(pids);
    const out = execFileSync('redis-benchmark', [
      '-h', '127.0.0.1', '-p', String(port), '-c', String(a.clients), '-t', test, '-r', String(a.keyspace),
      '-d', String(a.dataBytes), '-n', String(a.requests), '-P', String(pipeline), '--csv',
    ], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    const cpuUs = (cpuMicros(pids) - cpuBefore) / a.requests;
    for (const line of out.split('\n')) {
      const cells = line.split(',').map((c) => c.replace(/"/g, ''));
      if (cells[0] !== 'SET' && cells[0] !== 'GET') continue;
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      rows.set(cells[0], { rps: Number(cells[1]), p50: Number(cells[4]), p99: Number(cells[6]), cpuUs });
    }
  }
  return rows;
}

/** Issue #4's targets: a ringkv target, a mode (pipeline depth) and a ratio of redis-server's req/s. */
const RATIO_TARGETS = [
  { target: 'single', pipeline: 1, ratio: 0.6 },
  { target: 'single', pipeline: 16, ratio: 0.3 },
  { target: 'ring', pipeline: 1, ratio: 0.65 },
] as const;

/**
 * The work budget per mode and test: the µs of CPU per command above the floor at which the
 * floor's ratio to redis-server falls to the target (linear between measured points; "< min" or
 * "> max" outside them), next to the ringkv target's CPU per request (all its processes) above the
 * floor's.
 */
function budgetLines(a: Args, med: (key: string) => Row | undefined): string[] {
  const lines = [
    '| ringkv | mode | test | target | floor ratio at +0 / ' + a.floorWork.map((w) => `+${w}`).join(' / ') + ' µs | budget above floor | ringkv CPU above floor |',
    '| --- | --- | --- | ---: | --- | ---: | ---: |',
  ];
  for (const { target: ringkv, pipeline, ratio: target } of RATIO_TARGETS) {
    for (const test of ['SET', 'GET']) {
      const base = med(`redis|${pipeline}|${test}`);
      const floor = med(`floor|${pipeline}|${test}`);
      if (base === undefined || floor === undefined) continue;
      const points = [0, ...a.floorWork].map((w) => {
        const row = med(`${w === 0 ? 'floor' : `floor+${w}`}|${pipeline}|${test}`);
        return { w, ratio: row === undefined ? Number.NaN : row.rps / base.rps };
      });
      let budget = points[0]!.ratio < target ? `< 0 (floor ${points[0]!.ratio.toFixed(2)}x)` : `> ${points.at(-1)!.w} µs`;
      for (let i = 1; i < points.length; i++) {
        const lo = points[i - 1]!;
        const hi = points[i]!;
        if (lo.ratio >= target && hi.ratio < target) {
          budget = `${(lo.w + ((lo.ratio - target) * (hi.w - lo.w)) / (lo.ratio - hi.ratio)).toFixed(1)} µs`;
          break;
        }
      }
      const measured = med(`${ringkv}|${pipeline}|${test}`);
      const above = measured === undefined ? '-' : `${(measured.cpuUs - floor.cpuUs).toFixed(1)} µs`;
      lines.push(`| ${ringkv === 'single' ? '1 node' : '3 nodes'} | ${pipeline === 1 ? 'plain' : '-P 16'} | ${test} | ${target}x | ${points.map((p) => `${p.ratio.toFixed(2)}x`).join(' / ')} | ${budget} | ${above} |`);
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  ensureRedis();
  const dataRoot = mkdtempSync(path.join(tmpdir(), 'ringkv-bench-'));
  const ports = new Map<string, number>();
  try {
    if (a.targets.includes('redis')) {
      const port = await freePort();
      await startRedis(port);
      ports.set('redis', port);
    }
    if (a.targets.includes('floor')) {
      for (const workUs of [0, ...a.floorWork]) {
        const target = workUs === 0 ? 'floor' : `floor+${workUs}`;
        const port = await freePort();
        await startFloor(port, target, workUs);
        ports.set(target, port);
      }
    }
    if (a.targets.includes('single')) ports.set('single', await startRingkv(1, 1, 1, 1, path.join(dataRoot, 'single')));
    if (a.targets.includes('ring')) ports.set('ring', await startRingkv(3, 3, 2, 2, path.join(dataRoot, 'ring')));

    const samples = new Map<string, Row[]>();
    for (let rep = 0; rep < a.reps; rep++) {
      // Interleave targets within each repetition so machine noise hits them alike.
      for (const pipeline of [1, 16]) {
        for (const [target, port] of ports) {
          process.stderr.write(`rep ${rep + 1}/${a.reps}: ${target} -P ${pipeline}…\n`);
          for (const [test, row] of runBenchmark(port, pidsOf.get(target) ?? [], a, pipeline)) {
            const key = `${target}|${pipeline}|${test}`;
            samples.set(key, [...(samples.get(key) ?? []), row]);
          }
        }
      }
    }
    const med = (key: string): Row | undefined => {
      const rows = samples.get(key);
      if (!rows) return undefined;
      return {
        rps: median(rows.map((r) => r.rps)), p50: median(rows.map((r) => r.p50)), p99: median(rows.map((r) => r.p99)), cpuUs: median(rows.map((r) => r.cpuUs)),
      };
    };
    const labels: Record<string, string> = {
      redis: 'redis-server', floor: 'Node.js floor (count, +OK)', single: 'ringkv 1 node, N=1', ring: 'ringkv 3 nodes, N=3 R=2 W=2',
    };
    for (const workUs of a.floorWork) labels[`floor+${workUs}`] = `Node.js floor + ${workUs} µs work/cmd`;
    const lines = [
      `redis-benchmark -c ${a.clients} -t set,get -r ${a.keyspace} -d ${a.dataBytes} -n ${a.requests}; medians of ${a.reps} runs; ${new Date().toISOString().slice(0, 10)}`,
      '',
      '| target | mode | test | req/s | vs redis | p50 ms | p99 ms | server CPU µs/req |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ];
    for (const pipeline of [1, 16]) {
      for (const test of ['SET', 'GET']) {
        const base = med(`redis|${pipeline}|${test}`);
        for (const target of ports.keys()) {
          const row = med(`${target}|${pipeline}|${test}`);
          if (!row) continue;
          const ratio = base && target !== 'redis' ? `${(row.rps / base.rps).toFixed(2)}x` : '';
          lines.push(`| ${labels[target]} | ${pipeline === 1 ? 'plain' : '-P 16'} | ${test} | ${Math.round(row.rps)} | ${ratio} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ${row.cpuUs.toFixed(1)} |`);
        }
      }
    }
    if (a.floorWork.length > 0 && a.targets.includes('redis') && a.targets.includes('floor')) lines.push('', ...budgetLines(a, med));
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    stopAll();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  stopAll();
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
