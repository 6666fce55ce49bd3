// Shared helpers for the storage tests: a fake clock, a recording logger, temp dirs, contents dumps.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Clock, Logger } from '../../src/core/env.js';
import type { StorageEngine } from '../../src/storage/types.js';

/** A clock the test moves by hand. */
export class FakeClock implements Clock {
  constructor(public ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface LogLine {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A logger that keeps every line, to assert on what was logged. */
export function recordingLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at = (level: LogLine['level']) => (obj: object, msg?: string): void => {
    lines.push({ level, obj: { ...bindings, ...(obj as Record<string, unknown>) }, msg });
  };
  return {
    lines,
    trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'),
    child: (b) => recordingLogger(lines, { ...bindings, ...b }),
  };
}

/** Temp dirs made by a test file, removed by `removeAll` (call it in afterEach/afterAll). */
export class TempDirs {
  private readonly dirs: string[] = [];
  async make(prefix = 'ringkv-storage-'): Promise<string> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  async removeAll(): Promise<void> {
    for (const dir of this.dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  }
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Every live entry as key → [value as hex, expiry], sorted by key: for whole-store comparisons. */
export async function dump(engine: StorageEngine): Promise<Map<string, string>> {
  const out: [string, string][] = [];
  for await (const { key, record } of engine.entries()) {
    out.push([key, `${Buffer.from(record.value).toString('hex')}@${record.expiresAtMs ?? '-'}`]);
  }
  out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return new Map(out);
}

/** Every page of a scan, concatenated. */
export async function scanAll(engine: StorageEngine, options: { prefix?: string; start?: string; end?: string; limit?: number } = {}): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100_000; pages++) {
    const page = await engine.scan({ ...options, cursor });
    keys.push(...page.entries.map((e) => e.key));
    cursor = page.cursor;
    if (cursor === undefined) return keys;
  }
  throw new Error('scan did not end');
}
