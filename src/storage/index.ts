/**
 * Storage engines behind one interface (DESIGN.md §7): `memory` for tests, caches and the
 * simulator; `log` (the default) for real nodes. `openStorage` picks one by `kind`.
 */
import { InvalidConfigError } from '../errors.js';
import { LogEngine } from './log/engine.js';
import type { LogEngineOptions } from './log/options.js';
import { MemoryEngine } from './memory.js';
import type { StorageEngine } from './types.js';

export type * from './types.js';
export { DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES, DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT, NOT_IN_MEMORY } from './types.js';
export { MemoryEngine } from './memory.js';
export type { MemoryEngineOptions } from './memory.js';
export { LogEngine } from './log/engine.js';
export type { CompactionSummary, LogEngineStats, SegmentInfo } from './log/engine.js';
export type { FsyncPolicy, LogEngineOptions, RecoveryMode } from './log/options.js';
export { StorageReadOnlyError } from './log/errors.js';

export type StorageKind = 'memory' | 'log';

/**
 * Options for openStorage: the log engine's options, with `dir` required only for `log`. The
 * memory engine uses clock, logger and the limits, and ignores the rest.
 */
export type OpenStorageOptions = Omit<LogEngineOptions, 'dir'> & {
  /** Which engine. `log` is the default engine of a real node. */
  readonly kind: StorageKind;
  /** Data directory (required for `log`). */
  readonly dir?: string | undefined;
};

export async function openStorage(options: OpenStorageOptions): Promise<StorageEngine> {
  switch (options.kind) {
    case 'memory':
      return new MemoryEngine({
        clock: options.clock, logger: options.logger, maxKeyBytes: options.maxKeyBytes, maxValueBytes: options.maxValueBytes,
        maxBatchOps: options.maxBatchOps, maxBatchBytes: options.maxBatchBytes,
      });
    case 'log':
      if (options.dir === undefined) throw new InvalidConfigError('the log storage engine needs a data directory (option dir)');
      return LogEngine.open({ ...options, dir: options.dir });
    default:
      throw new InvalidConfigError(`unknown storage kind ${JSON.stringify(options.kind as unknown)}; use "memory" or "log"`);
  }
}
