/**
 * Client-side framing of the client protocol (src/api/client-protocol.ts): encodes requests and
 * decodes and checks responses. Pure functions, no I/O; a frame that is not a well-formed
 * response throws MalformedFrameError, a well-formed response with a result of the wrong shape
 * throws ProtocolError.
 */
import { Encoder } from 'cbor-x';
import type { ClientRequest, ClientResponse, GetResult, PutResult, WireError, WireSibling } from '../api/client-protocol.js';
import { FrameTooLargeError, MalformedFrameError, ProtocolError } from '../errors.js';

// Plain CBOR maps and byte strings (no cbor-x record extension, no typed-array tags) so any CBOR
// implementation on the other side reads the frames.
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** A request before the connection gives it an id. */
export type RequestBody = WithoutId<ClientRequest>;
type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;

/** Encodes a request; throws FrameTooLargeError when it exceeds `maxFrameBytes`. Undefined fields are left out. */
export function encodeRequest(request: ClientRequest, maxFrameBytes: number): Uint8Array {
  const present: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value !== undefined) present[name] = value;
  }
  const bytes = cbor.encode(present);
  if (bytes.byteLength > maxFrameBytes) throw new FrameTooLargeError(bytes.byteLength, maxFrameBytes);
  return bytes;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function checkWireError(value: unknown): WireError {
  if (!isRecord(value)) throw new MalformedFrameError('error is not a map');
  const { code, message, details } = value;
  if (typeof code !== 'string') throw new MalformedFrameError('error.code is not a string');
  if (typeof message !== 'string') throw new MalformedFrameError('error.message is not a string');
  if (details !== undefined && details !== null && !isRecord(details)) throw new MalformedFrameError('error.details is not a map');
  return { code, message, details: isRecord(details) ? details : undefined };
}

/** Decodes and checks one response frame; throws MalformedFrameError if it is not one. */
export function decodeResponse(bytes: Uint8Array): ClientResponse {
  let decoded: unknown;
  try {
    decoded = cbor.decode(bytes);
  } catch (cause) {
    throw new MalformedFrameError('not valid CBOR', cause);
  }
  if (!isRecord(decoded)) throw new MalformedFrameError('response is not a map');
  const { id, ok } = decoded;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new MalformedFrameError('response id is not a positive integer');
  if (ok === true) return { id, ok, result: decoded['result'] };
  if (ok === false) return { id, ok, error: checkWireError(decoded['error']) };
  throw new MalformedFrameError('response ok is not a boolean');
}

function checkSibling(value: unknown): WireSibling {
  if (!isRecord(value)) throw new ProtocolError('get result: a sibling is not a map');
  const { value: bytes, writtenAtMs, node, expiresAtMs } = value;
  if (bytes !== null && !(bytes instanceof Uint8Array)) throw new ProtocolError('get result: sibling value is neither bytes nor null');
  if (typeof writtenAtMs !== 'number') throw new ProtocolError('get result: sibling writtenAtMs is not a number');
  if (typeof node !== 'string') throw new ProtocolError('get result: sibling node is not a string');
  if (expiresAtMs !== undefined && expiresAtMs !== null && typeof expiresAtMs !== 'number') {
    throw new ProtocolError('get result: sibling expiresAtMs is not a number');
  }
  return { value: bytes, writtenAtMs, node, expiresAtMs: typeof expiresAtMs === 'number' ? expiresAtMs : undefined };
}

/** Checks a get's result; throws ProtocolError when it has the wrong shape. */
export function parseGetResult(result: unknown): GetResult {
  if (!isRecord(result)) throw new ProtocolError('get result is not a map');
  const { siblings, context } = result;
  if (!Array.isArray(siblings)) throw new ProtocolError('get result: siblings is not an array');
  if (typeof context !== 'string') throw new ProtocolError('get result: context is not a string');
  return { siblings: siblings.map(checkSibling), context };
}

/** Checks a put's result; throws ProtocolError when it has the wrong shape. */
export function parsePutResult(result: unknown): PutResult {
  if (!isRecord(result) || typeof result['context'] !== 'string') throw new ProtocolError('put result has no string context');
  return { context: result['context'] };
}

/** A delete's context, when the server returned one (the contract does not fix a delete's result). */
export function parseDeleteContext(result: unknown): string | undefined {
  return isRecord(result) && typeof result['context'] === 'string' ? result['context'] : undefined;
}

/** The node id from a hello reply (`{ version, node }`), when the server sent one. */
export function parseHelloNodeId(result: unknown): string | undefined {
  return isRecord(result) && typeof result['node'] === 'string' ? result['node'] : undefined;
}
