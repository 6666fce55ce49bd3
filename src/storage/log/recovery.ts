/**
 * Recovery on open: replays every segment, oldest first, into the index — from its hint file when a
 * valid one exists, else by scanning its records — and deals with a bad ending:
 *
 * - A torn tail of the newest segment (partial record, zero-filled tail, or a batch whose last
 *   record never made it) is cut off and logged: the normal result of a crash during a write.
 *   With preallocateBytes the newest segment is preallocated (zero-filled ahead of its records), so
 *   after a crash zeros follow its records: they end the records only when nothing but zeros
 *   follows, and a damaged last record counts as a write cut short only when its end is zeros
 *   (scan.ts; the trade-off is in LogEngineOptions.preallocateBytes).
 * - Anything else that fails its checks is corruption, handled by the recovery mode (options.ts):
 *   `fail` throws CorruptRecordError, `truncate` moves the bad record and everything after it into
 *   quarantine/ and keeps the rest, `stop` serves the records before it read-only. In every mode,
 *   nothing after the bad record is served.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../../core/env.js';
import { CorruptRecordError } from '../../errors.js';
import { HINT_HEADER_BYTES, hintEntryCount, parseHint } from './hint.js';
import { NEVER_EXPIRES, TOMBSTONE } from './key-index.js';
import type { RecoveryMode } from './options.js';
import { FLAG_BATCH_CONTINUES, FLAG_TOMBSTONE } from './record.js';
import { scanSegment } from './scan.js';
import type { Segment, SegmentName } from './segment.js';
import { compareSegmentNames, hintFileName, parseHintFileName, parseSegmentFileName, segmentFileName } from './segment.js';

export const QUARANTINE_DIR = 'quarantine';

/** What recovery needs from the engine. */
export interface RecoveryHost {
  readonly dir: string;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** Opens a segment file and registers it (read-write unless readOnly). */
  openSegment(name: SegmentName, sizeBytes: number, fh: fs.FileHandle): Segment;
  /** Makes room in the index for this many keys (the hints are about to be loaded). */
  reserve(keys: number): void;
  /** Applies one record (or hint entry) to the index: the same function the write path uses. */
  apply(segment: Segment, key: string, offset: number, frameBytes: number, exp: number): void;
}

export interface RecoveryResult {
  /** Segments replayed, in order. */
  readonly segments: Segment[];
  /** Names of those that have a valid hint file. */
  readonly hinted: Set<Segment>;
  /** Set when mode `stop` met corruption: the engine must stay read-only. */
  readonly readOnlyReason: string | undefined;
}

interface Corruption {
  readonly offset: number;
  readonly reason: string;
  /** Where the segment must be cut (the start of an unfinished batch may precede `offset`). */
  readonly cutOffset: number;
}

function isEnoent(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

export async function recover(host: RecoveryHost, mode: RecoveryMode): Promise<RecoveryResult> {
  const { dir, logger } = host;
  const files = await fs.readdir(dir);
  const names: SegmentName[] = [];
  const hintNames = new Set<string>();
  for (const file of files) {
    if (file.endsWith('.tmp')) {
      // An unfinished compaction output or hint: never referenced by anything.
      await fs.rm(path.join(dir, file), { force: true });
      logger.info({ file }, 'removed an unfinished temporary file');
      continue;
    }
    const seg = parseSegmentFileName(file);
    if (seg !== undefined) names.push(seg);
    const hint = parseHintFileName(file);
    if (hint !== undefined) hintNames.add(segmentFileName(hint));
  }
  names.sort(compareSegmentNames);
  const segmentFiles = new Set(names.map((n) => segmentFileName(n)));
  for (const h of hintNames) {
    if (segmentFiles.has(h)) continue;
    const name = parseSegmentFileName(h)!;
    await fs.rm(path.join(dir, hintFileName(name)), { force: true }); // the segment was compacted away
  }

  // Size the index once for every key the hints announce, instead of growing it hint by hint.
  let announced = 0;
  for (const name of names) {
    if (hintNames.has(segmentFileName(name))) announced += await readHintEntryCount(path.join(dir, hintFileName(name)));
  }
  host.reserve(announced);

  const segments: Segment[] = [];
  const hinted = new Set<Segment>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const isLast = i === names.length - 1;
    const file = path.join(dir, segmentFileName(name));
    const fh = await fs.open(file, 'r+');
    const sizeBytes = (await fh.stat()).size;
    const segment = host.openSegment(name, sizeBytes, fh);
    segments.push(segment);

    if (hintNames.has(segmentFileName(name)) && (await loadHint(host, segment))) {
      hinted.add(segment);
      continue;
    }
    const corruption = await replaySegment(host, segment, isLast);
    if (corruption === undefined) continue;

    logger.error({ file, offsetBytes: corruption.offset, reason: corruption.reason, recovery: mode },
      'corrupt record found during recovery');
    if (mode === 'fail') throw new CorruptRecordError(file, corruption.offset, corruption.reason);
    const later = names.slice(i + 1);
    if (mode === 'stop') {
      const reason = `corrupt record in ${file} at offset ${corruption.offset} (${corruption.reason}); ` +
        `${later.length} newer segment(s) ignored`;
      return { segments, hinted, readOnlyReason: reason };
    }
    await quarantine(host, segment, corruption.cutOffset, later);
    return { segments, hinted, readOnlyReason: undefined };
  }
  return { segments, hinted, readOnlyReason: undefined };
}

/** The entry count in a hint's header (0 when unreadable: the hint is checked properly later). */
async function readHintEntryCount(file: string): Promise<number> {
  try {
    const fh = await fs.open(file, 'r');
    try {
      const header = Buffer.alloc(HINT_HEADER_BYTES);
      const { bytesRead } = await fh.read(header, 0, HINT_HEADER_BYTES, 0);
      return bytesRead === HINT_HEADER_BYTES ? hintEntryCount(header) : 0;
    } finally {
      await fh.close();
    }
  } catch {
    return 0;
  }
}

/** Applies a segment's hint; false (nothing applied) when the hint cannot be used. */
async function loadHint(host: RecoveryHost, segment: Segment): Promise<boolean> {
  let buf: Buffer;
  try {
    buf = await fs.readFile(segment.hintPath);
  } catch (e) {
    if (isEnoent(e)) return false;
    throw e;
  }
  let coveredBytes = 0;
  const reason = parseHint(buf, segment.sizeBytes, (key, offset, frameBytes, expiresAtMs, tombstone) => {
    coveredBytes += frameBytes;
    host.apply(segment, key, offset, frameBytes, tombstone ? TOMBSTONE : (expiresAtMs ?? NEVER_EXPIRES));
  });
  if (reason !== undefined) {
    host.logger.warn({ file: segment.hintPath, reason }, 'hint file unusable; scanning the segment instead');
    return false;
  }
  // Records the hint leaves out were overwritten within the segment itself.
  segment.deadBytes += segment.sizeBytes - coveredBytes;
  return true;
}

/**
 * Scans a segment into the index. A batch is applied only when its last record is read. Returns
 * the corruption found, if any; a torn tail of the last segment is cut here.
 */
async function replaySegment(host: RecoveryHost, segment: Segment, isLast: boolean): Promise<Corruption | undefined> {
  // The records of a batch not yet complete, as parallel arrays (no object per record: a batch
  // can hold thousands of records and recovery reads millions).
  const keys: string[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const exps: number[] = [];
  let batchStart = 0;
  const end = await scanSegment(segment.fh, segment.sizeBytes, host.maxBodyBytes, (record, offset) => {
    const exp = (record.flags & FLAG_TOMBSTONE) !== 0 ? TOMBSTONE : (record.expiresAtMs ?? NEVER_EXPIRES);
    const continues = (record.flags & FLAG_BATCH_CONTINUES) !== 0;
    if (keys.length === 0 && !continues) {
      host.apply(segment, record.key, offset, record.frameBytes, exp); // the common case: not in a batch
      return;
    }
    if (keys.length === 0) batchStart = offset;
    keys.push(record.key);
    offsets.push(offset);
    lengths.push(record.frameBytes);
    exps.push(exp);
    if (continues) return;
    for (let i = 0; i < keys.length; i++) host.apply(segment, keys[i]!, offsets[i]!, lengths[i]!, exps[i]!);
    keys.length = 0;
    offsets.length = 0;
    lengths.length = 0;
    exps.length = 0;
  });
  const pending = keys;
  const cutOffset = pending.length > 0 ? batchStart : end.kind === 'clean' ? segment.sizeBytes : end.offset;
  if (end.kind === 'corrupt') return { offset: end.offset, reason: end.reason, cutOffset };
  if (end.kind === 'clean' && pending.length === 0) return undefined;
  const reason = end.kind === 'torn' ? end.reason : 'a batch without its last record';
  if (!isLast) {
    // Sealed segments were fsynced before the next one started: a tear here is not a crash artefact.
    return { offset: end.kind === 'torn' ? end.offset : batchStart, reason: `${reason} in a sealed segment`, cutOffset };
  }
  if (end.kind === 'torn' && end.zeroTail === true && pending.length === 0) {
    // The unused end of a preallocated segment (or zeros a crash left): the records end cleanly.
    host.logger.info({ file: segment.path, offsetBytes: cutOffset, cutBytes: segment.sizeBytes - cutOffset },
      'cut the zero-filled (preallocated) tail off the newest segment');
  } else {
    host.logger.warn({ file: segment.path, offsetBytes: cutOffset, cutBytes: segment.sizeBytes - cutOffset, reason },
      'cut a torn tail off the newest segment (an interrupted write)');
  }
  await segment.fh.truncate(cutOffset);
  await segment.fh.sync();
  segment.sizeBytes = cutOffset;
  return undefined;
}

/** Mode `truncate`: moves the bad tail of `segment` and all `later` segments into quarantine/. */
async function quarantine(host: RecoveryHost, segment: Segment, cutOffset: number, later: readonly SegmentName[]): Promise<void> {
  const qdir = path.join(host.dir, QUARANTINE_DIR);
  await fs.mkdir(qdir, { recursive: true });
  const tailBytes = segment.sizeBytes - cutOffset;
  const tail = Buffer.alloc(tailBytes);
  if (tailBytes > 0) await segment.fh.read(tail, 0, tailBytes, cutOffset);
  const tailFile = path.join(qdir, `${segment.fileName}.from-${cutOffset}`);
  await fs.writeFile(tailFile, tail);
  await segment.fh.truncate(cutOffset);
  await segment.fh.sync();
  segment.sizeBytes = cutOffset;
  await fs.rm(segment.hintPath, { force: true });
  for (const name of later) {
    for (const file of [segmentFileName(name), hintFileName(name)]) {
      await fs.rename(path.join(host.dir, file), path.join(qdir, file)).catch((e: unknown) => {
        if (!isEnoent(e)) throw e;
      });
    }
  }
  host.logger.error({ file: segment.path, offsetBytes: cutOffset, tailFile, quarantinedSegments: later.map((n) => segmentFileName(n)) },
    'recovery mode truncate: moved the corrupt tail and every newer segment into quarantine');
}
