/**
 * The Node.js floor for bench:cluster: the least a Node TCP server can do per Redis command —
 * count the complete commands in each read and answer each with +OK in one write. No storage, no
 * values, no command dispatch. It shows how much of redis-server's throughput Node's own socket
 * path leaves on this machine, whatever ringkv does above it.
 *
 *   node dist/test/bench/resp-floor.js PORT [WORK_US]
 *
 * WORK_US (default 0) burns that many microseconds of CPU per command before answering: the floor
 * plus a fixed amount of server work, which bench:cluster's `--floor-work` uses to show how much
 * work per request each throughput target leaves above Node's socket path on this machine.
 *
 * Prints "ready" once listening. Only what redis-benchmark sends is understood (arrays of bulk
 * strings); anything else closes the connection.
 */
import net from 'node:net';

const OK = Buffer.from('+OK\r\n');

/** Complete commands at the front of `buf` and the bytes they take; -1 on input it does not understand. */
function countCommands(buf: Buffer): { count: number; used: number } | undefined {
  let pos = 0;
  let count = 0;
  for (;;) {
    const start = pos;
    if (pos >= buf.length) return { count, used: pos };
    if (buf[pos] !== 0x2a) return undefined; // '*'
    const eol = buf.indexOf('\r\n', pos);
    if (eol === -1) return { count, used: start };
    const items = Number(buf.toString('latin1', pos + 1, eol));
    pos = eol + 2;
    let complete = true;
    for (let i = 0; i < items; i++) {
      if (pos >= buf.length) { complete = false; break; }
      if (buf[pos] !== 0x24) return undefined; // '$'
      const e = buf.indexOf('\r\n', pos);
      if (e === -1) { complete = false; break; }
      const len = Number(buf.toString('latin1', pos + 1, e));
      if (e + 2 + len + 2 > buf.length) { complete = false; break; }
      pos = e + 2 + len + 2;
    }
    if (!complete) return { count, used: start };
    count++;
  }
}

const port = Number(process.argv[2]);
const workNs = BigInt(Math.round(Number(process.argv[3] ?? 0) * 1000));

/** Busy-waits `commands` × WORK_US: stands in for the work a real server does per command. */
function work(commands: number): void {
  if (workNs === 0n || commands === 0) return;
  const until = process.hrtime.bigint() + workNs * BigInt(commands);
  while (process.hrtime.bigint() < until) {
    // spin
  }
}
net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending: Buffer | undefined;
  socket.on('data', (chunk: Buffer) => {
    const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    const parsed = countCommands(buf);
    if (parsed === undefined) {
      socket.destroy();
      return;
    }
    pending = parsed.used < buf.length ? buf.subarray(parsed.used) : undefined;
    work(parsed.count);
    if (parsed.count === 1) socket.write(OK);
    else if (parsed.count > 1) socket.write(Buffer.concat(Array.from({ length: parsed.count }, () => OK)));
  });
  socket.on('error', () => socket.destroy());
}).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
