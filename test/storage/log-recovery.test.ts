// Recovery of the log engine from torn tails and corrupt records, in each recovery mode, and the
// equivalence of restarting with and without hint files.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { LogEngineOptions, RecoveryMode } from '../../src/storage/log/options.js';
import { LogEngine } from '../../src/storage/log/engine.js';
import { bytes, dump, FakeClock, recordingLogger, TempDirs, text } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.removeAll());

const open = (dir: string, extra: Partial<LogEngineOptions> = {}) =>
  LogEngine.open({ dir, clock: new FakeClock(), fsync: 'never', compactionCheckIntervalMs: 0, ...extra });

async function segFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
}

async function removeHints(dir: string): Promise<void> {
  for (const f of await fs.readdir(dir)) if (f.endsWith('.hint')) await fs.rm(path.join(dir, f));
}

/** Writes k1..k3 with equal-sized records into one segment; returns its path and the record length. */
async function threeRecords(): Promise<{ dir: string; file: string; recordBytes: number }> {
  const dir = await dirs.make();
  const engine = await open(dir);
  for (const k of ['k1', 'k2', 'k3']) await engine.put(k, bytes(`value-of-${k}`.padEnd(40, '.')));
  await engine.close();
  await removeHints(dir); // as after a crash: the active segment has no hint
  const [seg] = await segFiles(dir);
  const file = path.join(dir, seg!);
  const size = (await fs.stat(file)).size;
  expect(size % 3).toBe(0);
  return { dir, file, recordBytes: size / 3 };
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await fs.open(file, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, offset);
  b[0] = b[0]! ^ 0x5a;
  await fh.write(b, 0, 1, offset);
  await fh.close();
}

const modes: RecoveryMode[] = ['fail', 'truncate', 'stop'];

describe('log engine recovery: torn tails', () => {
  for (const mode of modes) {
    it(`cuts a partial last record and logs it (recovery=${mode})`, async () => {
      // Shows that a torn tail is the normal result of a crash: cut in every mode, the rest served.
      const { dir, file, recordBytes } = await threeRecords();
      await fs.truncate(file, 3 * recordBytes - 7);
      const logger = recordingLogger();
      const engine = await open(dir, { recovery: mode, logger });
      expect(text((await engine.get('k1'))?.value)).toMatch(/^value-of-k1/);
      expect(text((await engine.get('k2'))?.value)).toMatch(/^value-of-k2/);
      expect(await engine.get('k3')).toBeUndefined();
      expect((await fs.stat(file)).size).toBe(2 * recordBytes);
      expect(logger.lines.some((l) => l.level === 'warn' && l.obj.offsetBytes === 2 * recordBytes && l.obj.file === file)).toBe(true);
      await engine.put('k4', bytes('after'));
      await engine.close();
      const again = await open(dir);
      expect(text((await again.get('k4'))?.value)).toBe('after');
      await again.close();
    });
  }

  it('cuts a partial record header and a zero-filled tail', async () => {
    // Shows the two other shapes of a torn tail: fewer bytes than a header, and zeros a crash left.
    const { dir, file, recordBytes } = await threeRecords();
    await fs.truncate(file, 2 * recordBytes + 5);
    let engine = await open(dir);
    expect(await engine.get('k3')).toBeUndefined();
    expect(await engine.get('k2')).toBeDefined();
    await engine.close();
    await removeHints(dir);
    await fs.appendFile(file, Buffer.alloc(300));
    engine = await open(dir);
    expect((await dump(engine)).size).toBe(2);
    expect((await fs.stat(file)).size).toBe(2 * recordBytes);
    await engine.close();
  });

  it('drops a batch whose last record was torn off, whole', async () => {
    // Shows batch atomicity across a crash: a batch cut short by a crash leaves none of its ops.
    const dir = await dirs.make();
    const engine = await open(dir);
    await engine.put('before', bytes('b'));
    await engine.batch([
      { type: 'put', key: 'b1', value: bytes('1') },
      { type: 'delete', key: 'before' },
      { type: 'put', key: 'b3', value: bytes('3'.repeat(100)) },
    ]);
    await engine.close();
    await removeHints(dir);
    const [seg] = await segFiles(dir);
    const file = path.join(dir, seg!);
    await fs.truncate(file, (await fs.stat(file)).size - 50);
    const again = await open(dir);
    expect(await dump(again)).toEqual(new Map([['before', `${Buffer.from('b').toString('hex')}@-`]]));
    await again.close();
  });
});

describe('log engine recovery: corruption', () => {
  it('recovery=fail refuses to open, naming file and offset, and changes nothing', async () => {
    // Shows the default mode: a flipped byte is a CorruptRecordError; the operator decides.
    const { dir, file, recordBytes } = await threeRecords();
    await flipByte(file, recordBytes + recordBytes - 3); // inside k2's value
    const logger = recordingLogger();
    const err = await open(dir, { logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.CORRUPT_RECORD, details: { file, offsetBytes: recordBytes } });
    expect(logger.lines.some((l) => l.level === 'error' && l.obj.file === file && l.obj.offsetBytes === recordBytes)).toBe(true);
    expect((await fs.stat(file)).size).toBe(3 * recordBytes);
    // The lock was released: another open (in another mode) works.
    const engine = await open(dir, { recovery: 'stop' });
    await engine.close();
  });

  it('recovery=truncate keeps what precedes the corruption and quarantines the rest', async () => {
    // Shows that nothing after a bad record is served, and that the dropped bytes are kept aside.
    const { dir, file, recordBytes } = await threeRecords();
    await flipByte(file, recordBytes + 20);
    const engine = await open(dir, { recovery: 'truncate' });
    expect(await engine.get('k1')).toBeDefined();
    expect(await engine.get('k2')).toBeUndefined();
    expect(await engine.get('k3')).toBeUndefined(); // valid, but after the corruption
    expect((await fs.stat(file)).size).toBe(recordBytes);
    const q = await fs.readdir(path.join(dir, 'quarantine'));
    expect(q).toEqual([`${path.basename(file)}.from-${recordBytes}`]);
    expect((await fs.stat(path.join(dir, 'quarantine', q[0]!))).size).toBe(2 * recordBytes);
    await engine.put('k5', bytes('new'));
    await engine.close();
    await removeHints(dir);
    const again = await open(dir); // clean now, even in fail mode
    expect([...(await dump(again)).keys()]).toEqual(['k1', 'k5']);
    await again.close();
  });

  it('recovery=stop serves what precedes the corruption, read-only, changing nothing', async () => {
    // Shows the inspection mode: reads work up to the bad record, writes are refused.
    const { dir, file, recordBytes } = await threeRecords();
    await flipByte(file, recordBytes + 20);
    const engine = await open(dir, { recovery: 'stop' });
    expect(await engine.get('k1')).toBeDefined();
    expect(await engine.get('k2')).toBeUndefined();
    expect(await engine.get('k3')).toBeUndefined();
    expect(engine.stats().readOnly).toBe(true);
    await expect(engine.put('k', bytes('v'))).rejects.toMatchObject({ code: ErrorCode.STORAGE_IO, name: 'StorageReadOnlyError' });
    await expect(engine.delete('k1')).rejects.toMatchObject({ name: 'StorageReadOnlyError' });
    await engine.close();
    expect((await fs.stat(file)).size).toBe(3 * recordBytes);
  });

  it('treats a damaged length field as corruption, not as a torn tail', async () => {
    // Shows that a length that does not check is never mistaken for the end of the log.
    const { dir, file, recordBytes } = await threeRecords();
    await flipByte(file, recordBytes + 1); // k2's length field: now it points past the end of the file
    await expect(open(dir)).rejects.toMatchObject({ code: ErrorCode.CORRUPT_RECORD, details: { offsetBytes: recordBytes } });
  });

  it('ignores every newer segment after corruption in an older one', async () => {
    // Shows "nothing after it is served" across segments, in truncate and stop modes.
    const dir = await dirs.make();
    const engine = await open(dir, { maxSegmentBytes: 200 });
    for (let i = 0; i < 12; i++) await engine.put(`k${i}`, bytes('x'.repeat(60)));
    await engine.close();
    await removeHints(dir);
    const files = await segFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    await flipByte(path.join(dir, files[1]!), 30);
    const stopped = await open(dir, { recovery: 'stop' });
    const visible = [...(await dump(stopped)).keys()];
    await stopped.close();
    const truncated = await open(dir, { recovery: 'truncate' });
    expect([...(await dump(truncated)).keys()]).toEqual(visible);
    expect(visible.length).toBeGreaterThan(0);
    expect(visible.length).toBeLessThan(4);
    await truncated.close();
    const q = await fs.readdir(path.join(dir, 'quarantine'));
    for (const f of files.slice(2)) expect(q).toContain(f);
  });

  it('detects a corrupt record on read when a hint let recovery skip the segment', async () => {
    // Shows that every read checks the CRC: corruption under a valid hint is a CorruptRecordError on get.
    const dir = await dirs.make();
    let engine = await open(dir, { valueCacheMaxBytes: 0 });
    await engine.put('a', bytes('a'.repeat(50)));
    await engine.put('b', bytes('b'.repeat(50)));
    await engine.close();
    const [seg] = await segFiles(dir);
    const file = path.join(dir, seg!);
    await flipByte(file, (await fs.stat(file)).size - 5); // inside b's value
    const logger = recordingLogger();
    engine = await open(dir, { valueCacheMaxBytes: 0, logger });
    expect(await engine.get('a')).toBeDefined();
    await expect(engine.get('b')).rejects.toMatchObject({ code: ErrorCode.CORRUPT_RECORD });
    expect(logger.lines.some((l) => l.level === 'error' && l.obj.file === file)).toBe(true);
    await engine.close();
  });
});

describe('log engine recovery: hint files', () => {
  it('restarts to exactly the same contents with and without hint files', async () => {
    // Shows hints are a pure optimisation: deleting them changes nothing but the restart time.
    const dir = await dirs.make();
    const clock = new FakeClock();
    let engine = await LogEngine.open({ dir, clock, fsync: 'never', maxSegmentBytes: 2048, compactionCheckIntervalMs: 0 });
    for (let i = 0; i < 300; i++) {
      const key = `k${i % 70}`;
      if (i % 7 === 3) await engine.delete(key);
      else if (i % 11 === 0) await engine.put(key, bytes(`exp${i}`), { expiresAtMs: clock.now() + (i % 2 === 0 ? -1 : 100_000) });
      else if (i % 13 === 0) await engine.batch([{ type: 'put', key, value: bytes(`b${i}`) }, { type: 'delete', key: `k${(i + 1) % 70}` }]);
      else await engine.put(key, bytes(`v${i}`.repeat(i % 5 + 1)));
    }
    await engine.close();
    const hints = (await fs.readdir(dir)).filter((f) => f.endsWith('.hint'));
    expect(hints.length).toBe((await segFiles(dir)).length); // every segment, the last one on close

    engine = await LogEngine.open({ dir, clock, fsync: 'never', maxSegmentBytes: 2048, compactionCheckIntervalMs: 0 });
    const withHints = await dump(engine);
    const segsWithHints = engine.segments();
    const statsWithHints = engine.stats();
    await engine.close();
    await removeHints(dir);
    const logger = recordingLogger();
    engine = await LogEngine.open({ dir, clock, fsync: 'never', maxSegmentBytes: 2048, compactionCheckIntervalMs: 0, logger });
    expect(logger.lines.find((l) => l.msg === 'log storage opened')?.obj.hinted).toBe(0);
    expect(await dump(engine)).toEqual(withHints);
    expect(engine.segments()).toEqual(segsWithHints);
    expect(engine.stats().keys).toBe(statsWithHints.keys);
    expect(engine.stats().liveBytes).toBe(statsWithHints.liveBytes);
    expect(withHints.size).toBeGreaterThan(20);
    await engine.close();
  });

  it('falls back to scanning when a hint is damaged', async () => {
    // Shows that a hint failing its CRC is ignored (and logged), never trusted.
    const dir = await dirs.make();
    let engine = await open(dir, { maxSegmentBytes: 1024 });
    for (let i = 0; i < 40; i++) await engine.put(`k${i}`, bytes(`v${i}`.repeat(10)));
    const before = await dump(engine);
    await engine.close();
    const hint = (await fs.readdir(dir)).filter((f) => f.endsWith('.hint')).sort()[0]!;
    await flipByte(path.join(dir, hint), 30);
    const logger = recordingLogger();
    engine = await open(dir, { maxSegmentBytes: 1024, logger });
    expect(await dump(engine)).toEqual(before);
    expect(logger.lines.some((l) => l.level === 'warn' && String(l.obj.reason).includes('CRC'))).toBe(true);
    await engine.close();
  });
});
