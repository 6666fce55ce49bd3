import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeContext, decodeObject, decodeObjectWithCborX, encodeContext, encodeObject } from '../../../src/core/version/codec.js';
import type { KvObject, Sibling } from '../../../src/core/version/object.js';
import type { VClock } from '../../../src/core/version/vclock.js';
import { objectArb } from './arbitraries.js';

const RUNS = { numRuns: 300 };
// The encoder the object codec used before it wrote objects by hand: the bytes must not change.
const reference = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true });

function referenceEncode(obj: KvObject): Uint8Array {
  const siblings = obj.siblings.map((s) => {
    const tuple: unknown[] = [s.value, s.dot[0], s.dot[1], s.writtenAtMs];
    const sameNode = s.node === s.dot[0];
    if (s.expiresAtMs !== undefined || !sameNode) tuple.push(s.expiresAtMs ?? null);
    if (!sameNode) tuple.push(s.node);
    return tuple;
  });
  return Uint8Array.from(reference.encode([1, obj.clock, siblings]) as Uint8Array);
}

function outcome(f: () => KvObject): unknown {
  try {
    return { ok: f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

// Numbers at every boundary of cbor-x's integer and float encodings, and a few arbitrary doubles.
const numberArb = fc.oneof(
  fc.constantFrom(0, -0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 48, 2 ** 53 - 1, -1, -24, -25, -256, -257,
    -65_536, -65_537, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 32), -(2 ** 32) - 1, 0.5, 1_767_225_600_000.123, NaN, Infinity),
  fc.integer(),
  fc.double(),
  fc.maxSafeNat(),
);
// Node ids: ASCII (the usual case), any UTF-16 (lone surrogates too), lengths across the 23/24 header boundary.
const idArb = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
  fc.string({ unit: fc.constantFrom('\ud800', '\udc00', 'é', '€', 'x'), minLength: 1, maxLength: 5 }));
const valueArb = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
  fc.constantFrom(23, 24, 255, 256).map((n) => new Uint8Array(n).fill(7)),
  fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
);
// Objects of any content (not necessarily valid), so every encoding path is taken.
const anyObjectArb: fc.Arbitrary<KvObject> = fc.record({
  clock: fc.array(fc.tuple(idArb, numberArb, numberArb), { maxLength: 30 }) as fc.Arbitrary<VClock>,
  siblings: fc.array(fc.record({
    value: valueArb, dot: fc.tuple(idArb, numberArb), writtenAtMs: numberArb, node: idArb,
    expiresAtMs: fc.option(numberArb, { nil: undefined }),
  }, { requiredKeys: ['value', 'dot', 'writtenAtMs', 'node'] }) as fc.Arbitrary<Sibling>, { maxLength: 30 }),
});

describe('hand-written object codec', () => {
  // encodeObject writes the very bytes cbor-x wrote before, for any content: the format on disk and on the wire is unchanged.
  it('encodes exactly as cbor-x did', () => {
    fc.assert(fc.property(fc.oneof(objectArb, anyObjectArb), (obj) => {
      expect(encodeObject(obj)).toEqual(referenceEncode(obj));
    }), RUNS);
  });

  // The hand-written reader and cbor-x agree on every input: valid objects, any content, and damaged encodings.
  it('decodes exactly as cbor-x does', () => {
    const agree = (input: Uint8Array): void => {
      // decodeObject rejects a wrong first two bytes before decoding anything, by either path.
      if (input.length < 2 || input[0] !== 0x83 || input[1] !== 1) return;
      const copy = Uint8Array.from(input);
      expect(outcome(() => decodeObject(input))).toEqual(outcome(() => decodeObjectWithCborX(copy)));
    };
    fc.assert(fc.property(fc.oneof(objectArb, anyObjectArb), fc.nat(), fc.integer({ min: 0, max: 255 }), (obj, at, xor) => {
      const encoded = encodeObject(obj);
      agree(encoded);
      const damaged = Uint8Array.from(encoded);
      damaged[at % damaged.length] = damaged[at % damaged.length]! ^ xor;
      agree(damaged);
      agree(encoded.subarray(0, at % encoded.length));
    }), RUNS);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => agree(Uint8Array.from([0x83, 1, ...tail]))), RUNS);
    // Forms the writer never makes but cbor-x reads: a 64-bit counter, a float32 timestamp, a non-minimal length.
    agree(Uint8Array.from([0x83, 1, 0x81, 0x83, 0x61, 0x61, 0x1b, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0x80]));
    agree(Uint8Array.from([0x83, 1, 0x81, 0x83, 0x61, 0x61, 0x01, 0xfa, 0x3f, 0xc0, 0, 0, 0x80]));
    agree(Uint8Array.from([0x83, 1, 0x98, 0x01, 0x83, 0x61, 0x61, 0x01, 0x00, 0x80]));
    // Values across the 16- and 32-bit length boundaries.
    for (const n of [65_535, 65_536]) {
      const obj: KvObject = { clock: [['a', 1, 0]], siblings: [{ value: new Uint8Array(n).fill(1), dot: ['a', 1], writtenAtMs: 0, node: 'a' }] };
      expect(encodeObject(obj)).toEqual(referenceEncode(obj));
      agree(encodeObject(obj));
    }
  });
});

describe('decoding without copying values', () => {
  // copyValues: false reads a plain Uint8Array in place and anything else (a Buffer, a view at an
  // offset) through a plain view: every input decodes as a copying decode does, values come out
  // as plain Uint8Arrays on the input's memory, and corrupt input fails the same way.
  it('agrees with the copying decode for plain arrays, Buffers and offset views', () => {
    fc.assert(fc.property(fc.oneof(objectArb, anyObjectArb), fc.nat(), fc.integer({ min: 0, max: 255 }), (obj, at, xor) => {
      const encoded = Uint8Array.from(encodeObject(obj));
      const damaged = Uint8Array.from(encoded);
      damaged[at % damaged.length] = damaged[at % damaged.length]! ^ xor;
      for (const input of [encoded, damaged, encoded.subarray(0, at % encoded.length)]) {
        const expected = outcome(() => decodeObject(Uint8Array.from(input)));
        const padded = new Uint8Array(input.length + 7);
        padded.set(input, 3);
        const views = [Uint8Array.from(input), Buffer.from(input), padded.subarray(3, 3 + input.length)];
        for (const view of views) {
          expect(outcome(() => decodeObject(view, { copyValues: false }))).toEqual(expected);
          if (!('ok' in (expected as object))) continue;
          for (const s of decodeObject(view, { copyValues: false }).siblings) {
            if (s.value === null) continue;
            expect(Object.getPrototypeOf(s.value)).toBe(Uint8Array.prototype);
            expect(s.value.buffer).toBe(view.buffer);
          }
        }
      }
    }), RUNS);
  });
});

describe('the table of recent ids', () => {
  // Ids come out right however many distinct ones pass through the bounded table (far more than
  // it holds, with colliding ones), and a recent id decodes to the very same string again.
  it('decodes every id exactly, beyond its bound and across collisions', () => {
    const objectOf = (ids: string[]): KvObject => {
      const sorted = [...new Set(ids)].sort();
      return {
        clock: sorted.map((id, i) => [id, i + 1, 1000 + i] as const),
        siblings: [{ value: Uint8Array.of(7), dot: [sorted[0]!, 1], writtenAtMs: 5, node: sorted[sorted.length - 1]! }],
      };
    };
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 5000; k++) {
        const obj = objectOf([`n${k % 7}.${round}.${k.toString(36)}`, `n${(k + 3) % 7}.${k}`, 'x'.repeat(1 + (k % 40))]);
        expect(decodeObject(encodeObject(obj))).toEqual(obj);
      }
    }
    const obj = objectOf(['n1.1.a', 'n2.1.b', 'n3.1.c']);
    const first = decodeObject(encodeObject(obj));
    const second = decodeObject(encodeObject(obj));
    for (let i = 0; i < 3; i++) expect(Object.is(second.clock[i]![0], first.clock[i]![0])).toBe(true);
    expect(second.siblings[0]!.dot[0]).toBe(first.clock[0]![0]);
  });
});

describe('hand-written context codec', () => {
  // Contexts keep their exact bytes, and the fast reader agrees with cbor-x on other forms of the same clock.
  it('encodes exactly as cbor-x did and reads other encoders\' forms', () => {
    fc.assert(fc.property(objectArb, (obj) => {
      const expected = Buffer.from(reference.encode([1, obj.clock]) as Uint8Array).toString('base64url');
      expect(encodeContext(obj.clock)).toBe(expected);
      expect(decodeContext(expected)).toEqual(obj.clock);
    }), RUNS);
    // A 64-bit counter (another encoder's form) and a float32 timestamp (left to cbor-x) decode alike.
    const forms = [[0x82, 1, 0x81, 0x83, 0x61, 0x61, 0x1b, 0, 0, 0, 0, 0, 0, 0, 5, 0], [0x82, 1, 0x81, 0x83, 0x61, 0x61, 0x05, 0xfa, 0x3f, 0xc0, 0, 0]];
    expect(forms.map((f) => decodeContext(Buffer.from(f).toString('base64url')))).toEqual([[['a', 5, 0]], [['a', 5, 1.5]]]);
  });
});
