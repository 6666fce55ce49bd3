import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RespReplyBuffer, Resp, encodeCommand, encodeReply } from '../../../src/api/resp/encoder.js';
import { RespParser } from '../../../src/api/resp/parser.js';
import { printable, readReply } from './reply-reader.js';

const text = (bytes: Buffer): string => bytes.toString('latin1');

describe('RespReplyBuffer', () => {
  // Every reply type has the exact RESP2 bytes.
  it('encodes each reply type', () => {
    expect(text(encodeReply(Resp.OK))).toBe('+OK\r\n');
    expect(text(encodeReply(Resp.error('ERR boom')))).toBe('-ERR boom\r\n');
    expect(text(encodeReply(Resp.integer(0)))).toBe(':0\r\n');
    expect(text(encodeReply(Resp.integer(-1234567890123)))).toBe(':-1234567890123\r\n');
    expect(text(encodeReply(Resp.integer(Number.MAX_SAFE_INTEGER)))).toBe(`:${Number.MAX_SAFE_INTEGER}\r\n`);
    expect(text(encodeReply(Resp.bulk(Buffer.from('hi'))))).toBe('$2\r\nhi\r\n');
    expect(text(encodeReply(Resp.bulk('é')))).toBe('$2\r\n\xc3\xa9\r\n');
    expect(text(encodeReply(Resp.bulk(new Uint8Array(0))))).toBe('$0\r\n\r\n');
    expect(text(encodeReply(Resp.NULL_BULK))).toBe('$-1\r\n');
    expect(text(encodeReply(Resp.NULL_ARRAY))).toBe('*-1\r\n');
    expect(text(encodeReply(Resp.EMPTY_ARRAY))).toBe('*0\r\n');
    expect(text(encodeReply(Resp.array([Resp.integer(1), Resp.array([Resp.bulk('a'), Resp.NULL_BULK]), Resp.simple('x')]))))
      .toBe('*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n');
  });

  // An error message with newlines stays one line (Redis turns them into spaces).
  it('keeps error replies on one line', () => {
    expect(text(encodeReply(Resp.error('ERR a\r\nb\nc')))).toBe('-ERR a  b c\r\n');
  });

  // Many replies accumulate into one take(), which then leaves the buffer empty.
  it('batches replies until take()', () => {
    const buffer = new RespReplyBuffer({ segmentBytes: 64 });
    for (let i = 0; i < 100; i += 1) buffer.integer(i);
    const expected = Array.from({ length: 100 }, (_, i) => `:${i}\r\n`).join('');
    expect(buffer.lengthBytes).toBe(expected.length);
    expect(text(Buffer.concat(buffer.take()))).toBe(expected);
    expect(buffer.lengthBytes).toBe(0);
    expect(buffer.take()).toEqual([]);
  });

  // Large bulk values are referenced, not copied, and still come out in order.
  it('passes large values through without copying', () => {
    const buffer = new RespReplyBuffer({ zeroCopyMinBytes: 100 });
    const large = Buffer.alloc(1000, 7);
    buffer.simpleString('before');
    buffer.bulk(large);
    buffer.simpleString('after');
    const parts = buffer.take();
    expect(parts.some((part) => part === large)).toBe(true);
    const all = Buffer.concat(parts);
    const first = readReply(all);
    const second = readReply(all, first?.next);
    const third = readReply(all, second?.next);
    expect([first?.reply, second?.reply, third?.reply].map((reply) => printable(reply ?? null))).toEqual(['before', large.toString(), 'after']);
  });

  // Taken buffers are never written again, even when the buffer is reused.
  it('does not overwrite taken output', () => {
    const buffer = new RespReplyBuffer();
    buffer.simpleString('one');
    const [first] = buffer.take();
    buffer.simpleString('two');
    buffer.take();
    expect(text(first as Buffer)).toBe('+one\r\n');
  });
});

describe('encoder and parser round trip', () => {
  // Arrays of bulk strings encode to requests the parser reads back unchanged, whatever the segment size.
  it('round-trips arrays of bulk strings', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 64, max: 512 }),
      fc.integer({ min: 1, max: 400 }),
      (commands, segmentBytes, zeroCopyMinBytes) => {
        const buffer = new RespReplyBuffer({ segmentBytes, zeroCopyMinBytes });
        for (const argv of commands) {
          buffer.arrayHeader(argv.length);
          for (const argument of argv) buffer.bulk(argument);
        }
        const stream = Buffer.concat(buffer.take());
        const { commands: parsed, protocolError } = new RespParser().feed(stream);
        expect(protocolError).toBeUndefined();
        expect(parsed.map((argv) => argv.map((argument) => [...argument]))).toEqual(commands.map((argv) => argv.map((argument) => [...argument])));
        expect(Buffer.concat(commands.map(encodeCommand)).equals(stream)).toBe(true);
      },
    ), { numRuns: 300 });
  });
});
