import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RespParser, RespProtocolErrors, parseInteger, splitInlineArguments, type RespParserOptions } from '../../../src/api/resp/parser.js';
import { encodeCommand } from '../../../src/api/resp/encoder.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const strings = (argv: Buffer[]): string[] => argv.map((argument) => argument.toString('latin1'));

/** Feeds every chunk; returns all commands (as latin1 strings) and the protocol error, if any. */
function parseAll(chunks: readonly Buffer[], options?: RespParserOptions): { commands: string[][]; error: string | undefined; errors: number } {
  const parser = new RespParser(options);
  const commands: string[][] = [];
  let error: string | undefined;
  let errors = 0;
  for (const chunk of chunks) {
    const result = parser.feed(chunk);
    // Nothing may follow a protocol error, not even in a later chunk.
    if (error !== undefined) expect(result.commands).toEqual([]);
    commands.push(...result.commands.map(strings));
    if (result.protocolError !== undefined) {
      error = result.protocolError;
      errors += 1;
    }
  }
  return { commands, error, errors };
}

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

describe('RespParser: valid input', () => {
  // A multibulk command in one chunk parses to its argv.
  it('parses a multibulk command', () => {
    expect(parseAll([b('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n')])).toEqual({ commands: [['SET', 'k', 'hello']], error: undefined, errors: 0 });
  });

  // Pipelined commands in one chunk come out as views of that chunk: no copy per command.
  it('returns views of the chunk for pipelined commands', () => {
    const chunk = Buffer.concat(Array.from({ length: 1000 }, (_, i) => encodeCommand(['GET', `key:${i}`])));
    const { commands, protocolError } = new RespParser().feed(chunk);
    expect(protocolError).toBeUndefined();
    expect(commands).toHaveLength(1000);
    expect(commands[999]?.[1]?.toString()).toBe('key:999');
    for (const argv of commands) for (const argument of argv) expect(argument.buffer).toBe(chunk.buffer);
  });

  // A bulk string split across chunks (even inside its CRLF) is reassembled.
  it('reassembles a bulk string spanning chunks', () => {
    const value = 'x'.repeat(100);
    const bytes = encodeCommand(['SET', 'k', value]);
    const valueStart = bytes.indexOf(value);
    const chunks = [bytes.subarray(0, valueStart + 10), bytes.subarray(valueStart + 10, valueStart + 60), bytes.subarray(valueStart + 60, bytes.length - 1), bytes.subarray(bytes.length - 1)];
    expect(parseAll(chunks).commands).toEqual([['SET', 'k', value]]);
  });

  // An empty bulk string is an empty argument.
  it('parses an empty bulk string', () => {
    expect(parseAll([b('*2\r\n$4\r\nECHO\r\n$0\r\n\r\n')]).commands).toEqual([['ECHO', '']]);
  });

  // *0 and *-1 are empty commands that Redis skips.
  it('skips empty multibulk commands', () => {
    expect(parseAll([b('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n')]).commands).toEqual([['PING']]);
  });

  // Inline commands split on whitespace, with CRLF or a bare LF, and empty lines are skipped.
  it('parses inline commands', () => {
    expect(parseAll([b('PING\r\n\r\n  set   a\tb  \nGET a\r\n')]).commands).toEqual([['PING'], ['set', 'a', 'b'], ['GET', 'a']]);
  });

  // Inline quoting follows Redis's sdssplitargs: double quotes with escapes, single quotes with \'.
  it('parses quoted inline arguments like Redis', () => {
    expect(parseAll([b('set "a b" \'c\\\'d\' "\\x41\\n\\"" x"y z"\r\n')]).commands).toEqual([['set', 'a b', "c'd", 'A\n"', 'xy z']]);
    expect(strings(splitInlineArguments(b('"" \'\'')) ?? [])).toEqual(['', '']);
  });

  // Integers follow Redis's string2ll: no sign '+', no leading zeros, no spaces.
  it('parses integers strictly', () => {
    const parse = (text: string): number => parseInteger(b(text), 0, text.length);
    expect(parse('0')).toBe(0);
    expect(parse('123')).toBe(123);
    expect(parse('-5')).toBe(-5);
    for (const bad of ['', '-', '+1', '01', '-0', ' 1', '1 ', '1a', '1234567890123456']) expect(parse(bad)).toBeNaN();
  });
});

describe('RespParser: protocol errors', () => {
  const cases: ReadonlyArray<readonly [string, string, RespParserOptions?]> = [
    ['*abc\r\n', RespProtocolErrors.invalidMultibulkLength],
    ['*01\r\n', RespProtocolErrors.invalidMultibulkLength],
    ['*2\n', RespProtocolErrors.invalidMultibulkLength],
    ['*5\r\n', RespProtocolErrors.invalidMultibulkLength, { maxArrayLength: 4 }],
    ['*1\r\n$-1\r\n', RespProtocolErrors.invalidBulkLength],
    ['*1\r\n$x\r\n', RespProtocolErrors.invalidBulkLength],
    ['*1\r\n$9\r\n', RespProtocolErrors.invalidBulkLength, { maxBulkBytes: 8 }],
    ['*1\r\nfoo\r\n', "ERR Protocol error: expected '$', got 'f'"],
    ['*1\r\n\r\n', "ERR Protocol error: expected '$', got ' '"],
    ['*1\r\n\x01', "ERR Protocol error: expected '$', got '\\x01'"],
    [`${'a'.repeat(20)}\r\n`, RespProtocolErrors.tooBigInline, { maxInlineBytes: 16 }],
    ['a'.repeat(20), RespProtocolErrors.tooBigInline, { maxInlineBytes: 16 }],
    [`*${'1'.repeat(20)}`, RespProtocolErrors.tooBigMultibulkCount, { maxInlineBytes: 16 }],
    [`*1\r\n$${'1'.repeat(20)}`, RespProtocolErrors.tooBigBulkCount, { maxInlineBytes: 16 }],
    ['set "a b\r\n', RespProtocolErrors.unbalancedQuotes],
    ['set "a"b\r\n', RespProtocolErrors.unbalancedQuotes],
    ["set 'a\r\n", RespProtocolErrors.unbalancedQuotes],
    ['*1\r\n$3\r\nfooXY', RespProtocolErrors.missingBulkCrlf],
    ['*2\r\n$6\r\nabcdef\r\n$6\r\n', RespProtocolErrors.commandTooLarge, { maxCommandBytes: 10 }],
  ];

  // Each kind of garbage gets its Redis-worded error, whole or fed one byte at a time.
  it.each(cases.map(([input, expected, options]) => ({ input, expected, options })))('$input → $expected', ({ input, expected, options }) => {
    const bytes = b(input);
    expect(parseAll([bytes], options)).toEqual({ commands: [], error: expected, errors: 1 });
    expect(parseAll(split(bytes, Array.from({ length: bytes.length }, (_, i) => i)), options)).toEqual({ commands: [], error: expected, errors: 1 });
  });

  // Each limit admits exactly its bound and refuses one more, whether the input is whole or split.
  it('enforces limits at the exact bound', () => {
    const options = { maxInlineBytes: 16, maxBulkBytes: 8, maxArrayLength: 4, maxCommandBytes: 12 };
    const check = (input: string, error: string | undefined): void => {
      const bytes = b(input);
      expect(parseAll([bytes], options).error).toBe(error);
      expect(parseAll(split(bytes, Array.from({ length: bytes.length }, (_, i) => i)), options).error).toBe(error);
    };
    check(`${'a'.repeat(15)}\r\n`, undefined); // 16 bytes before LF, CR included
    check(`${'a'.repeat(16)}\r\n`, RespProtocolErrors.tooBigInline);
    check('a'.repeat(16), undefined); // incomplete, may still end in time
    check('a'.repeat(17), RespProtocolErrors.tooBigInline);
    check('*4\r\n', undefined);
    check('*5\r\n', RespProtocolErrors.invalidMultibulkLength);
    check('*1\r\n$8\r\n', undefined);
    check('*1\r\n$9\r\n', RespProtocolErrors.invalidBulkLength);
    check('*2\r\n$6\r\nabcdef\r\n$6\r\n', undefined);
    check('*2\r\n$6\r\nabcdef\r\n$7\r\n', RespProtocolErrors.commandTooLarge);
  });

  // Commands before the error are returned (Redis runs them), and the parser ignores everything after.
  it('returns the commands before an error and nothing after it', () => {
    const parser = new RespParser();
    const result = parser.feed(b('PING\r\n*1\r\n$4\r\nPING\r\n*x\r\n*1\r\n$4\r\nPING\r\n'));
    expect(result.commands.map(strings)).toEqual([['PING'], ['PING']]);
    expect(result.protocolError).toBe(RespProtocolErrors.invalidMultibulkLength);
    expect(parser.failed).toBe(true);
    expect(parser.feed(b('PING\r\n'))).toEqual({ commands: [], protocolError: undefined });
  });
});

/** A command and how to send it: multibulk, or inline when its arguments allow it. */
const commandArbitrary = fc.record({
  argv: fc.array(fc.uint8Array({ minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 5 }),
  inline: fc.boolean(),
});

function encodeForTest(command: { argv: Uint8Array[]; inline: boolean }): { bytes: Buffer; expected: string[] } {
  const plain = (argument: Uint8Array): boolean => argument.length > 0 && argument.every((byte) => byte > 0x20 && byte !== 0x22 && byte !== 0x27 && byte !== 0x7f);
  const first = command.argv[0];
  if (command.inline && command.argv.every(plain) && first !== undefined && first[0] !== 0x2a) {
    const line = Buffer.concat(command.argv.flatMap((argument, i) => (i === 0 ? [Buffer.from(argument)] : [b(' '), Buffer.from(argument)])));
    return { bytes: Buffer.concat([line, b('\r\n')]), expected: command.argv.map((argument) => Buffer.from(argument).toString('latin1')) };
  }
  return { bytes: encodeCommand(command.argv), expected: command.argv.map((argument) => Buffer.from(argument).toString('latin1')) };
}

describe('RespParser: properties', () => {
  // Any split of a valid command stream parses to the same commands, in order, with no error.
  it('parses any split of a valid stream to the same commands', () => {
    fc.assert(fc.property(
      fc.array(commandArbitrary, { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (commands, cuts) => {
        const encoded = commands.map(encodeForTest);
        const stream = Buffer.concat(encoded.map((command) => command.bytes));
        expect(parseAll(split(stream, cuts))).toEqual({ commands: encoded.map((command) => command.expected), error: undefined, errors: 0 });
      },
    ), { numRuns: 300 });
  });

  const garbageByte = fc.oneof(
    fc.constantFrom(...'*$\r\n\r\n0123-1 "\'\\xa'.split('').map((char) => char.charCodeAt(0))),
    fc.integer({ min: 0, max: 255 }),
  );
  const limits: RespParserOptions = { maxInlineBytes: 16, maxBulkBytes: 8, maxArrayLength: 4, maxCommandBytes: 12 };

  // Random bytes never throw, give commands then at most one error, and the same result for every split.
  it('never throws on garbage and is split-independent', () => {
    fc.assert(fc.property(
      fc.array(garbageByte, { maxLength: 120 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.boolean(),
      (bytes, cuts, small) => {
        const options = small ? limits : undefined;
        const stream = Buffer.from(bytes);
        const whole = parseAll([stream], options);
        expect(whole.errors).toBeLessThanOrEqual(1);
        expect(parseAll(split(stream, cuts), options)).toEqual(whole);
      },
    ), { numRuns: 2000 });
  });

  // A valid prefix followed by garbage yields the prefix's commands, then the garbage's outcome.
  it('runs the commands before garbage', () => {
    fc.assert(fc.property(
      fc.array(commandArbitrary, { minLength: 1, maxLength: 5 }),
      fc.array(garbageByte, { minLength: 1, maxLength: 60 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (commands, garbage, cuts) => {
        const encoded = commands.map(encodeForTest);
        const prefix = encoded.map((command) => command.expected);
        const stream = Buffer.concat([...encoded.map((command) => command.bytes), Buffer.from(garbage)]);
        const result = parseAll(split(stream, cuts));
        expect(result.commands.slice(0, prefix.length)).toEqual(prefix);
        expect(result).toEqual(parseAll([stream]));
      },
    ), { numRuns: 500 });
  });
});
