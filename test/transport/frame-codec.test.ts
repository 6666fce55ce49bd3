// The peer frame codec: envelopes round-trip through one CBOR frame, and whatever a peer sends is
// either a valid envelope or a typed error.
import { encode } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MessageType, PROTOCOL_VERSION, type Envelope } from '../../src/core/wire.js';
import { ErrorCode, FrameTooLargeError, MalformedFrameError } from '../../src/errors.js';
import { DEFAULT_MAX_FRAME_BYTES, FrameCodec } from '../../src/runtime/frame-codec.js';

function envelopeWith(body: unknown): Envelope {
  return { v: PROTOCOL_VERSION, t: MessageType.ReplicaPut, rid: 7, from: 'n1', body };
}

/** Plain data as bodies carry it: JSON-like values and byte arrays ("__proto__" keys excluded). */
const plainData: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    // cbor-x writes -0 as the integer 0; no ringkv message carries a negative zero.
    fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('FrameCodec', () => {
  it('round-trips envelopes of plain data', () => {
    // Any envelope of plain data decodes to an equal envelope (fast-check over nested values and byte arrays).
    const codec = new FrameCodec();
    fc.assert(fc.property(plainData, (body) => {
      const decoded = codec.decode(codec.encode(envelopeWith(body)));
      expect(decoded).toEqual(envelopeWith(body));
    }), { numRuns: 300 });
  });

  it('decodes byte arrays as plain Uint8Arrays, also from a Buffer frame', () => {
    // A Uint8Array value comes back as a plain Uint8Array, not a Buffer, whatever kind of array holds the frame.
    const codec = new FrameCodec();
    const frame = codec.encode(envelopeWith({ value: Uint8Array.of(1, 2, 3), fromBuffer: Buffer.from([4]) }));
    for (const input of [frame, Buffer.from(frame), new Uint8Array(frame)]) {
      const body = codec.decode(input).body as { value: Uint8Array; fromBuffer: Uint8Array };
      expect(Object.getPrototypeOf(body.value)).toBe(Uint8Array.prototype);
      expect(Object.getPrototypeOf(body.fromBuffer)).toBe(Uint8Array.prototype);
      expect(Array.from(body.value)).toEqual([1, 2, 3]);
    }
  });

  it('encodes byte arrays as untagged CBOR byte strings', () => {
    // A 3-byte Uint8Array is the CBOR byte string 0x43 01 02 03 (no tag 64), which any CBOR decoder reads.
    const codec = new FrameCodec();
    const frame = Buffer.from(codec.encode(envelopeWith(Uint8Array.of(1, 2, 3))));
    expect(frame.subarray(frame.length - 4).toString('hex')).toBe('43010203');
  });

  it('does not pin a larger shared buffer with decoded values', () => {
    // A frame inside a 64 KiB chunk decodes into values backed by a frame-sized copy, unless copying is turned off.
    const frame = new FrameCodec().encode(envelopeWith({ value: new Uint8Array(200) }));
    const chunk = Buffer.alloc(64 * 1024);
    chunk.set(frame, 1000);
    const view = chunk.subarray(1000, 1000 + frame.byteLength);
    const copied = new FrameCodec().decode(view).body as { value: Uint8Array };
    expect(copied.value.buffer.byteLength).toBe(frame.byteLength);
    const shared = new FrameCodec({ copySharedFrames: false }).decode(view).body as { value: Uint8Array };
    expect(shared.value.buffer).toBe(chunk.buffer);
  });

  it('keeps earlier frames intact while encoding later ones', () => {
    // The reused encoder never overwrites a frame it returned before.
    const codec = new FrameCodec();
    const frames = Array.from({ length: 2000 }, (_, i) => codec.encode(envelopeWith({ i, pad: 'x'.repeat(i % 300) })));
    frames.forEach((frame, i) => expect((codec.decode(frame).body as { i: number }).i).toBe(i));
  });

  it('refuses frames over maxFrameBytes both ways', () => {
    // Encoding or decoding more than maxFrameBytes throws FrameTooLargeError with both sizes.
    const codec = new FrameCodec({ maxFrameBytes: 1024 });
    expect(() => codec.encode(envelopeWith(new Uint8Array(2000)))).toThrow(FrameTooLargeError);
    const big = new FrameCodec().encode(envelopeWith(new Uint8Array(2000)));
    const error = catchError(() => codec.decode(big));
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect(error).toMatchObject({ code: ErrorCode.FRAME_TOO_LARGE, details: { sizeBytes: big.byteLength, maxBytes: 1024 } });
    expect(new FrameCodec().maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
  });

  it('refuses bytes that are not exactly one CBOR envelope', () => {
    // Empty, non-CBOR, truncated, trailing bytes, and CBOR that is not an envelope all throw MalformedFrameError.
    const codec = new FrameCodec();
    const good = codec.encode(envelopeWith({ a: 1 }));
    const bad: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['not CBOR', Uint8Array.of(0xff, 0x00)],
      ['truncated', good.subarray(0, good.byteLength - 1)],
      ['trailing bytes', Uint8Array.of(...good, 0x01)],
      ['a number', encode(5)],
      ['no sender', encode({ v: 1, t: 22, rid: 0, body: null })],
      ['negative request id', encode({ v: 1, t: 22, rid: -1, from: 'n1', body: null })],
      ['no body', encode({ v: 1, t: 22, rid: 0, from: 'n1' })],
    ];
    for (const [what, bytes] of bad) {
      const error = catchError(() => codec.decode(bytes));
      expect(error, what).toBeInstanceOf(MalformedFrameError);
      expect((error as MalformedFrameError).code, what).toBe(ErrorCode.MALFORMED_FRAME);
    }
  });

  it('never throws anything but its typed errors on random bytes', () => {
    // Arbitrary bytes decode to a valid envelope or throw MalformedFrameError / FrameTooLargeError, nothing else.
    const codec = new FrameCodec({ maxFrameBytes: 512 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        codec.decode(bytes);
      } catch (e) {
        expect(e instanceof MalformedFrameError || e instanceof FrameTooLargeError).toBe(true);
      }
    }), { numRuns: 2000 });
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
