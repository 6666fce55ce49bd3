/**
 * Binary form of stored objects (disk records, replica messages) and the opaque context string
 * clients carry between a read and a write. Both are on every request's hot path, so they are
 * plain CBOR arrays (no maps, no tags, no records), written and read by hand (cbor-subset.ts):
 * the bytes are those cbor-x writes, and input the hand-written reader does not take (other
 * encoders' forms, corrupt data) goes to cbor-x, whose result is then validated as before.
 *
 * Object format, version 1: a CBOR array `[1, clock, siblings]`, so byte 0 is 0x83 (array of 3)
 * and byte 1 is the format version; a decoder reads the version before decoding anything. Any
 * later format keeps "a CBOR array whose first element is a small version number".
 * - clock: `[[nodeId, counter, lastUpdatedMs], ...]` sorted by node id (see vclock.ts);
 * - sibling: `[value, dotNode, dotCounter, writtenAtMs]`, then `expiresAtMs` (or null) when
 *   the sibling expires or has a coordinator other than its dot's node, then that coordinator.
 *   value is a CBOR byte string, or null for a tombstone.
 *
 * Context format, version 1: URL-safe base64 (no padding) of the CBOR array `[1, clock]`.
 */
import { Decoder, type Options } from 'cbor-x';
import { ErrorCode, InvalidConfigError, InvalidContextError, RingkvError } from '../../errors.js';
import { assert } from '../assert.js';
import type { KvObject, Sibling } from './object.js';
import { compareDots } from './object.js';
import { allocateBytes, CborReader, CborWriter, headLength, numberLength, sameAscii, utf8Length } from './cbor-subset.js';
import { clockProblem, covers, type VClock, type VClockEntry } from './vclock.js';

/** Format version of encoded objects (byte 1 of the encoding). */
export const OBJECT_FORMAT_VERSION = 1;
/** Format version of encoded contexts (first element of the decoded array). */
export const CONTEXT_FORMAT_VERSION = 1;

/** A stored or received object that does not decode to a valid object. */
export class CorruptObjectError extends RingkvError {
  constructor(reason: string, cause?: unknown) {
    super(ErrorCode.CORRUPT_RECORD,
      `corrupt object: ${reason}; the record is unreadable, repair it from another replica (read repair or anti-entropy)`,
      { details: { reason }, ...(cause === undefined ? {} : { cause }) });
  }
}

/** Bounds applied to untrusted input when decoding objects and contexts. */
export interface VersionDecodeOptions {
  /**
   * Longest node id accepted, in UTF-16 code units. Default 128, the sender id limit of the peer
   * wire envelope (wire.ts), so every id a node can have passes.
   */
  readonly maxNodeIdChars?: number;
  /**
   * Largest clock counter accepted. Default 2^48 (about 2.8e14 writes to one key through one
   * node): no real history gets there, and it leaves 2^53 - 2^48 increments of headroom so a
   * forged or corrupt counter can never push `increment` past Number.MAX_SAFE_INTEGER.
   */
  readonly maxCounter?: number;
}

/** Options of `decodeObject`. */
export interface DecodeObjectOptions extends VersionDecodeOptions {
  /**
   * Copy each value out of the input buffer. Default true: values then do not pin a larger
   * buffer (a storage segment, a network frame) in memory nor change if the caller reuses it.
   * Pass false only when `bytes` is owned by the result and never reused.
   */
  readonly copyValues?: boolean;
}

/** Options of `decodeContext`. */
export interface DecodeContextOptions extends VersionDecodeOptions {
  /**
   * Longest context string accepted, in characters. Default 65 536 (64 KiB): a clock of a few
   * hundred entries, far beyond the pruning bounds, so any context a read returned passes, while
   * a client cannot make the node decode megabytes per request.
   */
  readonly maxContextChars?: number;
}

export const DEFAULT_MAX_NODE_ID_CHARS = 128;
export const DEFAULT_MAX_COUNTER = 2 ** 48;
export const DEFAULT_MAX_CONTEXT_CHARS = 65_536;

// int64AsNumber (decode 64-bit integers from other encoders as numbers, not BigInt) is a cbor-x
// option its type declarations do not list, hence the widened type.
const decoderOptions: Options & { readonly int64AsNumber: boolean } = { useRecords: false, mapsAsObjects: true, int64AsNumber: true };
const decoder = new Decoder({ ...decoderOptions, copyBuffers: false });

function limitOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidConfigError(`${name} must be a positive integer, got ${String(value)}`, { [name]: value });
  }
  return value;
}

function decodeLimits(options: VersionDecodeOptions): { maxNodeIdChars: number; maxCounter: number } {
  return {
    maxNodeIdChars: limitOption('maxNodeIdChars', options.maxNodeIdChars, DEFAULT_MAX_NODE_ID_CHARS),
    maxCounter: limitOption('maxCounter', options.maxCounter, DEFAULT_MAX_COUNTER),
  };
}

const DEFAULT_LIMITS = decodeLimits({});

// Indexed loops rather than `for (const [a, b, c] of clock)`: destructuring each entry through
// the iterator protocol allocated (and showed up in allocation profiles) on every encoding.
function clockLength(clock: VClock): number {
  let n = headLength(clock.length);
  for (let i = 0; i < clock.length; i++) {
    const entry = clock[i]!;
    const idBytes = utf8Length(entry[0]);
    n += 1 + headLength(idBytes) + idBytes + numberLength(entry[1]) + numberLength(entry[2]);
  }
  return n;
}

function writeClock(w: CborWriter, clock: VClock): void {
  w.arrayHead(clock.length);
  for (let i = 0; i < clock.length; i++) {
    const entry = clock[i]!;
    w.arrayHead(3);
    w.text(entry[0], utf8Length(entry[0]));
    w.number(entry[1]);
    w.number(entry[2]);
  }
}

/** Elements of a sibling's tuple: 4, then expiresAtMs when it expires or has another coordinator, then that coordinator. */
function siblingArity(s: Sibling): number {
  return s.node !== s.dot[0] ? 6 : s.expiresAtMs !== undefined ? 5 : 4;
}

function siblingLength(s: Sibling): number {
  const arity = siblingArity(s);
  const dotBytes = utf8Length(s.dot[0]);
  let n = 1 + (s.value === null ? 1 : headLength(s.value.byteLength) + s.value.byteLength) +
    headLength(dotBytes) + dotBytes + numberLength(s.dot[1]) + numberLength(s.writtenAtMs);
  if (arity >= 5) n += s.expiresAtMs === undefined ? 1 : numberLength(s.expiresAtMs);
  if (arity === 6) {
    const nodeBytes = utf8Length(s.node);
    n += headLength(nodeBytes) + nodeBytes;
  }
  return n;
}

function writeSibling(w: CborWriter, s: Sibling): void {
  const arity = siblingArity(s);
  w.arrayHead(arity);
  if (s.value === null) w.null();
  else w.bytes(s.value);
  w.text(s.dot[0], utf8Length(s.dot[0]));
  w.number(s.dot[1]);
  w.number(s.writtenAtMs);
  if (arity >= 5) {
    if (s.expiresAtMs === undefined) w.null();
    else w.number(s.expiresAtMs);
  }
  if (arity === 6) w.text(s.node, utf8Length(s.node));
}

/** Encodes an object to bytes (see the module comment for the format): a plain Uint8Array that no other encoding overlaps. */
export function encodeObject(obj: KvObject): Uint8Array {
  const siblings = obj.siblings;
  let size = 2 + clockLength(obj.clock) + headLength(siblings.length);
  for (let i = 0; i < siblings.length; i++) size += siblingLength(siblings[i]!);
  const w = new CborWriter(allocateBytes(size));
  w.arrayHead(3);
  w.number(OBJECT_FORMAT_VERSION);
  writeClock(w, obj.clock);
  w.arrayHead(siblings.length);
  for (let i = 0; i < siblings.length; i++) writeSibling(w, siblings[i]!);
  assert(w.pos === size, 'the object filled exactly the size computed for it');
  const bytes = w.out;
  assert(bytes[0] === 0x83, 'an encoded object is a CBOR array of 3');
  assert(bytes[1] === OBJECT_FORMAT_VERSION, 'byte 1 is the format version');
  return bytes;
}

function siblingFrom(value: unknown, index: number, maxNodeIdChars: number, maxCounter: number): Sibling | string {
  if (!Array.isArray(value) || value.length < 4 || value.length > 6) return `sibling ${index} is not a 4 to 6 element array`;
  const [bytes, dotNode, dotCounter, writtenAtMs, expiresAtMs, node] = value as unknown[];
  return siblingFromFields(value.length, bytes, dotNode, dotCounter, writtenAtMs, expiresAtMs, node, index, maxNodeIdChars, maxCounter);
}

/** A sibling from the elements of its tuple of `arity` elements, or why they do not make one. */
function siblingFromFields(
  arity: number, bytes: unknown, dotNode: unknown, dotCounter: unknown, writtenAtMs: unknown, expiresAtMs: unknown, node: unknown,
  index: number, maxNodeIdChars: number, maxCounter: number,
): Sibling | string {
  if (bytes !== null && !(bytes instanceof Uint8Array)) return `sibling ${index} value is neither bytes nor null`;
  if (typeof dotNode !== 'string' || dotNode.length === 0 || dotNode.length > maxNodeIdChars) return `sibling ${index} has a bad dot node id`;
  if (typeof dotCounter !== 'number' || !Number.isSafeInteger(dotCounter) || dotCounter < 1 || dotCounter > maxCounter) {
    return `sibling ${index} has a bad dot counter`;
  }
  if (typeof writtenAtMs !== 'number' || !Number.isFinite(writtenAtMs)) return `sibling ${index} has a bad writtenAtMs`;
  if (arity >= 5 && expiresAtMs !== null && (typeof expiresAtMs !== 'number' || !Number.isFinite(expiresAtMs))) {
    return `sibling ${index} has a bad expiresAtMs`;
  }
  if (arity === 6) {
    if (typeof node !== 'string' || node.length === 0 || node.length > maxNodeIdChars) return `sibling ${index} has a bad node id`;
    if (node === dotNode) return `sibling ${index} repeats its dot's node id`;
  }
  if (arity === 5 && expiresAtMs === null) return `sibling ${index} has a redundant null expiresAtMs`;
  const sibling: { value: Uint8Array | null; dot: readonly [string, number]; writtenAtMs: number; node: string; expiresAtMs?: number } = {
    value: bytes as Uint8Array | null,
    dot: [dotNode, dotCounter],
    writtenAtMs,
    node: arity === 6 ? (node as string) : dotNode,
  };
  if (typeof expiresAtMs === 'number') sibling.expiresAtMs = expiresAtMs;
  return sibling;
}

/** A copy as a plain Uint8Array (slice() on a Buffer would return a Buffer). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** A plain Uint8Array view on the same bytes. */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes bytes made by `encodeObject`. Anything else (garbage, truncation, a valid CBOR value
 * of the wrong shape, an object breaking its invariants) throws CorruptObjectError, never a
 * different error.
 */
export function decodeObject(bytes: Uint8Array, options: DecodeObjectOptions = {}): KvObject {
  const { maxNodeIdChars, maxCounter } = options.maxNodeIdChars === undefined && options.maxCounter === undefined
    ? DEFAULT_LIMITS
    : decodeLimits(options);
  if (!(bytes instanceof Uint8Array)) throw new CorruptObjectError('not a byte array');
  if (bytes.length < 2 || bytes[0] !== 0x83) throw new CorruptObjectError('not an encoded ringkv object');
  if (bytes[1] !== OBJECT_FORMAT_VERSION) throw new CorruptObjectError(`unknown object format version ${String(bytes[1])}`);

  // Decode from a plain Uint8Array (a private copy of the input, or a view on it): values then
  // come out as plain Uint8Arrays, not Buffers (whose slice() aliases instead of copying), and
  // cbor-x caches its DataView on this object rather than as a new property of the caller's
  // buffer. Copying the whole input once costs one allocation per object instead of one per
  // sibling; the values then share a buffer nobody else holds, about their own size.
  if (options.copyValues !== false) {
    const copy = copyBytes(bytes);
    return readObject(copy, maxNodeIdChars, maxCounter) ?? decodeObjectWithCborX(copy, maxNodeIdChars, maxCounter);
  }
  // A plain Uint8Array is read as it is: a view on it would cost an allocation per decode (one of
  // the largest costs of a small object). Only cbor-x, on the rare slow path, gets a view of its own.
  const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype;
  const fast = readObject(plain ? bytes : plainView(bytes), maxNodeIdChars, maxCounter);
  return fast ?? decodeObjectWithCborX(plainView(bytes), maxNodeIdChars, maxCounter);
}

/** A valid clock read by hand, or undefined (see readObject). */
function readClock(r: CborReader, maxNodeIdChars: number, maxCounter: number): VClock | undefined {
  // Every entry and sibling takes at least one byte: a larger count is corrupt (cbor-x reports it).
  const entries = r.arrayHead();
  if (entries < 0 || entries > r.src.length) return undefined;
  const clock = new Array<VClockEntry>(entries);
  // clockProblem's checks, made as each entry is read rather than in a second pass.
  let previous = '';
  for (let i = 0; i < entries; i++) {
    if (r.arrayHead() !== 3) return undefined;
    const nodeId = r.asciiText();
    if (nodeId === undefined || nodeId.length === 0 || nodeId.length > maxNodeIdChars || (i > 0 && !(previous < nodeId))) return undefined;
    const counter = r.number();
    if (counter === undefined || !Number.isSafeInteger(counter) || counter < 1 || counter > maxCounter) return undefined;
    const lastUpdatedMs = r.number();
    if (lastUpdatedMs === undefined || !Number.isFinite(lastUpdatedMs)) return undefined;
    clock[i] = [nodeId, counter, lastUpdatedMs];
    previous = nodeId;
  }
  return clock;
}

/** The clock entry whose id readDotNode last found (-1: it read the id without the clock). */
let dotEntry = -1;

/**
 * A sibling's dot node id, as the string of the clock entry with that id when one at or after
 * entry `from` has it: a valid object's clock covers every dot and its dots are sorted, so the
 * entry is at or after the previous dot's. Comparing a few ids costs less than hashing the id for
 * the table of recent texts. Otherwise (an invalid object, which the checks after reject) the
 * reader's asciiText.
 */
function readDotNode(r: CborReader, clock: VClock, from: number): string | undefined {
  const start = r.pos;
  const length = r.head(3);
  if (length < 0) return undefined;
  const p = r.pos;
  if (p + length <= r.src.length) {
    for (let e = from; e < clock.length; e++) {
      const id = clock[e]![0];
      if (sameAscii(id, r.src, p, length)) {
        r.pos = p + length;
        dotEntry = e;
        return id;
      }
    }
  }
  r.pos = start;
  dotEntry = -1;
  return r.asciiText();
}

/**
 * The object in `source` read by hand, or undefined when it is not in the canonical form
 * `encodeObject` writes or is not a valid object: cbor-x then decodes it, which gives the same
 * result for valid input in other forms and the precise error for invalid input.
 */
function readObject(source: Uint8Array, maxNodeIdChars: number, maxCounter: number): KvObject | undefined {
  const r = new CborReader(source);
  if (r.arrayHead() !== 3 || r.number() !== OBJECT_FORMAT_VERSION) return undefined;
  const clock = readClock(r, maxNodeIdChars, maxCounter);
  if (clock === undefined) return undefined;
  const count = r.arrayHead();
  if (count < 0 || count > source.length) return undefined;
  const siblings = new Array<Sibling>(count);
  let from = 0;
  for (let i = 0; i < count; i++) {
    const arity = r.arrayHead();
    if (arity < 4 || arity > 6) return undefined;
    const value = r.isNull() ? null : r.bytes();
    const dotNode = readDotNode(r, clock, from);
    const entry = dotEntry;
    const dotCounter = r.number();
    const writtenAtMs = r.number();
    const expiresAtMs = arity >= 5 && !r.isNull() ? r.number() : null;
    const node = arity === 6 ? r.asciiText() : undefined;
    const sibling = siblingFromFields(arity, value, dotNode, dotCounter, writtenAtMs, expiresAtMs, node, i, maxNodeIdChars, maxCounter);
    if (typeof sibling === 'string') return undefined;
    // covers(clock, dot), with the entry readDotNode found when it found one.
    if (entry >= 0 ? clock[entry]![1] < sibling.dot[1] : !covers(clock, sibling.dot)) return undefined;
    if (i > 0 && compareDots(siblings[i - 1]!.dot, sibling.dot) >= 0) return undefined;
    if (entry >= 0) from = entry;
    siblings[i] = sibling;
  }
  if (!r.atEnd) return undefined;
  return { clock, siblings };
}

/**
 * Decodes with cbor-x and then checks the shape: the path for input the hand-written reader does
 * not take, exported so tests can check that both paths agree. `source` must be a plain Uint8Array.
 */
export function decodeObjectWithCborX(source: Uint8Array, maxNodeIdChars = DEFAULT_MAX_NODE_ID_CHARS, maxCounter = DEFAULT_MAX_COUNTER): KvObject {
  let decoded: unknown;
  try {
    decoded = decoder.decode(source);
  } catch (e) {
    throw new CorruptObjectError(`undecodable CBOR (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (!Array.isArray(decoded) || decoded.length !== 3) throw new CorruptObjectError('top level is not a 3 element array');
  const [, clockValue, siblingValues] = decoded as unknown[];
  const problem = clockProblem(clockValue, { maxNodeIdChars, maxCounter });
  if (problem !== undefined) throw new CorruptObjectError(problem);
  const clock = clockValue as VClock;
  if (!Array.isArray(siblingValues)) throw new CorruptObjectError('siblings are not an array');

  const siblings = new Array<Sibling>(siblingValues.length);
  for (let i = 0; i < siblingValues.length; i++) {
    const sibling = siblingFrom(siblingValues[i], i, maxNodeIdChars, maxCounter);
    if (typeof sibling === 'string') throw new CorruptObjectError(sibling);
    if (!covers(clock, sibling.dot)) throw new CorruptObjectError(`sibling ${i} has a dot its clock does not cover`);
    if (i > 0 && compareDots(siblings[i - 1]!.dot, sibling.dot) >= 0) {
      throw new CorruptObjectError('siblings are not sorted by dot without duplicates');
    }
    siblings[i] = sibling;
  }
  return { clock, siblings };
}

/**
 * Where encodeContext writes a context's CBOR before turning it into base64url: memory reused from
 * call to call (the bytes only live until the string is made), instead of a slab view and a
 * Buffer wrapper around it per context. The writer gets a plain Uint8Array (as for objects, so
 * its stores stay monomorphic); a Buffer on the same memory makes the string.
 */
let contextScratch = new Uint8Array(1024);
let contextScratchBuffer = Buffer.from(contextScratch.buffer);

/** Encodes a clock as an opaque, URL-safe context string for clients. */
export function encodeContext(clock: VClock): string {
  const size = 2 + clockLength(clock);
  if (contextScratch.length < size) {
    contextScratch = new Uint8Array(Math.max(size, 2 * contextScratch.length));
    contextScratchBuffer = Buffer.from(contextScratch.buffer);
  }
  const w = new CborWriter(contextScratch);
  w.arrayHead(2);
  w.number(CONTEXT_FORMAT_VERSION);
  writeClock(w, clock);
  assert(w.pos === size, 'the context filled exactly the size computed for it');
  return contextScratchBuffer.toString('base64url', 0, size);
}

/** The clock of a context in the canonical form encodeContext writes, or undefined (cbor-x then decodes it). */
function readContext(bytes: Uint8Array, limits: { maxNodeIdChars: number; maxCounter: number }): VClock | undefined {
  const r = new CborReader(bytes);
  if (r.arrayHead() !== 2 || r.number() !== CONTEXT_FORMAT_VERSION) return undefined;
  const clock = readClock(r, limits.maxNodeIdChars, limits.maxCounter);
  return clock !== undefined && r.atEnd ? clock : undefined;
}

/** The value of each base64url character, by char code (-1 for every other character). */
const BASE64URL_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64URL_VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

/** Reused output of base64UrlBytes: a context's bytes only live while it is read. */
let base64Scratch = new Uint8Array(512);

function base64UrlValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? BASE64URL_VALUES[c]! : -1;
}

/**
 * The bytes of `s`, unpadded base64url: what `Buffer.from(s, 'base64url')` gives when `s` is
 * made of base64url characters only and its length is one an encoding has (not 1 modulo 4; the
 * bits past the last whole byte are ignored, as Node ignores them); undefined otherwise. One pass
 * instead of a regular expression and then Node's decoder, into a buffer reused by the next call:
 * the view is only valid until then. Exported for tests.
 */
export function base64UrlBytes(s: string): Uint8Array | undefined {
  const n = s.length;
  if (n % 4 === 1) return undefined;
  const tail = n & 3;
  const size = (n >> 2) * 3 + (tail === 0 ? 0 : tail - 1);
  if (base64Scratch.length < size) base64Scratch = new Uint8Array(Math.max(size, 2 * base64Scratch.length));
  const out = base64Scratch;
  let o = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = base64UrlValue(s, i);
    const b = base64UrlValue(s, i + 1);
    const c = base64UrlValue(s, i + 2);
    const d = base64UrlValue(s, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (tail >= 2) {
    const a = base64UrlValue(s, i);
    const b = base64UrlValue(s, i + 1);
    const c = tail === 3 ? base64UrlValue(s, i + 2) : 0;
    if ((a | b | c) < 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >> 16;
    if (tail === 3) out[o++] = (v >> 8) & 0xff;
  }
  assert(o === size, 'decoded exactly the bytes the length implies');
  return out.subarray(0, size);
}

/**
 * Decodes a context string made by `encodeContext`. Anything else (wrong type, too long, not
 * base64url, not CBOR, wrong shape or version, a non-canonical clock) throws InvalidContextError.
 */
export function decodeContext(s: string, options: DecodeContextOptions = {}): VClock {
  const maxChars = limitOption('maxContextChars', options.maxContextChars, DEFAULT_MAX_CONTEXT_CHARS);
  const limits = options.maxNodeIdChars === undefined && options.maxCounter === undefined ? DEFAULT_LIMITS : decodeLimits(options);
  if (typeof s !== 'string') throw new InvalidContextError('the context is not a string');
  if (s.length === 0) throw new InvalidContextError('the context is empty (omit it for a blind write)');
  if (s.length > maxChars) throw new InvalidContextError(`the context is ${s.length} characters, the limit is ${maxChars}`);
  const scratch = base64UrlBytes(s);
  if (scratch === undefined) throw new InvalidContextError('the context is not URL-safe base64');

  // The clock read by hand holds no view on the bytes, so the reused buffer is safe to read from.
  const fast = readContext(scratch, limits);
  if (fast !== undefined) return fast;
  // cbor-x may keep views on its input: give it bytes of its own.
  const bytes = Buffer.from(s, 'base64url');
  let decoded: unknown;
  try {
    decoded = decoder.decode(bytes);
  } catch {
    throw new InvalidContextError('the context does not decode');
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw new InvalidContextError('the context has the wrong shape');
  const [version, clock] = decoded as unknown[];
  if (version !== CONTEXT_FORMAT_VERSION) throw new InvalidContextError(`unknown context format version ${String(version)}`);
  const problem = clockProblem(clock, limits);
  if (problem !== undefined) throw new InvalidContextError(problem);
  return clock as VClock;
}
