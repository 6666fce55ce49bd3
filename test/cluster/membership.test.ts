/**
 * Membership with five real node processes on 127.0.0.1: convergence, failure detection after
 * kill -9, restart with a newer generation, graceful leave, and refusal of foreign peers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { Encoder } from 'cbor-x';
import WebSocket from 'ws';
import { TestCluster, freePort, waitFor, CLI } from '../helpers/cluster.js';
import { MessageType, PROTOCOL_VERSION } from '../../src/core/wire.js';

/** The documented bound for marking a kill -9'd node dead at default settings (src/core/membership/options.ts), plus slack for a loaded CI machine. */
const DEAD_WITHIN_MS = 3000 + 2000;

/** The membership log lines of node `id` in which it first heard of another member ("member joined" or "member restarted"). */
function learnedOf(cluster: TestCluster, id: string): Array<Record<string, unknown>> {
  const logs = cluster.procs.get(id)?.logs ?? [];
  return logs.filter((l) => l.component === 'membership' && (l.msg === 'member joined' || l.msg === 'member restarted'));
}

describe('membership across 5 real processes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 5, storage: 'memory' });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('converges: every node sees all five alive', async () => {
    // This shows join through seeds and push-pull gossip bring five processes to one view.
    await cluster.waitConverged();
    const ring = await cluster.json<{ nodes: number }>('n1', '/cluster/ring');
    expect(ring.nodes).toBe(5);
    // A starting node is joining in its own table only: every node first heard of every other as alive.
    for (const id of cluster.specs.map((s) => s.id)) {
      const learned = learnedOf(cluster, id);
      expect(learned.map((l) => l.id).sort()).toEqual(cluster.specs.map((s) => s.id).filter((x) => x !== id).sort());
      for (const line of learned) expect(line.state).toBe('alive');
    }
  });

  it('marks a kill -9 node dead within the documented bound, and alive again with a newer generation after restart', async () => {
    // This shows the failure detector convicts a crashed process and a restart is recognised as a new generation.
    await cluster.waitConverged();
    const before = (await cluster.members('n1')).find((m) => m.id === 'n5');
    expect(before?.state).toBe('alive');
    const killedAt = Date.now();
    await cluster.kill('n5');
    const survivors = ['n1', 'n2', 'n3', 'n4'];
    await waitFor('survivors to mark n5 dead', async () => {
      for (const id of survivors) {
        if ((await cluster.members(id)).find((m) => m.id === 'n5')?.state !== 'dead') return false;
      }
      return true;
    }, DEAD_WITHIN_MS + 2000, 25);
    const detectedMs = Date.now() - killedAt;
    expect(detectedMs).toBeLessThanOrEqual(DEAD_WITHIN_MS);
    // A dead node keeps its ranges (fallbacks take its writes with hints); only leaving removes it.
    expect((await cluster.json<{ nodes: number }>('n1', '/cluster/ring')).nodes).toBe(5);

    await cluster.startNode('n5');
    await cluster.waitConverged();
    const after = (await cluster.members('n1')).find((m) => m.id === 'n5');
    expect(after?.state).toBe('alive');
    expect(after!.generation).toBeGreaterThan(before!.generation);
    // Every survivor took the new generation straight from dead to alive.
    for (const id of survivors) {
      const restarted = learnedOf(cluster, id).filter((l) => l.id === 'n5' && l.msg === 'member restarted');
      expect(restarted.map((l) => `${String(l.previous)}→${String(l.state)}`)).toEqual(['dead→alive']);
    }
  });

  it('a graceful leave removes the node from every ring', async () => {
    // This shows POST /cluster/leave announces the leave, the node exits, and the others drop it from the ring.
    await cluster.waitConverged();
    const n4 = cluster.procs.get('n4')!;
    const exited = new Promise<void>((resolve) => n4.proc.once('exit', () => resolve()));
    const res = await fetch(`${cluster.url('n4')}/cluster/leave`, { method: 'POST' });
    expect(res.status).toBe(202);
    await exited;
    await waitFor('n4 to be left everywhere', async () => {
      for (const id of ['n1', 'n2', 'n3', 'n5']) {
        const ring = await cluster.json<{ nodes: number; ownership: Array<{ id: string }> }>(id, '/cluster/ring');
        if (ring.ownership.some((o) => o.id === 'n4')) return false;
        const state = (await cluster.members(id)).find((m) => m.id === 'n4')?.state;
        if (state !== undefined && state !== 'left') return false;
      }
      return true;
    });
  });
});

describe('foreign peers are refused', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ nodes: 2, storage: 'memory' });
    await cluster.waitConverged();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('a node of another cluster never joins and the refusal is logged', async () => {
    // This shows the handshake's cluster-name check keeps two rings apart.
    const port = await freePort();
    const proc = spawn(process.execPath, [
      CLI, 'start', '--id', 'intruder', '--port', String(port), '--seeds', cluster.spec('n1').address,
      '--cluster-name', 'other', '--storage', 'memory', '--log-format', 'json',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    proc.stdout.on('data', (b: Buffer) => lines.push(...b.toString().split('\n')));
    try {
      await waitFor('the intruder to log a refused handshake', () =>
        lines.some((l) => /cluster/i.test(l) && /(refus|reject|mismatch)/i.test(l)));
      const members = await cluster.members('n1');
      expect(members.map((m) => m.id)).not.toContain('intruder');
      const transport = (await cluster.json<{ transport: { connectionsRejected: number } }>('n1', '/status')).transport;
      expect(transport.connectionsRejected).toBeGreaterThan(0);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('a peer speaking another protocol version is refused', async () => {
    // This shows a handshake with a protocol version this node does not speak gets a rejection and a closed socket.
    const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
    const ws = new WebSocket(`ws://${cluster.spec('n1').address}/peer`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const frames: unknown[] = [];
    ws.on('message', (data: Buffer) => frames.push(cbor.decode(data)));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.send(cbor.encode({
      v: PROTOCOL_VERSION + 98, t: MessageType.Handshake, rid: 0, from: 'time-traveller',
      body: { clusterName: 'ringkv', protocolVersion: PROTOCOL_VERSION + 98, nodeId: 'time-traveller', address: '127.0.0.1:1' },
    }));
    await closed;
    expect(frames.some((f) => (f as { t?: number }).t === MessageType.HandshakeReject)).toBe(true);
    expect((await cluster.members('n1')).map((m) => m.id)).not.toContain('time-traveller');
  });
});
