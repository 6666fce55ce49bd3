/**
 * Compaction: rewrites the records of some sealed segments that are still needed into one new
 * segment, while reads and writes go on. It runs in two phases:
 *
 * 1. Copy (async, long): scan each input; a record is needed when the index still points at it.
 *    Live values are copied. A key's newest record that makes it absent (a tombstone, or a value
 *    that has expired) is dropped when every older segment is an input too — nothing older can
 *    then resurrect the key — and otherwise kept as a tombstone. The output gets the highest input
 *    id and the next generation, so it replays after every input and before any newer segment
 *    (segment.ts). It is written under a temporary name, fsynced with its hint, renamed, and the
 *    directory fsynced.
 * 2. Install (synchronous, in the engine): entries whose index location did not change meanwhile
 *    move to the output; the others were overwritten during the copy and their copies are dead.
 *    The inputs are then deleted oldest first, so a crash in the middle never leaves an older
 *    record without the newer tombstone that hides it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { assert } from '../../core/assert.js';
import type { Clock, Logger } from '../../core/env.js';
import { CorruptRecordError } from '../../errors.js';
import type { HintEntry } from './hint.js';
import { writeHintFile } from './hint.js';
import type { KeyIndex } from './key-index.js';
import { TOMBSTONE } from './key-index.js';
import { encodeRecord, FLAG_BATCH_CONTINUES, FLAG_TOMBSTONE, withoutBatchFlag } from './record.js';
import { scanSegment } from './scan.js';
import type { Segment, SegmentName } from './segment.js';
import { compareSegmentNames, hintFileName, MAX_SEGMENT_GEN, segmentFileName } from './segment.js';

/** Output bytes buffered before a write. */
const COPY_BUFFER_BYTES = 1024 * 1024;

export interface CompactionHost {
  readonly dir: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly index: KeyIndex;
  readonly maxBodyBytes: number;
  /** Every segment, sealed and active, in replay order. */
  orderedSegments(): readonly Segment[];
  /** True once close() started: the copy stops early and leaves nothing behind. */
  isClosing(): boolean;
}

/** An entry copied to the output: it moves there if the index still points at `from`. */
export interface MovedEntry {
  readonly key: string;
  readonly fromHandle: number;
  readonly fromOffset: number;
  readonly offset: number;
  readonly frameBytes: number;
  readonly exp: number;
}

/** A key whose newest record was an absent marker and was not copied: it leaves the index. */
export interface DroppedEntry {
  readonly key: string;
  readonly fromHandle: number;
  readonly fromOffset: number;
}

export interface CompactionOutput {
  readonly inputs: readonly Segment[];
  /** Undefined when nothing was worth keeping (the inputs are simply deleted). */
  readonly output: { readonly name: SegmentName; readonly fh: fs.FileHandle; readonly sizeBytes: number } | undefined;
  readonly moved: readonly MovedEntry[];
  readonly dropped: readonly DroppedEntry[];
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Phase 1: copies what `inputs` (sealed segments) still need into a new segment. */
export async function copyLiveRecords(host: CompactionHost, inputsUnsorted: readonly Segment[]): Promise<CompactionOutput | undefined> {
  const inputs = [...inputsUnsorted].sort(compareSegmentNames);
  assert(inputs.length > 0, 'compaction has inputs');
  const ordered = host.orderedSegments();
  const inputSet = new Set(inputs);
  // Inputs that sit in the unbroken run of inputs at the start of the replay order can drop
  // absent markers: no older segment outside the compaction can hold the key.
  const canDrop = new Set<Segment>();
  for (const s of ordered) {
    if (!inputSet.has(s)) break;
    canDrop.add(s);
  }
  const last = inputs[inputs.length - 1]!;
  const outId = last.id;
  let outGen = 0;
  for (const s of ordered) if (s.id === outId) outGen = Math.max(outGen, s.gen + 1);
  assert(outGen <= MAX_SEGMENT_GEN, 'compaction generation in range');
  const name: SegmentName = { id: outId, gen: outGen };
  const finalPath = path.join(host.dir, segmentFileName(name));
  const tmpPath = `${finalPath}.tmp`;

  const fh = await fs.open(tmpPath, 'wx+');
  const moved: MovedEntry[] = [];
  const dropped: DroppedEntry[] = [];
  let written = 0;
  let chunks: Uint8Array[] = [];
  let chunkBytes = 0;
  const flush = async (): Promise<void> => {
    if (chunkBytes === 0) return;
    const buf = Buffer.concat(chunks, chunkBytes);
    chunks = [];
    chunkBytes = 0;
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, written + done);
      done += bytesWritten;
    }
    written += buf.length;
  };

  let keep = false;
  try {
    for (const input of inputs) {
      const now = host.clock.now();
      const end = await scanSegment(input.fh, input.sizeBytes, host.maxBodyBytes, async (record, offset, buf, at) => {
        const slot = host.index.slot(record.key);
        if (slot === undefined || host.index.seg[slot] !== input.handle || host.index.off[slot] !== offset) return;
        const exp = host.index.exp[slot]!;
        const absent = exp <= now; // a tombstone, or a value that expired
        if (absent && canDrop.has(input)) {
          dropped.push({ key: record.key, fromHandle: input.handle, fromOffset: offset });
          return;
        }
        let out: Uint8Array;
        if (absent && (record.flags & FLAG_TOMBSTONE) === 0) out = encodeRecord(record.key, undefined, undefined, FLAG_TOMBSTONE);
        else if ((record.flags & FLAG_BATCH_CONTINUES) !== 0) out = withoutBatchFlag(buf, record);
        else out = Buffer.from(buf.subarray(at, at + record.frameBytes)); // a copy: `buf` is the scan's reused buffer
        moved.push({
          key: record.key, fromHandle: input.handle, fromOffset: offset,
          offset: written + chunkBytes, frameBytes: out.length, exp: absent ? TOMBSTONE : exp,
        });
        chunks.push(out);
        chunkBytes += out.length;
        if (chunkBytes >= COPY_BUFFER_BYTES) await flush();
      });
      if (end.kind !== 'clean') throw new CorruptRecordError(input.path, end.offset, end.reason);
      if (host.isClosing()) return undefined;
    }
    await flush();
    if (moved.length === 0) return { inputs, output: undefined, moved, dropped };
    await fh.datasync();
    const hints: HintEntry[] = moved.map((m) => ({
      key: m.key, offset: m.offset, frameBytes: m.frameBytes,
      expiresAtMs: Number.isFinite(m.exp) ? m.exp : undefined, tombstone: m.exp === TOMBSTONE,
    }));
    await writeHintFile(path.join(host.dir, hintFileName(name)), written, hints);
    await fs.rename(tmpPath, finalPath);
    await fsyncDir(host.dir);
    keep = true;
    return { inputs, output: { name, fh, sizeBytes: written }, moved, dropped };
  } finally {
    if (!keep) {
      await fh.close();
      await fs.rm(tmpPath, { force: true });
    }
  }
}

/** Deletes the files of segments a compaction replaced, oldest first (see the module comment). */
export async function deleteInputs(inputs: readonly Segment[], logger: Logger): Promise<void> {
  for (const s of [...inputs].sort(compareSegmentNames)) {
    await fs.rm(s.path, { force: true });
    await fs.rm(s.hintPath, { force: true });
    s.retire();
  }
  logger.debug({ deleted: inputs.map((s) => s.fileName) }, 'deleted compacted segments');
}
