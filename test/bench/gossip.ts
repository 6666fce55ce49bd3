/**
 * `npm run bench:gossip`: 10 real node processes on 127.0.0.1.
 *
 *   1. Convergence: from the moment the last process is up ("node started" logged), how long until
 *      every node sees all 10 alive (target ≤ 0.5 s).
 *   2. Failure detection: kill -9 one node; how long until every survivor marks it dead
 *      (target ≤ 3 s at default settings).
 *
 *   npm run bench:gossip -- [--nodes 10] [--reps 5]
 *
 * Membership is polled over HTTP every 10 ms on each node, so figures carry up to ~10 ms of
 * polling granularity plus HTTP time. Medians over the repetitions.
 */
import { TestCluster } from '../helpers/cluster.js';

interface Args {
  nodes: number;
  reps: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { nodes: 10, reps: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--nodes') a.nodes = v;
    else if (argv[i] === '--reps') a.reps = v;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return a;
}

async function states(cluster: TestCluster, id: string): Promise<Map<string, string>> {
  const members = await cluster.members(id);
  return new Map(members.map((m) => [m.id, m.state]));
}

async function until(predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const converge: number[] = [];
  const detect: number[] = [];
  for (let rep = 0; rep < a.reps; rep++) {
    const cluster = await TestCluster.start({ nodes: a.nodes, storage: 'memory' });
    try {
      const startedAt = Date.now();
      const ids = cluster.specs.map((s) => s.id);
      await until(async () => {
        const views = await Promise.all(ids.map((id) => states(cluster, id)));
        return views.every((v) => ids.every((id) => v.get(id) === 'alive'));
      }, 30_000);
      converge.push(Date.now() - startedAt);

      const victim = ids[ids.length - 1]!;
      const survivors = ids.slice(0, -1);
      const killedAt = Date.now();
      await cluster.kill(victim);
      await until(async () => {
        const views = await Promise.all(survivors.map((id) => states(cluster, id)));
        return views.every((v) => v.get(victim) === 'dead');
      }, 30_000);
      detect.push(Date.now() - killedAt);
      process.stderr.write(`rep ${rep + 1}: converged ${converge.at(-1)} ms, dead everywhere ${detect.at(-1)} ms\n`);
    } finally {
      await cluster.stop();
    }
  }
  const fmt = (xs: number[]): string => `${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
  process.stdout.write([
    `bench:gossip, ${a.nodes} real processes, ${a.reps} repetitions, ${new Date().toISOString().slice(0, 10)}`,
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
