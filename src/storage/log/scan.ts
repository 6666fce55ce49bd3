/**
 * Sequential reading of a segment file: every record with its offset, then how the file ended.
 * Used by recovery (no hint), by hint writing after a segment is sealed, and by compaction.
 */
import type { FileHandle } from 'node:fs/promises';
import { assert } from '../../core/assert.js';
import type { DecodedRecord } from './record.js';
import { decodeFrame, FRAME_HEADER_BYTES, readFrameHeader } from './record.js';

/** How a segment's records ended. */
export type ScanEnd =
  /** The last record ends exactly at the end of the file. */
  | { readonly kind: 'clean' }
  /**
   * A partial last record, or a zero-filled tail, starts at `offset`: a crash in mid-write, or
   * (zeroTail: nothing but zeros from `offset` on) the unused preallocated end of the active segment.
   */
  | { readonly kind: 'torn'; readonly offset: number; readonly reason: string; readonly zeroTail?: true }
  /** A record at `offset` does not check: nothing from here on can be trusted. */
  | { readonly kind: 'corrupt'; readonly offset: number; readonly reason: string };

/** Read size for scans: large enough that syscalls do not dominate, small enough to stay cheap. */
export const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Calls `onRecord` for each valid record of the first `fileBytes` bytes of `fh`, in order.
 * The record was decoded from `buf` (a reused read buffer) where its frame starts at `bufOffset`:
 * copy what must outlive the callback.
 */
export async function scanSegment(
  fh: FileHandle,
  fileBytes: number,
  maxBodyBytes: number,
  onRecord: (record: DecodedRecord, offset: number, buf: Buffer, bufOffset: number) => void | Promise<void>,
  chunkBytes = SCAN_CHUNK_BYTES,
): Promise<ScanEnd> {
  let buf = Buffer.allocUnsafeSlow(Math.min(chunkBytes, Math.max(fileBytes, 16)));
  let bufStart = 0; // file offset of buf[0]
  let bufBytes = 0; // valid bytes in buf
  let pos = 0;

  /** True when [pos, pos + need) is in buf (checked inline: an await per record would dominate). */
  const has = (need: number): boolean => pos >= bufStart && pos + need <= bufStart + bufBytes;
  /** Reads from pos on so that at least `need` bytes are in buf (need <= what the file has). */
  const refill = async (need: number): Promise<void> => {
    const want = Math.min(Math.max(need, chunkBytes), fileBytes - pos);
    assert(want >= need, 'refill only asks for bytes the file has');
    if (buf.length < want) buf = Buffer.allocUnsafeSlow(want);
    let done = 0;
    while (done < want) {
      const { bytesRead } = await fh.read(buf, done, want - done, pos + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    bufStart = pos;
    bufBytes = done;
    if (done < need) throw new Error(`segment shrank while being read (wanted ${need} bytes at ${pos})`);
  };

  for (;;) {
    const left = fileBytes - pos;
    if (left === 0) return { kind: 'clean' };
    if (!has(Math.min(left, 12))) await refill(Math.min(left, 12));
    const header = readFrameHeader(buf, pos - bufStart, bufStart + bufBytes - bufStart, maxBodyBytes);
    if (header.kind === 'short') {
      if (await isZeroFrom(fh, pos, fileBytes)) return { kind: 'torn', offset: pos, reason: 'zero-filled tail', zeroTail: true };
      return { kind: 'torn', offset: pos, reason: `partial record header (${left} bytes)` };
    }
    if (header.kind === 'zero') {
      if (await isZeroFrom(fh, pos, fileBytes)) return { kind: 'torn', offset: pos, reason: 'zero-filled tail', zeroTail: true };
      return { kind: 'corrupt', offset: pos, reason: 'zeroed record header followed by data' };
    }
    if (header.kind === 'bad') {
      if (await isPartialWrite(fh, pos, pos + FRAME_HEADER_BYTES, fileBytes)) return { kind: 'torn', offset: pos, reason: 'partial record header, zeros after it' };
      return { kind: 'corrupt', offset: pos, reason: header.reason };
    }
    if (header.frameBytes > left) {
      return { kind: 'torn', offset: pos, reason: `partial record (${left} of ${header.frameBytes} bytes)` };
    }
    if (!has(header.frameBytes)) await refill(header.frameBytes);
    const at = pos - bufStart;
    const record = decodeFrame(buf, at, header.frameBytes);
    if (typeof record === 'string') {
      if (await isPartialWrite(fh, pos, pos + header.frameBytes, fileBytes)) {
        return { kind: 'torn', offset: pos, reason: `partial record (${record}; its end and everything after it are zeros)` };
      }
      return { kind: 'corrupt', offset: pos, reason: record };
    }
    const result = onRecord(record, pos, buf, at);
    if (result !== undefined) await result;
    pos += header.frameBytes;
  }
}

/**
 * Granularity of a partial write: a write cut short by a kill stops at a page boundary of the
 * file, and a power loss loses whole sectors. 512 B is the smallest of these.
 */
export const PARTIAL_WRITE_ALIGN_BYTES = 512;

/**
 * True when the bytes of a frame that fails its checks look like a write that never finished: the
 * frame [frameStart, frameEnd) is followed by zeros only, and its own bytes are zeros from some
 * 512-byte-aligned file offset inside it on. That is what a preallocated segment (zero-filled
 * ahead of the writes) holds after a crash cut the last write short; in a file that grows with
 * each write the same crash leaves a frame that runs past the end of the file instead.
 *
 * A damaged record whose last bytes are not zero, or that is followed by anything but zeros, is
 * corruption. The one ambiguity left: a damaged last record whose value happens to end in zeros
 * up to an aligned offset is taken for a partial write (and its cut is logged).
 */
async function isPartialWrite(fh: FileHandle, frameStart: number, frameEnd: number, fileBytes: number): Promise<boolean> {
  const dataEnd = await nonZeroEnd(fh, frameStart, fileBytes);
  const alignedEnd = Math.ceil(dataEnd / PARTIAL_WRITE_ALIGN_BYTES) * PARTIAL_WRITE_ALIGN_BYTES;
  return alignedEnd < frameEnd;
}

/** The offset just past the last non-zero byte of [from, to) (`from` when all are zero), read backwards. */
async function nonZeroEnd(fh: FileHandle, from: number, to: number): Promise<number> {
  const chunk = Buffer.allocUnsafeSlow(Math.min(1024 * 1024, Math.max(1, to - from)));
  for (let end = to; end > from;) {
    const start = Math.max(from, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) if (chunk[i] !== 0) return start + i + 1;
    end = start;
  }
  return from;
}

/** True when every byte of [from, to) in the file is zero. */
async function isZeroFrom(fh: FileHandle, from: number, to: number): Promise<boolean> {
  const chunk = Buffer.allocUnsafeSlow(Math.min(1024 * 1024, Math.max(1, to - from)));
  for (let pos = from; pos < to;) {
    const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, to - pos), pos);
    if (bytesRead === 0) return true;
    for (let i = 0; i < bytesRead; i++) if (chunk[i] !== 0) return false;
    pos += bytesRead;
  }
  return true;
}
