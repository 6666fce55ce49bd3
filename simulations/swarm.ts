/**
 * A swarm: many seeds, each its own derived configuration (scenario, workload, size, latency, …,
 * unless fixed on the command line), and a summary of what they found and reached. Runs are
 * sequential in one thread or spread over worker threads; either way each seed's run is the same.
 */
import { checkName } from './checks.js';
import { COVERAGE_MARKS, type Coverage } from './coverage.js';
import type { SimRunResult } from './runner.js';

/** What the swarm keeps of one run (plain data, so it crosses worker threads). */
export interface RunSummary {
  readonly seed: number;
  readonly seedLine: string;
  readonly replay: string;
  readonly scenario: string;
  readonly workload: string;
  readonly passed: boolean;
  /** "check: violation" lines. */
  readonly violations: string[];
  readonly coverage: Coverage;
  readonly missedMarks: string[];
  readonly ops: number;
  readonly virtualMs: number;
  readonly wallMs: number;
  readonly traceHash: string;
}

export function summarize(result: SimRunResult): RunSummary {
  return {
    seed: result.config.seed,
    seedLine: result.seedLine,
    replay: result.replay,
    scenario: result.config.scenario,
    workload: result.config.workload,
    passed: result.passed,
    violations: result.checks.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`)),
    coverage: result.coverage,
    missedMarks: result.missedMarks,
    ops: result.facts.ops ?? 0,
    virtualMs: result.virtualMs,
    wallMs: result.wallMs,
    traceHash: result.traceHash,
  };
}

/** Parses "1-1000", "7", or "1,5,9-12" into seeds. */
export function parseSeeds(text: string): number[] {
  const seeds: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`cannot read seeds ${JSON.stringify(text)}: use e.g. 1-1000 or 3,7,10-20`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`seed range ${part} runs backwards`);
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  return seeds;
}

const MARK_TITLES: Record<string, string> = {
  sloppyQuorum: 'sloppy', hintStored: 'hint-st', hintDelivered: 'hint-dl', readRepair: 'repair', siblings: 'sibl', failureDetection: 'fd',
};

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The summary table: per scenario, runs, failures, and the share of runs that reached each coverage mark. */
export function summaryTable(runs: readonly RunSummary[]): string {
  const byScenario = new Map<string, RunSummary[]>();
  for (const run of runs) {
    const list = byScenario.get(run.scenario) ?? [];
    list.push(run);
    byScenario.set(run.scenario, list);
  }
  const header = ['scenario', 'runs', 'failed', ...COVERAGE_MARKS.map((m) => MARK_TITLES[m] ?? m), 'ops', 'sim s', 'wall s'];
  const widths = [20, 6, 7, 8, 8, 8, 8, 8, 8, 9, 9, 8];
  const rows: string[][] = [];
  const add = (name: string, list: readonly RunSummary[]): void => {
    const reached = (mark: keyof Coverage): string => `${Math.round((100 * list.filter((r) => r.coverage[mark] > 0).length) / list.length)}%`;
    rows.push([
      name, String(list.length), String(list.filter((r) => !r.passed).length), ...COVERAGE_MARKS.map((m) => reached(m)),
      String(list.reduce((s, r) => s + r.ops, 0)),
      (list.reduce((s, r) => s + r.virtualMs, 0) / 1000).toFixed(0),
      (list.reduce((s, r) => s + r.wallMs, 0) / 1000).toFixed(1),
    ]);
  };
  for (const name of [...byScenario.keys()].sort()) add(name, byScenario.get(name) ?? []);
  if (runs.length > 0) add('ALL', runs);
  const line = (cells: readonly string[]): string => cells.map((c, i) => pad(c, widths[i] ?? 8, i > 0)).join(' ');
  const out = [line(header), line(header.map((_, i) => '-'.repeat(widths[i] ?? 8))), ...rows.map(line)];
  out.push('', 'coverage columns: share of runs that reached the mark at least once (sloppy quorum write, hint stored, hint delivered, read repair, sibling created, failure detected)');
  const byCheck = new Map<string, number>(Object.values(checkName).map((name) => [name, 0]));
  for (const run of runs) {
    for (const name of new Set(run.violations.map((v) => v.slice(0, v.indexOf(':'))))) byCheck.set(name, (byCheck.get(name) ?? 0) + 1);
  }
  out.push(`runs with violations, by check: ${[...byCheck].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  const failed = runs.filter((r) => !r.passed);
  if (failed.length > 0) {
    out.push('', `${failed.length} failing seeds:`);
    for (const run of failed) {
      out.push(`  ${run.seedLine}`, ...run.violations.slice(0, 3).map((v) => `    ${v}`), `    replay: ${run.replay}`);
    }
  }
  return out.join('\n');
}
