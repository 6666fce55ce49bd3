/**
 * The data directory lock: a file `LOCK` created exclusively ('wx') holding the owner's pid. Two
 * processes can never both create it. A lock left by a process that died (SIGKILL, power loss) is
 * stale: when its pid is not alive any more, the lock is taken over.
 *
 * Taking over a stale lock renames it away first (atomic) and then checks that what was renamed is
 * indeed the stale lock; if a racing process had meanwhile taken the lock, it is put back with
 * link() (which never overwrites) and this open fails as locked. A pid reused by an unrelated
 * process makes a stale lock look alive: the error names the pid so an operator can check and
 * remove the file.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Logger } from '../../core/env.js';
import { DataDirLockedError, StorageIoError } from '../../errors.js';

export const LOCK_FILE = 'LOCK';

/** Attempts at taking a stale lock before giving up (each attempt loses only to a live racer). */
const MAX_LOCK_ATTEMPTS = 5;

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return isErrno(e, 'EPERM');
  }
}

function parsePid(text: string): number | undefined {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export class DirLock {
  private released = false;

  private constructor(readonly dir: string, private readonly lockPath: string) {}

  /** Takes the lock of `dir` or throws DataDirLockedError. */
  static async acquire(dir: string, logger: Logger): Promise<DirLock> {
    const lockPath = path.join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
      try {
        const fh = await fs.open(lockPath, 'wx');
        try {
          await fh.writeFile(`${process.pid}\n`);
          await fh.sync();
        } finally {
          await fh.close();
        }
        return new DirLock(dir, lockPath);
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw new StorageIoError(`cannot create lock file ${lockPath}: ${String(e)}`, e);
      }
      let text: string;
      try {
        text = await fs.readFile(lockPath, 'utf8');
      } catch (e) {
        if (isErrno(e, 'ENOENT')) continue; // released meanwhile: try again
        throw new StorageIoError(`cannot read lock file ${lockPath}: ${String(e)}`, e);
      }
      const pid = parsePid(text);
      // An empty or garbled lock is one whose writer died between create and write.
      if (pid !== undefined && (pid === process.pid || isPidAlive(pid))) throw new DataDirLockedError(dir, pid);
      if (await DirLock.removeStale(lockPath, text, logger)) continue;
      throw new DataDirLockedError(dir, pid);
    }
    throw new DataDirLockedError(dir, undefined);
  }

  /** Renames the stale lock away; true when what was removed is the stale lock seen before. */
  private static async removeStale(lockPath: string, staleText: string, logger: Logger): Promise<boolean> {
    const aside = `${lockPath}.stale-${process.pid}`;
    try {
      await fs.rename(lockPath, aside);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return true; // someone else removed it: try again
      throw new StorageIoError(`cannot remove stale lock ${lockPath}: ${String(e)}`, e);
    }
    const movedText = await fs.readFile(aside, 'utf8').catch(() => '');
    if (movedText !== staleText) {
      // A racing process took the lock after we read the stale one: give it back.
      await fs.link(aside, lockPath).catch(() => undefined);
      await fs.rm(aside, { force: true });
      return false;
    }
    await fs.rm(aside, { force: true });
    logger.warn({ lockPath, stalePid: parsePid(staleText) ?? null }, 'removed a stale data directory lock left by a process that is gone');
    return true;
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const text = await fs.readFile(this.lockPath, 'utf8').catch(() => '');
    if (parsePid(text) === process.pid) await fs.rm(this.lockPath, { force: true });
  }
}
