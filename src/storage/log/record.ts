/**
 * The on-disk record codec. A segment file is a sequence of frames:
 *
 *   frame  = bodyLength u32 LE | ~bodyLength u32 LE | crc32(body) u32 LE | body
 *   body   = version u8 (=1) | metaLength u32 LE | meta (CBOR) | value bytes (the rest)
 *   meta   = [key: text, flags: uint, expiresAtMs?: number]      (cbor-x)
 *   flags  = 1: tombstone (no value bytes) | 2: batch continues (more records of this batch follow)
 *
 * The value travels raw after the CBOR meta so that recovery never copies or parses values, and a
 * read takes the value as a view of the frame it read. The complemented length lets recovery tell a
 * torn tail (a trustworthy length that runs past the end of the file: the normal result of a crash
 * during a write) from corruption (a length field that does not check). A batch is atomic because
 * its records are written together in one write and recovery applies them only when it reaches the
 * last one (flag 2 cleared); a batch cut short by a crash is dropped whole.
 *
 * Parsing is pure (no I/O): the scanner in scan.ts feeds it bytes.
 */
import { Decoder } from 'cbor-x';
import { assert } from '../../core/assert.js';
import { crc32 } from './crc32.js';

export const FRAME_HEADER_BYTES = 12;
export const BODY_VERSION = 1;
/** version u8 + metaLength u32 */
const BODY_PREFIX_BYTES = 5;
export const FLAG_TOMBSTONE = 1;
export const FLAG_BATCH_CONTINUES = 2;
const KNOWN_FLAGS = FLAG_TOMBSTONE | FLAG_BATCH_CONTINUES;

// Plain arrays and strings only: no record structures or shared-structure state that a reader of
// an old file would need.
const decoder = new Decoder({ useRecords: false });

/**
 * A decoded record. The value is not copied or even sliced: `valueOffset` and `valueBytes` locate it
 * in the buffer the frame was decoded from (recovery never needs it; reads take a view).
 */
export interface DecodedRecord {
  readonly key: string;
  readonly flags: number;
  readonly expiresAtMs: number | undefined;
  /** Offset of the value in the buffer passed to decodeFrame. */
  readonly valueOffset: number;
  readonly valueBytes: number;
  /** Whole frame length in bytes (header + body). */
  readonly frameBytes: number;
}

/** The value of a decoded record, as a view into `buf` (the buffer it was decoded from). */
export function recordValue(buf: Uint8Array, record: DecodedRecord): Uint8Array {
  return buf.subarray(record.valueOffset, record.valueOffset + record.valueBytes);
}

/**
 * Encodes one record as a complete frame in its own buffer (not from Node's shared pool, since the
 * value cache may keep a view of it). The meta array is written straight into the frame, in the
 * CBOR shapes decodeMetaFast reads (cbor-x, which wrote it before, made a buffer of its own per
 * record that was then copied): a text string, a small unsigned integer, and the expiry as an
 * unsigned integer below 2^32, else as a float64.
 */
export function encodeRecord(key: string, value: Uint8Array | undefined, expiresAtMs: number | undefined, flags: number): Buffer {
  assert((flags & ~KNOWN_FLAGS) === 0, 'only known record flags');
  assert(((flags & FLAG_TOMBSTONE) !== 0) === (value === undefined), 'a tombstone has no value, a put has one');
  const keyBytes = Buffer.byteLength(key, 'utf8');
  const keyHeadBytes = keyBytes < 24 ? 1 : keyBytes < 0x100 ? 2 : keyBytes < 0x10000 ? 3 : 5;
  const metaBytes = 1 + keyHeadBytes + keyBytes + 1 + (expiresAtMs === undefined ? 0 : expiryBytes(expiresAtMs));
  const valueBytes = value?.byteLength ?? 0;
  const bodyBytes = BODY_PREFIX_BYTES + metaBytes + valueBytes;
  const frame = Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(~bodyBytes >>> 0, 4);
  frame[FRAME_HEADER_BYTES] = BODY_VERSION;
  frame.writeUInt32LE(metaBytes, FRAME_HEADER_BYTES + 1);
  let p = FRAME_HEADER_BYTES + BODY_PREFIX_BYTES;
  frame[p++] = expiresAtMs === undefined ? 0x82 : 0x83;
  if (keyHeadBytes === 1) frame[p++] = 0x60 + keyBytes;
  else if (keyHeadBytes === 2) {
    frame[p++] = 0x78;
    frame[p++] = keyBytes;
  } else if (keyHeadBytes === 3) {
    frame[p++] = 0x79;
    frame.writeUInt16BE(keyBytes, p);
    p += 2;
  } else {
    frame[p++] = 0x7a;
    frame.writeUInt32BE(keyBytes, p);
    p += 4;
  }
  p += frame.write(key, p, keyBytes, 'utf8');
  frame[p++] = flags; // below 24: a one-byte unsigned integer
  if (expiresAtMs !== undefined) p = writeExpiry(frame, p, expiresAtMs);
  assert(p === FRAME_HEADER_BYTES + BODY_PREFIX_BYTES + metaBytes, 'meta written to its computed length');
  if (value !== undefined) frame.set(value, p);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8);
  return frame;
}

/** Bytes of the CBOR encoding writeExpiry gives `ms`. */
function expiryBytes(ms: number): number {
  if (!isUint32(ms)) return 9;
  return ms < 24 ? 1 : ms < 0x100 ? 2 : ms < 0x10000 ? 3 : 5;
}

/**
 * Integers from 2^32 on are written as float64 (exact for safe integers), as cbor-x writes them:
 * cbor-x reads a CBOR uint64 back as a BigInt, and it is the decoder of the shapes the fast path
 * leaves to it. -0 stays a float too, so that it reads back as written.
 */
function isUint32(ms: number): boolean {
  return Number.isInteger(ms) && ms >= 0 && ms < 0x100000000 && !Object.is(ms, -0);
}

/** Writes `ms` as CBOR at `p`; returns the offset after it. */
function writeExpiry(buf: Buffer, p: number, ms: number): number {
  if (!isUint32(ms)) {
    buf[p] = 0xfb;
    buf.writeDoubleBE(ms, p + 1);
    return p + 9;
  }
  if (ms < 24) {
    buf[p] = ms;
    return p + 1;
  }
  if (ms < 0x100) {
    buf[p] = 0x18;
    buf[p + 1] = ms;
    return p + 2;
  }
  if (ms < 0x10000) {
    buf[p] = 0x19;
    buf.writeUInt16BE(ms, p + 1);
    return p + 3;
  }
  buf[p] = 0x1a;
  buf.writeUInt32BE(ms, p + 1);
  return p + 5;
}

/** Re-encodes a record (decoded from `buf`) with the batch-continues flag cleared (compaction un-batches records). */
export function withoutBatchFlag(buf: Uint8Array, record: DecodedRecord): Buffer {
  const tombstone = (record.flags & FLAG_TOMBSTONE) !== 0;
  return encodeRecord(record.key, tombstone ? undefined : recordValue(buf, record), record.expiresAtMs, record.flags & ~FLAG_BATCH_CONTINUES);
}

/** What the bytes at some offset of a segment are. */
export type FrameHeader =
  /** A header whose length checks; the frame is `frameBytes` long. */
  | { readonly kind: 'ok'; readonly frameBytes: number }
  /** Fewer than FRAME_HEADER_BYTES bytes are left. */
  | { readonly kind: 'short' }
  /** Twelve zero bytes: never written (zero-filled after a crash) or preallocated. */
  | { readonly kind: 'zero' }
  /** The length field does not check, or is beyond any legal record. */
  | { readonly kind: 'bad'; readonly reason: string };

/** Reads the frame header at `offset` in `buf` (which ends at `end`). */
export function readFrameHeader(buf: Buffer, offset: number, end: number, maxBodyBytes: number): FrameHeader {
  if (end - offset < FRAME_HEADER_BYTES) return { kind: 'short' };
  const bodyBytes = buf.readUInt32LE(offset);
  const check = buf.readUInt32LE(offset + 4);
  if (bodyBytes === 0 && check === 0 && buf.readUInt32LE(offset + 8) === 0) return { kind: 'zero' };
  if ((~bodyBytes >>> 0) !== check) return { kind: 'bad', reason: 'length field does not match its check' };
  if (bodyBytes < BODY_PREFIX_BYTES + 1) return { kind: 'bad', reason: `body length ${bodyBytes} is below the minimum` };
  if (bodyBytes > maxBodyBytes) return { kind: 'bad', reason: `body length ${bodyBytes} exceeds the largest legal record (${maxBodyBytes})` };
  return { kind: 'ok', frameBytes: FRAME_HEADER_BYTES + bodyBytes };
}

/** The largest legal body for the given limits (meta overhead is far below 64 bytes + key). */
export function maxBodyBytesFor(maxKeyBytes: number, maxValueBytes: number): number {
  return BODY_PREFIX_BYTES + 64 + maxKeyBytes + maxValueBytes;
}

/**
 * Decodes a whole frame at `offset` (its header already checked by readFrameHeader). Returns a
 * reason string when the CRC or the body does not check.
 */
export function decodeFrame(buf: Buffer, offset: number, frameBytes: number): DecodedRecord | string {
  assert(offset + frameBytes <= buf.length, 'decodeFrame: the frame is inside the buffer');
  const bodyStart = offset + FRAME_HEADER_BYTES;
  const bodyEnd = offset + frameBytes;
  if (crc32(buf.subarray(bodyStart, bodyEnd)) !== buf.readUInt32LE(offset + 8)) return 'CRC mismatch';
  if (buf[bodyStart] !== BODY_VERSION) return `unknown record version ${String(buf[bodyStart])}`;
  const metaBytes = buf.readUInt32LE(bodyStart + 1);
  const metaStart = bodyStart + BODY_PREFIX_BYTES;
  const metaEnd = metaStart + metaBytes;
  if (metaEnd > bodyEnd) return 'meta length runs past the record';
  const meta = decodeMetaFast(buf, metaStart, metaEnd) ?? decodeMetaSlow(buf, metaStart, metaEnd);
  if (typeof meta === 'string') return meta;
  const [key, flags, expiresAtMs] = meta;
  if (typeof key !== 'string' || key.length === 0) return 'meta key is not a non-empty string';
  if (typeof flags !== 'number' || (flags & ~KNOWN_FLAGS) !== 0) return 'meta flags are unknown';
  if (expiresAtMs !== undefined && (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs))) return 'meta expiry is not a number';
  if ((flags & FLAG_TOMBSTONE) !== 0 && metaEnd !== bodyEnd) return 'tombstone carries value bytes';
  return { key, flags, expiresAtMs, valueOffset: metaEnd, valueBytes: bodyEnd - metaEnd, frameBytes };
}

/** The general CBOR path (cbor-x), for anything the fast path below does not handle. */
function decodeMetaSlow(buf: Buffer, start: number, end: number): unknown[] | string {
  let meta: unknown;
  try {
    meta = decoder.decode(buf.subarray(start, end));
  } catch (e) {
    return `meta is not valid CBOR (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!Array.isArray(meta) || meta.length < 2 || meta.length > 3) return 'meta is not [key, flags, expiresAtMs?]';
  return meta as unknown[];
}

/**
 * Decodes the meta array in the shapes cbor-x writes for it — array(2|3) of a text string, a small
 * unsigned integer and an optional integer or float64 — without allocating anything but the key.
 * Recovery decodes millions of these. Returns undefined for any other shape (the slow path then
 * decides), so it never rejects valid CBOR.
 */
function decodeMetaFast(buf: Buffer, start: number, end: number): [string, number, number | undefined] | undefined {
  let p = start;
  const head = buf[p++];
  if (head !== 0x82 && head !== 0x83) return undefined;
  const t = buf[p++]!;
  let keyBytes: number;
  if (t >= 0x60 && t <= 0x77) keyBytes = t - 0x60;
  else if (t === 0x78) keyBytes = buf[p++]!;
  else if (t === 0x79) {
    keyBytes = buf.readUInt16BE(p);
    p += 2;
  } else return undefined;
  if (p + keyBytes > end) return undefined;
  const key = buf.toString('utf8', p, p + keyBytes);
  p += keyBytes;
  const flags = buf[p++]!;
  if (flags > 0x17) return undefined;
  let exp: number | undefined;
  if (head === 0x83) {
    const e = buf[p++]!;
    if (e <= 0x17) exp = e;
    else if (e === 0x18) exp = buf[p++]!;
    else if (e === 0x19) {
      exp = buf.readUInt16BE(p);
      p += 2;
    } else if (e === 0x1a) {
      exp = buf.readUInt32BE(p);
      p += 4;
    } else if (e === 0x1b) {
      exp = buf.readUInt32BE(p) * 2 ** 32 + buf.readUInt32BE(p + 4);
      p += 8;
    } else if (e === 0xfb) {
      exp = buf.readDoubleBE(p);
      p += 8;
    } else return undefined;
  }
  return p === end ? [key, flags, exp] : undefined;
}
