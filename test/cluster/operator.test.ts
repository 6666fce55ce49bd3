/**
 * The operator's view of a real 3-node ring: the `ringkv` CLI's get/put/del/status/ring commands
 * and the Prometheus metrics on /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI, TestCluster } from '../helpers/cluster.js';

const run = promisify(execFile);

/** The value of the Prometheus series `name` whose labels include every pair in `labels` (any order). */
function metric(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

async function ringkv(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { stdout, stderr, code: 0 };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? -1 };
  }
}

describe('operator tools on a 3-node ring', () => {
  let cluster: TestCluster;
  let node: string;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 3, storage: 'memory' });
    await cluster.waitConverged();
    node = cluster.spec('n1').address;
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('puts, gets and deletes through the CLI', async () => {
    // This shows the CLI's client commands work against a real node and report a missing key with exit code 1.
    expect((await ringkv('put', 'cli:key', 'hello world', '--node', node, '--w', '2')).stdout).toBe('OK\n');
    expect((await ringkv('get', 'cli:key', '--node', cluster.spec('n2').address)).stdout).toBe('hello world');
    expect((await ringkv('del', 'cli:key', '--node', node)).stdout).toBe('OK\n');
    const missing = await ringkv('get', 'cli:key', '--node', node);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');
    const bad = await ringkv('put', 'cli:key', 'v', '--node', node, '--w', '9');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_INVALID_QUORUM');
  });

  it('status lists the members with their states, the ownership, hints and the version', async () => {
    // This shows `ringkv status` gives the operator the ring at a glance.
    const { stdout, code } = await ringkv('status', '--node', node);
    expect(code).toBe(0);
    expect(stdout).toMatch(/node n1 at 127\.0\.0\.1:\d+, ringkv \d+\.\d+\.\d+/);
    for (const id of ['n1', 'n2', 'n3']) expect(stdout).toMatch(new RegExp(`${id}\\s+alive`));
    expect(stdout).toContain('hints pending: 0');
    expect(stdout).toMatch(/ring: 3 nodes, \d+ virtual nodes each, N=3/);
  });

  it('ring draws the ownership as a table whose shares add up to the whole ring', async () => {
    // This shows `ringkv ring` prints one row per node with its share of the token space.
    const { stdout } = await ringkv('ring', '--node', node);
    const shares = [...stdout.matchAll(/^(n\d)\s+alive\s+([\d.]+)%/gm)].map((m) => Number(m[2]));
    expect(shares).toHaveLength(3);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(100, 0);
  });

  it('exposes Prometheus metrics for requests, quorums, hints, members, gossip and storage', async () => {
    // This shows /metrics counts what happened: the requests just made appear with their outcome.
    await fetch(`${cluster.url('n1')}/kv/metrics:key`, { method: 'PUT', body: 'v' });
    await fetch(`${cluster.url('n1')}/kv/metrics:key`);
    await fetch(`${cluster.url('n1')}/kv/metrics:key?w=9`, { method: 'PUT', body: 'v' });
    const res = await fetch(`${cluster.url('n1')}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(metric(text, 'ringkv_requests_total', { op: 'put', outcome: 'ok', node: 'n1' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'ringkv_requests_total', { op: 'get', outcome: 'ok', node: 'n1' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'ringkv_requests_total', { op: 'put', outcome: 'ERR_INVALID_QUORUM', node: 'n1' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'ringkv_request_duration_seconds_count', { op: 'put', node: 'n1' })).toBeGreaterThanOrEqual(2);
    expect(metric(text, 'ringkv_members', { state: 'alive', node: 'n1' })).toBe(3);
    expect(metric(text, 'ringkv_gossip_rounds_total', { node: 'n1' })).toBeGreaterThan(0);
    for (const name of ['ringkv_quorum_failures_total', 'ringkv_hints_pending', 'ringkv_hints_delivered_total', 'ringkv_siblings_created_total',
      'ringkv_read_repairs_total', 'ringkv_storage_keys', 'ringkv_storage_live_bytes', 'ringkv_storage_compactions_total']) {
      expect(metric(text, name, { node: 'n1' }), name).toBeGreaterThanOrEqual(0);
    }
  });
});

describe('ringkv start', () => {
  it('on a port another process holds, exits 2 (a typed error) with ERR_ADDRESS_IN_USE and the address, not a stack trace', async () => {
    // Shows the operator's view of a taken --port: one line saying what and where.
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    const dataDir = mkdtempSync(path.join(tmpdir(), 'ringkv-port-'));
    try {
      const result = await ringkv('start', '--id', 'p1', '--host', '127.0.0.1', '--port', String(port), '--storage', 'memory', '--data-dir', dataDir, '--log-format', 'json');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('ERR_ADDRESS_IN_USE');
      expect(result.stderr).toContain(`127.0.0.1:${port}`);
      expect(result.stderr).not.toContain('    at ');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
