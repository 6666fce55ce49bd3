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
import { Decoder, Encoder } from 'cbor-x';
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
const encoder = new Encoder({ useRecords: false, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false });

/** A decoded record. `value` is a view into the buffer it was parsed from. */
export interface DecodedRecord {
  readonly key: string;
  readonly flags: number;
  readonly expiresAtMs: number | undefined;
  readonly value: Uint8Array;
  /** Whole frame length in bytes (header + body). */
  readonly frameBytes: number;
}

/**
 * Encodes one record as a complete frame in its own buffer (not from Node's shared pool, since the
 * value cache may keep a view of it).
 */
export function encodeRecord(key: string, value: Uint8Array | undefined, expiresAtMs: number | undefined, flags: number): Buffer {
  assert((flags & ~KNOWN_FLAGS) === 0, 'only known record flags');
  assert(((flags & FLAG_TOMBSTONE) !== 0) === (value === undefined), 'a tombstone has no value, a put has one');
  const meta = encoder.encode(expiresAtMs === undefined ? [key, flags] : [key, flags, expiresAtMs]);
  const valueBytes = value?.byteLength ?? 0;
  const bodyBytes = BODY_PREFIX_BYTES + meta.length + valueBytes;
  const frame = Buffer.allocUnsafeSlow(FRAME_HEADER_BYTES + bodyBytes);
  frame.writeUInt32LE(bodyBytes, 0);
  frame.writeUInt32LE(~bodyBytes >>> 0, 4);
  frame[FRAME_HEADER_BYTES] = BODY_VERSION;
  frame.writeUInt32LE(meta.length, FRAME_HEADER_BYTES + 1);
  meta.copy(frame, FRAME_HEADER_BYTES + BODY_PREFIX_BYTES);
  if (value !== undefined) frame.set(value, FRAME_HEADER_BYTES + BODY_PREFIX_BYTES + meta.length);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 8);
  return frame;
}

/** Returns a copy of `frame` with the batch-continues flag cleared (compaction un-batches records). */
export function withoutBatchFlag(record: DecodedRecord): Buffer {
  const tombstone = (record.flags & FLAG_TOMBSTONE) !== 0;
  return encodeRecord(record.key, tombstone ? undefined : record.value, record.expiresAtMs, record.flags & ~FLAG_BATCH_CONTINUES);
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
export function readFrameHeader(buf: Uint8Array, offset: number, end: number, maxBodyBytes: number): FrameHeader {
  if (end - offset < FRAME_HEADER_BYTES) return { kind: 'short' };
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  const bodyBytes = view.getUint32(0, true);
  const check = view.getUint32(4, true);
  if (bodyBytes === 0 && check === 0 && view.getUint32(8, true) === 0) return { kind: 'zero' };
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
export function decodeFrame(buf: Uint8Array, offset: number, frameBytes: number): DecodedRecord | string {
  assert(offset + frameBytes <= buf.byteLength, 'decodeFrame: the frame is inside the buffer');
  const body = buf.subarray(offset + FRAME_HEADER_BYTES, offset + frameBytes);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, FRAME_HEADER_BYTES);
  if (crc32(body) !== view.getUint32(8, true)) return 'CRC mismatch';
  if (body[0] !== BODY_VERSION) return `unknown record version ${String(body[0])}`;
  const metaBytes = new DataView(body.buffer, body.byteOffset + 1, 4).getUint32(0, true);
  if (BODY_PREFIX_BYTES + metaBytes > body.length) return 'meta length runs past the record';
  let meta: unknown;
  try {
    meta = decoder.decode(body.subarray(BODY_PREFIX_BYTES, BODY_PREFIX_BYTES + metaBytes));
  } catch (e) {
    return `meta is not valid CBOR (${e instanceof Error ? e.message : String(e)})`;
  }
  if (!Array.isArray(meta) || meta.length < 2 || meta.length > 3) return 'meta is not [key, flags, expiresAtMs?]';
  const [key, flags, expiresAtMs] = meta as unknown[];
  if (typeof key !== 'string' || key.length === 0) return 'meta key is not a non-empty string';
  if (typeof flags !== 'number' || (flags & ~KNOWN_FLAGS) !== 0) return 'meta flags are unknown';
  if (expiresAtMs !== undefined && (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs))) return 'meta expiry is not a number';
  const value = body.subarray(BODY_PREFIX_BYTES + metaBytes);
  if ((flags & FLAG_TOMBSTONE) !== 0 && value.length !== 0) return 'tombstone carries value bytes';
  return { key, flags, expiresAtMs, value, frameBytes };
}
