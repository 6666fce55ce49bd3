/**
 * The simulated network's fast way to carry a message: a deep copy of its plain data, so the
 * receiver never shares an object with the sender (nor with another receiver of the same message)
 * and neither side can change what the other holds, as on a real wire.
 *
 * It accepts only what the peer frame codec carries unchanged — plain objects and arrays, strings,
 * numbers, booleans, null, undefined, Uint8Arrays — and throws on anything else (a Map, a class
 * instance, a function, a bigint, a cycle), which the cbor wire would have turned into something
 * else or refused: a body that passes here decodes to an equal body on the cbor wire. Byte
 * arrays arrive as plain Uint8Arrays, as cbor-x decodes them.
 */

import { allocateBytes } from '../../src/core/version/cbor-subset.js';

/** Nesting deeper than this is refused (a cycle, or a body no frame should carry). */
const MAX_DEPTH = 64;

/** A body that does not survive the peer wire unchanged. */
export class NotWireDataError extends Error {
  constructor(path: string, what: string) {
    super(`message body at ${path} is ${what}, which the peer wire does not carry unchanged`);
    this.name = 'NotWireDataError';
  }
}

/** A deep copy of `value` that shares no object with it; throws NotWireDataError for what the wire would change. */
export function copyWireData<T>(value: T): T {
  try {
    return (isEnvelopeShaped(value) ? copyEnvelope(value) : copy(value, 0)) as T;
  } catch (err) {
    if (err !== NOT_WIRE_DATA) throw err;
    // Rare: walk again, this time keeping the path, to say where.
    const [path, what] = findProblem(value, 'body', 0) ?? ['body', 'not wire data'];
    throw new NotWireDataError(path, what);
  }
}

const NOT_WIRE_DATA = Symbol('not wire data');

/** The envelope's keys, in the order every sender builds them (src/core/wire.ts Envelope). */
interface EnvelopeShaped {
  readonly v: unknown;
  readonly t: unknown;
  readonly rid: unknown;
  readonly from: unknown;
  readonly body: unknown;
}

/**
 * Whether `value` is a plain object whose enumerable keys (inherited ones included, as `copy`'s
 * for-in sees them) are exactly the envelope's, in the envelope's order. Every message is one, and
 * for it `copyEnvelope` builds the copy as one object literal instead of adding five keys one by
 * one through a store that sees every shape of every body (the slow part of `copy`); anything
 * else takes the general path, so the copy is the same either way, key order included.
 */
function isEnvelopeShaped(value: unknown): value is EnvelopeShaped {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  let n = 0;
  for (const key in value) {
    const expected = n === 0 ? 'v' : n === 1 ? 't' : n === 2 ? 'rid' : n === 3 ? 'from' : n === 4 ? 'body' : undefined;
    if (key !== expected) return false;
    n++;
  }
  return n === 5;
}

function copyEnvelope(value: EnvelopeShaped): EnvelopeShaped {
  return { v: copy(value.v, 1), t: copy(value.t, 1), rid: copy(value.rid, 1), from: copy(value.from, 1), body: copy(value.body, 1) };
}

function copy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object') {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === undefined) return value;
    throw NOT_WIRE_DATA;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw NOT_WIRE_DATA;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i], depth + 1);
    return out;
  }
  if (value instanceof Uint8Array) {
    // Small byte arrays share a slab (as values decoded from one frame share that frame's buffer).
    const out = allocateBytes(value.byteLength);
    out.set(value);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw NOT_WIRE_DATA;
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copy((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** Where `value` holds something `copy` refuses, and what it is. */
function findProblem(value: unknown, path: string, depth: number): [string, string] | undefined {
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return [path, `a ${typeof value}`];
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined;
  if (depth >= MAX_DEPTH) return [path, `nested over ${MAX_DEPTH} levels deep`];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return [path, `a ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}`];
  for (const key in value) {
    const problem = findProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
