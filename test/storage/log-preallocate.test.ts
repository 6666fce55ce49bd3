// Preallocation under fsync=always: the active segment runs ahead of its records with zeros, which
// recovery must tell apart from damage. A "crash image" is a copy of the data directory taken while
// the engine is open: it holds exactly what a killed process leaves (the page cache survives a
// process crash), including the preallocated zeros that a clean close would have cut off.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { LogEngine } from '../../src/storage/log/engine.js';
import type { LogEngineOptions } from '../../src/storage/log/options.js';
import { bytes, dump, FakeClock, recordingLogger, TempDirs, text } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.removeAll());

const PREALLOCATE = 64 * 1024;

const open = (dir: string, extra: Partial<LogEngineOptions> = {}) =>
  LogEngine.open({ dir, clock: new FakeClock(), fsync: 'always', preallocateBytes: PREALLOCATE, compactionCheckIntervalMs: 0, ...extra });

async function segFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
}

/** Copies the segment files of an open engine's directory: what a SIGKILL at this moment would leave. */
async function crashImage(dir: string): Promise<string> {
  const copy = await dirs.make('ringkv-crash-image-');
  for (const f of await segFiles(dir)) await fs.copyFile(path.join(dir, f), path.join(copy, f));
  return copy;
}

async function patch(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await fs.open(file, 'r+');
  await fh.write(data, 0, data.length, offset);
  await fh.close();
}

/**
 * An open engine with `keys` records of `valueBytes` each in a preallocated active segment; returns
 * it with the crash image of its directory, the image's segment file and where the records end.
 */
async function crashedWithZeroTail(keys: number, valueBytes = 100): Promise<{ engine: LogEngine; dir: string; file: string; recordsEnd: number }> {
  const engine = await open(await dirs.make());
  for (let i = 0; i < keys; i++) await engine.put(`k${i}`, bytes(`${i}:`.padEnd(valueBytes, 'v')));
  const [active] = engine.segments();
  const dir = await crashImage(engine.dir);
  const file = path.join(dir, active!.file);
  // The image does have a preallocated tail: the file is longer than its records.
  expect((await fs.stat(file)).size).toBeGreaterThan(active!.sizeBytes);
  return { engine, dir, file, recordsEnd: active!.sizeBytes };
}

describe('log engine preallocation', () => {
  it('keeps the active segment zero-filled ahead of its records, and cuts the zeros off on seal and close', async () => {
    // Shows the file layout: zeros only past the records of the active segment while open; every
    // file ends with its last record once sealed or closed, and the hints written then are used.
    const dir = await dirs.make();
    const engine = await open(dir);
    for (let i = 0; i < 20; i++) await engine.put(`a${i}`, bytes('x'.repeat(200)));
    const first = engine.segments()[0]!;
    const onDisk = (await fs.stat(path.join(dir, first.file))).size;
    expect(onDisk).toBeGreaterThan(first.sizeBytes);
    const tail = Buffer.alloc(onDisk - first.sizeBytes, 1);
    const fh = await fs.open(path.join(dir, first.file), 'r');
    await fh.read(tail, 0, tail.length, first.sizeBytes);
    await fh.close();
    expect(tail.every((b) => b === 0)).toBe(true);

    await engine.rollSegment();
    for (let i = 0; i < 20; i++) await engine.put(`b${i}`, bytes('y'.repeat(200)));
    const [sealed, active] = engine.segments();
    expect((await fs.stat(path.join(dir, sealed!.file))).size).toBe(sealed!.sizeBytes);
    expect((await fs.stat(path.join(dir, active!.file))).size).toBeGreaterThan(active!.sizeBytes);
    const before = await dump(engine);
    await engine.close();
    expect((await fs.stat(path.join(dir, active!.file))).size).toBe(active!.sizeBytes);

    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.hint'))).toHaveLength(2);
    const logger = recordingLogger();
    const again = await open(dir, { logger });
    expect(logger.lines.filter((l) => l.level !== 'info' && l.level !== 'debug')).toEqual([]); // both hints fit their segments
    expect(await dump(again)).toEqual(before);
    await again.close();
  });

  it('reads a preallocated tail of zeros as the clean end of the records after a crash', async () => {
    // Shows that every acknowledged write survives a crash of a preallocated active segment, and
    // that the zeros are cut off (at info level, not as a warning or an error) in the strictest mode.
    const { engine, dir, file, recordsEnd } = await crashedWithZeroTail(30);
    const expected = await dump(engine);
    await engine.close();
    const logger = recordingLogger();
    const recovered = await open(dir, { recovery: 'fail', logger });
    expect(await dump(recovered)).toEqual(expected);
    expect(expected.size).toBe(30);
    expect((await fs.stat(file)).size).toBeLessThanOrEqual(recordsEnd + PREALLOCATE);
    expect(logger.lines.some((l) => l.level === 'error')).toBe(false);
    expect(logger.lines.some((l) => l.level === 'info' && l.obj.file === file && l.obj.offsetBytes === recordsEnd)).toBe(true);
    await recovered.put('after', bytes('crash'));
    await recovered.close();
    const again = await open(dir);
    expect(text((await again.get('after'))?.value)).toBe('crash');
    expect((await dump(again)).size).toBe(31);
    await again.close();
  });

  it('applies the recovery mode to non-zero bytes after a zero gap, naming file and offset', async () => {
    // Shows that zeros end the records only when nothing but zeros follows them: data after a gap
    // may be acknowledged writes whose earlier bytes were lost, so it is corruption, not a tail.
    const { engine, dir, file, recordsEnd } = await crashedWithZeroTail(10);
    const expected = await dump(engine);
    await engine.close();
    await patch(file, recordsEnd + 3000, Buffer.from('not zeros'));

    const logger = recordingLogger();
    const err = await open(dir, { recovery: 'fail', logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.CORRUPT_RECORD, details: { file, offsetBytes: recordsEnd } });
    expect(logger.lines.some((l) => l.level === 'error' && l.obj.file === file && l.obj.offsetBytes === recordsEnd)).toBe(true);

    const stopped = await open(dir, { recovery: 'stop' });
    expect(await dump(stopped)).toEqual(expected);
    expect(stopped.stats().readOnly).toBe(true);
    await stopped.close();

    const truncated = await open(dir, { recovery: 'truncate' });
    expect(await dump(truncated)).toEqual(expected);
    expect((await fs.stat(file)).size).toBe(recordsEnd);
    const q = await fs.readdir(path.join(dir, 'quarantine'));
    expect(q).toEqual([`${path.basename(file)}.from-${recordsEnd}`]);
    await truncated.close();
  });

  it('cuts a last record whose end is zeros (a write cut short), but not a damaged one followed by data', async () => {
    // Shows the one damaged record taken for a torn tail: the last one, zero from an aligned offset
    // on (what a kill in mid-write leaves in a preallocated file). The same damage followed by a
    // record is corruption.
    const { engine, dir, file, recordsEnd } = await crashedWithZeroTail(5, 3000);
    await engine.close();
    const lastStart = recordsEnd - (recordsEnd / 5); // equal-sized records
    const aligned = Math.ceil((lastStart + 100) / 512) * 512;
    expect(aligned).toBeLessThan(recordsEnd);
    const image = await fs.readFile(file);
    await patch(file, aligned, Buffer.alloc(recordsEnd - aligned));
    const recovered = await open(dir, { recovery: 'fail' });
    expect([...(await dump(recovered)).keys()].sort()).toEqual(['k0', 'k1', 'k2', 'k3']);
    await recovered.close();

    // The same hole in the second-to-last record, with the last record intact after it.
    await fs.writeFile(file, image);
    await patch(file, aligned - recordsEnd / 5, Buffer.alloc(recordsEnd / 5 - 100));
    await expect(open(dir, { recovery: 'fail' })).rejects.toMatchObject({ code: ErrorCode.CORRUPT_RECORD, details: { file } });
  });

  it('treats a flipped byte in the last record of a preallocated segment as corruption', async () => {
    // Shows that a complete last record that fails its CRC is not mistaken for a write cut short.
    const { engine, dir, file, recordsEnd } = await crashedWithZeroTail(3);
    await engine.close();
    const b = Buffer.alloc(1);
    const fh = await fs.open(file, 'r+');
    await fh.read(b, 0, 1, recordsEnd - 2);
    b[0] = b[0]! ^ 0x5a;
    await fh.write(b, 0, 1, recordsEnd - 2);
    await fh.close();
    await expect(open(dir, { recovery: 'fail' })).rejects.toMatchObject({ code: ErrorCode.CORRUPT_RECORD, details: { file } });
  });
});
