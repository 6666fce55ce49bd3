/**
 * Backend errors as Redis-style error lines. Redis clients switch on the first word of an error
 * (ERR, WRONGTYPE, BUSY, ...), so each ringkv error code maps to a short uppercase prefix; the
 * rest of the line is the error's own message, which says what to do.
 *
 * | code(s)                                                              | prefix     |
 * | -------------------------------------------------------------------- | ---------- |
 * | ERR_QUORUM_UNAVAILABLE                                               | QUORUM     |
 * | ERR_TIMEOUT                                                          | TIMEOUT    |
 * | ERR_OVERLOADED                                                       | OVERLOADED |
 * | ERR_TOO_MANY_SIBLINGS                                                | SIBLINGS   |
 * | ERR_ABORTED                                                          | ABORTED    |
 * | ERR_NOT_MEMBER                                                       | NOTMEMBER  |
 * | ERR_PEER_UNREACHABLE, ERR_NOT_CONNECTED, ERR_TRANSPORT_CLOSED, ERR_SEND_QUEUE_FULL | UNAVAILABLE |
 * | ERR_STORAGE_IO, ERR_STORAGE_CLOSED, ERR_CORRUPT_RECORD               | STORAGE    |
 * | everything else (invalid key/value/argument, too large, ...)         | ERR        |
 *
 * Example: QuorumUnavailableError → "QUORUM 1 of 3 replicas acknowledged, W=2 required; bring
 * nodes back, or retry with a lower W". A thrown value that is not a RingkvError is a bug: the
 * client gets "ERR internal error; see the server log" and the error is logged.
 */
import { ErrorCode, isRingkvError } from '../../errors.js';

export const ERROR_PREFIX_BY_CODE: Readonly<Partial<Record<ErrorCode, string>>> = {
  [ErrorCode.QUORUM_UNAVAILABLE]: 'QUORUM',
  [ErrorCode.TIMEOUT]: 'TIMEOUT',
  [ErrorCode.OVERLOADED]: 'OVERLOADED',
  [ErrorCode.TOO_MANY_SIBLINGS]: 'SIBLINGS',
  [ErrorCode.ABORTED]: 'ABORTED',
  [ErrorCode.NOT_MEMBER]: 'NOTMEMBER',
  [ErrorCode.PEER_UNREACHABLE]: 'UNAVAILABLE',
  [ErrorCode.NOT_CONNECTED]: 'UNAVAILABLE',
  [ErrorCode.TRANSPORT_CLOSED]: 'UNAVAILABLE',
  [ErrorCode.SEND_QUEUE_FULL]: 'UNAVAILABLE',
  [ErrorCode.STORAGE_IO]: 'STORAGE',
  [ErrorCode.STORAGE_CLOSED]: 'STORAGE',
  [ErrorCode.CORRUPT_RECORD]: 'STORAGE',
};

export const INTERNAL_ERROR_LINE = 'ERR internal error; see the server log';

/** The error line (without '-' and CRLF) for a thrown value; `internal` tells the caller to log it. */
export function errorLineFor(error: unknown): { readonly line: string; readonly internal: boolean } {
  if (!isRingkvError(error)) return { line: INTERNAL_ERROR_LINE, internal: true };
  const prefix = ERROR_PREFIX_BY_CODE[error.code] ?? 'ERR';
  return { line: `${prefix} ${error.message}`, internal: false };
}
