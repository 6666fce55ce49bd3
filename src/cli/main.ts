#!/usr/bin/env node
/**
 * The `ringkv` command.
 *
 *   ringkv start --id n1 --port 7001 --seeds 127.0.0.1:7002 --data-dir ./data/n1   start a node
 *   ringkv dev-ring [--nodes 3] [--base-port 7001] [--resp-base-port 6380]         a local ring (npm start)
 *   ringkv get KEY [--node host:port] [--r N]
 *   ringkv put KEY VALUE [--node host:port] [--w N] [--ttl SECONDS] [--context C]
 *   ringkv del KEY [--node host:port] [--w N]
 *   ringkv status [--node host:port]
 *   ringkv ring [--node host:port]
 */
import { InvalidConfigError, isRingkvError } from '../errors.js';
import { optionsHelp, parseEnv, parseFlags, resolveOptions } from '../config.js';
import { runDevRing } from './dev-ring.js';
import { runClientCommand, CLIENT_COMMANDS } from './client-commands.js';

const USAGE = `ringkv — a Dynamo-style distributed key-value store

Usage:
  ringkv start [options]            start a node (options below, or RINGKV_* variables)
  ringkv dev-ring [--nodes 3] [--base-port 7001] [--resp-base-port 6380] [--data-root ./data]
                                    start a local ring of processes on 127.0.0.1 (what npm start runs)
  ringkv get KEY [--node H:P] [--r N] [--timeout MS]
  ringkv put KEY VALUE [--node H:P] [--w N] [--ttl SECONDS] [--context C] [--timeout MS]
  ringkv del KEY [--node H:P] [--w N] [--context C]
  ringkv status [--node H:P]        members, ring ownership, hints, version
  ringkv ring [--node H:P]          ownership per node as a table
  ringkv leave [--node H:P]         make a node leave the ring for good, then stop

--node defaults to 127.0.0.1:7001 (or RINGKV_NODE).

Node options (flag, environment variable, default):
${optionsHelp()}
`;

async function startCommand(argv: string[]): Promise<void> {
  const { options: flags, rest } = parseFlags(argv);
  if (rest.length > 0) throw new InvalidConfigError(`unexpected argument ${JSON.stringify(rest[0])}; see ringkv --help`);
  const options = resolveOptions(parseEnv(process.env), flags);
  const { startNode } = await import('../runtime/node-process.js');
  const running = await startNode(options, { onLeft: () => process.exit(0) });
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('message', (msg) => {
    if (msg === 'leave') {
      running.stop({ leave: true }).then(() => process.exit(0), () => process.exit(1));
    }
  });
}

async function main(): Promise<void> {
  const [command, ...argv] = process.argv.slice(2);
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    case 'start':
      return startCommand(argv);
    case 'dev-ring':
      return runDevRing(argv);
    default:
      if (CLIENT_COMMANDS.has(command)) {
        process.exitCode = await runClientCommand(command, argv);
        return;
      }
      throw new InvalidConfigError(`unknown command ${JSON.stringify(command)}; see ringkv --help`);
  }
}

main().catch((err: unknown) => {
  if (isRingkvError(err)) {
    process.stderr.write(`ringkv: ${err.code}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`ringkv: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
