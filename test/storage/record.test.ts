// The record codec: every frame encodeRecord makes decodes back to what was encoded, its meta is
// valid CBOR that a general decoder (cbor-x) reads the same way, and frames from the previous
// encoder (cbor-x) still decode.
import { Decoder, Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeRecord, FLAG_BATCH_CONTINUES, FLAG_TOMBSTONE, FRAME_HEADER_BYTES, recordValue } from '../../src/storage/log/record.js';
import { crc32 } from '../../src/storage/log/crc32.js';

const expiry = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: 30 }),
  fc.integer({ min: 0, max: 2 ** 32 + 5 }),
  fc.maxSafeInteger(),
  fc.integer({ min: -(2 ** 40), max: -1 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(-0),
);

describe('record codec', () => {
  it('decodes what it encodes, and its meta is the CBOR a general decoder reads', () => {
    // Shows the hand-written meta encoding round-trips for any key, flags and expiry.
    const cbor = new Decoder({ useRecords: false });
    fc.assert(fc.property(
      fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }), fc.integer({ min: 65_530, max: 65_545 }).map((n) => 'k'.repeat(n))),
      fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
      expiry,
      fc.boolean(),
      (key, value, expiresAtMs, continues) => {
        const flags = (value === undefined ? FLAG_TOMBSTONE : 0) | (continues ? FLAG_BATCH_CONTINUES : 0);
        const frame = encodeRecord(key, value, expiresAtMs, flags);
        const record = decodeFrame(frame, 0, frame.length);
        if (typeof record === 'string') throw new Error(record);
        expect(record).toMatchObject({ key, flags, expiresAtMs, frameBytes: frame.length });
        expect(Buffer.from(recordValue(frame, record))).toEqual(Buffer.from(value ?? new Uint8Array(0)));
        const metaBytes = frame.readUInt32LE(FRAME_HEADER_BYTES + 1);
        const meta = cbor.decode(frame.subarray(FRAME_HEADER_BYTES + 5, FRAME_HEADER_BYTES + 5 + metaBytes)) as unknown[];
        expect(meta).toEqual(expiresAtMs === undefined ? [key, flags] : [key, flags, expiresAtMs]);
      },
    ), { numRuns: 300 });
  });

  it('still decodes frames whose meta cbor-x wrote', () => {
    // Shows compatibility with segments written before the meta was encoded by hand.
    const encoder = new Encoder({ useRecords: false, tagUint8Array: false });
    for (const [key, exp] of [['k', undefined], ['ключ', 1.5], ['key', -7], ['x'.repeat(300), 2 ** 40]] as const) {
      const meta = encoder.encode(exp === undefined ? [key, 0] : [key, 0, exp]);
      const value = Buffer.from('value');
      const body = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), meta, value]);
      body.writeUInt32LE(meta.length, 1);
      const frame = Buffer.alloc(FRAME_HEADER_BYTES + body.length);
      frame.writeUInt32LE(body.length, 0);
      frame.writeUInt32LE(~body.length >>> 0, 4);
      frame.writeUInt32LE(crc32(body), 8);
      body.copy(frame, FRAME_HEADER_BYTES);
      const record = decodeFrame(frame, 0, frame.length);
      expect(record).toMatchObject({ key, flags: 0, expiresAtMs: exp });
    }
  });
});
