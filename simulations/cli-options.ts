/**
 * The simulator CLI's options, and how they become configuration overrides. Kept apart from cli.ts
 * (which runs on import) so a test can check that a printed replay command reads back to exactly
 * the configuration that produced it.
 */
import { ArgError, intArg, numberArg, type ParsedArgs } from './args.js';
import { parseDuration, type ConfigOverrides } from './config.js';
import { WIRE_MODES, type WireMode } from './world/network.js';
import { WORKLOAD_NAMES, isWorkloadName } from './workloads/index.js';

export const VALUE_OPTIONS = [
  'seed', 'seeds', 'scenario', 'workload', 'nodes', 'duration', 'n', 'r', 'w', 'latency', 'link-spread', 'fsync', 'fsync-interval',
  'clients', 'ops', 'trace', 'log-level', 'jobs', 'generation', 'clock', 'wire',
] as const;
export const FLAG_OPTIONS = ['list', 'real', 'help', 'quiet'] as const;

/** How frames travel (--wire): the same run either way, 'cbor' puts the real frame codec in the loop. */
export function wireFrom(args: ParsedArgs): WireMode {
  const wire = args.values.get('wire') ?? 'copy';
  if (!(WIRE_MODES as readonly string[]).includes(wire)) throw new ArgError(`--wire is one of ${WIRE_MODES.join(', ')}`);
  return wire as WireMode;
}

/** The configuration parameters the command line fixes (the others derive from the seed). */
export function overridesFrom(args: ParsedArgs): ConfigOverrides {
  const workload = args.values.get('workload');
  if (workload !== undefined && !isWorkloadName(workload)) throw new ArgError(`unknown workload ${workload}; choose one of ${WORKLOAD_NAMES.join(', ')}`);
  const fsync = args.values.get('fsync');
  if (fsync !== undefined && fsync !== 'interval' && fsync !== 'always') throw new ArgError('--fsync is interval or always');
  const generation = args.values.get('generation');
  if (generation !== undefined && generation !== 'incarnation' && generation !== 'clock' && generation !== 'persisted') {
    throw new ArgError('--generation is incarnation, clock or persisted');
  }
  const clock = args.values.get('clock');
  if (clock !== undefined && clock !== 'monotonic' && clock !== 'wall') throw new ArgError('--clock is monotonic or wall');
  const duration = args.values.get('duration');
  const fsyncInterval = args.values.get('fsync-interval');
  const o: Record<string, unknown> = {
    scenario: args.values.get('scenario'),
    workload,
    nodes: intArg(args, 'nodes'),
    durationMs: duration === undefined ? undefined : parseDuration(duration),
    nVal: intArg(args, 'n'),
    r: intArg(args, 'r'),
    w: intArg(args, 'w'),
    latency: args.values.get('latency'),
    linkLatencySpread: numberArg(args, 'link-spread'),
    fsync,
    fsyncIntervalMs: fsyncInterval === undefined ? undefined : parseDuration(fsyncInterval.endsWith('s') ? fsyncInterval : `${fsyncInterval}ms`),
    clients: intArg(args, 'clients'),
    opsPerSecond: numberArg(args, 'ops'),
    generation,
    clock,
  };
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o as ConfigOverrides;
}
