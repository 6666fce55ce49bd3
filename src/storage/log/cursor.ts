/**
 * Scan cursors: an opaque string naming the last key of the previous page, so the next page starts
 * strictly after it. This stays correct under concurrent writes (keys added before the cursor are
 * simply not revisited; keys are never returned twice or out of order). A checksum rejects cursors
 * that were mangled or made up.
 */
import { InvalidCursorError } from '../../errors.js';
import { crc32 } from './crc32.js';

const CURSOR_PREFIX = 'c1.';

export function encodeCursor(lastKey: string): string {
  const bytes = Buffer.from(lastKey, 'utf8');
  return `${CURSOR_PREFIX}${bytes.toString('base64url')}.${crc32(bytes).toString(36)}`;
}

/** The last key named by `cursor`; throws InvalidCursorError for anything this module did not make. */
export function decodeCursor(cursor: string): string {
  if (!cursor.startsWith(CURSOR_PREFIX)) throw new InvalidCursorError();
  const dot = cursor.lastIndexOf('.');
  if (dot < CURSOR_PREFIX.length) throw new InvalidCursorError();
  const body = cursor.slice(CURSOR_PREFIX.length, dot);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new InvalidCursorError();
  const bytes = Buffer.from(body, 'base64url');
  if (crc32(bytes).toString(36) !== cursor.slice(dot + 1)) throw new InvalidCursorError();
  return bytes.toString('utf8');
}
