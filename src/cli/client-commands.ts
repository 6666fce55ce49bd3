/**
 * The CLI's client commands, over the node's HTTP API (fetch): get, put, del, status, ring, leave.
 * Exit codes: 0 success, 1 not found / request failed, 2 bad usage.
 */
import { InvalidConfigError } from '../errors.js';

export const CLIENT_COMMANDS: ReadonlySet<string> = new Set(['get', 'put', 'del', 'delete', 'status', 'ring', 'leave']);

interface Parsed {
  positional: string[];
  flags: Map<string, string>;
}

function parse(argv: readonly string[], known: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      if (!known.includes(name)) throw new InvalidConfigError(`unknown option --${name}`);
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined) throw new InvalidConfigError(`--${name} needs a value`);
      flags.set(name, value);
    } else positional.push(arg);
  }
  return { positional, flags };
}

function base(flags: Map<string, string>): string {
  const node = flags.get('node') ?? process.env.RINGKV_NODE ?? '127.0.0.1:7001';
  return node.startsWith('http') ? node : `http://${node}`;
}

function query(flags: Map<string, string>, names: readonly string[]): string {
  const params = new URLSearchParams();
  for (const n of names) {
    const v = flags.get(n);
    if (v !== undefined) params.set(n, v);
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

async function failure(res: Response): Promise<number> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    process.stderr.write(`ringkv: ${body.error?.code ?? res.status}: ${body.error?.message ?? text}\n`);
  } catch {
    process.stderr.write(`ringkv: HTTP ${res.status}: ${text}\n`);
  }
  return 1;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

interface RingReport {
  nodes: number;
  vnodesPerNode: number;
  nVal: number;
  ownership: Array<{ id: string; share: number; state: string }>;
}

function printRing(ring: RingReport): void {
  const rows = ring.ownership;
  const ideal = rows.length === 0 ? 0 : 1 / rows.length;
  process.stdout.write(`ring: ${ring.nodes} nodes, ${ring.vnodesPerNode} virtual nodes each, N=${ring.nVal}\n`);
  process.stdout.write(`${'node'.padEnd(12)}${'state'.padEnd(10)}${'owns'.padStart(8)}  ${'vs ideal'.padStart(8)}  bar\n`);
  for (const r of rows) {
    const bar = '█'.repeat(Math.max(1, Math.round(r.share * 40)));
    process.stdout.write(`${r.id.padEnd(12)}${r.state.padEnd(10)}${pct(r.share).padStart(8)}  ${(ideal === 0 ? '-' : `${(r.share / ideal).toFixed(2)}x`).padStart(8)}  ${bar}\n`);
  }
}

export async function runClientCommand(command: string, argv: readonly string[]): Promise<number> {
  const { positional, flags } = parse(argv, ['node', 'r', 'w', 'timeout', 'ttl', 'context', 'json']);
  const url = base(flags);
  const kvUrl = (key: string, names: readonly string[]): string => `${url}/kv/${encodeURIComponent(key)}${query(flags, names)}`;
  const headers: Record<string, string> = {};
  const context = flags.get('context');
  if (context !== undefined) headers['x-ringkv-context'] = context;

  switch (command) {
    case 'get': {
      const [key] = positional;
      if (key === undefined) throw new InvalidConfigError('usage: ringkv get KEY');
      const res = await fetch(kvUrl(key, ['r', 'timeout']));
      if (res.status === 404) {
        process.stderr.write(`(not found)\n`);
        return 1;
      }
      if (res.status === 300) {
        const body = (await res.json()) as { siblings: Array<{ value: string | null; deleted: boolean; node: string; writtenAtMs: number }>; context: string };
        process.stdout.write(`${body.siblings.length} siblings (context ${body.context}):\n`);
        for (const s of body.siblings) {
          process.stdout.write(`  ${s.deleted ? '(deleted)' : (s.value ?? '(binary)')}   by ${s.node} at ${new Date(s.writtenAtMs).toISOString()}\n`);
        }
        return 0;
      }
      if (!res.ok) return failure(res);
      process.stdout.write(Buffer.from(await res.arrayBuffer()));
      if (process.stdout.isTTY) process.stdout.write('\n');
      return 0;
    }
    case 'put': {
      const [key, value] = positional;
      if (key === undefined || value === undefined) throw new InvalidConfigError('usage: ringkv put KEY VALUE');
      const res = await fetch(kvUrl(key, ['w', 'timeout', 'ttl']), { method: 'PUT', body: value, headers });
      if (!res.ok) return failure(res);
      process.stdout.write('OK\n');
      return 0;
    }
    case 'del':
    case 'delete': {
      const [key] = positional;
      if (key === undefined) throw new InvalidConfigError('usage: ringkv del KEY');
      let ctx = context;
      if (ctx === undefined) {
        // Delete what we can see: read first so the tombstone supersedes the current siblings.
        const read = await fetch(kvUrl(key, ['r', 'timeout']), { method: 'HEAD' });
        ctx = read.headers.get('x-ringkv-context') ?? undefined;
      }
      const res = await fetch(kvUrl(key, ['w', 'timeout']), { method: 'DELETE', headers: ctx === undefined ? {} : { 'x-ringkv-context': ctx } });
      if (!res.ok) return failure(res);
      process.stdout.write('OK\n');
      return 0;
    }
    case 'status': {
      const res = await fetch(`${url}/status`);
      if (!res.ok) return failure(res);
      const s = (await res.json()) as {
        id: string; version: string; address: string;
        members: Array<{ id: string; address: string; state: string; generation: number }>;
        replication: { hintsPending: number; hintBytesPending: number; hintsDelivered: number };
        storage: { keys: number; liveBytes: number };
        ring: RingReport;
      };
      if (flags.has('json')) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return 0;
      }
      process.stdout.write(`node ${s.id} at ${s.address}, ringkv ${s.version}\n\nmembers:\n`);
      for (const m of s.members) process.stdout.write(`  ${m.id.padEnd(12)}${m.state.padEnd(10)}${m.address}\n`);
      process.stdout.write(`\nhints pending: ${s.replication.hintsPending} (${s.replication.hintBytesPending} bytes), delivered: ${s.replication.hintsDelivered}\n`);
      process.stdout.write(`storage: ${s.storage.keys} keys, ${s.storage.liveBytes} live bytes\n\n`);
      printRing(s.ring);
      return 0;
    }
    case 'ring': {
      const res = await fetch(`${url}/cluster/ring`);
      if (!res.ok) return failure(res);
      printRing((await res.json()) as RingReport);
      return 0;
    }
    case 'leave': {
      const res = await fetch(`${url}/cluster/leave`, { method: 'POST' });
      if (!res.ok) return failure(res);
      process.stdout.write('leaving\n');
      return 0;
    }
    default:
      throw new InvalidConfigError(`unknown command ${command}`);
  }
}
