/**
 * Staleness (PBS) mode: `npm run sim:staleness -- --model LNKD-DISK --n 3 --r 1 --w 1`.
 * Prints P(a read t ms after commit returns the write) for a grid of t, the t at which it reaches
 * 99.9%, and write/read latency percentiles; writes an SVG plot (--out, default
 * staleness-<model>-N<n>R<r>W<w>.svg). `--rw 1,1:2,1:1,2` measures several (R, W) pairs into one plot.
 */
import { writeFileSync } from 'node:fs';
import { ArgError, intArg, numberArg, parseArgs } from './args.js';
import { measureStaleness, type StalenessResult } from './staleness/pbs.js';
import { stalenessSvg } from './staleness/svg.js';
import { WARS_MODELS, warsModel } from './staleness/wars.js';

function table(result: StalenessResult): string {
  const lines = [`${'t (ms)'.padStart(10)} ${'reads'.padStart(8)} ${'P(consistent)'.padStart(14)}`];
  for (const p of result.points) {
    lines.push(`${String(Number(p.tMs.toPrecision(4))).padStart(10)} ${String(p.reads).padStart(8)} ${`${(p.probability * 100).toFixed(3)}%`.padStart(14)}`);
  }
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, ['model', 'n', 'r', 'w', 'rw', 'trials', 'seed', 'out', 'target', 'coordinators'], ['help', 'list']);
  if (args.flags.has('help') || args.flags.has('list')) {
    console.log('usage: npm run sim:staleness -- --model LNKD-SSD|LNKD-DISK|YMMR [--n 3] [--r 1] [--w 1] [--rw 1,1:2,1] [--trials 10000] [--seed 1] [--target 0.999] [--out file.svg]');
    for (const m of WARS_MODELS) console.log(`  ${m.name.padEnd(10)} ${m.description}`);
    return 0;
  }
  const modelName = args.values.get('model') ?? 'LNKD-SSD';
  const model = warsModel(modelName);
  if (model === undefined) throw new ArgError(`unknown model ${modelName}; choose one of ${WARS_MODELS.map((m) => m.name).join(', ')}`);
  const n = intArg(args, 'n') ?? 3;
  const pairs: Array<[number, number]> = args.values.get('rw')?.split(':').map((pair) => {
    const [r, w] = pair.split(',').map(Number);
    if (!Number.isInteger(r) || !Number.isInteger(w)) throw new ArgError(`--rw wants pairs like 1,1:2,1, got ${JSON.stringify(pair)}`);
    return [r as number, w as number];
  }) ?? [[intArg(args, 'r') ?? 1, intArg(args, 'w') ?? 1]];
  for (const [r, w] of pairs) {
    if (r < 1 || r > n || w < 1 || w > n) throw new ArgError(`R and W must be in 1..N (N=${n}), got R=${r} W=${w}`);
  }
  const trials = intArg(args, 'trials') ?? 10_000;
  const target = numberArg(args, 'target') ?? 0.999;
  const results: StalenessResult[] = [];
  console.log(`model ${model.name}: ${model.description}`);
  for (const [r, w] of pairs) {
    const started = performance.now();
    const result = await measureStaleness({
      model, n, r, w, trials, targetProbability: target, seed: intArg(args, 'seed') ?? 1, coordinators: intArg(args, 'coordinators'),
    });
    results.push(result);
    console.log(`\n${model.name} N=${n} R=${r} W=${w}, ${trials} writes, one key each, coordinators not replicas, no read repair`);
    console.log(table(result));
    console.log(`t at ${(target * 100).toFixed(1)}%: ${result.tAtTargetMs === undefined ? `not reached by ${result.points.at(-1)?.tMs} ms` : `${Number(result.tAtTargetMs.toPrecision(4))} ms`}`);
    console.log(`write latency p50/p99/p99.9 ${result.writeLatencyMs.p50.toFixed(2)}/${result.writeLatencyMs.p99.toFixed(2)}/${result.writeLatencyMs.p999.toFixed(2)} ms; ` +
      `read latency ${result.readLatencyMs.p50.toFixed(2)}/${result.readLatencyMs.p99.toFixed(2)}/${result.readLatencyMs.p999.toFixed(2)} ms`);
    console.log(`${result.simulatedReads} reads through the coordinator, ${result.settledReads} after the write had reached every replica; ` +
      `${result.events} events in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const out = args.values.get('out') ?? `staleness-${model.name}-N${n}${pairs.map(([r, w]) => `R${r}W${w}`).join('-')}.svg`;
  writeFileSync(out, stalenessSvg(results, `PBS staleness, ${model.name}, N=${n}`));
  console.log(`\nplot written to ${out}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof ArgError ? `sim:staleness: ${err.message}` : err);
    process.exitCode = err instanceof ArgError ? 2 : 3;
  },
);
