import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeCommand } from '../../../src/api/resp/encoder.js';
import { globMatches, lookupCommand } from '../../../src/api/resp/commands.js';
import { Harness, type RawClient, type StartedServer } from './harness.js';
import { printable } from './reply-reader.js';

const harness = new Harness();
let started: StartedServer;
let client: RawClient;

beforeEach(async () => {
  started = await harness.startServer({ maxClients: 77 });
  client = await harness.connectRaw(started.port);
});
afterEach(() => harness.cleanup());

/** Sends one command and returns its reply in printable form. */
async function call(...argv: (string | Buffer)[]): Promise<unknown> {
  client.send(encodeCommand(argv));
  const [reply] = await client.replies(1);
  return printable(reply ?? null);
}

const error = (message: string): { error: string } => ({ error: message });

describe('RESP commands: replies and Redis 7 error wording', () => {
  // Unknown commands and wrong arities get Redis 7's exact lines.
  it('reports unknown commands and wrong arity', async () => {
    expect(await call('foo', 'a', 'b')).toEqual(error("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
    expect(await call('foo')).toEqual(error("ERR unknown command 'foo', with args beginning with: "));
    expect(await call('GET')).toEqual(error("ERR wrong number of arguments for 'get' command"));
    expect(await call('get', 'a', 'b')).toEqual(error("ERR wrong number of arguments for 'get' command"));
    expect(await call('PING', 'a', 'b')).toEqual(error("ERR wrong number of arguments for 'ping' command"));
    expect(await call('MSET', 'a', '1', 'b')).toEqual(error("ERR wrong number of arguments for 'mset' command"));
    expect(await call('CLIENT', 'SETNAME')).toEqual(error("ERR wrong number of arguments for 'client|setname' command"));
    expect(await call('CLIENT', 'NOPE')).toEqual(error("ERR unknown subcommand 'NOPE'. Try CLIENT HELP."));
  });

  // An unknown command's argument list is cut at 128 characters, as Redis does.
  it('truncates long unknown-command arguments', async () => {
    const reply = await call('nope', 'x'.repeat(300), 'y');
    expect(reply).toEqual(error(`ERR unknown command 'nope', with args beginning with: '${'x'.repeat(128)}' `));
  });

  // Basic data commands behave as in Redis.
  it('runs GET, SET, DEL, EXISTS, MGET, MSET, ECHO and PING', async () => {
    expect(await call('PING')).toBe('PONG');
    expect(await call('PING', 'hi')).toBe('hi');
    expect(await call('ECHO', 'é')).toBe('é');
    expect(await call('GET', 'a')).toBeNull();
    expect(await call('SET', 'a', '1')).toBe('OK');
    expect(await call('get', 'a')).toBe('1');
    expect(await call('MSET', 'b', '2', 'c', '3')).toBe('OK');
    expect(await call('MGET', 'a', 'nope', 'c')).toEqual(['1', null, '3']);
    expect(await call('EXISTS', 'a', 'a', 'nope')).toBe(2);
    expect(await call('DEL', 'a', 'b', 'a', 'nope')).toBe(2);
    expect(await call('EXISTS', 'a', 'b', 'c')).toBe(1);
  });

  // Values are binary-safe; keys must be UTF-8.
  it('keeps values binary and refuses non-UTF-8 keys', async () => {
    const value = Buffer.from([0, 255, 13, 10, 128]);
    expect(await call('SET', 'bin', value)).toBe('OK');
    client.send(encodeCommand(['GET', 'bin']));
    expect(((await client.replies(1))[0] as Buffer).equals(value)).toBe(true);
    const invalidKey = error('ERR invalid key: keys must be valid UTF-8');
    expect(await call('SET', Buffer.from([0xff]), 'v')).toEqual(invalidKey);
    expect(await call('GET', Buffer.from([0xc3]))).toEqual(invalidKey);
    expect(await call('MGET', 'a', Buffer.from([0xed, 0xa0, 0x80]))).toEqual(invalidKey);
    expect(await call('SET', 'ключ', 'v')).toBe('OK');
    expect(await started.backend.exists(['ключ'])).toBe(1);
  });

  // SET options: NX/XX, EX/PX with the injected clock, and Redis's syntax and expire errors.
  it('parses SET options like Redis', async () => {
    expect(await call('SET', 'k', 'v', 'XX')).toBeNull();
    expect(await call('SET', 'k', 'v', 'NX')).toBe('OK');
    expect(await call('SET', 'k', 'w', 'nx')).toBeNull();
    expect(await call('SET', 'k', 'w', 'xx', 'px', '1500')).toBe('OK');
    started.clock.advance(1499);
    expect(await call('GET', 'k')).toBe('w');
    started.clock.advance(1);
    expect(await call('GET', 'k')).toBeNull();
    expect(await call('SET', 'k', 'v', 'EX', '2')).toBe('OK');
    started.clock.advance(2000);
    expect(await call('EXISTS', 'k')).toBe(0);

    expect(await call('SET', 'k', 'v', 'NX', 'XX')).toEqual(error('ERR syntax error'));
    expect(await call('SET', 'k', 'v', 'EX', '1', 'PX', '1')).toEqual(error('ERR syntax error'));
    expect(await call('SET', 'k', 'v', 'EX')).toEqual(error('ERR syntax error'));
    expect(await call('SET', 'k', 'v', 'BOGUS')).toEqual(error('ERR syntax error'));
    expect(await call('SET', 'k', 'v', 'EX', 'soon')).toEqual(error('ERR value is not an integer or out of range'));
    expect(await call('SET', 'k', 'v', 'EX', '0')).toEqual(error("ERR invalid expire time in 'set' command"));
    expect(await call('SET', 'k', 'v', 'PX', '-5')).toEqual(error("ERR invalid expire time in 'set' command"));
    expect(await call('SET', 'k', 'v', 'EX', '999999999999999')).toEqual(error("ERR invalid expire time in 'set' command"));
    expect(await call('SET', 'k', 'v', 'GET')).toEqual(error('ERR SET option GET is not supported by ringkv; use EX or PX'));
    expect(await call('SET', 'k', 'v', 'KEEPTTL')).toEqual(error('ERR SET option KEEPTTL is not supported by ringkv; use EX or PX'));
    expect(await call('EXISTS', 'k')).toBe(0);
  });

  // SELECT accepts only database 0.
  it('has one database', async () => {
    expect(await call('SELECT', '0')).toBe('OK');
    expect(await call('SELECT', '1')).toEqual(error('ERR DB index is out of range'));
    expect(await call('SELECT', 'x')).toEqual(error('ERR value is not an integer or out of range'));
  });

  // CLIENT keeps the connection's name and library info, and reports them.
  it('supports CLIENT SETNAME, GETNAME, ID, SETINFO and INFO', async () => {
    expect(await call('CLIENT', 'GETNAME')).toBeNull();
    expect(await call('CLIENT', 'SETNAME', 'worker-1')).toBe('OK');
    expect(await call('CLIENT', 'GETNAME')).toBe('worker-1');
    expect(await call('CLIENT', 'SETNAME', 'a b')).toEqual(error('ERR Client names cannot contain spaces, newlines or special characters.'));
    expect(await call('CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis')).toBe('OK');
    expect(typeof await call('CLIENT', 'ID')).toBe('number');
    const info = await call('CLIENT', 'INFO');
    expect(info).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ .*name=worker-1 .*lib-name=ioredis .*resp=2\n$/);
  });

  // HELLO speaks RESP2 only: version 3 gets NOPROTO so clients fall back.
  it('answers HELLO for RESP2 and refuses RESP3', async () => {
    expect(await call('HELLO', '3')).toEqual(error('NOPROTO unsupported protocol version'));
    expect(await call('HELLO', 'x')).toEqual(error('ERR Protocol version is not an integer or out of range'));
    const hello = await call('HELLO', '2', 'SETNAME', 'h');
    expect(hello).toEqual(expect.arrayContaining(['server', 'redis', 'proto', 2, 'mode', 'standalone']));
    expect(await call('CLIENT', 'GETNAME')).toBe('h');
    expect(await call('HELLO', '2', 'BOGUS')).toEqual(error("ERR Syntax error in HELLO option 'BOGUS'"));
  });

  // CONFIG GET answers what redis-benchmark asks, with glob patterns; CONFIG SET is refused.
  it('answers CONFIG GET', async () => {
    expect(await call('CONFIG', 'GET', 'save')).toEqual(['save', '']);
    expect(await call('CONFIG', 'GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await call('CONFIG', 'GET', 'max*')).toEqual(['maxclients', '77']);
    expect(await call('CONFIG', 'GET', 'nothing')).toEqual([]);
    expect(await call('CONFIG', 'SET', 'save', '')).toEqual(error('ERR CONFIG SET is not supported by ringkv; configure the node instead'));
  });

  // COMMAND, COMMAND COUNT, COMMAND INFO and COMMAND DOCS answer what redis-cli asks.
  it('describes its commands', async () => {
    const count = await call('COMMAND', 'COUNT');
    expect(count).toBeGreaterThan(10);
    const all = (await call('COMMAND')) as unknown[][];
    expect(all).toHaveLength(count as number);
    expect(await call('COMMAND', 'INFO', 'get', 'nope')).toEqual([['get', 2, ['readonly', 'fast'], 1, 1, 1, [], [], [], []], null]);
    expect(await call('COMMAND', 'DOCS')).toEqual([]);
  });

  // INFO has Redis's server fields, client and stat counters, and the backend's ringkv section.
  it('reports INFO sections', async () => {
    const info = (await call('INFO')) as string;
    expect(info).toMatch(/^# Server\r\nredis_version:7\.0\.0\r\n/);
    expect(info).toContain(`tcp_port:${started.port}\r\n`);
    expect(info).toContain('connected_clients:1\r\n');
    expect(info).toContain('maxclients:77\r\n');
    expect(info).toContain('# Ringkv\r\nbackend:map\r\n');
    const ringkv = (await call('INFO', 'RINGKV')) as string;
    expect(ringkv.startsWith('# Ringkv\r\n')).toBe(true);
    expect(ringkv).not.toContain('# Server');
    expect(await call('INFO', 'nosuchsection')).toBe('');
  });

  // AUTH is refused with Redis's no-password wording.
  it('has no AUTH', async () => {
    expect(await call('AUTH', 'secret')).toEqual(error(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?'));
  });
});

describe('globMatches', () => {
  // CONFIG GET patterns follow Redis's glob rules.
  it('matches like Redis stringmatch', () => {
    expect(globMatches('*', 'save')).toBe(true);
    expect(globMatches('sa?e', 'save')).toBe(true);
    expect(globMatches('s[a-c]ve', 'save')).toBe(true);
    expect(globMatches('s[^a]ve', 'save')).toBe(false);
    expect(globMatches('max*', 'save')).toBe(false);
    expect(globMatches('a\\*', 'a*')).toBe(true);
    expect(globMatches('a.c', 'abc')).toBe(false);
  });
});

describe('lookupCommand', () => {
  // Names match ASCII case-insensitively and exactly, as in Redis.
  it('folds ASCII case only', () => {
    for (const name of ['get', 'GET', 'gEt']) expect(lookupCommand(Buffer.from(name))?.name).toBe('get');
    expect(lookupCommand(Buffer.from('CLIENT'))?.name).toBe('client');
    for (const name of ['', 'ge', 'gets', 'g\x05t', 'gE\x14', '\x07et', 'g\xc5t']) expect(lookupCommand(Buffer.from(name, 'latin1'))).toBeUndefined();
  });
});
