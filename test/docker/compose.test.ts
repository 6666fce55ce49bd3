// docker/compose.yml's five node services, started as local processes with exactly the entrypoint, command and environment the image and the compose file give them, form one ring that serves W=3 writes and R=3 reads through n1's published ports.
/**
 * No Docker engine here (nor in CI), so this test does what `docker compose up` would do, by hand:
 * - the image's ENV, ENTRYPOINT, CMD, EXPOSE, VOLUME and HEALTHCHECK are read from docker/Dockerfile
 *   (test/docker/image.ts), and the entrypoint's image path is followed through COPY to
 *   docker/entrypoint.sh, which runs under sh as in the image;
 * - each default (profile-less) service of docker/compose.yml gets its own loopback address, in file
 *   order from 127.0.0.11 (Linux routes all of 127.0.0.0/8 to lo), standing in for its container's
 *   address on the compose network: RINGKV_HOST=0.0.0.0 becomes that address, and service names in
 *   RINGKV_SEEDS and RINGKV_ADVERTISE_ADDRESS become their addresses, as Docker's DNS would resolve;
 * - each named volume becomes a temporary directory, so RINGKV_DATA_DIR is rewritten from the
 *   volume's mount point to it;
 * - RINGKV_CLI (the entrypoint's own variable) points at the built CLI, which must be where the
 *   entrypoint's default path leads through the Dockerfile's COPY instructions;
 * - a published port "[ip:]host:container" is reached at the service's address and container port.
 * Every RINGKV_* variable the two files set must be one that `ringkv --help` lists as a node option:
 * the node ignores unknown variables, so a misspelt one would otherwise pass silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { assertBuilt, CLI, waitFor } from '../helpers/cluster.js';
import { contextSources, readDockerfile, repoPathOf, type Dockerfile } from './image.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = path.join(ROOT, 'docker/Dockerfile');
const COMPOSE = path.join(ROOT, 'docker/compose.yml');
/** Variables the entrypoint script reads for itself (not node options). */
const ENTRYPOINT_VARIABLES = ['RINGKV_CLI'];

type Yaml = Record<string, unknown>;

function record(value: unknown, what: string): Yaml {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a mapping`);
  return value as Yaml;
}

function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((x): x is string => typeof x === 'string')) throw new Error(`${what} must be a list of strings (the forms this test reads)`);
  return value;
}

/** A service's `environment`, as a map or a list of NAME=value, values as the container sees them. */
function environmentOf(service: Yaml, name: string): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  const entries: Array<[string, unknown]> = Array.isArray(env)
    ? stringList(env, `${name}.environment`).map((e) => [e.split('=')[0] ?? '', e.includes('=') ? e.slice(e.indexOf('=') + 1) : null])
    : Object.entries(record(env, `${name}.environment`));
  return Object.fromEntries(entries.map(([key, value]) => {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new Error(`${name}.environment.${key}: give a value (taking it from the host's environment is not supported here)`);
    }
    if (String(value).includes('$')) throw new Error(`${name}.environment.${key}: interpolation is not supported by this test`);
    return [key, String(value)];
  }));
}

/** Named-volume mounts of a service: mount point in the container → volume name. */
function namedVolumesOf(service: Yaml, name: string, declared: Yaml): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const v of (service.volumes ?? []) as unknown[]) {
    let source: string | undefined;
    let target: string | undefined;
    if (typeof v === 'string') [source, target] = v.split(':');
    else {
      const long = record(v, `${name}.volumes[]`);
      if (long.type === 'volume' && typeof long.source === 'string' && typeof long.target === 'string') [source, target] = [long.source, long.target];
    }
    if (source === undefined || target === undefined || source.startsWith('.') || source.startsWith('/')) throw new Error(`${name}.volumes: only named volumes are supported, got ${JSON.stringify(v)}`);
    if (!(source in declared)) throw new Error(`${name} mounts volume ${source}, which the top-level volumes do not declare`);
    mounts.set(target, source);
  }
  return mounts;
}

/** Published ports "[ip:]host:container[/tcp]" of a service → container ports. */
function publishedPortsOf(service: Yaml, name: string): number[] {
  return stringList(service.ports ?? [], `${name}.ports`).map((p) => {
    const m = /^(?:[\d.]+:)?(\d+):(\d+)(?:\/tcp)?$/.exec(p);
    if (m === null) throw new Error(`${name}.ports: ${p} is not "[ip:]host:container" (the form this test reads)`);
    return Number(m[2]);
  });
}

/** The node option variables `ringkv --help` lists. */
function nodeOptionVariables(): Set<string> {
  const help = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
  expect(help.status, help.stderr).toBe(0);
  const section = help.stdout.split(/^Node options.*$/m)[1] ?? '';
  return new Set(section.match(/RINGKV_[A-Z0-9_]+/g) ?? []);
}

interface Service {
  readonly name: string;
  readonly address: string;
  /** The environment the compose file itself gives the service. */
  readonly composeEnv: Record<string, string>;
  /** The process environment: the image's ENV, then the compose file's, rewritten for loopback. */
  readonly env: Record<string, string>;
  readonly argv: string[];
  readonly published: number[];
}

interface Running {
  readonly service: Service;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly stderr: string[];
  /** The port and RESP port the node reported in its "node started" line. */
  port: number;
  respPort: number;
}

/** Runs an argv with an environment; resolves with its exit code. */
function exitCodeOf(argv: readonly string[], env: Record<string, string>): Promise<number | null> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  const proc = spawn(command, args, { env, stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => resolve(code));
  });
}

describe('docker/compose.yml ring, run without a Docker engine', () => {
  let dockerfile: Dockerfile;
  let compose: Yaml;
  let services: Service[] = [];
  const running: Running[] = [];
  const volumesRoot = mkdtempSync(path.join(tmpdir(), 'ringkv-compose-'));

  const url = (service: Service, port: number, pathname: string): string => `http://${service.address}:${port}${pathname}`;
  async function json(r: Running, pathname: string): Promise<Yaml> {
    const res = await fetch(url(r.service, r.port, pathname));
    if (!res.ok) throw new Error(`${pathname} on ${r.service.name}: HTTP ${res.status}`);
    return record(await res.json(), pathname);
  }

  beforeAll(async () => {
    assertBuilt();
    dockerfile = readDockerfile(DOCKERFILE);
    compose = record(parseYaml(readFileSync(COMPOSE, 'utf8'), { merge: true }), 'compose.yml');
    const all = record(compose.services, 'services');
    const declaredVolumes = record(compose.volumes ?? {}, 'volumes');
    const image = dockerfile.image;

    // The entrypoint the image runs, as a file of this repository, run by sh as its #! line says.
    const [entrypointPath, ...entrypointArgs] = image.entrypoint;
    if (entrypointPath === undefined) throw new Error('docker/Dockerfile has no ENTRYPOINT');
    const entrypoint = repoPathOf(dockerfile, entrypointPath, ROOT);
    if (entrypoint === undefined) throw new Error(`no COPY in docker/Dockerfile puts a file at ${entrypointPath}`);
    const script = readFileSync(entrypoint, 'utf8');
    expect(script.split('\n')[0]).toBe('#!/bin/sh');
    // Its default CLI path must be where the image build puts the CLI this test runs.
    const defaultCli = /\$\{RINGKV_CLI:-([^}]+)\}/.exec(script)?.[1];
    if (defaultCli === undefined) throw new Error(`${entrypoint} must default RINGKV_CLI as \${RINGKV_CLI:-/path}`);
    expect(repoPathOf(dockerfile, defaultCli, ROOT), `${defaultCli} in the image`).toBe(CLI);

    const nodeServices = Object.entries(all).filter(([, s]) => record(s, 'service').profiles === undefined);
    expect(nodeServices.map(([name]) => name)).toHaveLength(5);
    const addresses = new Map(nodeServices.map(([name], i) => [name, `127.0.0.${11 + i}`]));
    const resolveHosts = (list: string, what: string): string => list.split(',').map((item) => {
      const [host, port] = item.trim().split(':');
      const address = addresses.get(host ?? '');
      if (address === undefined || port === undefined) throw new Error(`${what}: ${item} is not "service:port" of a node service`);
      return `${address}:${port}`;
    }).join(',');

    services = nodeServices.map(([name, raw]) => {
      const service = record(raw, name);
      const address = addresses.get(name) ?? '';
      const composeEnv = environmentOf(service, name);
      const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image.env, ...composeEnv };
      expect(env.RINGKV_HOST, `${name} listens on every interface of its container`).toBe('0.0.0.0');
      env.RINGKV_HOST = address;
      for (const key of ['RINGKV_SEEDS', 'RINGKV_ADVERTISE_ADDRESS']) {
        const value = env[key];
        if (value !== undefined) env[key] = resolveHosts(value, `${name} ${key}`);
      }
      const dataDir = env.RINGKV_DATA_DIR;
      if (dataDir === undefined) throw new Error(`${name} has no RINGKV_DATA_DIR`);
      const mount = [...namedVolumesOf(service, name, declaredVolumes)].find(([target]) => dataDir === target || dataDir.startsWith(`${target}/`));
      if (mount === undefined) throw new Error(`${name}: RINGKV_DATA_DIR ${dataDir} is on no named volume of the service`);
      env.RINGKV_DATA_DIR = path.join(volumesRoot, mount[1], path.posix.relative(mount[0], dataDir));
      env.RINGKV_CLI = CLI;
      // Compose: `entrypoint` replaces the image's ENTRYPOINT (and drops its CMD), `command` its CMD.
      if (service.entrypoint !== undefined) throw new Error(`${name}: an entrypoint override is not supported by this test`);
      const command = service.command === undefined ? image.cmd : stringList(service.command, `${name}.command`);
      return { name, address, composeEnv, env, argv: [entrypoint, ...entrypointArgs, ...command], published: publishedPortsOf(service, name) };
    });

    const started = services.map((service) => {
      const proc = spawn('sh', service.argv, { cwd: volumesRoot, env: service.env, stdio: ['ignore', 'pipe', 'pipe'] });
      if (proc.pid === undefined) throw new Error(`could not spawn ${service.name}`);
      const r: Running = { service, proc, pid: proc.pid, stderr: [], port: 0, respPort: 0 };
      running.push(r);
      proc.stderr?.on('data', (chunk: Buffer) => r.stderr.push(chunk.toString()));
      return new Promise<void>((resolve, reject) => {
        createInterface({ input: proc.stdout! }).on('line', (line) => {
          try {
            const entry = record(JSON.parse(line), 'log line');
            if (entry.msg === 'node started') {
              r.port = Number(entry.port);
              r.respPort = Number(entry.respPort);
              resolve();
            }
          } catch {
            // The image sets RINGKV_LOG_FORMAT=json; a line that is not JSON is not the one we wait for.
          }
        });
        proc.once('exit', (code, signal) => reject(new Error(`${service.name} exited before starting (${signal ?? code}): ${r.stderr.join('')}`)));
      });
    });
    await Promise.all(started);
  });

  afterAll(async () => {
    await Promise.all(running.map(async ({ proc, pid }) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
    }));
    rmSync(volumesRoot, { recursive: true, force: true });
  });

  it('sets only RINGKV_* variables that name node options, in the compose file and the image', () => {
    const known = nodeOptionVariables();
    expect(known.has('RINGKV_ID')).toBe(true);
    const set = [
      ...Object.keys(dockerfile.image.env).map((v) => `docker/Dockerfile ENV ${v}`),
      ...Object.entries(record(compose.services, 'services')).flatMap(([name, s]) => Object.keys(environmentOf(record(s, name), name)).map((v) => `docker/compose.yml ${name} ${v}`)),
    ];
    const unknown = set.filter((where) => {
      const variable = where.split(' ').at(-1) ?? '';
      return variable.startsWith('RINGKV_') && !known.has(variable) && !ENTRYPOINT_VARIABLES.includes(variable);
    });
    expect(unknown, 'variables `ringkv --help` does not list as node options').toEqual([]);
  });

  it('gives every node service an explicit id and advertised address, its own named volume, and the image what it exposes', () => {
    for (const r of running) {
      const { name, address, composeEnv } = r.service;
      expect(composeEnv.RINGKV_ID, `${name} names its node`).toBe(name);
      expect(composeEnv.RINGKV_ADVERTISE_ADDRESS, `${name} advertises its service name and port`).toBe(`${name}:${r.port}`);
      expect(r.service.env.RINGKV_ADVERTISE_ADDRESS).toBe(`${address}:${r.port}`);
    }
    expect(new Set(services.map((s) => s.env.RINGKV_DATA_DIR)).size).toBe(services.length);
    const image = dockerfile.image;
    expect(image.user, 'the image runs as a non-root user').toBeDefined();
    expect(['root', '0']).not.toContain(image.user);
    expect(image.volumes).toContain(image.env.RINGKV_DATA_DIR);
    for (const r of running) {
      for (const port of r.service.published) {
        expect([r.port, r.respPort], `${r.service.name} publishes ${port}, on which the node listens`).toContain(port);
        expect(image.expose, `the image exposes ${port}`).toContain(String(port));
      }
    }
    // Every file the build copies from the context exists and is not left out by .dockerignore.
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('#'));
    for (const { source, line } of contextSources(dockerfile)) {
      expect(existsSync(path.join(ROOT, source)), `docker/Dockerfile line ${line} copies ${source}`).toBe(true);
      expect(ignored, `.dockerignore leaves out ${source}`).not.toContain(source.split('/')[0]);
    }
  });

  it('forms one ring of five alive nodes', async () => {
    await waitFor('every node to see five members alive and a ring of five', async () => {
      for (const r of running) {
        const members = (await json(r, '/cluster/members')).members as Array<{ id: string; state: string }>;
        if (members.filter((m) => m.state === 'alive').length !== 5) return false;
        if ((await json(r, '/cluster/ring')).nodes !== 5) return false;
      }
      return true;
    }, 30_000);
    for (const r of running) {
      const members = (await json(r, '/cluster/members')).members as Array<{ id: string; state: string; address: string }>;
      expect(members.map((m) => `${m.id}@${m.address}:${m.state}`).sort()).toEqual(services.map((s) => `${s.name}@${s.env.RINGKV_ADVERTISE_ADDRESS}:alive`).sort());
    }
  });

  it('serves a W=3 write and an R=3 read through n1\'s published ports', async () => {
    const n1 = running[0];
    if (n1 === undefined) throw new Error('no node');
    const [httpPort, respPort] = [n1.service.published.find((p) => p === n1.port), n1.service.published.find((p) => p === n1.respPort)];
    if (httpPort === undefined || respPort === undefined) throw new Error(`${n1.service.name} must publish its HTTP and RESP ports`);
    const put = await fetch(url(n1.service, httpPort, '/kv/compose-greeting?w=3'), { method: 'PUT', body: 'hello from compose' });
    expect(put.status).toBe(204);
    const get = await fetch(url(n1.service, httpPort, '/kv/compose-greeting?r=3'));
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('hello from compose');
    const redis = new Redis({ host: n1.service.address, port: respPort, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect(await redis.get('compose-greeting')).toBe('hello from compose');
    } finally {
      redis.disconnect();
    }
  });

  it('passes the image\'s HEALTHCHECK on every node, and fails it where no node listens', async () => {
    const check = dockerfile.image.healthcheck;
    if (check === undefined) throw new Error('docker/Dockerfile has no HEALTHCHECK');
    const codes = await Promise.all(running.map((r) => exitCodeOf(check.command, r.service.env)));
    expect(codes).toEqual(running.map(() => 0));
    const first = running[0];
    if (first === undefined) throw new Error('no node');
    expect(await exitCodeOf(check.command, { ...first.service.env, RINGKV_PORT: '1' })).not.toBe(0);
  });
});
