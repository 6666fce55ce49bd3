/**
 * Dev helper, not a test: measures the peer frame codec and the WebSocket transport.
 *
 *   npx tsc -p . && node dist/test/transport/bench.js [--frames 20000] [--value-bytes 200] [--rounds 5]
 *
 * Prints encode/decode time per ReplicaPut-shaped envelope (its value `--value-bytes` long), then
 * one-way throughput over one pair of transports on 127.0.0.1: bursts of `--frames` frames sent in
 * one tick, timed until the receiver has them all.
 */
import { parseArgs } from 'node:util';
import { MessageType, PROTOCOL_VERSION, type Envelope } from '../../src/core/wire.js';
import { FrameCodec } from '../../src/runtime/frame-codec.js';
import { WsFixture } from './helpers.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '20000' },
    'value-bytes': { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
  },
});
const frames = Number(values.frames);
const rounds = Number(values.rounds);
const value = new Uint8Array(Number(values['value-bytes'])).fill(7);

function replicaPut(from: string, seq: number): Envelope {
  return {
    v: PROTOCOL_VERSION, t: MessageType.ReplicaPut, rid: seq + 1, from,
    body: {
      key: `user:${seq}`,
      object: { siblings: [{ value, clock: [['n1', seq], ['n2', 3], ['n3', 9]], writtenAtMs: 1_735_689_600_123, node: 'n1' }] },
    },
  };
}

function nsPerOp(fn: () => void, ops: number): number {
  for (let i = 0; i < Math.min(ops, 20_000); i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn();
  return Number(process.hrtime.bigint() - start) / ops;
}

function codecBench(): void {
  const codec = new FrameCodec();
  const msg = replicaPut('n1', 12_345);
  const frame = codec.encode(msg);
  const chunk = Buffer.alloc(64 * 1024);
  chunk.set(frame, 100);
  const sharedView = chunk.subarray(100, 100 + frame.byteLength);
  const noCopy = new FrameCodec({ copySharedFrames: false });
  const ops = 200_000;
  for (let r = 0; r < 3; r++) {
    console.log(`codec: frame ${frame.byteLength} B; encode ${nsPerOp(() => codec.encode(msg), ops).toFixed(0)} ns; ` +
      `decode ${nsPerOp(() => codec.decode(frame), ops).toFixed(0)} ns; ` +
      `decode from a 64 KiB chunk ${nsPerOp(() => codec.decode(sharedView), ops).toFixed(0)} ns ` +
      `(without the copy ${nsPerOp(() => noCopy.decode(sharedView), ops).toFixed(0)} ns)`);
  }
}

async function transportBench(): Promise<void> {
  const fixture = new WsFixture();
  try {
    const a = await fixture.start();
    const b = await fixture.start();
    a.transport.send(b.address, replicaPut(a.transport.localId, 0));
    await b.inbox.waitForCount(1);
    for (let round = 0; round < rounds; round++) {
      b.inbox.received.length = 0;
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      for (let seq = 0; seq < frames; seq++) a.transport.send(b.address, replicaPut(a.transport.localId, seq));
      const sentNs = Number(process.hrtime.bigint() - start);
      await b.inbox.waitForCount(frames, 60_000);
      const totalNs = Number(process.hrtime.bigint() - start);
      const cpu = process.cpuUsage(cpuStart);
      // CPU time (both ends run in this process) is steadier than wall time on a shared machine.
      console.log(`ws one pair: ${frames} frames in ${(totalNs / 1e6).toFixed(0)} ms = ${Math.round(frames / (totalNs / 1e9))} frames/s; ` +
        `CPU ${((cpu.user + cpu.system) * 1000 / frames).toFixed(0)} ns/frame (user ${(cpu.user * 1000 / frames).toFixed(0)}, ` +
        `system ${(cpu.system * 1000 / frames).toFixed(0)}); send loop ${(sentNs / frames).toFixed(0)} ns/frame`);
    }
    const stats = a.transport.stats();
    console.log(`sender: framesSent ${stats.framesSent}, framesDropped ${stats.framesDropped}`);
  } finally {
    await fixture.closeAll();
  }
}

if (process.env.SKIP_CODEC !== '1') codecBench();
await transportBench();
