/**
 * Key hashing: every key maps to a 32-bit unsigned token on the ring (DESIGN.md §3). The token
 * of a key is XXH32(UTF-8 bytes of the key, seed 0), exactly what xxhash-wasm's `h32(key)`
 * returns; every node, client SDK and tool that places keys must agree on it bit for bit.
 *
 * Why 32 bits and not h64: 2^32 token positions are plenty for a ring of at most a few hundred
 * thousand virtual nodes, and xxhash-wasm's h64 returns a BigInt, whose allocation and masking
 * cost more than the hash itself (test/bench/ring.ts measures h32 vs h64).
 *
 * Why two implementations behind one interface: the pure-TypeScript XXH32 in ./xxh32.ts reads
 * ASCII keys straight from their UTF-16 code units and needs no encoding and no JS→wasm call, so
 * for short keys it is more than twice as fast as xxhash-wasm; for long keys the wasm loop wins
 * (figures at `TS_MAX_CODE_UNITS`). `createKeyHasher` uses the TypeScript code for short ASCII keys
 * and xxhash-wasm for the rest, after checking at start-up that both give the same tokens; the
 * tokens are identical either way. test/core/ring/xxh32.test.ts checks the equality over random
 * strings, unicode and lone surrogates included.
 */
import xxhash from 'xxhash-wasm';
import { assert } from '../assert.js';
import { xxh32, xxh32Ascii } from './xxh32.js';

/** Maps a key to its position on the ring. Pure: the same key always gives the same token. */
export interface KeyHasher {
  /** The key's token: an unsigned 32-bit integer, XXH32 of the key's UTF-8 bytes with seed 0. */
  token(key: string): number;
}

/**
 * ASCII keys up to this many UTF-16 code units hash in TypeScript; longer or non-ASCII keys in
 * xxhash-wasm. Measured on Node 20 (test/bench/ring.ts, "Key hashing" table, 2026-11-21): for
 * "user:123456" (11 bytes) TypeScript does about 21 M tokens/s against 9 M for xxhash-wasm; the two
 * are about even from 16 to 32 bytes; from 40 bytes on xxhash-wasm is ahead (2× at 40, 4× at 128),
 * because its loop is cheaper per byte than `charCodeAt`, and for non-ASCII keys, which must be
 * encoded anyway.
 */
const TS_MAX_CODE_UNITS = 32;

/** Strings whose reference tokens the factory checks before trusting the TypeScript path. */
const SELF_CHECK_KEYS: readonly string[] = [
  '', 'a', 'user:123456', 'abcdefghijklmnop', 'tenant-42/orders/user:123456/items', 'héllo wörld', '日本語のキー',
  '😀 emoji', '\ud800 lone surrogate', 'x'.repeat(100),
];

/**
 * The product's key hasher (see the file comment for the choice of implementation). Async because
 * instantiating xxhash-wasm's module is; call it once at start-up and share the result.
 */
export async function createKeyHasher(): Promise<KeyHasher> {
  const wasm = await xxhash();
  for (const key of SELF_CHECK_KEYS) {
    assert(xxh32(key) === wasm.h32(key), 'the TypeScript XXH32 matches xxhash-wasm');
  }
  const h32Wasm = wasm.h32;
  return {
    token(key: string): number {
      if (key.length > TS_MAX_CODE_UNITS) return h32Wasm(key);
      // Non-ASCII keys need UTF-8 encoding, which xxhash-wasm does natively.
      const token = xxh32Ascii(key);
      return token >= 0 ? token : h32Wasm(key);
    },
  };
}

/** The reference hasher: xxhash-wasm alone. For tests and benchmarks that compare against it. */
export async function createWasmKeyHasher(): Promise<KeyHasher> {
  const wasm = await xxhash();
  const h32Wasm = wasm.h32;
  return { token: (key: string): number => h32Wasm(key) };
}

/** The pure-TypeScript hasher alone (synchronous; same tokens). For tests and benchmarks. */
export const typescriptKeyHasher: KeyHasher = { token: (key: string): number => xxh32(key) };
