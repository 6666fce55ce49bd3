/** The consistent-hash ring (DESIGN.md §3): key hashing, virtual nodes, preference lists. */
export { createKeyHasher, createWasmKeyHasher, typescriptKeyHasher } from './hash.js';
export type { KeyHasher } from './hash.js';
export {
  Ring, vnodeLabel, DEFAULT_VNODES_PER_NODE, DEFAULT_PREFERENCE_TABLE_MAX_N, MAX_VNODES_PER_NODE,
  MAX_PREFERENCE_TABLE_N, MAX_RING_NODES, MAX_RING_TOKENS,
} from './ring.js';
export type { RingOptions, AnnotatedEntry, OwnershipRow, OwnershipReport } from './ring.js';
export { xxh32, xxh32Ascii, xxh32Bytes } from './xxh32.js';
