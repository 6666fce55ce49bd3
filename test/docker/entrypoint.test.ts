// The image's entrypoint names an id-less node (compose.yml's scalable `extra` service) after its hostname, advertises hostname:port, keeps explicit settings, and passes the command on to `ringkv start`.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { readDockerfile, repoPathOf } from './image.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile(path.join(ROOT, 'docker/Dockerfile'));
const scratch = mkdtempSync(path.join(tmpdir(), 'ringkv-entrypoint-'));
/** Stands in for the CLI: prints what it was started with. */
const STUB = path.join(scratch, 'stub-cli.mjs');
writeFileSync(STUB, `process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), id: process.env.RINGKV_ID, advertise: process.env.RINGKV_ADVERTISE_ADDRESS }));\n`);

interface Seen {
  argv: string[];
  id: string | undefined;
  advertise: string | undefined;
}

/** Runs the image's ENTRYPOINT (as a repository file, under sh) with `args` and `env`. */
function runEntrypoint(args: readonly string[], env: Record<string, string>): Promise<Seen> {
  const [imagePath, ...entrypointArgs] = dockerfile.image.entrypoint;
  const script = imagePath === undefined ? undefined : repoPathOf(dockerfile, imagePath, ROOT);
  if (script === undefined) throw new Error('docker/Dockerfile ENTRYPOINT leads to no file of the repository');
  const proc = spawn('sh', [script, ...entrypointArgs, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env, RINGKV_CLI: STUB }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  proc.stdout.on('data', (c: Buffer) => out.push(c.toString()));
  proc.stderr.on('data', (c: Buffer) => err.push(c.toString()));
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => {
      if (code !== 0) reject(new Error(`entrypoint exited ${code}: ${err.join('')}`));
      else resolve(JSON.parse(out.join('')) as Seen);
    });
  });
}

describe('docker/entrypoint.sh', () => {
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('names the scalable service\'s nodes after their hostnames and advertises hostname:port', async () => {
    const compose = parseYaml(readFileSync(path.join(ROOT, 'docker/compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string>; profiles?: string[] }> };
    const scalable = Object.entries(compose.services).filter(([, s]) => s.profiles !== undefined);
    expect(scalable.length).toBeGreaterThan(0);
    for (const [name, service] of scalable) {
      const env = { ...dockerfile.image.env, ...service.environment };
      expect(env.RINGKV_ID, `${name} must leave the id to the entrypoint`).toBeUndefined();
      const seen = await runEntrypoint(dockerfile.image.cmd, env);
      expect(seen).toEqual({ argv: ['start', ...dockerfile.image.cmd], id: hostname(), advertise: `${hostname()}:${env.RINGKV_PORT ?? 7001}` });
    }
  });

  it('keeps an explicit id and address, follows RINGKV_PORT, and passes arguments to `ringkv start`', async () => {
    expect(await runEntrypoint(['--log-level', 'debug'], { RINGKV_ID: 'n9', RINGKV_ADVERTISE_ADDRESS: 'n9:7009' }))
      .toEqual({ argv: ['start', '--log-level', 'debug'], id: 'n9', advertise: 'n9:7009' });
    expect(await runEntrypoint([], { RINGKV_ID: '', RINGKV_PORT: '7101' }))
      .toEqual({ argv: ['start'], id: hostname(), advertise: `${hostname()}:7101` });
  });
});
