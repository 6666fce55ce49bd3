/**
 * Input validation shared by every storage engine, so both reject exactly the same inputs with the
 * same typed errors (the compliance suite checks this). Everything is checked before anything is
 * written: a rejected put or batch leaves no trace.
 */
import { InvalidArgumentError, InvalidKeyError, KeyTooLargeError, ValueTooLargeError } from '../../errors.js';
import type { BatchOp, ScanOptions } from '../types.js';
import { DEFAULT_SCAN_LIMIT, MAX_SCAN_LIMIT } from '../types.js';

/** Byte length of `s` in UTF-8, without allocating. `s` must be well-formed UTF-16. */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++; // the low surrogate of the pair (well-formedness was checked before)
    } else bytes += 3;
  }
  return bytes;
}

/** True when `s` has no lone surrogates, i.e. it survives a UTF-8 round trip unchanged. */
export function isWellFormedUtf16(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c > 0xdbff) return false; // a low surrogate without a high one
    const next = s.charCodeAt(i + 1); // NaN past the end
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/** Checks a key and returns its UTF-8 length. */
export function validateKey(key: unknown, maxKeyBytes: number): number {
  if (typeof key !== 'string') throw new InvalidArgumentError('key must be a string', { type: typeof key });
  if (key.length === 0) throw new InvalidArgumentError('key must not be empty');
  // Cheap upper bound first: a UTF-8 byte count is at most 3 per UTF-16 code unit.
  if (key.length > maxKeyBytes) throw new KeyTooLargeError(utf8ByteLengthLoose(key), maxKeyBytes);
  if (!isWellFormedUtf16(key)) {
    // A lone surrogate would be replaced by U+FFFD on disk and come back as another key after a restart.
    throw new InvalidKeyError('key contains a lone UTF-16 surrogate and cannot be stored as UTF-8; use a well-formed string');
  }
  const bytes = utf8ByteLength(key);
  if (bytes > maxKeyBytes) throw new KeyTooLargeError(bytes, maxKeyBytes);
  return bytes;
}

/** UTF-8 length that tolerates lone surrogates (3 bytes each, as U+FFFD), for error messages. */
function utf8ByteLengthLoose(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

export function validateValue(value: unknown, maxValueBytes: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('value must be a Uint8Array', { type: typeof value });
  if (value.byteLength > maxValueBytes) throw new ValueTooLargeError(value.byteLength, maxValueBytes);
}

export function validateExpiry(expiresAtMs: unknown): void {
  if (expiresAtMs === undefined) return;
  if (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs)) {
    throw new InvalidArgumentError('expiresAtMs must be a finite number of milliseconds on the engine clock, or undefined', {
      expiresAtMs: String(expiresAtMs),
    });
  }
}

export interface BatchLimits {
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly maxBatchOps: number;
  readonly maxBatchBytes: number;
}

/** Checks every op of a batch; returns the total key + value bytes. */
export function validateBatch(ops: unknown, limits: BatchLimits): number {
  if (!Array.isArray(ops)) throw new InvalidArgumentError('batch ops must be an array');
  if (ops.length > limits.maxBatchOps) {
    throw new InvalidArgumentError(`batch has ${ops.length} ops, the limit is ${limits.maxBatchOps} (option maxBatchOps); split the batch`,
      { ops: ops.length, maxBatchOps: limits.maxBatchOps });
  }
  let bytes = 0;
  for (const op of ops as unknown[]) {
    if (typeof op !== 'object' || op === null) throw new InvalidArgumentError('batch op must be an object');
    const o = op as Partial<BatchOp> & { type?: unknown };
    if (o.type === 'put') {
      const put = o as { key: unknown; value: unknown; expiresAtMs?: unknown };
      bytes += validateKey(put.key, limits.maxKeyBytes);
      validateValue(put.value, limits.maxValueBytes);
      validateExpiry(put.expiresAtMs);
      bytes += put.value.byteLength;
    } else if (o.type === 'delete') {
      bytes += validateKey(o.key, limits.maxKeyBytes);
    } else {
      throw new InvalidArgumentError('batch op type must be "put" or "delete"', { type: String(o.type) });
    }
  }
  if (bytes > limits.maxBatchBytes) {
    throw new InvalidArgumentError(`batch holds ${bytes} bytes, the limit is ${limits.maxBatchBytes} (option maxBatchBytes); split the batch`,
      { bytes, maxBatchBytes: limits.maxBatchBytes });
  }
  return bytes;
}

/** Scan options after validation: the effective lower bound, upper bound and page size. */
export interface ScanBounds {
  readonly prefix: string;
  /** Inclusive lower bound ('' = none). */
  readonly start: string;
  /** Exclusive lower bound from a cursor (the last key already returned), or undefined. */
  readonly after: string | undefined;
  /** Exclusive upper bound, or undefined. */
  readonly end: string | undefined;
  readonly limit: number;
}

/** Validates scan options. `decodeCursor` turns a cursor into the last key of the previous page. */
export function validateScan(options: ScanOptions | undefined, decodeCursor: (cursor: string) => string): ScanBounds {
  const o = options ?? {};
  if (typeof o !== 'object') throw new InvalidArgumentError('scan options must be an object');
  for (const name of ['prefix', 'start', 'end', 'cursor'] as const) {
    const v = o[name];
    if (v !== undefined && typeof v !== 'string') throw new InvalidArgumentError(`scan option ${name} must be a string`);
  }
  let limit = DEFAULT_SCAN_LIMIT;
  if (o.limit !== undefined) {
    if (typeof o.limit !== 'number' || !Number.isInteger(o.limit) || o.limit < 1) {
      throw new InvalidArgumentError(`scan limit must be an integer >= 1 (at most ${MAX_SCAN_LIMIT})`, { limit: String(o.limit) });
    }
    // Larger pages are clamped rather than refused: the caller pages on with the cursor either way.
    limit = Math.min(o.limit, MAX_SCAN_LIMIT);
  }
  const after = o.cursor === undefined ? undefined : decodeCursor(o.cursor);
  return { prefix: o.prefix ?? '', start: o.start ?? '', after, end: o.end, limit };
}

/** True when `key` satisfies the bounds (used while walking keys in ascending order). */
export function inScanRange(key: string, b: ScanBounds): boolean {
  if (key < b.start) return false;
  if (b.after !== undefined && key <= b.after) return false;
  if (b.end !== undefined && key >= b.end) return false;
  return key.startsWith(b.prefix);
}

/** The smallest key that can match: the walk starts its binary search here (inclusive). */
export function scanLowerBound(b: ScanBounds): string {
  let lo = b.start > b.prefix ? b.start : b.prefix;
  // Keys strictly greater than `after` are >= after + '\0'.
  if (b.after !== undefined && b.after + '\u0000' > lo) lo = b.after + '\u0000';
  return lo;
}

/** True when no key at or after `key` (in ascending order) can match any more: the walk stops. */
export function pastScanRange(key: string, b: ScanBounds): boolean {
  if (b.end !== undefined && key >= b.end) return true;
  // Past the prefix block: every later key is greater and has a different prefix.
  return key > b.prefix && !key.startsWith(b.prefix);
}
