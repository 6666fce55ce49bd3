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
 *
 * How it is fast. Every message is copied (127k per benchmark run), and a generic copy — for-in
 * over each object, adding its keys one by one to a fresh `{}` — spends most of its time in the
 * one store site and the one set of type tests that every key of every shape goes through, each
 * store growing the object by one key. Messages come in few shapes (an envelope, about ten bodies, a member record), so each
 * shape of plain object (its exact key sequence, as for-in lists it) gets a copier of its own,
 * generated once: it checks that an object has exactly that shape and builds the copy as one
 * object literal, which V8 creates with its final hidden class at once. Each field of a copier
 * remembers which copier fitted its last value (an inline cache, checked before every use), so a
 * member list's records, a put's bytes or a reply's body go straight to the right copier; an
 * envelope's body is remembered per message type, as a body's shape follows from `t`. A miss takes
 * the general path, which finds or makes the shape's copier. The result is exactly the general
 * copy's — the same keys in the same order, undefined-valued keys included, the same refusals —
 * for any data (test/simulations/wire-copy.test.ts checks it against that copy); the shapes seen
 * only decide how fast it is made. (Only an input whose reads have side effects — a getter that
 * changes the object, a proxy — could tell: a shape is checked before its values are read.)
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
    if (typeof value === 'object' && value !== null) {
      const out = topCopier(value, 0);
      if (out !== undefined) return out as T;
      const copied = copy(value, 0);
      topCopier = lastCopier;
      return copied as T;
    }
    return copy(value, 0) as T;
  } catch (err) {
    if (err !== NOT_WIRE_DATA) throw err;
    // Rare: walk again, this time keeping the path, to say where.
    const [path, what] = findProblem(value, 'body', 0) ?? ['body', 'not wire data'];
    throw new NotWireDataError(path, what);
  }
}

const NOT_WIRE_DATA = Symbol('not wire data');

/**
 * Copies `value` (an object found at nesting `depth`) if it is the kind this copier is for — a
 * plain object of one shape, an array, a byte array — and returns undefined otherwise, having
 * changed nothing; the caller then takes the general path. A copy is never undefined.
 */
type Copier = (value: unknown, depth: number) => unknown;

/** The copier that fits nothing: the initial guess of every cache. */
const noCopier: Copier = () => undefined;

/**
 * The copier that fits what `copy` last copied (an object), for the caller to remember. `copy`
 * sets it just before returning, after its nested calls have set theirs.
 */
let lastCopier: Copier = noCopier;

/** The guess for the whole message: the envelope's copier, once one was seen. */
let topCopier: Copier = noCopier;

/** The guess for the elements of an array (a member list's records, mostly). */
let elementCopier: Copier = noCopier;

/** The general copy: anything, at nesting `depth`; throws NOT_WIRE_DATA for what the wire does not carry. */
function copy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object') {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === undefined) return value;
    throw NOT_WIRE_DATA;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw NOT_WIRE_DATA;
  if (Array.isArray(value)) {
    const out = copyArray(value, depth + 1);
    lastCopier = arrayCopier;
    return out;
  }
  if (value instanceof Uint8Array) {
    lastCopier = bytesCopier;
    return copyBytes(value);
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw NOT_WIRE_DATA;
  const shape = shapeOf(value);
  if (shape === undefined) {
    const out = copyAnyObject(value, depth + 1);
    lastCopier = noCopier;
    return out;
  }
  const out = shape.build(value, depth + 1);
  lastCopier = shape.tryCopy;
  return out;
}

/** The elements of `value` (at nesting `depth`), each copied; holes become undefined. */
function copyArray(value: readonly unknown[], depth: number): unknown[] {
  const n = value.length;
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const x = value[i];
    let r: unknown;
    out[i] = typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || x === undefined || x === null ? x
      : (r = elementCopier(x, depth)) !== undefined ? r
      : (r = copy(x, depth), elementCopier = lastCopier, r);
  }
  return out;
}

/** A fresh plain Uint8Array with `value`'s bytes. */
function copyBytes(value: Uint8Array): Uint8Array {
  // Small byte arrays share a slab (as values decoded from one frame share that frame's buffer).
  const out = allocateBytes(value.byteLength);
  out.set(value);
  return out;
}

/** The Copier of arrays: the tests of `copy` for an array, in its order. */
const arrayCopier: Copier = (value, depth) =>
  depth >= MAX_DEPTH || !Array.isArray(value) ? undefined : copyArray(value as unknown[], depth + 1);

/** The Copier of byte arrays: the tests of `copy` for a Uint8Array, in its order. */
const bytesCopier: Copier = (value, depth) =>
  depth >= MAX_DEPTH || Array.isArray(value) || !(value instanceof Uint8Array) ? undefined : copyBytes(value);

/** The general copy of a plain object whose shape has no copier: key by key, as for-in lists them. */
function copyAnyObject(value: object, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copy((value as Record<string, unknown>)[key], depth);
  return out;
}

/** The copiers of one shape of plain object: one exact key sequence. */
interface Shape {
  /** Copies an object that has this shape (unchecked), its fields at nesting `depth`. */
  readonly build: (value: object, depth: number) => unknown;
  /** The Copier of this shape: checks what `copy` checks for the object (its depth, that it is a plain object) and the shape, then builds. */
  readonly tryCopy: Copier;
}

/**
 * A node of the trie of key sequences: the shape whose keys are the path from the root. Most
 * nodes have one child, kept in `key`/`next`; more go into `more`.
 */
interface ShapeNode {
  readonly keys: readonly string[];
  key: string | undefined;
  next: ShapeNode | undefined;
  more: Map<string, ShapeNode> | undefined;
  /** Made on first use; null when the shape cannot have a generated copier (a `__proto__` key). */
  shape: Shape | null | undefined;
}

/**
 * At most this many trie nodes (key-sequence prefixes), so a stream of ever-new shapes costs
 * bounded memory and code: beyond it, new shapes take the generic key-by-key copy. The benchmark's
 * messages use 28.
 */
const MAX_SHAPE_NODES = 1024;
let shapeNodes = 0;
const rootShape: ShapeNode = { keys: [], key: undefined, next: undefined, more: undefined, shape: undefined };

/** The shape of plain object `value`, its copiers made if new; undefined past the bound or for a `__proto__` key. */
function shapeOf(value: object): Shape | undefined {
  let node: ShapeNode | undefined = rootShape;
  for (const key in value) {
    node = node.key === key ? node.next : childShape(node, key);
    if (node === undefined) return undefined;
  }
  if (node.shape === undefined) node.shape = makeShape(node.keys);
  return node.shape ?? undefined;
}

function childShape(node: ShapeNode, key: string): ShapeNode | undefined {
  const known = node.more?.get(key);
  if (known !== undefined) return known;
  if (shapeNodes >= MAX_SHAPE_NODES) return undefined;
  shapeNodes++;
  const child: ShapeNode = { keys: [...node.keys, key], key: undefined, next: undefined, more: undefined, shape: undefined };
  if (node.key === undefined) {
    node.key = key;
    node.next = child;
  } else {
    (node.more ??= new Map()).set(key, child);
  }
  return child;
}

/** The envelope's keys, in the order every sender builds them (src/core/wire.ts Envelope). */
const ENVELOPE_KEYS = ['v', 't', 'rid', 'from', 'body'];

/** What a generated shape's code uses from here. */
interface ShapeDeps {
  readonly copy: (value: unknown, depth: number) => unknown;
  readonly lastCopier: () => Copier;
  readonly noCopier: Copier;
  readonly plainProto: object;
  readonly maxDepth: number;
  readonly keys: readonly string[];
}

/**
 * Generates the copiers of the shape with `keys`. Generated code because nothing else builds an
 * object literal with keys known only at run time: closures made by one factory share their
 * inline caches, so they stay as megamorphic as the generic copy, and cloning a template object
 * (`{...template}`) then storing the fields measured twice as slow as the generic copy. This is
 * simulator-only code, and the source holds nothing but the keys, as JSON string literals.
 *
 * The generated `tryCopy` checks, in `copy`'s order, that `value` is not nested too deep, is not an
 * array, has the plain-object prototype `copy` accepts, and that for-in lists exactly `keys`; then
 * `build` reads each key once, in order, into one object literal. A field whose value is a string,
 * number, boolean, undefined or null is taken as is; any other value goes first to the copier the
 * field last needed (its own cache), then, if that does not fit, to the general `copy`, which
 * throws for what the wire does not carry. An envelope's `body` caches per message type (`t & 255`,
 * only a guess: every guess is checked).
 */
function makeShape(keys: readonly string[]): Shape | null {
  // `"__proto__": x` in a literal is special syntax (it sets the prototype, as the generic path's
  // `out['__proto__'] = x` does): such a key, which no message has, keeps the generic path.
  if (keys.includes('__proto__')) return null;
  const envelope = keys.length === ENVELOPE_KEYS.length && keys.every((key, i) => key === ENVELOPE_KEYS[i]);
  const fieldCode = (key: string, i: number): string => {
    const name = JSON.stringify(key);
    const cache = envelope && key === 'body' ? 'bodyCopiers[type]' : `c${i}`;
    const typeGuess = envelope && key === 't' ? `type = typeof x === 'number' ? x & 255 : 0, ` : '';
    return `${name}: (x = v[${name}], ${typeGuess}typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || x === undefined || x === null ? x
      : (r = ${cache}(x, d)) !== undefined ? r : (r = copy(x, d), ${cache} = lastCopier(), r))`;
  };
  const source = `'use strict';
    const { copy, lastCopier, noCopier, plainProto, maxDepth, keys } = deps;
    const n = keys.length;
    ${keys.map((_, i) => `let c${i} = noCopier;`).join(' ')}
    const bodyCopiers = ${envelope ? 'new Array(256).fill(noCopier)' : 'undefined'};
    function build(v, d) {
      let x, r, type = 0;
      return { ${keys.map(fieldCode).join(',\n')} };
    }
    function tryCopy(v, depth) {
      if (depth >= maxDepth || Array.isArray(v)) return undefined;
      const proto = Object.getPrototypeOf(v);
      if (proto !== plainProto && proto !== null) return undefined;
      let i = 0;
      for (const key in v) {
        if (i === n || key !== keys[i]) return undefined;
        i++;
      }
      return i === n ? build(v, depth + 1) : undefined;
    }
    return { build, tryCopy };`;
  const factory = new Function('deps', source) as (deps: ShapeDeps) => Shape;
  return factory({ copy, lastCopier: () => lastCopier, noCopier, plainProto: Object.prototype, maxDepth: MAX_DEPTH, keys: [...keys] });
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
