/**
 * Turns error codes into the matching error class from src/errors.ts, so a server's
 * `{ code, message, details }` becomes e.g. a `QuorumUnavailableError` the caller can catch with
 * `instanceof` or switch on by `err.code`, with the server's own message and details kept.
 */
import {
  AbortedError, CorruptRecordError, DataDirLockedError, ErrorCode, FrameTooLargeError, HandshakeRefusedError,
  InvalidArgumentError, InvalidConfigError, InvalidContextError, InvalidCursorError, InvalidKeyError,
  InvalidQuorumError, KeyTooLargeError, MalformedFrameError, NotConnectedError, OverloadedError, ProtocolError,
  QuorumUnavailableError, RingkvError, SendQueueFullError, StorageClosedError, StorageIoError, TimeoutError,
  TooManySiblingsError, TransportClosedError, ValueTooLargeError,
} from '../errors.js';
import type { WireError } from '../api/client-protocol.js';

// Subclasses have constructors that build their own message from specific arguments; to keep the
// server's message and details we construct the base class with the subclass as `new.target`
// (see makeError), so any constructor shape works here.
type ErrorClass = abstract new (...args: never[]) => RingkvError;

/** The class for each code; codes without an exact class become a plain RingkvError. */
const classByCode: Readonly<Partial<Record<ErrorCode, ErrorClass>>> = {
  [ErrorCode.INVALID_ARGUMENT]: InvalidArgumentError,
  [ErrorCode.INVALID_CONFIG]: InvalidConfigError,
  [ErrorCode.KEY_TOO_LARGE]: KeyTooLargeError,
  [ErrorCode.VALUE_TOO_LARGE]: ValueTooLargeError,
  [ErrorCode.INVALID_KEY]: InvalidKeyError,
  [ErrorCode.DATA_DIR_LOCKED]: DataDirLockedError,
  [ErrorCode.CORRUPT_RECORD]: CorruptRecordError,
  [ErrorCode.STORAGE_CLOSED]: StorageClosedError,
  [ErrorCode.STORAGE_IO]: StorageIoError,
  [ErrorCode.INVALID_CURSOR]: InvalidCursorError,
  [ErrorCode.FRAME_TOO_LARGE]: FrameTooLargeError,
  [ErrorCode.MALFORMED_FRAME]: MalformedFrameError,
  [ErrorCode.HANDSHAKE_REFUSED]: HandshakeRefusedError,
  [ErrorCode.PROTOCOL_VERSION]: HandshakeRefusedError,
  [ErrorCode.CLUSTER_MISMATCH]: HandshakeRefusedError,
  [ErrorCode.SEND_QUEUE_FULL]: SendQueueFullError,
  [ErrorCode.TRANSPORT_CLOSED]: TransportClosedError,
  [ErrorCode.QUORUM_UNAVAILABLE]: QuorumUnavailableError,
  [ErrorCode.TIMEOUT]: TimeoutError,
  [ErrorCode.INVALID_QUORUM]: InvalidQuorumError,
  [ErrorCode.INVALID_CONTEXT]: InvalidContextError,
  [ErrorCode.TOO_MANY_SIBLINGS]: TooManySiblingsError,
  [ErrorCode.OVERLOADED]: OverloadedError,
  [ErrorCode.ABORTED]: AbortedError,
  [ErrorCode.NOT_CONNECTED]: NotConnectedError,
  [ErrorCode.PROTOCOL]: ProtocolError,
};

const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/** True when `code` is one of the stable codes in src/errors.ts. */
export function isErrorCode(code: string): code is ErrorCode {
  return knownCodes.has(code);
}

/**
 * Builds an error with the given code, message and details that is an instance of the class for
 * that code (e.g. `QuorumUnavailableError` for `ERR_QUORUM_UNAVAILABLE`), or of `RingkvError`
 * when no exact class exists. `name` is the class name, as with errors built by their constructor.
 */
export function makeError(code: ErrorCode, message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> }): RingkvError {
  const cls = classByCode[code] ?? RingkvError;
  // Reflect.construct runs RingkvError's constructor with `new.target` = cls: the prototype (so
  // instanceof) and `name` come from cls while the subclass's own argument shape is bypassed.
  return Reflect.construct(RingkvError, [code, message, options], cls) as RingkvError;
}

/**
 * The typed error for an error a server sent: an instance of the class for its code (where
 * src/errors.ts' `errorFromWire` builds a plain RingkvError). A code this SDK does not know (a
 * newer server) becomes `ERR_INTERNAL` with the server's code in `details.remoteCode`, as there.
 */
export function typedErrorFromWire(wire: WireError, context?: Record<string, unknown>): RingkvError {
  const details: Record<string, unknown> = { ...wire.details, ...context };
  if (isErrorCode(wire.code)) return makeError(wire.code, wire.message, { details });
  return makeError(ErrorCode.INTERNAL, wire.message, { details: { ...details, remoteCode: wire.code } });
}
