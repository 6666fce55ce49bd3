/**
 * The node's options: one typed object, every field documented with its unit, default and why
 * (DESIGN.md §9). CLI flags (`--kebab-case`) and `RINGKV_SNAKE_CASE` environment variables map onto
 * it; flags win over environment variables, which win over defaults. Defaults are applied here and
 * nowhere else.
 */
import { InvalidConfigError } from './errors.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';
export type StorageKind = 'log' | 'memory';
export type LogFormatOption = 'auto' | 'json' | 'pretty';

export interface NodeOptions {
  /** Node id, unique in the cluster and stable across restarts (it names the node's data). Required. */
  id: string;
  /** Interface the node listens on for HTTP, WebSocket peers and clients. Default 127.0.0.1. */
  host: string;
  /** Port for HTTP, /peer and /client WebSockets. Default 7001. */
  port: number;
  /** Address peers use to reach this node ("host:port"); default `${host}:${port}`. Set it when host is 0.0.0.0. */
  advertiseAddress: string;
  /** Port for the Redis protocol (RESP2); 0 disables it. Default 0 (off): pick one per node, e.g. 6379. */
  respPort: number;
  /** Seed addresses ("host:port") contacted to join. Empty for the first node. */
  seeds: string[];
  /** Cluster name; peers with another name are refused at the handshake. Default "ringkv". */
  clusterName: string;
  /** Data directory (segments, hints, lock). Default ./data/<id>. */
  dataDir: string;
  /** Storage engine: "log" (durable, default) or "memory" (tests; data is lost on exit). */
  storage: StorageKind;
  /** When acknowledged writes reach the disk: "always" (fsync before ack, group commit), "interval" (default, like Redis everysec), "never" (leave it to the OS). */
  fsync: FsyncPolicy;
  /** fsync period for fsync="interval", ms. Default 1000 (Redis everysec): at most ~1 s of acknowledged writes lost on power failure, which replication to N nodes covers. */
  fsyncIntervalMs: number;
  /** Value cache budget, bytes. Default 64 MiB. */
  valueCacheMaxBytes: number;
  /** Replicas per key (N) of the default namespace. Default 3 (Dynamo, Riak). Every node must use the same value. */
  nVal: number;
  /** Default read quorum R. Default 2. */
  r: number;
  /** Default write quorum W. Default 2. */
  w: number;
  /** Default request timeout, ms. Default 5000. */
  requestTimeoutMs: number;
  /** Virtual nodes per physical node. 0 = the ring module's measured default. Every node must use the same value. */
  vnodesPerNode: number;
  /** Gossip period, ms. 0 = the membership module's default. */
  gossipIntervalMs: number;
  /** Largest key, bytes (UTF-8). Default 8 KiB. */
  maxKeyBytes: number;
  /** Largest value, bytes. Default 16 MiB (Riak refuses 50 MB objects; a value must fit a peer frame). */
  maxValueBytes: number;
  /** Minimum log level: trace, debug, info, warn, error, silent. Default info. */
  logLevel: string;
  /** Log format: "auto" (pretty on a terminal, JSON otherwise), "json", "pretty". */
  logFormat: LogFormatOption;
  /** Enables the fault-injection endpoint (/testing/faults) for chaos tests. Never in production. Default false. */
  testingFaults: boolean;
}

export const DEFAULT_NODE_OPTIONS: Omit<NodeOptions, 'id' | 'advertiseAddress' | 'dataDir'> = {
  host: '127.0.0.1',
  port: 7001,
  respPort: 0,
  seeds: [],
  clusterName: 'ringkv',
  storage: 'log',
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  valueCacheMaxBytes: 64 * 1024 * 1024,
  nVal: 3,
  r: 2,
  w: 2,
  requestTimeoutMs: 5000,
  vnodesPerNode: 0,
  gossipIntervalMs: 0,
  maxKeyBytes: 8 * 1024,
  maxValueBytes: 16 * 1024 * 1024,
  logLevel: 'info',
  logFormat: 'auto',
  testingFaults: false,
};

type Kind = 'string' | 'int' | 'bool' | 'list' | 'enum';
interface FieldSpec {
  readonly kind: Kind;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

/** Every option, its kind and bounds; the flag is the kebab-case name, the variable RINGKV_ + SNAKE_CASE. */
const FIELDS: Record<keyof NodeOptions, FieldSpec> = {
  id: { kind: 'string' },
  host: { kind: 'string' },
  port: { kind: 'int', min: 0, max: 65535 },
  advertiseAddress: { kind: 'string' },
  respPort: { kind: 'int', min: 0, max: 65535 },
  seeds: { kind: 'list' },
  clusterName: { kind: 'string' },
  dataDir: { kind: 'string' },
  storage: { kind: 'enum', values: ['log', 'memory'] },
  fsync: { kind: 'enum', values: ['always', 'interval', 'never'] },
  fsyncIntervalMs: { kind: 'int', min: 1, max: 60_000 },
  valueCacheMaxBytes: { kind: 'int', min: 0 },
  nVal: { kind: 'int', min: 1, max: 16 },
  r: { kind: 'int', min: 1, max: 16 },
  w: { kind: 'int', min: 1, max: 16 },
  requestTimeoutMs: { kind: 'int', min: 1, max: 600_000 },
  vnodesPerNode: { kind: 'int', min: 0, max: 4096 },
  gossipIntervalMs: { kind: 'int', min: 0, max: 60_000 },
  maxKeyBytes: { kind: 'int', min: 1, max: 1024 * 1024 },
  maxValueBytes: { kind: 'int', min: 1, max: 512 * 1024 * 1024 },
  logLevel: { kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
  logFormat: { kind: 'enum', values: ['auto', 'json', 'pretty'] },
  testingFaults: { kind: 'bool' },
};

export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(field: string): string {
  return `RINGKV_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

const FIELD_BY_FLAG = new Map(Object.keys(FIELDS).map((f) => [flagName(f), f as keyof NodeOptions]));

function parseValue(field: keyof NodeOptions, raw: string, source: string): unknown {
  const spec = FIELDS[field];
  switch (spec.kind) {
    case 'string':
      if (raw.length === 0) throw new InvalidConfigError(`${source} must not be empty`);
      return raw;
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new InvalidConfigError(`${source} must be a whole number, got ${JSON.stringify(raw)}`);
      const n = Number(raw);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new InvalidConfigError(`${source} must be between ${spec.min ?? '-∞'} and ${spec.max ?? '∞'}, got ${n}`);
      }
      return n;
    }
    case 'bool':
      if (['1', 'true', 'yes', 'on', ''].includes(raw.toLowerCase())) return true;
      if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
      throw new InvalidConfigError(`${source} must be true or false, got ${JSON.stringify(raw)}`);
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'enum':
      if (!spec.values?.includes(raw)) throw new InvalidConfigError(`${source} must be one of ${spec.values?.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw;
  }
}

/** Parses `--flag value` / `--flag=value` / `--bool-flag` arguments into a partial options object. */
export function parseFlags(argv: readonly string[]): { options: Partial<NodeOptions>; rest: string[] } {
  const options: Record<string, unknown> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const field = FIELD_BY_FLAG.get(name);
    if (field === undefined) throw new InvalidConfigError(`unknown option --${name}; see ringkv --help`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (FIELDS[field].kind === 'bool' && (argv[i + 1] === undefined || argv[i + 1]?.startsWith('--'))) raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new InvalidConfigError(`option --${name} needs a value`);
      raw = next;
      i++;
    }
    options[field] = parseValue(field, raw, `--${name}`);
  }
  return { options: options as Partial<NodeOptions>, rest };
}

/** Reads every `RINGKV_*` variable that names an option. */
export function parseEnv(env: Readonly<Record<string, string | undefined>>): Partial<NodeOptions> {
  const options: Record<string, unknown> = {};
  for (const field of Object.keys(FIELDS) as Array<keyof NodeOptions>) {
    const raw = env[envName(field)];
    if (raw !== undefined) options[field] = parseValue(field, raw, envName(field));
  }
  return options as Partial<NodeOptions>;
}

/** Applies defaults and checks cross-field rules. Throws InvalidConfigError with a clear message. */
export function resolveOptions(...layers: Array<Partial<NodeOptions>>): NodeOptions {
  const merged: Partial<NodeOptions> = {};
  for (const layer of layers) Object.assign(merged, layer);
  const id = merged.id;
  if (id === undefined || id.length === 0) throw new InvalidConfigError('a node id is required: --id n1 (or RINGKV_ID)');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw new InvalidConfigError(`node id ${JSON.stringify(id)} must be 1-64 letters, digits, '.', '_' or '-'`);
  const base = { ...DEFAULT_NODE_OPTIONS, ...merged, id };
  const options: NodeOptions = {
    ...base,
    advertiseAddress: merged.advertiseAddress ?? `${base.host}:${base.port}`,
    dataDir: merged.dataDir ?? `./data/${id}`,
  };
  if (options.r > options.nVal) throw new InvalidConfigError(`default R (${options.r}) must not exceed N (${options.nVal})`);
  if (options.w > options.nVal) throw new InvalidConfigError(`default W (${options.w}) must not exceed N (${options.nVal})`);
  if (options.respPort !== 0 && options.respPort === options.port) throw new InvalidConfigError('--resp-port must differ from --port');
  return options;
}

/** Help text lines for every option: flag, variable, default. */
export function optionsHelp(): string {
  const lines: string[] = [];
  for (const field of Object.keys(FIELDS) as Array<keyof NodeOptions>) {
    const def = (DEFAULT_NODE_OPTIONS as Record<string, unknown>)[field];
    const shown = def === undefined ? '' : ` (default ${Array.isArray(def) ? def.join(',') || 'none' : String(def)})`;
    lines.push(`  --${flagName(field).padEnd(22)} ${envName(field).padEnd(28)}${shown}`);
  }
  return lines.join('\n');
}
