/**
 * Typed errors with stable codes. Every error a user can see is one of these classes: its `code`
 * never changes once released (clients switch on it), its message says what happened and what
 * to do. Programmer errors (broken invariants) are plain `Error`s from assertions and crash loudly.
 */

/** Every stable error code ringkv can return. Append only: codes are part of the API. */
export const ErrorCode = {
  INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  INVALID_CONFIG: 'ERR_INVALID_CONFIG',
  KEY_TOO_LARGE: 'ERR_KEY_TOO_LARGE',
  VALUE_TOO_LARGE: 'ERR_VALUE_TOO_LARGE',
  INVALID_KEY: 'ERR_INVALID_KEY',
  DATA_DIR_LOCKED: 'ERR_DATA_DIR_LOCKED',
  CORRUPT_RECORD: 'ERR_CORRUPT_RECORD',
  STORAGE_CLOSED: 'ERR_STORAGE_CLOSED',
  STORAGE_IO: 'ERR_STORAGE_IO',
  INVALID_CURSOR: 'ERR_INVALID_CURSOR',
  FRAME_TOO_LARGE: 'ERR_FRAME_TOO_LARGE',
  MALFORMED_FRAME: 'ERR_MALFORMED_FRAME',
  HANDSHAKE_REFUSED: 'ERR_HANDSHAKE_REFUSED',
  PROTOCOL_VERSION: 'ERR_PROTOCOL_VERSION',
  CLUSTER_MISMATCH: 'ERR_CLUSTER_MISMATCH',
  PEER_UNREACHABLE: 'ERR_PEER_UNREACHABLE',
  SEND_QUEUE_FULL: 'ERR_SEND_QUEUE_FULL',
  TRANSPORT_CLOSED: 'ERR_TRANSPORT_CLOSED',
  QUORUM_UNAVAILABLE: 'ERR_QUORUM_UNAVAILABLE',
  TIMEOUT: 'ERR_TIMEOUT',
  INVALID_QUORUM: 'ERR_INVALID_QUORUM',
  INVALID_CONTEXT: 'ERR_INVALID_CONTEXT',
  TOO_MANY_SIBLINGS: 'ERR_TOO_MANY_SIBLINGS',
  NOT_MEMBER: 'ERR_NOT_MEMBER',
  OVERLOADED: 'ERR_OVERLOADED',
  ABORTED: 'ERR_ABORTED',
  NOT_CONNECTED: 'ERR_NOT_CONNECTED',
  UNKNOWN_COMMAND: 'ERR_UNKNOWN_COMMAND',
  PROTOCOL: 'ERR_PROTOCOL',
  INTERNAL: 'ERR_INTERNAL',
  ADDRESS_IN_USE: 'ERR_ADDRESS_IN_USE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every ringkv error. `code` is stable; `details` carries machine-readable facts. */
export class RingkvError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details ?? {};
  }

  /** A plain object for the wire (HTTP bodies, client frames). */
  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export class InvalidArgumentError extends RingkvError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_ARGUMENT, message, details ? { details } : undefined);
  }
}

export class InvalidConfigError extends RingkvError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_CONFIG, message, details ? { details } : undefined);
  }
}

export class KeyTooLargeError extends RingkvError {
  constructor(sizeBytes: number, maxBytes: number) {
    super(ErrorCode.KEY_TOO_LARGE,
      `key is ${sizeBytes} bytes, the limit is ${maxBytes} bytes (option maxKeyBytes); use a shorter key`,
      { details: { sizeBytes, maxBytes } });
  }
}

export class ValueTooLargeError extends RingkvError {
  constructor(sizeBytes: number, maxBytes: number) {
    super(ErrorCode.VALUE_TOO_LARGE,
      `value is ${sizeBytes} bytes, the limit is ${maxBytes} bytes (option maxValueBytes); split the value or raise the limit`,
      { details: { sizeBytes, maxBytes } });
  }
}

export class InvalidKeyError extends RingkvError {
  constructor(message: string) {
    super(ErrorCode.INVALID_KEY, message);
  }
}

export class DataDirLockedError extends RingkvError {
  constructor(dir: string, holderPid: number | undefined) {
    super(ErrorCode.DATA_DIR_LOCKED,
      `data directory ${dir} is locked by another ringkv process${holderPid === undefined ? '' : ` (pid ${holderPid})`}; ` +
      'stop that process or use another --data-dir',
      { details: { dir, holderPid } });
  }
}

export class CorruptRecordError extends RingkvError {
  constructor(file: string, offsetBytes: number, reason: string) {
    super(ErrorCode.CORRUPT_RECORD,
      `corrupt record in ${file} at offset ${offsetBytes}: ${reason}; restore the file from a replica or ` +
      'restart with recovery mode "truncate" to drop everything from this offset on',
      { details: { file, offsetBytes, reason } });
  }
}

export class StorageClosedError extends RingkvError {
  constructor() {
    super(ErrorCode.STORAGE_CLOSED, 'the storage engine is closed');
  }
}

export class StorageIoError extends RingkvError {
  constructor(message: string, cause: unknown) {
    super(ErrorCode.STORAGE_IO, message, { cause });
  }
}

export class InvalidCursorError extends RingkvError {
  constructor() {
    super(ErrorCode.INVALID_CURSOR, 'scan cursor is not one this store returned; start the scan again without a cursor');
  }
}

export class FrameTooLargeError extends RingkvError {
  constructor(sizeBytes: number, maxBytes: number) {
    super(ErrorCode.FRAME_TOO_LARGE, `frame is ${sizeBytes} bytes, the limit is ${maxBytes} bytes (option maxFrameBytes)`,
      { details: { sizeBytes, maxBytes } });
  }
}

export class MalformedFrameError extends RingkvError {
  constructor(reason: string, cause?: unknown) {
    super(ErrorCode.MALFORMED_FRAME, `malformed frame: ${reason}`, cause === undefined ? undefined : { cause });
  }
}

export class HandshakeRefusedError extends RingkvError {
  constructor(code: typeof ErrorCode.HANDSHAKE_REFUSED | typeof ErrorCode.PROTOCOL_VERSION | typeof ErrorCode.CLUSTER_MISMATCH,
    message: string, details?: Record<string, unknown>) {
    super(code, message, details ? { details } : undefined);
  }
}

export class SendQueueFullError extends RingkvError {
  constructor(peer: string, maxQueued: number) {
    super(ErrorCode.SEND_QUEUE_FULL, `send queue to ${peer} is full (${maxQueued} frames, option maxSendQueueFrames); the peer is slow or down`,
      { details: { peer, maxQueued } });
  }
}

export class TransportClosedError extends RingkvError {
  constructor() {
    super(ErrorCode.TRANSPORT_CLOSED, 'the transport is closed');
  }
}

/** A quorum could not be met: says how many replicas answered and how many were needed. */
export class QuorumUnavailableError extends RingkvError {
  constructor(op: 'get' | 'put' | 'delete', acknowledged: number, nVal: number, required: number, which: 'R' | 'W') {
    super(ErrorCode.QUORUM_UNAVAILABLE,
      `${acknowledged} of ${nVal} replicas ${which === 'W' ? 'acknowledged' : 'answered'}, ${which}=${required} required; ` +
      'bring nodes back, or retry with a lower ' + which,
      { details: { op, acknowledged, nVal, required, which } });
  }
}

export class TimeoutError extends RingkvError {
  constructor(op: string, timeoutMs: number, details?: Record<string, unknown>) {
    super(ErrorCode.TIMEOUT, `${op} timed out after ${timeoutMs} ms; the ring may be overloaded or partitioned, retry with a longer timeout`,
      { details: { op, timeoutMs, ...details } });
  }
}

export class InvalidQuorumError extends RingkvError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.INVALID_QUORUM, message, details ? { details } : undefined);
  }
}

export class InvalidContextError extends RingkvError {
  constructor(reason: string) {
    super(ErrorCode.INVALID_CONTEXT, `invalid context: ${reason}; pass the context exactly as a read returned it`);
  }
}

export class TooManySiblingsError extends RingkvError {
  constructor(key: string, count: number, max: number) {
    super(ErrorCode.TOO_MANY_SIBLINGS,
      `key ${JSON.stringify(key)} would have ${count} siblings, the limit is ${max} (option maxSiblings); read the key and write back a resolved value with its context`,
      { details: { key, count, max } });
  }
}

export class OverloadedError extends RingkvError {
  constructor(what: string, bound: number) {
    super(ErrorCode.OVERLOADED, `${what} is full (bound ${bound}); retry later`, { details: { what, bound } });
  }
}

export class AbortedError extends RingkvError {
  constructor(reason?: unknown) {
    super(ErrorCode.ABORTED, 'the operation was aborted', reason === undefined ? undefined : { cause: reason });
  }
}

export class NotConnectedError extends RingkvError {
  constructor(message: string) {
    super(ErrorCode.NOT_CONNECTED, message);
  }
}

export class ProtocolError extends RingkvError {
  constructor(message: string) {
    super(ErrorCode.PROTOCOL, message);
  }
}

/** A port this node was told to listen on is taken by another process. */
export class AddressInUseError extends RingkvError {
  constructor(what: string, host: string, port: number) {
    super(ErrorCode.ADDRESS_IN_USE,
      `cannot listen for ${what} on ${host}:${port}: the address is in use (EADDRINUSE) — another ringkv node or ` +
      'program holds it; stop it or choose another port', { details: { host, port } });
  }
}

/**
 * The typed error for a failed listen(): a taken port becomes AddressInUseError, a port that needs
 * privileges or a host that is not this machine's becomes InvalidConfigError; anything else is
 * returned as it is.
 */
export function listenError(err: unknown, what: string, host: string, port: number): unknown {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (code === 'EADDRINUSE') return new AddressInUseError(what, host, port);
  if (code === 'EACCES') {
    return new InvalidConfigError(`cannot listen for ${what} on ${host}:${port}: permission denied (ports below 1024 need privileges)`, { host, port });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new InvalidConfigError(`cannot listen for ${what} on ${host}:${port}: ${host} is not an address of this machine`, { host, port });
  }
  return err;
}

/** Type guard for any ringkv error. */
export function isRingkvError(e: unknown): e is RingkvError {
  return e instanceof RingkvError;
}

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * Rebuilds a typed error from its wire form ({code, message, details}) — from a peer's forward
 * reply or a server's response — so `err.code` works the same on both sides. An unknown code
 * (a newer peer) becomes ERR_INTERNAL with the original code in `details.remoteCode`.
 */
export function errorFromWire(wire: { code?: unknown; message?: unknown; details?: unknown } | undefined | null): RingkvError {
  const code = typeof wire?.code === 'string' && knownCodes.has(wire.code) ? (wire.code as ErrorCode) : ErrorCode.INTERNAL;
  const message = typeof wire?.message === 'string' ? wire.message : 'remote error without a message';
  const details = typeof wire?.details === 'object' && wire.details !== null ? { ...(wire.details as Record<string, unknown>) } : {};
  if (code === ErrorCode.INTERNAL && typeof wire?.code === 'string' && wire.code !== ErrorCode.INTERNAL) details.remoteCode = wire.code;
  return new RingkvError(code, message, { details });
}

/** The wire form of any error: typed errors keep their code, anything else is ERR_INTERNAL. */
export function errorToWire(err: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (err instanceof RingkvError) return { code: err.code, message: err.message, details: { ...err.details } };
  return { code: ErrorCode.INTERNAL, message: err instanceof Error ? err.message : String(err) };
}
