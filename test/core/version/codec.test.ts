import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, InvalidConfigError, InvalidContextError } from '../../../src/errors.js';
import {
  base64UrlBytes,
  CorruptObjectError,
  decodeContext,
  decodeObject,
  encodeContext,
  encodeObject,
} from '../../../src/core/version/codec.js';
import { applyWrite, emptyObject, equalObjects, type KvObject } from '../../../src/core/version/object.js';
import { clockFromEntries, emptyClock, equalClocks } from '../../../src/core/version/vclock.js';
import { bytes, clockArb, objectArb } from './arbitraries.js';

const RUNS = { numRuns: 200 };
const raw = new Encoder({ useRecords: false, tagUint8Array: false });

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectCorrupt(input: Uint8Array): void {
  const error = thrown(() => decodeObject(input));
  expect(error).toBeInstanceOf(CorruptObjectError);
  expect((error as CorruptObjectError).code).toBe(ErrorCode.CORRUPT_RECORD);
}

describe('object codec', () => {
  // Objects of every shape (tombstones, expiry, a coordinator other than the dot's node, no siblings) survive a round trip.
  it('round-trips examples', () => {
    const v1 = applyWrite(undefined, undefined, 'n1', bytes('hello'), 1_700_000_000_000, { ttlMs: 60_000 });
    const v2 = applyWrite(v1, undefined, 'n2', null, 1_700_000_000_001);
    const odd: KvObject = {
      clock: clockFromEntries([['n1', 3, 5]]),
      siblings: [{ value: new Uint8Array(0), dot: ['n1', 3], writtenAtMs: 5, node: 'gateway' }],
    };
    for (const obj of [emptyObject(), v1, v2, odd]) {
      const decoded = decodeObject(encodeObject(obj));
      expect(equalObjects(decoded, obj)).toBe(true);
      expect(decoded).toEqual(obj);
    }
  });

  // Any valid object decodes to an equal object, and equal objects encode to identical bytes.
  it('round-trips arbitrary objects', () => {
    fc.assert(fc.property(objectArb, (obj) => {
      const encoded = encodeObject(obj);
      const decoded = decodeObject(encoded);
      expect(equalObjects(decoded, obj)).toBe(true);
      expect(encodeObject(decoded)).toEqual(encoded);
    }), RUNS);
  });

  // The encoding starts with the CBOR array header and the format version, and stays compact.
  it('is versioned and compact', () => {
    const obj = applyWrite(undefined, undefined, 'n1', new Uint8Array(100), 1_700_000_000_000);
    const encoded = encodeObject(obj);
    expect([encoded[0], encoded[1]]).toEqual([0x83, 1]);
    // 100 value bytes + 2 header + clock (~17) + sibling (~17): well under 150 bytes.
    expect(encoded.length).toBeLessThan(150);
  });

  // Decoded values are copies: reusing the input buffer afterwards does not change them (unless copyValues is false).
  it('copies values out of the input by default', () => {
    const obj = applyWrite(undefined, undefined, 'n1', bytes('abc'), 0);
    const encoded = Uint8Array.from(encodeObject(obj));
    const copied = decodeObject(encoded);
    const viewed = decodeObject(encoded, { copyValues: false });
    encoded.fill(0);
    expect(copied.siblings[0]!.value).toEqual(bytes('abc'));
    expect(viewed.siblings[0]!.value).not.toEqual(bytes('abc'));
    // Values are plain Uint8Arrays (a Buffer's slice() would alias), and decoding leaves the input untouched.
    expect(Object.getPrototypeOf(copied.siblings[0]!.value)).toBe(Uint8Array.prototype);
    expect('dataView' in encoded).toBe(false);
  });

  // Each way an input can be wrong (version, CBOR, shape, broken invariants, bounds) is a CorruptObjectError.
  it('rejects malformed input with a typed error', () => {
    const enc = (v: unknown) => raw.encode(v) as Uint8Array;
    const sib = (node: string, counter: number) => [bytes('v'), node, counter, 0];
    const clock = [['a', 2, 0]];
    expectCorrupt(new Uint8Array(0));
    expectCorrupt(new Uint8Array([0x83]));
    expectCorrupt(new Uint8Array([0x83, 2, 0x80, 0x80])); // unknown version
    expectCorrupt(new Uint8Array([0x83, 1, 0x80])); // truncated
    expectCorrupt(new Uint8Array([0x83, 1, 0x80, 0x80, 0x00])); // trailing bytes
    expectCorrupt(enc({ a: 1 }));
    expectCorrupt(enc([1, {}, []]));
    expectCorrupt(enc([1, clock, {}]));
    expectCorrupt(enc([1, [['b', 1, 0], ['a', 1, 0]], []])); // unsorted clock
    expectCorrupt(enc([1, clock, [sib('a', 3)]])); // dot not covered by the clock
    expectCorrupt(enc([1, clock, [sib('a', 2), sib('a', 1)]])); // siblings out of order
    expectCorrupt(enc([1, clock, [sib('a', 1), sib('a', 1)]])); // duplicate dot
    expectCorrupt(enc([1, clock, [['text', 'a', 1, 0]]])); // value is not bytes
    expectCorrupt(enc([1, clock, [[null, 'a', 1.5, 0]]])); // fractional counter
    expectCorrupt(enc([1, clock, [[null, 'a', 1, 'now']]])); // bad writtenAtMs
    expectCorrupt(enc([1, clock, [[null, 'a', 1, 0, 'soon']]])); // bad expiresAtMs
    expectCorrupt(enc([1, clock, [[null, 'a', 1, 0, null]]])); // redundant null
    expectCorrupt(enc([1, clock, [[null, 'a', 1, 0, null, 'a']]])); // node repeats the dot's node
    expectCorrupt(enc([1, clock, [[null, 'a', 1]]])); // too short
    expectCorrupt(enc([1, [['x'.repeat(129), 1, 0]], []])); // node id too long
    expectCorrupt(enc([1, [['a', 2 ** 48 + 1, 0]], []])); // counter beyond maxCounter
    expect(decodeObject(enc([1, clock, [[null, 'a', 1, 0, 7, 'gw']]])).siblings[0]).toEqual(
      { value: null, dot: ['a', 1], writtenAtMs: 0, node: 'gw', expiresAtMs: 7 });
  });

  // Random bytes, and valid encodings with flipped or cut bytes, either decode to a valid object or throw CorruptObjectError; nothing else.
  it('never fails with anything but CorruptObjectError', () => {
    const check = (input: Uint8Array) => {
      const error = thrown(() => {
        const obj = decodeObject(input);
        expect(equalObjects(decodeObject(encodeObject(obj)), obj)).toBe(true);
      });
      if (error !== undefined) expect(error).toBeInstanceOf(CorruptObjectError);
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (input) => check(input)), RUNS);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => check(Uint8Array.from([0x83, 1, ...tail]))), RUNS);
    fc.assert(fc.property(objectArb, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(), (obj, at, xor, cut) => {
      const encoded = Uint8Array.from(encodeObject(obj));
      const i = at % encoded.length;
      encoded[i] = encoded[i]! ^ xor;
      check(encoded);
      check(encodeObject(obj).subarray(0, cut % encoded.length));
    }), RUNS);
  });
});

describe('context codec', () => {
  // Contexts round-trip, are URL-safe, and the empty clock has a context too.
  it('round-trips clocks as URL-safe strings', () => {
    fc.assert(fc.property(clockArb, (clock) => {
      const s = encodeContext(clock);
      expect(s).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(equalClocks(decodeContext(s), clock)).toBe(true);
    }), RUNS);
    expect(decodeContext(encodeContext(emptyClock()))).toEqual([]);
  });

  // Malformed contexts of every kind are InvalidContextError.
  it('rejects malformed contexts', () => {
    const b64 = (v: unknown) => Buffer.from(raw.encode(v) as Uint8Array).toString('base64url');
    const bad: unknown[] = [
      '', 'not base64!', 'abc=', 'A', 42, undefined,
      b64('hello'), b64([2, []]), b64([1, [['b', 1, 0], ['a', 1, 0]]]), b64([1, [['a', 0, 0]]]), b64([1, []]) + 'AA',
      'A'.repeat(65_537),
    ];
    for (const s of bad) expect(thrown(() => decodeContext(s as string))).toBeInstanceOf(InvalidContextError);
    expect(thrown(() => decodeContext(encodeContext(clockFromEntries([['n1', 1, 0]])), { maxContextChars: 4 }))).toBeInstanceOf(InvalidContextError);
    expect(() => decodeContext('AA', { maxContextChars: 0 })).toThrow(InvalidConfigError);
  });

  // The hand-written base64url decoder gives exactly the bytes Node's gives for every string the
  // context codec accepted before it (base64url characters only, a length that is not 1 mod 4),
  // and refuses every other string.
  it('decodes base64url exactly as Buffer.from does, and refuses what the old check refused', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const stringArb = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url')),
      fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((cs) => cs.join('')),
      fc.string({ maxLength: 40 }),
      fc.tuple(fc.uint8Array({ maxLength: 60 }), fc.nat(), fc.constantFrom('=', '+', '/', ' ', 'é', '\u0000', '\u007f', '.'))
        .map(([b, at, c]) => { const t = Buffer.from(b).toString('base64url'); const p = at % (t.length + 1); return t.slice(0, p) + c + t.slice(p); }),
    );
    fc.assert(fc.property(stringArb, (text) => {
      const accepted = /^[A-Za-z0-9_-]*$/.test(text) && text.length % 4 !== 1;
      const decoded = base64UrlBytes(text);
      if (!accepted) expect(decoded).toBeUndefined();
      else expect(Buffer.from(decoded!).equals(Buffer.from(text, 'base64url'))).toBe(true);
    }), { numRuns: 3000 });
  });

  // Arbitrary strings either decode to a valid clock or throw InvalidContextError; nothing else.
  it('never fails with anything but InvalidContextError', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/)), (s) => {
      const error = thrown(() => decodeContext(s));
      if (error !== undefined) expect(error).toBeInstanceOf(InvalidContextError);
    }), RUNS);
  });
});
