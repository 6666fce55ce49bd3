import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from './harness.js';

const harness = new Harness();
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
  await harness.cleanup();
});

const redisCliMissing = spawnSync('redis-cli', ['--version']).error !== undefined;

/** Fails the test with an actionable message when redis-cli is not installed. */
function requireRedisCli(): void {
  if (redisCliMissing) throw new Error('redis-cli is not installed; install it with `apt-get install -y redis-tools` (CI installs it)');
}

/** Runs redis-cli against the port; resolves with its stdout once it exits with status 0. */
function redisCli(port: number, args: readonly string[], stdin?: string): Promise<string> {
  requireRedisCli();
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`redis-cli ${args.join(' ')} exited ${code}: ${stderr}`))));
    child.stdin.end(stdin ?? '');
  });
}

describe('RespServer with redis-cli', () => {
  // redis-cli runs SET, GET and PING as against Redis.
  it('sets, gets and pings', async () => {
    const { port } = await harness.startServer();
    expect(await redisCli(port, ['set', 'a', 'b'])).toBe('OK\n');
    expect(await redisCli(port, ['get', 'a'])).toBe('b\n');
    expect(await redisCli(port, ['--no-raw', 'get', 'missing'])).toBe('(nil)\n');
    expect(await redisCli(port, ['ping'])).toBe('PONG\n');
  });

  // redis-cli shows INFO, including the ringkv section from the backend.
  it('shows INFO', async () => {
    const { port } = await harness.startServer();
    const info = await redisCli(port, ['info']);
    expect(info).toContain('redis_version:7.0.0');
    expect(info).toContain('# Ringkv');
    expect(await redisCli(port, ['info', 'ringkv'])).toMatch(/^# Ringkv\r?\nbackend:map/);
  });

  // Commands piped on stdin run in order, and errors print without stopping the rest.
  it('runs commands from stdin', async () => {
    const { port } = await harness.startServer();
    const output = await redisCli(port, [], 'set x 1\nget x\nbogus\ndel x\n');
    expect(output).toBe("OK\n1\nERR unknown command 'bogus', with args beginning with: \n\n1\n");
  });
});
