// Locating and spawning the built child-process fixtures of the storage tests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Path of a built fixture; throws a clear message when the build is missing. RINGKV_TEST_DIST
 * names another build output directory (a private `tsc --outDir`) instead of dist/.
 */
export function fixturePath(name: string): string {
  const dist = process.env.RINGKV_TEST_DIST ?? path.join(root, 'dist');
  const file = path.join(path.resolve(root, dist), 'test', 'fixtures', `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  return file;
}

export function spawnFixture(name: string, args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [fixturePath(name), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Resolves when the child exits (at once if it already has). */
export function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Calls `onLine` for each stdout line of the child. */
export function onLines(child: ChildProcessWithoutNullStreams, onLine: (line: string) => void): void {
  let buffered = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      onLine(line);
    }
  });
}

/** Kills by pid if still running, and waits for the exit. */
export async function killAndWait(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  await exited(child);
}
