/**
 * Segment files: naming, ordering and the open handle with its accounting.
 *
 * A segment is named `<id>-<gen>.seg` (zero-padded). Writes go to the active segment, which has the
 * highest id; when it passes maxSegmentBytes it is sealed and a new one (id + 1, gen 0) starts.
 * Compaction writes the live records of its input segments into one new segment with the highest
 * input id and the next generation, so the output sorts after every input and before every segment
 * the inputs did not reach. Replaying segments in (id, gen) order therefore always applies a key's
 * records oldest first, which is all recovery needs.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../core/assert.js';

export interface SegmentName {
  readonly id: number;
  readonly gen: number;
}

const SEGMENT_RE = /^(\d{10})-(\d{4})\.seg$/;
const HINT_RE = /^(\d{10})-(\d{4})\.hint$/;

export function segmentFileName(name: SegmentName): string {
  return `${String(name.id).padStart(10, '0')}-${String(name.gen).padStart(4, '0')}.seg`;
}

export function hintFileName(name: SegmentName): string {
  return `${String(name.id).padStart(10, '0')}-${String(name.gen).padStart(4, '0')}.hint`;
}

export function parseSegmentFileName(file: string): SegmentName | undefined {
  const m = SEGMENT_RE.exec(file);
  return m === null ? undefined : { id: Number(m[1]), gen: Number(m[2]) };
}

export function parseHintFileName(file: string): SegmentName | undefined {
  const m = HINT_RE.exec(file);
  return m === null ? undefined : { id: Number(m[1]), gen: Number(m[2]) };
}

/** Negative when a replays before b. */
export function compareSegmentNames(a: SegmentName, b: SegmentName): number {
  return a.id !== b.id ? a.id - b.id : a.gen - b.gen;
}

/** Zeros for preallocation, written in pieces of this size. */
const ZEROS = Buffer.alloc(1024 * 1024);

export const MAX_SEGMENT_ID = 9_999_999_999;
export const MAX_SEGMENT_GEN = 9_999;

/** An open segment file. Reads pin it, so that compaction can retire it without breaking them. */
export class Segment implements SegmentName {
  /** Bytes of records that a newer record (or compaction) made dead. */
  deadBytes = 0;
  /** Bytes of tombstones (and expired-at-write records) that are still the newest for their key. */
  tombstoneBytes = 0;
  /**
   * Length of the file: sizeBytes, or more while the active segment has a preallocated tail of
   * zeros (see LogEngineOptions.preallocateBytes).
   */
  allocatedBytes: number;
  /** Reads in flight. */
  private pins = 0;
  /** Set once compaction replaced this segment: the handle closes when the last read ends. */
  private retired = false;
  private closePromise: Promise<void> | undefined;

  constructor(
    /** Small number the index stores instead of the name; never reused within one process. */
    readonly handle: number,
    readonly id: number,
    readonly gen: number,
    readonly dir: string,
    readonly fh: FileHandle,
    /** Bytes in the file that hold complete records (writes go here). */
    public sizeBytes: number,
  ) {
    this.allocatedBytes = sizeBytes;
    assert(id >= 0 && id <= MAX_SEGMENT_ID, 'segment id in range');
    assert(gen >= 0 && gen <= MAX_SEGMENT_GEN, 'segment gen in range');
  }

  get fileName(): string {
    return segmentFileName(this);
  }

  get path(): string {
    return path.join(this.dir, segmentFileName(this));
  }

  get hintPath(): string {
    return path.join(this.dir, hintFileName(this));
  }

  /**
   * Reads exactly `length` bytes at `offset` into a fresh buffer. Reads up to `syncMaxBytes` are
   * synchronous preads (see LogEngineOptions.syncReadMaxBytes), larger ones go through the thread pool.
   */
  async read(offset: number, length: number, syncMaxBytes = 0): Promise<Buffer> {
    assert(!this.retired || this.pins > 0 || this.closePromise === undefined, 'read of a closed segment');
    assert(offset + length <= this.sizeBytes, 'read inside the segment');
    this.pins++;
    try {
      const buf = Buffer.allocUnsafeSlow(length);
      let done = 0;
      while (done < length) {
        const bytesRead = length <= syncMaxBytes
          ? readSync(this.fh.fd, buf, done, length - done, offset + done)
          : (await this.fh.read(buf, done, length - done, offset + done)).bytesRead;
        if (bytesRead === 0) throw new Error(`unexpected end of ${this.path} at ${offset + done}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      this.pins--;
      if (this.retired && this.pins === 0) void this.close();
    }
  }

  /**
   * Writes zeros over [allocatedBytes, toBytes) and fdatasyncs them, so that later writes there
   * change no file metadata (their fdatasync then flushes data only). Nothing may write that range
   * meanwhile.
   */
  async preallocate(toBytes: number): Promise<void> {
    const from = this.allocatedBytes;
    assert(from >= this.sizeBytes, 'preallocation starts after the records');
    for (let pos = from; pos < toBytes;) {
      const n = Math.min(ZEROS.length, toBytes - pos);
      pos += (await this.fh.write(ZEROS, 0, n, pos)).bytesWritten;
    }
    await this.fh.datasync();
    this.allocatedBytes = Math.max(this.allocatedBytes, toBytes);
  }

  /** Cuts the preallocated tail off, so that the file ends with its last record. The caller fsyncs. */
  async trimPreallocated(): Promise<void> {
    if (this.allocatedBytes === this.sizeBytes) return;
    await this.fh.truncate(this.sizeBytes);
    this.allocatedBytes = this.sizeBytes;
  }

  /** Runs `read` (which uses `fh`) with the segment pinned, so that retiring it waits. */
  async pinned<T>(read: () => Promise<T>): Promise<T> {
    assert(!this.retired || this.pins > 0 || this.closePromise === undefined, 'read of a closed segment');
    this.pins++;
    try {
      return await read();
    } finally {
      this.pins--;
      if (this.retired && this.pins === 0) void this.close();
    }
  }

  /** Marks the segment replaced; its handle closes once no read uses it. */
  retire(): void {
    this.retired = true;
    if (this.pins === 0) void this.close();
  }

  get isRetired(): boolean {
    return this.retired;
  }

  /** Closes the handle (idempotent). */
  close(): Promise<void> {
    this.closePromise ??= this.fh.close().catch(() => undefined);
    return this.closePromise;
  }
}
