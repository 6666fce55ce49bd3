/**
 * `npm run bench:gossip`: 10 real node processes on 127.0.0.1.
 *
 *   1. Convergence: from the moment the last process is up ("node started" logged), how long until
 *      every node sees all 10 alive (target ≤ 0.5 s).
 *   2. Failure detection: kill -9 one node; how long until every survivor marks it dead
 *      (target ≤ 3 s at default settings).
 *
 *   npm run bench:gossip -- [--nodes 10] [--reps 5] [--method logs|poll] [--trace]
 *
 * Method `logs` (the default) reads the times from the nodes themselves, so the measurement puts
 * no load on the machine it measures: every node logs (pino JSON, `time` in ms of the machine's
 * clock, the observing node in `node`) each change of its view, "membership started" (its own
 * state), "member joined" (a new member and its state), "member state changed" (from, to),
 * "member restarted". Replaying those lines gives, for every (observer, member) pair, the state
 * the observer holds and the time it entered it. Log lines are followed as they arrive (no
 * polling); once every pair is alive, one pass over HTTP (/cluster/members on every node) confirms
 * it, and the figure is
 *
 *     convergence = max over pairs of (time the pair last became alive) − max over nodes of ("node started" time)
 *
 * i.e. from the moment the last process is up to the moment the last node saw the last member
 * alive. A pair that flapped (alive, suspect, alive) counts from its last change to alive. When
 * every pair is alive before the last "node started" line, the figure is negative or zero.
 * Detection is the same with "dead": from just before the kill -9 (bench clock, same machine
 * clock) to the time the last survivor logged the victim dead, confirmed over HTTP afterwards.
 *
 * Method `poll` is the earlier one, kept for comparison: /cluster/members on every node every 10 ms
 * from the moment TestCluster.start returns. Its figures carry polling granularity and HTTP time,
 * and its ten requests per 10 ms load the same cores the nodes run on.
 *
 * `--trace` prints, per repetition, the pairs that converged last and each node's start time.
 * Medians, min and max over the repetitions.
 */
import { TestCluster } from '../helpers/cluster.js';
import { median } from '../../simulations/stats.js';

type Method = 'logs' | 'poll';

interface Args {
  nodes: number;
  reps: number;
  method: Method;
  trace: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { nodes: 10, reps: 5, method: 'logs', trace: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--trace') {
      a.trace = true;
      continue;
    }
    const value = argv[++i];
    if (flag === '--nodes') a.nodes = Number(value);
    else if (flag === '--reps') a.reps = Number(value);
    else if (flag === '--method' && (value === 'logs' || value === 'poll')) a.method = value;
    else throw new Error(`unknown option ${flag} ${value ?? ''}`);
  }
  return a;
}

// -------------------------------------------------------------------------------------------------
// Method `logs`

interface PairState {
  readonly state: string;
  readonly sinceMs: number;
}

/** Every node's view of every member, rebuilt from the nodes' membership log lines. */
class LogViews {
  private readonly views = new Map<string, Map<string, PairState>>();
  private readonly waiters = new Set<() => void>();
  /** Time each node logged "node started". */
  readonly startedAtMs = new Map<string, number>();
  /** Times a pair went from alive to another state. */
  flaps = 0;

  constructor(private readonly ids: readonly string[]) {
    for (const id of ids) this.views.set(id, new Map());
  }

  /** Feeds one log line of node `observer`. */
  apply(observer: string, entry: Record<string, unknown>): void {
    const time = entry.time;
    if (typeof time !== 'number') return;
    if (entry.msg === 'node started') {
      this.startedAtMs.set(observer, time);
      return;
    }
    if (entry.component !== 'membership') return;
    let member: unknown;
    let state: unknown;
    switch (entry.msg) {
      case 'membership started':
        member = observer;
        state = entry.state;
        break;
      case 'member joined':
      case 'member restarted':
      case 'left member rejoined':
        member = entry.id;
        state = entry.state;
        break;
      case 'member state changed':
        member = entry.id;
        state = entry.to;
        break;
      default:
        return;
    }
    if (typeof member !== 'string' || typeof state !== 'string') return;
    const view = this.views.get(observer);
    if (view === undefined) return;
    if (view.get(member)?.state === 'alive' && state !== 'alive') this.flaps++;
    view.set(member, { state, sinceMs: time });
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Latest time any pair (observer in `observers`, member in `members`) entered `state`; undefined unless all are in it. */
  allIn(observers: readonly string[], members: readonly string[], state: string): { atMs: number; observer: string; member: string } | undefined {
    let last: { atMs: number; observer: string; member: string } | undefined;
    for (const observer of observers) {
      for (const member of members) {
        const pair = this.views.get(observer)?.get(member);
        if (pair?.state !== state) return undefined;
        if (last === undefined || pair.sinceMs > last.atMs) last = { atMs: pair.sinceMs, observer, member };
      }
    }
    return last;
  }

  /** The `count` pairs that entered `state` last. */
  lastPairs(state: string, count: number): string[] {
    const pairs: Array<{ atMs: number; label: string }> = [];
    for (const [observer, view] of this.views) {
      for (const [member, pair] of view) if (pair.state === state) pairs.push({ atMs: pair.sinceMs, label: `${observer} saw ${member}` });
    }
    pairs.sort((x, y) => y.atMs - x.atMs);
    return pairs.slice(0, count).map((p) => `${p.label} at ${p.atMs}`);
  }

  lastStartedAtMs(): number {
    assert(this.startedAtMs.size === this.ids.length, 'every node logged "node started"');
    return Math.max(...this.startedAtMs.values());
  }

  /** Resolves once `predicate` holds after some log line (or now); rejects after `timeoutMs`. */
  until<T>(what: string, predicate: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = predicate();
        if (value === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${what}: not reached within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`bench assertion failed: ${message}`);
}

/** One pass over HTTP: every observer reports every member in `state`. */
async function confirmOverHttp(cluster: TestCluster, observers: readonly string[], members: readonly string[], state: string): Promise<void> {
  const views = await Promise.all(observers.map(async (id) => ({ id, members: await cluster.members(id) })));
  for (const view of views) {
    for (const member of members) {
      const seen = view.members.find((m) => m.id === member)?.state;
      assert(seen === state, `HTTP confirmation: ${view.id} reports ${member} ${seen ?? 'unknown'}, the logs said ${state}`);
    }
  }
}

interface RepResult {
  convergeMs: number;
  detectMs: number;
  note: string;
}

async function repByLogs(cluster: TestCluster, ids: readonly string[], trace: boolean): Promise<RepResult> {
  const views = new LogViews(ids);
  for (const [id, node] of cluster.procs) for (const entry of node.logs) views.apply(id, entry);
  const unsubscribe = cluster.onLog((id, entry) => views.apply(id, entry));
  try {
    const lastStartedAtMs = views.lastStartedAtMs();
    const firstStartedAtMs = Math.min(...views.startedAtMs.values());
    await views.until('all alive everywhere', () => views.allIn(ids, ids, 'alive'), 30_000);
    await confirmOverHttp(cluster, ids, ids, 'alive');
    // Recomputed after the confirmation: a pair that flapped in between counts from its last change.
    const converged = views.allIn(ids, ids, 'alive');
    assert(converged !== undefined, 'still all alive after the HTTP confirmation');
    const flaps = views.flaps;
    const lines: string[] = [];
    if (trace) {
      const starts = [...views.startedAtMs].sort((x, y) => x[1] - y[1]).map(([id, t]) => `${id}+${t - firstStartedAtMs}`);
      lines.push(`  started (ms after the first): ${starts.join(' ')}`);
      lines.push(`  last to converge: ${views.lastPairs('alive', 4).map((p) => p.replace(/\d+$/, (t) => `${Number(t) - lastStartedAtMs}`)).join('; ')}`);
    }

    const victim = ids[ids.length - 1]!;
    const survivors = ids.slice(0, -1);
    const killedAtMs = Date.now();
    await cluster.kill(victim);
    const dead = await views.until('victim dead everywhere', () => views.allIn(survivors, [victim], 'dead'), 30_000);
    await confirmOverHttp(cluster, survivors, [victim], 'dead');
    return {
      convergeMs: converged.atMs - lastStartedAtMs,
      detectMs: dead.atMs - killedAtMs,
      note: [`starts spread over ${lastStartedAtMs - firstStartedAtMs} ms, alive → other before convergence ${flaps}`, ...lines].join('\n'),
    };
  } finally {
    unsubscribe();
  }
}

// -------------------------------------------------------------------------------------------------
// Method `poll` (the earlier measurement)

async function states(cluster: TestCluster, id: string): Promise<Map<string, string>> {
  const members = await cluster.members(id);
  return new Map(members.map((m) => [m.id, m.state]));
}

async function pollUntil(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function repByPolling(cluster: TestCluster, ids: readonly string[]): Promise<RepResult> {
  const startedAt = Date.now();
  await pollUntil(async () => {
    const views = await Promise.all(ids.map((id) => states(cluster, id)));
    return views.every((v) => ids.every((id) => v.get(id) === 'alive'));
  }, 30_000);
  const convergeMs = Date.now() - startedAt;
  const victim = ids[ids.length - 1]!;
  const survivors = ids.slice(0, -1);
  const killedAt = Date.now();
  await cluster.kill(victim);
  await pollUntil(async () => {
    const views = await Promise.all(survivors.map((id) => states(cluster, id)));
    return views.every((v) => v.get(victim) === 'dead');
  }, 30_000);
  return { convergeMs, detectMs: Date.now() - killedAt, note: '' };
}

// -------------------------------------------------------------------------------------------------

/** TestCluster.start, again when a port it picked was taken before the node bound it (a busy shared machine). */
async function startCluster(nodes: number): Promise<TestCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      // The logs method reads info lines: pin the level whatever the caller's environment says.
      return await TestCluster.start({ nodes, storage: 'memory', env: { RINGKV_LOG_LEVEL: 'info' } });
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
      process.stderr.write('a port picked for a node was taken before it could bind it; starting the ring again\n');
    }
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const converge: number[] = [];
  const detect: number[] = [];
  for (let rep = 0; rep < a.reps; rep++) {
    const cluster = await startCluster(a.nodes);
    try {
      const ids = cluster.specs.map((s) => s.id);
      const result = a.method === 'logs' ? await repByLogs(cluster, ids, a.trace) : await repByPolling(cluster, ids);
      converge.push(result.convergeMs);
      detect.push(result.detectMs);
      process.stderr.write(`rep ${rep + 1}: converged ${result.convergeMs} ms, dead everywhere ${result.detectMs} ms${result.note ? `; ${result.note}` : ''}\n`);
    } finally {
      await cluster.stop();
    }
  }
  const fmt = (xs: number[]): string => `${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
  process.stdout.write([
    `bench:gossip, ${a.nodes} real processes, ${a.reps} repetitions, method ${a.method}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    '| measure | median | target |',
    '| --- | --- | --- |',
    `| all ${a.nodes} see all alive, after the last process started | ${fmt(converge)} | ≤ 500 ms |`,
    `| every survivor marks a kill -9'd node dead | ${fmt(detect)} | ≤ 3000 ms |`,
    '',
  ].join('\n'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
