/**
 * The simulator's command line: the replay command it prints on a violation reads back to exactly
 * the configuration that ran, and a seed alone determines every parameter it does not fix.
 */
import { describe, expect, test } from 'vitest';
import { intArg, parseArgs } from '../../simulations/args.js';
import { FLAG_OPTIONS, VALUE_OPTIONS, overridesFrom } from '../../simulations/cli-options.js';
import { configProblems, deriveConfig, replayCommand, seedLine } from '../../simulations/config.js';
import { parseSeeds } from '../../simulations/swarm.js';

/** Splits a shell command line the way sh would for the simple quoting replayCommand uses. */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

describe('sim CLI', () => {
  test('the printed replay command reads back to the same configuration', () => {
    // Shows that a failing seed's replay line runs exactly the failing simulation (every derived parameter is in it).
    for (let seed = 1; seed <= 40; seed++) {
      const config = deriveConfig(seed);
      expect(configProblems(config)).toEqual([]);
      const words = shellWords(replayCommand(config));
      expect(words.slice(0, 4)).toEqual(['npm', 'run', 'sim', '--']);
      const args = parseArgs(words.slice(4), VALUE_OPTIONS, FLAG_OPTIONS);
      expect(deriveConfig(intArg(args, 'seed') ?? -1, overridesFrom(args))).toEqual(config);
    }
  });

  test('a given option fixes that parameter only; the SEED line names them all', () => {
    // Shows derived parameters come from independent streams: fixing the scenario changes nothing else.
    const free = deriveConfig(42);
    const fixed = deriveConfig(42, { scenario: free.scenario === 'bridge' ? 'pause' : 'bridge' });
    expect({ ...fixed, scenario: free.scenario }).toEqual(free);
    const line = seedLine(deriveConfig(42, overridesFrom(parseArgs(['--scenario', 'partition-halves', '--nodes', '5', '--duration', '120s'], VALUE_OPTIONS, FLAG_OPTIONS))));
    expect(line).toMatch(/^SEED=42 scenario=partition-halves workload=\S+ nodes=5 duration=2m n=3 r=\d w=\d latency=\S+ link-spread=\S+ fsync=\S+ clients=\d+ ops=\d+\/s$/);
    expect(parseSeeds('1-3,7')).toEqual([1, 2, 3, 7]);
    expect(() => overridesFrom(parseArgs(['--workload', 'nope'], VALUE_OPTIONS, FLAG_OPTIONS))).toThrow(/unknown workload/);
  });
});
