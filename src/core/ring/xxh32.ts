/**
 * XXH32 (xxHash, 32-bit variant) in plain TypeScript, bit-for-bit equal to xxhash-wasm's `h32`
 * (the reference the product names in DESIGN.md §3; test/core/ring/xxh32.test.ts checks the
 * equality over random strings, unicode and lone surrogates included).
 *
 * Why a TypeScript copy when xxhash-wasm is there: for the short keys a store sees (10–40 bytes),
 * xxhash-wasm spends most of its time outside the hash, in `TextEncoder.encodeInto` into the wasm
 * memory and in the JS→wasm call; hashing the UTF-16 code units directly, when they are all ASCII,
 * skips both. test/bench/ring.ts measures the two side by side.
 *
 * Strings are hashed as their UTF-8 bytes, exactly as `TextEncoder` encodes them (a lone surrogate
 * becomes U+FFFD), because that is what xxhash-wasm hashes.
 */

import { assert } from '../assert.js';

const PRIME32_1 = 0x9e3779b1;
const PRIME32_2 = 0x85ebca77;
const PRIME32_3 = 0xc2b2ae3d;
const PRIME32_4 = 0x27d4eb2f;
const PRIME32_5 = 0x165667b1;

/** Bytes in one XXH32 stripe (four 32-bit lanes). */
const STRIPE_BYTES = 16;

const utf8Encoder = new TextEncoder();
/** Reused for the (rare) non-ASCII keys; grows to the largest key seen. */
let scratchBytes = new Uint8Array(256);

function rotl32(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

function round32(acc: number, lane: number): number {
  return Math.imul(rotl32((acc + Math.imul(lane, PRIME32_2)) | 0, 13), PRIME32_1);
}

function avalanche32(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, PRIME32_2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME32_3);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * XXH32 of `bytes[0, lengthBytes)` with `seed`; an unsigned 32-bit integer. Equal to
 * xxhash-wasm's `h32Raw(bytes.subarray(0, lengthBytes), seed)`.
 */
export function xxh32Bytes(bytes: Uint8Array, lengthBytes: number = bytes.length, seed = 0): number {
  const len = lengthBytes;
  let i = 0;
  let h: number;
  if (len >= STRIPE_BYTES) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const limit = len - STRIPE_BYTES;
    while (i <= limit) {
      v1 = round32(v1, readU32(bytes, i));
      v2 = round32(v2, readU32(bytes, i + 4));
      v3 = round32(v3, readU32(bytes, i + 8));
      v4 = round32(v4, readU32(bytes, i + 12));
      i += STRIPE_BYTES;
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    h = Math.imul(rotl32((h + Math.imul(readU32(bytes, i), PRIME32_3)) | 0, 17), PRIME32_4);
    i += 4;
  }
  while (i < len) {
    h = Math.imul(rotl32((h + Math.imul(bytes[i] as number, PRIME32_5)) | 0, 11), PRIME32_1);
    i++;
  }
  return avalanche32(h);
}

function readU32(bytes: Uint8Array, at: number): number {
  // `as number`: callers only read inside [0, length), checked by their loop bounds.
  return (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) |
    ((bytes[at + 3] as number) << 24);
}

/**
 * XXH32 of the UTF-8 bytes of `input` with `seed`; an unsigned 32-bit integer. Equal to
 * xxhash-wasm's `h32(input, seed)`.
 *
 * ASCII strings (the common case for keys) are hashed straight from their UTF-16 code units, whose
 * values are then their UTF-8 bytes (`xxh32Ascii`, where `ascii` collects the bits of every code
 * unit read so that one test at the end rejects any other string); other strings are encoded first.
 */
export function xxh32(input: string, seed = 0): number {
  const token = xxh32Ascii(input, seed);
  return token >= 0 ? token : xxh32Utf8(input, seed);
}

/**
 * XXH32 of an ASCII string read straight from its code units, or -1 when `input` holds a code
 * unit past 0x7f (then its UTF-8 bytes differ from its code units and the caller must encode it).
 */
export function xxh32Ascii(input: string, seed = 0): number {
  const len = input.length;
  let ascii = 0;
  let i = 0;
  let h: number;
  if (len >= STRIPE_BYTES) {
    let v1 = (seed + PRIME32_1 + PRIME32_2) | 0;
    let v2 = (seed + PRIME32_2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME32_1) | 0;
    const limit = len - STRIPE_BYTES;
    while (i <= limit) {
      let c0 = input.charCodeAt(i);
      let c1 = input.charCodeAt(i + 1);
      let c2 = input.charCodeAt(i + 2);
      let c3 = input.charCodeAt(i + 3);
      ascii |= c0 | c1 | c2 | c3;
      v1 = round32(v1, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = input.charCodeAt(i + 4);
      c1 = input.charCodeAt(i + 5);
      c2 = input.charCodeAt(i + 6);
      c3 = input.charCodeAt(i + 7);
      ascii |= c0 | c1 | c2 | c3;
      v2 = round32(v2, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = input.charCodeAt(i + 8);
      c1 = input.charCodeAt(i + 9);
      c2 = input.charCodeAt(i + 10);
      c3 = input.charCodeAt(i + 11);
      ascii |= c0 | c1 | c2 | c3;
      v3 = round32(v3, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      c0 = input.charCodeAt(i + 12);
      c1 = input.charCodeAt(i + 13);
      c2 = input.charCodeAt(i + 14);
      c3 = input.charCodeAt(i + 15);
      ascii |= c0 | c1 | c2 | c3;
      v4 = round32(v4, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
      i += STRIPE_BYTES;
    }
    h = (rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18)) | 0;
  } else {
    h = (seed + PRIME32_5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    const c0 = input.charCodeAt(i);
    const c1 = input.charCodeAt(i + 1);
    const c2 = input.charCodeAt(i + 2);
    const c3 = input.charCodeAt(i + 3);
    ascii |= c0 | c1 | c2 | c3;
    h = Math.imul(rotl32((h + Math.imul(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24), PRIME32_3)) | 0, 17), PRIME32_4);
    i += 4;
  }
  while (i < len) {
    const c = input.charCodeAt(i);
    ascii |= c;
    h = Math.imul(rotl32((h + Math.imul(c, PRIME32_5)) | 0, 11), PRIME32_1);
    i++;
  }
  if ((ascii & 0xff80) !== 0) return -1;
  return avalanche32(h);
}

/** The general path: encode to UTF-8 as TextEncoder does, then hash the bytes. */
function xxh32Utf8(input: string, seed: number): number {
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes).
  const maxBytes = input.length * 3;
  if (scratchBytes.length < maxBytes) scratchBytes = new Uint8Array(Math.max(maxBytes, scratchBytes.length * 2));
  const { read, written } = utf8Encoder.encodeInto(input, scratchBytes);
  assert(read === input.length, 'the UTF-8 scratch buffer holds the whole key');
  assert(written <= maxBytes, 'UTF-8 takes at most 3 bytes per UTF-16 code unit');
  return xxh32Bytes(scratchBytes, written, seed);
}
