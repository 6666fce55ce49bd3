/**
 * Hint files: for a sealed segment, one entry per key whose newest record in that segment is at a
 * given location, so that a restart reads a small hint instead of the whole segment (Bitcask's
 * idea). A hint is only an optimisation: when it is missing, torn, fails its CRC or names another
 * segment size, recovery scans the segment instead and gets exactly the same entries.
 *
 *   file   = magic "RKVH" | version u8 | 3 zero bytes | segmentBytes f64 LE | entryCount u32 LE
 *            | entry* | crc32(everything before) u32 LE
 *   entry  = offset u32 LE | frameBytes u32 LE | expiresAtMs f64 LE (NaN = none) | flags u8
 *            (1 = tombstone) | keyBytes u32 LE | key (UTF-8)
 */
import * as fs from 'node:fs/promises';
import { assert } from '../../core/assert.js';
import { crc32 } from './crc32.js';

const MAGIC = 0x484b5652; // "RKVH" read as u32 LE
const VERSION = 1;
const HEADER_BYTES = 20;
/** Bytes of the header, which holds the entry count. */
export const HINT_HEADER_BYTES = HEADER_BYTES;
const ENTRY_FIXED_BYTES = 21;
const TRAILER_BYTES = 4;
const HINT_FLAG_TOMBSTONE = 1;

export interface HintEntry {
  readonly key: string;
  readonly offset: number;
  readonly frameBytes: number;
  readonly expiresAtMs: number | undefined;
  readonly tombstone: boolean;
}

/** Serialises entries (in the order recovery should apply them) for a segment of `segmentBytes`. */
export function encodeHint(segmentBytes: number, entries: readonly HintEntry[]): Buffer {
  let size = HEADER_BYTES + TRAILER_BYTES;
  const keys: Buffer[] = [];
  for (const e of entries) {
    const k = Buffer.from(e.key, 'utf8');
    keys.push(k);
    size += ENTRY_FIXED_BYTES + k.length;
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(VERSION, 4);
  buf.writeDoubleLE(segmentBytes, 8);
  buf.writeUInt32LE(entries.length, 16);
  let pos = HEADER_BYTES;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const k = keys[i]!;
    buf.writeUInt32LE(e.offset, pos);
    buf.writeUInt32LE(e.frameBytes, pos + 4);
    buf.writeDoubleLE(e.expiresAtMs ?? NaN, pos + 8);
    buf[pos + 16] = e.tombstone ? HINT_FLAG_TOMBSTONE : 0;
    buf.writeUInt32LE(k.length, pos + 17);
    k.copy(buf, pos + ENTRY_FIXED_BYTES);
    pos += ENTRY_FIXED_BYTES + k.length;
  }
  buf.writeUInt32LE(crc32(buf.subarray(0, pos)), pos);
  assert(pos + TRAILER_BYTES === size, 'hint size computed exactly');
  return buf;
}

/** Writes a hint atomically (temp file, fsync, rename). */
export async function writeHintFile(hintPath: string, segmentBytes: number, entries: readonly HintEntry[]): Promise<void> {
  const tmp = `${hintPath}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(encodeHint(segmentBytes, entries));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, hintPath);
}

/**
 * Buffer's own UTF-8 decoder, called directly: Buffer#toString checks its arguments and looks the
 * encoding up on every call, which took as long as the decoding itself for a million short keys.
 * utf8Slice is not documented, so toString stands in should a Node version lack it.
 */
const utf8Slice = (Buffer.prototype as unknown as { utf8Slice?: (this: Buffer, start: number, end: number) => string }).utf8Slice;
const decodeUtf8: (buf: Buffer, start: number, end: number) => string = typeof utf8Slice === 'function'
  ? (buf, start, end) => utf8Slice.call(buf, start, end)
  : (buf, start, end) => buf.toString('utf8', start, end);

export type HintVisitor = (key: string, offset: number, frameBytes: number, expiresAtMs: number | undefined, tombstone: boolean) => void;

/** Number of entries a hint claims to hold (0 when it is not a hint); for pre-sizing the index. */
export function hintEntryCount(header: Buffer): number {
  return header.length >= HEADER_BYTES && header.readUInt32LE(0) === MAGIC ? header.readUInt32LE(16) : 0;
}

/**
 * Checks a hint and calls `visit` for each entry. Returns a reason when the hint cannot be used
 * (then nothing was visited: everything is checked before the first call).
 */
export function parseHint(buf: Buffer, segmentBytes: number, visit: HintVisitor): string | undefined {
  if (buf.length < HEADER_BYTES + TRAILER_BYTES) return 'hint file is too short';
  if (buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return 'not a hint file of this version';
  const end = buf.length - TRAILER_BYTES;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return 'hint CRC mismatch';
  if (buf.readDoubleLE(8) !== segmentBytes) return `hint is for a segment of ${buf.readDoubleLE(8)} bytes, the file has ${segmentBytes}`;
  const count = buf.readUInt32LE(16);
  // DataView reads compile to plain loads; Buffer's readUInt32LE/readDoubleLE are function calls
  // with bounds checks, which made up most of the parse time of a million entries.
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  // Walk once to check the structure, so a bad hint is refused before the index is touched.
  let pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + ENTRY_FIXED_BYTES > end) return 'hint entries run past the end';
    const offset = view.getUint32(pos, true);
    const frameBytes = view.getUint32(pos + 4, true);
    if (offset + frameBytes > segmentBytes) return 'hint entry points past the segment';
    pos += ENTRY_FIXED_BYTES + view.getUint32(pos + 17, true);
  }
  if (pos !== end) return 'hint entry count does not match its length';
  pos = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    const exp = view.getFloat64(pos + 8, true);
    const keyBytes = view.getUint32(pos + 17, true);
    const keyStart = pos + ENTRY_FIXED_BYTES;
    visit(decodeUtf8(buf, keyStart, keyStart + keyBytes), view.getUint32(pos, true), view.getUint32(pos + 4, true),
      Number.isNaN(exp) ? undefined : exp, (buf[pos + 16]! & HINT_FLAG_TOMBSTONE) !== 0);
    pos = keyStart + keyBytes;
  }
  return undefined;
}
