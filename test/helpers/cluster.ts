/**
 * Real rings of node processes on 127.0.0.1 for integration tests: spawns the built CLI
 * (dist/src/cli/main.js — `npm test` builds first), waits for each node's "node started" log line,
 * and kills every process it started, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// From test/helpers/ (vitest runs the sources) or dist/test/helpers/ (compiled bench scripts).
export const CLI = fileURLToPath(new URL(
  import.meta.url.includes('/dist/test/') ? '../../src/cli/main.js' : '../../dist/src/cli/main.js', import.meta.url,
));

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does it first)`);
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (for states with no event to await). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface NodeSpec {
  readonly id: string;
  readonly port: number;
  readonly respPort: number;
  readonly address: string;
  readonly dataDir: string;
}

export interface NodeProcess extends NodeSpec {
  proc: ChildProcess;
  readonly pid: number;
  /** Every JSON log line the process printed. */
  readonly logs: Array<Record<string, unknown>>;
}

export interface ClusterOptions {
  readonly nodes: number;
  /** Extra `ringkv start` flags for every node. */
  readonly args?: readonly string[];
  /** Extra environment for every node. */
  readonly env?: Readonly<Record<string, string>>;
  /** Start a RESP port on every node. */
  readonly resp?: boolean;
  readonly storage?: 'log' | 'memory';
}

export class TestCluster {
  readonly specs: NodeSpec[] = [];
  readonly procs = new Map<string, NodeProcess>();
  private readonly root: string;
  private readonly logListeners = new Set<(id: string, entry: Record<string, unknown>) => void>();

  private constructor(private readonly options: ClusterOptions) {
    this.root = mkdtempSync(path.join(tmpdir(), 'ringkv-cluster-'));
  }

  /**
   * Starts a ring. A port picked by freePort() can be taken by another process before the node
   * binds it (another test file runs at the same time); then the whole ring starts again on fresh
   * ports, at most three times.
   */
  static async start(options: ClusterOptions): Promise<TestCluster> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await TestCluster.startOnce(options);
      } catch (err) {
        if (attempt >= 3 || !String(err).includes('EADDRINUSE')) throw err;
      }
    }
  }

  private static async startOnce(options: ClusterOptions): Promise<TestCluster> {
    assertBuilt();
    const cluster = new TestCluster(options);
    for (let i = 0; i < options.nodes; i++) {
      const port = await freePort();
      const respPort = options.resp ? await freePort() : 0;
      const id = `n${i + 1}`;
      cluster.specs.push({ id, port, respPort, address: `127.0.0.1:${port}`, dataDir: path.join(cluster.root, id) });
    }
    try {
      await Promise.all(cluster.specs.map((s) => cluster.startNode(s.id)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  spec(id: string): NodeSpec {
    const s = this.specs.find((x) => x.id === id);
    if (s === undefined) throw new Error(`no node ${id}`);
    return s;
  }

  /**
   * Calls `listener` with every JSON log line a node prints from now on (lines already printed are
   * in each NodeProcess's `logs`); returns the function that unsubscribes.
   */
  onLog(listener: (id: string, entry: Record<string, unknown>) => void): () => void {
    this.logListeners.add(listener);
    return () => {
      this.logListeners.delete(listener);
    };
  }

  url(id: string): string {
    return `http://${this.spec(id).address}`;
  }

  /** Starts (or restarts) node `id`; resolves once it logged "node started". */
  async startNode(id: string, extraArgs: readonly string[] = []): Promise<NodeProcess> {
    const spec = this.spec(id);
    const seeds = this.specs.filter((s) => s.id !== id).map((s) => s.address).join(',');
    const args = [
      CLI, 'start', '--id', id, '--host', '127.0.0.1', '--port', String(spec.port), '--seeds', seeds,
      '--data-dir', spec.dataDir, '--log-format', 'json', '--storage', this.options.storage ?? 'log',
      ...(spec.respPort ? ['--resp-port', String(spec.respPort)] : []),
      ...(this.options.args ?? []), ...extraArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.options.env } });
    if (proc.pid === undefined) throw new Error(`could not spawn node ${id}`);
    const node: NodeProcess = { ...spec, proc, pid: proc.pid, logs: [] };
    this.procs.set(id, node);
    const stderr: string[] = [];
    proc.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          // Not a JSON line (should not happen with --log-format json); keep going.
          return;
        }
        node.logs.push(entry);
        for (const listener of [...this.logListeners]) listener(id, entry);
        if (entry.msg === 'node started') resolve();
      });
      proc.once('exit', (code, signal) => reject(new Error(`node ${id} exited before starting (${signal ?? code}): ${stderr.join('')}`)));
    });
    return node;
  }

  /** kill -9 a node and wait for its exit. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const node = this.procs.get(id);
    if (node === undefined || node.proc.exitCode !== null || node.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => node.proc.once('exit', () => resolve()));
    process.kill(node.pid, signal);
    await exited;
  }

  /** Sends a signal without waiting for an exit (SIGSTOP / SIGCONT). */
  signal(id: string, signal: NodeJS.Signals): void {
    const node = this.procs.get(id);
    if (node !== undefined && node.proc.exitCode === null) process.kill(node.pid, signal);
  }

  async json<T>(id: string, pathname: string): Promise<T> {
    const res = await fetch(`${this.url(id)}${pathname}`);
    if (!res.ok) throw new Error(`${pathname} on ${id}: HTTP ${res.status}`);
    return (await res.json()) as T;
  }

  async members(id: string): Promise<Array<{ id: string; state: string; generation: number; address: string }>> {
    return (await this.json<{ members: Array<{ id: string; state: string; generation: number; address: string }> }>(id, '/cluster/members')).members;
  }

  /** Resolves once every listed node sees every listed node alive. */
  async waitConverged(ids: readonly string[] = this.specs.map((s) => s.id), timeoutMs = 15_000): Promise<void> {
    await waitFor(`${ids.join(',')} to see each other alive`, async () => {
      for (const id of ids) {
        const members = await this.members(id);
        for (const other of ids) {
          if (members.find((m) => m.id === other)?.state !== 'alive') return false;
        }
      }
      return true;
    }, timeoutMs);
  }

  /** Kills every process this cluster started (SIGKILL after a SIGTERM grace) and removes the data. */
  async stop(): Promise<void> {
    await Promise.all([...this.procs.keys()].map(async (id) => {
      const node = this.procs.get(id);
      if (node === undefined || node.proc.exitCode !== null || node.proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => node.proc.once('exit', () => resolve()));
      try {
        process.kill(node.pid, 'SIGCONT');
        process.kill(node.pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(node.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await exited;
      clearTimeout(timer);
    }));
    rmSync(this.root, { recursive: true, force: true });
  }
}
