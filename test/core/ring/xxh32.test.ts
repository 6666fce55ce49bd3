import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import xxhash from 'xxhash-wasm';
import { xxh32, xxh32Ascii, xxh32Bytes } from '../../../src/core/ring/xxh32.js';
import { createKeyHasher, createWasmKeyHasher, typescriptKeyHasher } from '../../../src/core/ring/hash.js';

const wasm = await xxhash();

describe('xxh32', () => {
  // Shows the published XXH32 test vectors come out, so both implementations are the real XXH32.
  it('matches known XXH32 vectors', () => {
    expect(xxh32('')).toBe(0x02cc5d05);
    expect(xxh32('a')).toBe(0x550d7456);
    expect(xxh32('abc')).toBe(0x32d153ff);
    expect(xxh32('', 1)).toBe(0x0b2cb792);
  });

  // Shows the TypeScript XXH32 equals xxhash-wasm's h32 bit for bit on every length around the
  // 4- and 16-byte boundaries, ASCII and not.
  it('equals xxhash-wasm around block boundaries', () => {
    for (let len = 0; len <= 70; len++) {
      const ascii = 'k'.repeat(len);
      const accented = 'é'.repeat(len);
      expect(xxh32(ascii)).toBe(wasm.h32(ascii));
      expect(xxh32(accented)).toBe(wasm.h32(accented));
      expect(xxh32(ascii, 0x9e3779b1)).toBe(wasm.h32(ascii, 0x9e3779b1));
      expect(xxh32Ascii(ascii)).toBe(wasm.h32(ascii));
      if (len > 0) expect(xxh32Ascii(`${ascii}\u0080`)).toBe(-1);
    }
  });

  // Shows equality with xxhash-wasm over random strings: ASCII, full unicode, and arbitrary UTF-16
  // with lone surrogates (which both encode as U+FFFD), with random seeds.
  it('equals xxhash-wasm on random strings and seeds', () => {
    const strings = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
    );
    fc.assert(fc.property(strings, fc.integer({ min: 0, max: 0xffff_ffff }),
      (s, seed) => xxh32(s, seed) === wasm.h32(s, seed) && xxh32(s) === wasm.h32(s)), { numRuns: 500 });
  });

  // Shows the byte-level function equals xxhash-wasm's h32Raw, including a prefix of a buffer.
  it('hashes raw bytes like h32Raw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), (bytes, cut) => {
      const length = Math.min(cut, bytes.length);
      return xxh32Bytes(bytes, length) === wasm.h32Raw(bytes.subarray(0, length));
    }), { numRuns: 500 });
  });
});

describe('KeyHasher', () => {
  // Shows the product hasher (TypeScript for short keys, wasm for long ones) gives the reference
  // tokens on keys of every length, and so does the pure-TypeScript one.
  it('gives the same tokens as the xxhash-wasm reference', async () => {
    const product = await createKeyHasher();
    const reference = await createWasmKeyHasher();
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (key) => {
      const token = reference.token(key);
      return product.token(key) === token && typescriptKeyHasher.token(key) === token && token >>> 0 === token;
    }), { numRuns: 500 });
  });
});
