// The data directory lock: two engines (in one process or two) can never open one directory, and a
// lock left by a killed process is taken over.
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { LogEngine } from '../../src/storage/log/engine.js';
import { exited, killAndWait, onLines, spawnFixture } from './fixtures.js';
import { FakeClock, recordingLogger, TempDirs, text } from './helpers.js';

const dirs = new TempDirs();
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await killAndWait(c);
  await dirs.removeAll();
});

function holdInChild(dir: string): Promise<ChildProcessWithoutNullStreams> {
  const child = spawnFixture('storage-lock-holder', [dir]);
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    onLines(child, (line) => {
      if (line === 'ready') resolve(child);
    });
    void exited(child).then(() => reject(new Error(`lock holder exited early: ${stderr}`)));
  });
}

describe('log engine directory lock', () => {
  it('refuses a second open in the same process until the first closes', async () => {
    // Shows that the lock also guards against two engines in one process.
    const dir = await dirs.make();
    const first = await LogEngine.open({ dir, clock: new FakeClock() });
    await expect(LogEngine.open({ dir, clock: new FakeClock() })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED, details: { holderPid: process.pid },
    });
    await first.close();
    const second = await LogEngine.open({ dir, clock: new FakeClock() });
    await second.close();
  });

  it('refuses a directory another process holds, and takes over its lock once that process is killed', async () => {
    // Shows cross-process exclusion and stale-lock recovery by pid liveness.
    const dir = await dirs.make();
    const child = await holdInChild(dir);
    await expect(LogEngine.open({ dir, clock: new FakeClock() })).rejects.toMatchObject({
      code: ErrorCode.DATA_DIR_LOCKED, details: { dir, holderPid: child.pid },
    });
    await killAndWait(child);
    expect((await fs.readFile(path.join(dir, 'LOCK'), 'utf8')).trim()).toBe(String(child.pid));
    const logger = recordingLogger();
    const engine = await LogEngine.open({ dir, clock: new FakeClock(), logger });
    expect(logger.lines.some((l) => l.level === 'warn' && l.obj.stalePid === child.pid)).toBe(true);
    expect(text((await engine.get('held-by'))?.value)).toBe(String(child.pid));
    await engine.close();
    await expect(fs.stat(path.join(dir, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes over an empty lock file (a writer that died between create and write)', async () => {
    // Shows that a lock without a pid counts as stale.
    const dir = await dirs.make();
    await fs.writeFile(path.join(dir, 'LOCK'), '');
    const engine = await LogEngine.open({ dir, clock: new FakeClock() });
    await engine.close();
  });
});
