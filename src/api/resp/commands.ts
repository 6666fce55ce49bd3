/**
 * The RESP command table: the subset of Redis that redis-cli, ioredis and redis-benchmark need,
 * with Redis 7's arity rules and error wording. Data commands go to the RespBackend; connection
 * commands (CLIENT, SELECT, HELLO, QUIT) touch only the session.
 *
 * Keys: Redis keys are binary, ringkv keys are strings. A key must be valid UTF-8, else the reply
 * is "ERR invalid key: keys must be valid UTF-8" (the bytes are checked with Buffer's isUtf8, the
 * same test as TextDecoder with fatal: true, and a leading BOM is kept). Values stay bytes.
 *
 * Not atomic: MSET, MGET, DEL and EXISTS of several keys are one backend call per key (or one
 * call over independent keys); a failure of one key's write is the reply, the others may be written.
 */
import { arch, release, type } from 'node:os';
import { isUtf8 } from 'node:buffer';
import { assert } from '../../core/assert.js';
import type { Logger } from '../../core/env.js';
import type { RespBackend, RespSetOptions } from './backend.js';
import { Resp, type RespValue } from './encoder.js';
import { errorLineFor } from './error-reply.js';
import { parseInteger } from './parser.js';

/** The Redis version we report (INFO, HELLO): the command set and wording we follow are Redis 7.0's. */
export const EMULATED_REDIS_VERSION = '7.0.0';

/** Per-connection state that commands read and change. */
export interface RespSession {
  readonly id: number;
  /** "ip:port" of the client. */
  readonly remoteAddress: string;
  /** "ip:port" of the server side of the connection. */
  readonly localAddress: string;
  readonly connectedAtMs: number;
  lastCommandAtMs: number;
  lastCommandName: string;
  /** CLIENT SETNAME / HELLO SETNAME; undefined when unset. */
  name: string | undefined;
  /** CLIENT SETINFO LIB-NAME / LIB-VER. */
  libName: string | undefined;
  libVersion: string | undefined;
  /** Set by QUIT: the connection replies, then closes, and runs nothing after it. */
  quitRequested: boolean;
}

/** Server-wide facts for INFO, CONFIG GET and HELLO. */
export interface RespServerStatus {
  readonly tcpPort: number;
  readonly startedAtMs: number;
  readonly runId: string;
  readonly connectedClients: number;
  readonly maxClients: number;
  readonly totalConnectionsReceived: number;
  readonly totalCommandsProcessed: number;
  readonly rejectedConnections: number;
  /** Parameters CONFIG GET reports (name → value), e.g. save, appendonly, maxclients. */
  readonly config: ReadonlyMap<string, string>;
}

/** What a command runs against. */
export interface CommandContext {
  readonly backend: RespBackend;
  readonly session: RespSession;
  readonly server: RespServerStatus;
  readonly logger: Logger;
  nowMs(): number;
}

/** How a command interacts with others in a pipeline (see connection.ts scheduling). */
export type CommandAccess =
  /** Reads the keys at its key positions. */
  | 'read'
  /** Writes the keys at its key positions. */
  | 'write'
  /** Touches no key (PING, INFO, CLIENT ...): runs alongside anything. */
  | 'none'
  /** Must run alone, after everything before it (QUIT). */
  | 'barrier';

export interface RespCommand {
  /** Lowercase name, as Redis reports it. */
  readonly name: string;
  /** Redis convention: N > 0 exactly N arguments (name included), -N at least N. */
  readonly arity: number;
  /** Flags for the COMMAND reply. */
  readonly flags: readonly string[];
  /** Key positions for COMMAND and for pipeline scheduling: first, last (-1 = last argument), step; 0 0 0 = no keys. */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly keyStep: number;
  readonly access: CommandAccess;
  /** Runs the command; may throw or reject with a RingkvError (see runCommand). */
  readonly execute: (context: CommandContext, argv: readonly Buffer[]) => RespValue | Promise<RespValue>;
}

const INVALID_KEY = Resp.error('ERR invalid key: keys must be valid UTF-8');
const SYNTAX_ERROR = Resp.error('ERR syntax error');
const NOT_AN_INTEGER = Resp.error('ERR value is not an integer or out of range');
const PONG = Resp.simple('PONG');
const NO_PASSWORD =
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';

function wrongArity(name: string): RespValue {
  return Resp.error(`ERR wrong number of arguments for '${name}' command`);
}

function unknownSubcommand(subcommand: Buffer, command: string): RespValue {
  return Resp.error(`ERR unknown subcommand '${subcommand.toString('utf8', 0, 128)}'. Try ${command.toUpperCase()} HELP.`);
}

/** A key as a string, or undefined when its bytes are not valid UTF-8. */
export function decodeKey(bytes: Buffer): string | undefined {
  // ASCII (nearly every key) is checked with a tight loop; short strings cost less than a native call.
  if (bytes.length <= 32) {
    let ascii = true;
    for (let i = 0; i < bytes.length; i += 1) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return bytes.toString('latin1');
  }
  return isUtf8(bytes) ? bytes.toString('utf8') : undefined;
}

function decodeKeys(argv: readonly Buffer[], first: number, step: number): string[] | undefined {
  const keys: string[] = [];
  for (let i = first; i < argv.length; i += step) {
    const key = decodeKey(argv[i] as Buffer);
    if (key === undefined) return undefined;
    keys.push(key);
  }
  return keys;
}

function bulkOrNull(value: Uint8Array | undefined): RespValue {
  return value === undefined ? Resp.NULL_BULK : Resp.bulk(value);
}

function lower(bytes: Buffer): string {
  return bytes.toString('latin1').toLowerCase();
}

function integerArgument(bytes: Buffer): number {
  return parseInteger(bytes, 0, bytes.length);
}

// ---------------------------------------------------------------- data commands

async function getCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  const key = decodeKey(argv[1] as Buffer);
  if (key === undefined) return INVALID_KEY;
  return bulkOrNull(await context.backend.get(key));
}

type SetParse = { readonly options: RespSetOptions } | { readonly error: RespValue };

/** SET's options, as Redis 7 parseExtendedStringArgumentsOrReply checks them (syntax first, then the expire value). */
function parseSetOptions(argv: readonly Buffer[]): SetParse {
  let condition: 'NX' | 'XX' | undefined;
  let expireUnit: 'EX' | 'PX' | 'EXAT' | 'PXAT' | undefined;
  let expireArgument: Buffer | undefined;
  let keepTtl = false;
  let get = false;
  for (let i = 3; i < argv.length; i += 1) {
    const option = lower(argv[i] as Buffer);
    const next = argv[i + 1];
    if (option === 'nx' && condition !== 'XX') {
      condition = 'NX';
    } else if (option === 'xx' && condition !== 'NX') {
      condition = 'XX';
    } else if (option === 'get') {
      get = true;
    } else if (option === 'keepttl' && expireUnit === undefined) {
      keepTtl = true;
    } else if ((option === 'ex' || option === 'px' || option === 'exat' || option === 'pxat') &&
      !keepTtl && (expireUnit === undefined || expireUnit === option.toUpperCase()) && next !== undefined) {
      expireUnit = option.toUpperCase() as 'EX' | 'PX' | 'EXAT' | 'PXAT';
      expireArgument = next;
      i += 1;
    } else {
      return { error: SYNTAX_ERROR };
    }
  }
  if (get || keepTtl || expireUnit === 'EXAT' || expireUnit === 'PXAT') {
    const option = get ? 'GET' : keepTtl ? 'KEEPTTL' : (expireUnit as string);
    return { error: Resp.error(`ERR SET option ${option} is not supported by ringkv; use EX or PX`) };
  }
  if (expireArgument === undefined) return { options: condition === undefined ? {} : { condition } };
  const amount = integerArgument(expireArgument);
  if (Number.isNaN(amount)) return { error: NOT_AN_INTEGER };
  const ttlMs = expireUnit === 'EX' ? amount * 1000 : amount;
  if (ttlMs <= 0 || !Number.isSafeInteger(ttlMs)) return { error: Resp.error("ERR invalid expire time in 'set' command") };
  return { options: condition === undefined ? { ttlMs } : { ttlMs, condition } };
}

async function setCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  const key = decodeKey(argv[1] as Buffer);
  if (key === undefined) return INVALID_KEY;
  const parsed = argv.length === 3 ? { options: {} } : parseSetOptions(argv);
  if ('error' in parsed) return parsed.error;
  const written = await context.backend.set(key, argv[2] as Buffer, parsed.options);
  return written ? Resp.OK : Resp.NULL_BULK;
}

async function delCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  const keys = decodeKeys(argv, 1, 1);
  if (keys === undefined) return INVALID_KEY;
  return Resp.integer(await context.backend.del(keys));
}

async function existsCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  const keys = decodeKeys(argv, 1, 1);
  if (keys === undefined) return INVALID_KEY;
  return Resp.integer(await context.backend.exists(keys));
}

async function mgetCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  const keys = decodeKeys(argv, 1, 1);
  if (keys === undefined) return INVALID_KEY;
  const values = await Promise.all(keys.map((key) => context.backend.get(key)));
  return Resp.array(values.map(bulkOrNull));
}

async function msetCommand(context: CommandContext, argv: readonly Buffer[]): Promise<RespValue> {
  if (argv.length % 2 === 0) return wrongArity('mset');
  const keys = decodeKeys(argv, 1, 2);
  if (keys === undefined) return INVALID_KEY;
  await Promise.all(keys.map((key, i) => context.backend.set(key, argv[2 + 2 * i] as Buffer, {})));
  return Resp.OK;
}

// ---------------------------------------------------------------- connection and server commands

function pingCommand(_context: CommandContext, argv: readonly Buffer[]): RespValue {
  if (argv.length > 2) return wrongArity('ping');
  return argv.length === 2 ? Resp.bulk(argv[1] as Buffer) : PONG;
}

function echoCommand(_context: CommandContext, argv: readonly Buffer[]): RespValue {
  return Resp.bulk(argv[1] as Buffer);
}

function selectCommand(_context: CommandContext, argv: readonly Buffer[]): RespValue {
  const index = integerArgument(argv[1] as Buffer);
  if (Number.isNaN(index)) return NOT_AN_INTEGER;
  // ringkv has one keyspace: database 0.
  return index === 0 ? Resp.OK : Resp.error('ERR DB index is out of range');
}

function quitCommand(context: CommandContext): RespValue {
  context.session.quitRequested = true;
  return Resp.OK;
}

function authCommand(): RespValue {
  return Resp.error(NO_PASSWORD);
}

/** CLIENT SETNAME's rule (Redis validateClientName): printable ASCII, no spaces. */
function isValidClientName(name: Buffer): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

function clientInfoLine(context: CommandContext): string {
  const session = context.session;
  const now = context.nowMs();
  return [
    `id=${session.id}`,
    `addr=${session.remoteAddress}`,
    `laddr=${session.localAddress}`,
    `name=${session.name ?? ''}`,
    `age=${Math.floor((now - session.connectedAtMs) / 1000)}`,
    `idle=${Math.floor((now - session.lastCommandAtMs) / 1000)}`,
    'flags=N',
    'db=0',
    'multi=-1',
    `cmd=${session.lastCommandName}`,
    'user=default',
    `lib-name=${session.libName ?? ''}`,
    `lib-ver=${session.libVersion ?? ''}`,
    'resp=2',
  ].join(' ') + '\n';
}

function clientCommand(context: CommandContext, argv: readonly Buffer[]): RespValue {
  const subcommand = lower(argv[1] as Buffer);
  const exact = (arity: number): boolean => argv.length === arity;
  switch (subcommand) {
    case 'id':
      return exact(2) ? Resp.integer(context.session.id) : wrongArity('client|id');
    case 'getname':
      return exact(2) ? Resp.bulk(context.session.name ?? null) : wrongArity('client|getname');
    case 'setname': {
      if (!exact(3)) return wrongArity('client|setname');
      const name = argv[2] as Buffer;
      if (!isValidClientName(name)) return Resp.error('ERR Client names cannot contain spaces, newlines or special characters.');
      context.session.name = name.length === 0 ? undefined : name.toString('latin1');
      return Resp.OK;
    }
    case 'setinfo': {
      if (!exact(4)) return wrongArity('client|setinfo');
      const attribute = lower(argv[2] as Buffer);
      const value = argv[3] as Buffer;
      if (!isValidClientName(value)) return Resp.error(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
      if (attribute === 'lib-name') context.session.libName = value.toString('latin1');
      else if (attribute === 'lib-ver') context.session.libVersion = value.toString('latin1');
      else return Resp.error(`ERR Unrecognized option '${(argv[2] as Buffer).toString('utf8', 0, 128)}'`);
      return Resp.OK;
    }
    case 'info':
      return exact(2) ? Resp.bulk(clientInfoLine(context)) : wrongArity('client|info');
    default:
      return unknownSubcommand(argv[1] as Buffer, 'client');
  }
}

function helloCommand(context: CommandContext, argv: readonly Buffer[]): RespValue {
  let next = 1;
  if (argv.length >= 2) {
    const version = integerArgument(argv[1] as Buffer);
    next = 2;
    if (Number.isNaN(version)) return Resp.error('ERR Protocol version is not an integer or out of range');
    // Only RESP2: clients that ask for 3 fall back to 2 on NOPROTO.
    if (version !== 2) return Resp.error('NOPROTO unsupported protocol version');
  }
  let name: Buffer | undefined;
  for (let i = next; i < argv.length; i += 1) {
    const option = lower(argv[i] as Buffer);
    const more = argv.length - 1 - i;
    if (option === 'auth' && more >= 2) return Resp.error(NO_PASSWORD);
    if (option === 'setname' && more >= 1) {
      name = argv[i + 1] as Buffer;
      i += 1;
    } else {
      return Resp.error(`ERR Syntax error in HELLO option '${(argv[i] as Buffer).toString('utf8', 0, 128)}'`);
    }
  }
  if (name !== undefined) {
    if (!isValidClientName(name)) return Resp.error('ERR Client names cannot contain spaces, newlines or special characters.');
    context.session.name = name.length === 0 ? undefined : name.toString('latin1');
  }
  return Resp.array([
    Resp.bulk('server'), Resp.bulk('redis'),
    Resp.bulk('version'), Resp.bulk(EMULATED_REDIS_VERSION),
    Resp.bulk('proto'), Resp.integer(2),
    Resp.bulk('id'), Resp.integer(context.session.id),
    Resp.bulk('mode'), Resp.bulk('standalone'),
    Resp.bulk('role'), Resp.bulk('master'),
    Resp.bulk('modules'), Resp.EMPTY_ARRAY,
  ]);
}

/** Redis glob matching (stringmatchlen) for CONFIG GET patterns: * ? [set] and \ escapes. */
export function globMatches(pattern: string, text: string): boolean {
  let source = '^';
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i] as string;
    if (char === '*') source += '.*';
    else if (char === '?') source += '.';
    else if (char === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i] as string);
    else if (char === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) {
        source += '\\[';
      } else {
        let set = pattern.slice(i + 1, close);
        const negate = set.startsWith('^');
        if (negate) set = set.slice(1);
        source += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
      }
    } else source += escapeRegExp(char);
  }
  try {
    return new RegExp(`${source}$`, 's').test(text);
  } catch {
    // A malformed [set] (e.g. a reversed range) matches nothing, as in Redis.
    return false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function configCommand(context: CommandContext, argv: readonly Buffer[]): RespValue {
  const subcommand = lower(argv[1] as Buffer);
  if (subcommand === 'get') {
    if (argv.length < 3) return wrongArity('config|get');
    const items: RespValue[] = [];
    for (const [name, value] of context.server.config) {
      if (argv.slice(2).some((pattern) => globMatches(pattern.toString('utf8').toLowerCase(), name))) {
        items.push(Resp.bulk(name), Resp.bulk(value));
      }
    }
    return Resp.array(items);
  }
  if (subcommand === 'set' || subcommand === 'resetstat' || subcommand === 'rewrite') {
    return Resp.error(`ERR CONFIG ${subcommand.toUpperCase()} is not supported by ringkv; configure the node instead`);
  }
  return unknownSubcommand(argv[1] as Buffer, 'config');
}

function infoSection(title: string, fields: ReadonlyArray<readonly [string, string | number]>): string {
  return `# ${title}\r\n${fields.map(([name, value]) => `${name}:${value}\r\n`).join('')}`;
}

/** INFO's sections; "default", "all" and "everything" give all of them. */
const INFO_SECTIONS = ['server', 'clients', 'stats', 'ringkv'] as const;

function infoCommand(context: CommandContext, argv: readonly Buffer[]): RespValue {
  const requested = argv.slice(1).map(lower);
  const all = requested.length === 0 || requested.some((name) => name === 'default' || name === 'all' || name === 'everything');
  const wanted = INFO_SECTIONS.filter((name) => all || requested.includes(name));
  const server = context.server;
  const now = context.nowMs();
  const uptimeSeconds = Math.floor((now - server.startedAtMs) / 1000);
  const parts: string[] = [];
  for (const section of wanted) {
    switch (section) {
      case 'server':
        parts.push(infoSection('Server', [
          ['redis_version', EMULATED_REDIS_VERSION],
          ['redis_mode', 'standalone'],
          ['os', `${type()} ${release()} ${arch()}`],
          ['arch_bits', 64],
          ['process_id', process.pid],
          ['run_id', server.runId],
          ['tcp_port', server.tcpPort],
          ['uptime_in_seconds', uptimeSeconds],
          ['uptime_in_days', Math.floor(uptimeSeconds / 86400)],
          ['executable', process.execPath],
        ]));
        break;
      case 'clients':
        parts.push(infoSection('Clients', [
          ['connected_clients', server.connectedClients],
          ['maxclients', server.maxClients],
          ['blocked_clients', 0],
        ]));
        break;
      case 'stats':
        parts.push(infoSection('Stats', [
          ['total_connections_received', server.totalConnectionsReceived],
          ['total_commands_processed', server.totalCommandsProcessed],
          ['rejected_connections', server.rejectedConnections],
        ]));
        break;
      case 'ringkv':
        parts.push(infoSection('Ringkv', Object.entries(context.backend.info()).map(
          ([name, value]) => [name.replace(/[^a-zA-Z0-9_]/g, '_'), typeof value === 'string' ? value.replace(/[\r\n]/g, ' ') : value] as const)));
        break;
    }
  }
  return Resp.bulk(parts.join('\r\n'));
}

function commandInfo(command: RespCommand): RespValue {
  return Resp.array([
    Resp.bulk(command.name),
    Resp.integer(command.arity),
    Resp.array(command.flags.map(Resp.simple)),
    Resp.integer(command.firstKey),
    Resp.integer(command.lastKey),
    Resp.integer(command.keyStep),
    Resp.EMPTY_ARRAY, // ACL categories
    Resp.EMPTY_ARRAY, // tips
    Resp.EMPTY_ARRAY, // key specs
    Resp.EMPTY_ARRAY, // subcommands
  ]);
}

function commandCommand(_context: CommandContext, argv: readonly Buffer[]): RespValue {
  if (argv.length === 1) return Resp.array(COMMAND_LIST.map(commandInfo));
  const subcommand = lower(argv[1] as Buffer);
  switch (subcommand) {
    case 'count':
      return argv.length === 2 ? Resp.integer(COMMAND_LIST.length) : wrongArity('command|count');
    case 'list':
      return argv.length === 2 ? Resp.array(COMMAND_LIST.map((command) => Resp.bulk(command.name))) : wrongArity('command|list');
    case 'docs':
      // redis-cli 7 asks for docs to show hints; an empty reply means "no docs", which it accepts.
      return Resp.EMPTY_ARRAY;
    case 'info':
      return Resp.array(argv.slice(2).map((name) => {
        const command = COMMANDS.get(lower(name));
        return command === undefined ? Resp.NULL_ARRAY : commandInfo(command);
      }));
    default:
      return unknownSubcommand(argv[1] as Buffer, 'command');
  }
}

// ---------------------------------------------------------------- the table

function command(
  name: string, arity: number, flags: readonly string[], keys: readonly [number, number, number], access: CommandAccess,
  execute: RespCommand['execute'],
): RespCommand {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], access, execute };
}

const NO_KEYS = [0, 0, 0] as const;

const COMMAND_LIST: readonly RespCommand[] = [
  command('get', 2, ['readonly', 'fast'], [1, 1, 1], 'read', getCommand),
  command('set', -3, ['write', 'denyoom'], [1, 1, 1], 'write', setCommand),
  command('del', -2, ['write'], [1, -1, 1], 'write', delCommand),
  command('exists', -2, ['readonly', 'fast'], [1, -1, 1], 'read', existsCommand),
  command('mget', -2, ['readonly', 'fast'], [1, -1, 1], 'read', mgetCommand),
  command('mset', -3, ['write', 'denyoom'], [1, -1, 2], 'write', msetCommand),
  command('ping', -1, ['fast'], NO_KEYS, 'none', pingCommand),
  command('echo', 2, ['fast'], NO_KEYS, 'none', echoCommand),
  command('select', 2, ['loading', 'stale', 'fast'], NO_KEYS, 'none', selectCommand),
  command('quit', -1, ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], NO_KEYS, 'barrier', quitCommand),
  command('auth', -2, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], NO_KEYS, 'none', authCommand),
  command('hello', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], NO_KEYS, 'none', helloCommand),
  command('client', -2, ['noscript', 'loading', 'stale'], NO_KEYS, 'none', clientCommand),
  command('config', -2, ['noscript', 'loading', 'stale'], NO_KEYS, 'none', configCommand),
  command('info', -1, ['loading', 'stale'], NO_KEYS, 'none', infoCommand),
  command('command', -1, ['loading', 'stale'], NO_KEYS, 'none', commandCommand),
];

/** Commands by lowercase name. */
const COMMANDS = new Map<string, RespCommand>(COMMAND_LIST.map((entry) => [entry.name, entry]));

/** Commands by name length and lowercase first byte, so a lookup compares bytes and allocates nothing. */
const COMMANDS_BY_SHAPE = new Map<number, { readonly command: RespCommand; readonly nameBytes: Buffer }[]>();
for (const entry of COMMAND_LIST) {
  assert(/^[a-z]+$/.test(entry.name), 'command names are lowercase letters (lookupCommand folds case with | 0x20)');
  const shape = entry.name.length * 256 + entry.name.charCodeAt(0);
  const candidates = COMMANDS_BY_SHAPE.get(shape) ?? [];
  candidates.push({ command: entry, nameBytes: Buffer.from(entry.name, 'latin1') });
  COMMANDS_BY_SHAPE.set(shape, candidates);
}

/** The command named by `name`, compared ASCII case-insensitively, as Redis does. */
export function lookupCommand(name: Buffer): RespCommand | undefined {
  if (name.length === 0) return undefined;
  const candidates = COMMANDS_BY_SHAPE.get(name.length * 256 + ((name[0] as number) | 0x20));
  if (candidates === undefined) return undefined;
  for (const { command, nameBytes } of candidates) {
    let same = true;
    for (let i = 1; i < name.length; i += 1) {
      // Every command name is lowercase letters, so OR 0x20 folds exactly the uppercase letters onto them.
      if (((name[i] as number) | 0x20) !== nameBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return command;
  }
  return undefined;
}

/** Every command, for COMMAND and documentation. */
export function listCommands(): readonly RespCommand[] {
  return COMMAND_LIST;
}

/** Redis 7's reply to an unknown command: the name and the start of the arguments, 128 characters at most each. */
export function unknownCommandReply(argv: readonly Buffer[]): RespValue {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i += 1) {
    args += `'${(argv[i] as Buffer).toString('utf8').slice(0, 128 - args.length)}' `;
  }
  const name = (argv[0] as Buffer).toString('utf8').slice(0, 128);
  return Resp.error(`ERR unknown command '${name}', with args beginning with: ${args}`);
}

function arityAllows(command: RespCommand, argc: number): boolean {
  return command.arity > 0 ? argc === command.arity : argc >= -command.arity;
}

/**
 * Runs one command: lookup already done by the caller (pass undefined for unknown), arity check,
 * execution. Never throws: a synchronous error becomes an error reply. A returned promise may
 * reject; the caller must attach a rejection handler at once and turn the error into a reply with
 * commandErrorReply (the connection does; that saves a promise per command on the hot path).
 */
export function runCommand(context: CommandContext, command: RespCommand | undefined, argv: readonly Buffer[]): RespValue | Promise<RespValue> {
  if (command === undefined) return unknownCommandReply(argv);
  if (!arityAllows(command, argv.length)) return wrongArity(command.name);
  try {
    return command.execute(context, argv);
  } catch (error) {
    return commandErrorReply(context, command, error);
  }
}

/** The error reply for an error a command threw or rejected with; unexpected (non-ringkv) errors are logged. */
export function commandErrorReply(context: CommandContext, command: RespCommand | undefined, error: unknown): RespValue {
  const { line, internal } = errorLineFor(error);
  if (internal) context.logger.error({ err: error, command: command?.name, client: context.session.id }, 'RESP command failed with an unexpected error');
  return Resp.error(line);
}
