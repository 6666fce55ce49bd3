/**
 * Errors of the log engine that src/errors.ts has no class for. They reuse the closest stable code.
 */
import { ErrorCode, RingkvError } from '../../errors.js';

/** The engine opened read-only (recovery mode "stop" found corruption): writes are refused. */
export class StorageReadOnlyError extends RingkvError {
  constructor(dir: string, reason: string) {
    super(ErrorCode.STORAGE_IO,
      `storage in ${dir} is read-only: ${reason}; copy the data out, or restart with recovery mode "truncate" or restore the files`,
      { details: { dir, reason } });
  }
}
