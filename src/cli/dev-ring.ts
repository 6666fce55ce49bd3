/**
 * `ringkv dev-ring` (what `npm start` runs): a local ring of node processes on 127.0.0.1 with
 * data under ./data/<id>, each node's log lines prefixed and readable in the terminal. Ctrl-C
 * (SIGINT) or SIGTERM stops every node by pid and waits for them to exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { InvalidConfigError } from '../errors.js';

interface DevRingOptions {
  nodes: number;
  basePort: number;
  respBasePort: number;
  dataRoot: string;
  storage: string;
}

function parse(argv: readonly string[]): DevRingOptions {
  const o: DevRingOptions = { nodes: 3, basePort: 7001, respBasePort: 6380, dataRoot: './data', storage: 'log' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new InvalidConfigError(`${flag} needs a value`);
    i++;
    const int = (): number => {
      if (!/^\d+$/.test(value)) throw new InvalidConfigError(`${flag} must be a whole number`);
      return Number(value);
    };
    switch (flag) {
      case '--nodes': o.nodes = int(); break;
      case '--base-port': o.basePort = int(); break;
      case '--resp-base-port': o.respBasePort = int(); break;
      case '--data-root': o.dataRoot = value; break;
      case '--storage': o.storage = value; break;
      default: throw new InvalidConfigError(`unknown dev-ring option ${flag}`);
    }
  }
  if (o.nodes < 1 || o.nodes > 20) throw new InvalidConfigError('--nodes must be between 1 and 20');
  return o;
}

const COLORS = ['\x1b[36m', '\x1b[33m', '\x1b[35m', '\x1b[32m', '\x1b[34m', '\x1b[31m'];

export async function runDevRing(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  const cli = fileURLToPath(new URL('./main.js', import.meta.url));
  const addresses = Array.from({ length: o.nodes }, (_, i) => `127.0.0.1:${o.basePort + i}`);
  const children: ChildProcess[] = [];
  const color = process.stdout.isTTY ? (i: number): string => COLORS[i % COLORS.length] ?? '' : (): string => '';
  const reset = process.stdout.isTTY ? '\x1b[0m' : '';

  for (let i = 0; i < o.nodes; i++) {
    const id = `n${i + 1}`;
    const args = [
      cli, 'start', '--id', id, '--host', '127.0.0.1', '--port', String(o.basePort + i),
      '--resp-port', String(o.respBasePort + i), '--seeds', addresses.filter((_, j) => j !== i).join(','),
      '--data-dir', path.join(o.dataRoot, id), '--storage', o.storage, '--log-format', 'pretty',
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '1' } });
    children.push(child);
    const prefix = `${color(i)}${id.padEnd(3)}|${reset} `;
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`));
    }
    child.on('exit', (code, signal) => {
      process.stdout.write(`${prefix}exited (${signal ?? `code ${code}`})\n`);
    });
  }
  process.stdout.write(
    `ringkv dev ring: ${o.nodes} nodes\n` +
    addresses.map((a, i) => `  n${i + 1}  http://${a}  resp 127.0.0.1:${o.respBasePort + i}  data ${path.join(o.dataRoot, `n${i + 1}`)}`).join('\n') +
    `\nTry: curl -X PUT --data hello http://${addresses[0]}/kv/greeting ; redis-cli -p ${o.respBasePort} get greeting\nCtrl-C stops the ring.\n`,
  );

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stopAll = (): void => {
      if (stopping) return;
      stopping = true;
      process.stdout.write('stopping the ring…\n');
      for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    };
    process.on('SIGINT', stopAll);
    process.on('SIGTERM', stopAll);
    let exited = 0;
    for (const child of children) {
      child.on('exit', () => {
        exited++;
        // One node dying on its own stops the ring: a dev ring with a silent hole misleads.
        stopAll();
        if (exited === children.length) resolve();
      });
    }
  });
}
