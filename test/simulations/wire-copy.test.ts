/**
 * The simulated wire's copy (simulations/world/wire-copy.ts) against the straightforward deep copy
 * it replaced: for any data, the same result — keys in the same order, undefined-valued keys kept,
 * bytes in fresh plain Uint8Arrays — sharing nothing with the input, and the same refusals with
 * the same message. The fast copy caches a generated copier per shape and guesses which one fits
 * each value, so the properties run long mixed sequences: every guess that turns out wrong must
 * still give the reference's copy.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, test, vi } from 'vitest';

/**
 * Each test gets a fresh instance of the module, so its caches start empty: a test that fills the
 * bound on shapes must not send the next test's objects down the generic path.
 */
type WireCopyModule = typeof import('../../simulations/world/wire-copy.js');
let wire: WireCopyModule;
beforeEach(async () => {
  vi.resetModules();
  wire = await import('../../simulations/world/wire-copy.js');
});
const copyWireData = (value: unknown): unknown => wire.copyWireData(value);

// ---- The reference: the generic copy as it was before the shape cache --------------------------

const MAX_DEPTH = 64;
const REFUSED = Symbol('refused');

function referenceCopy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object') {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || value === undefined) return value;
    throw REFUSED;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw REFUSED;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = referenceCopy(value[i], depth + 1);
    return out;
  }
  if (value instanceof Uint8Array) return new Uint8Array(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw REFUSED;
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = referenceCopy((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

function referenceProblem(value: unknown, path: string, depth: number): [string, string] | undefined {
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return [path, `a ${typeof value}`];
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return undefined;
  if (depth >= MAX_DEPTH) return [path, `nested over ${MAX_DEPTH} levels deep`];
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = referenceProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return [path, `a ${(value as { constructor?: { name?: string } }).constructor?.name ?? 'non-plain object'}`];
  for (const key in value) {
    const problem = referenceProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

function referenceOutcome(value: unknown): Outcome {
  try {
    return { ok: true, value: referenceCopy(value, 0) };
  } catch (err) {
    if (err !== REFUSED) throw err;
    const [path, what] = referenceProblem(value, 'body', 0) ?? ['body', 'not wire data'];
    return { ok: false, message: `message body at ${path} is ${what}, which the peer wire does not carry unchanged` };
  }
}

function outcome(copy: (value: unknown) => unknown, value: unknown): Outcome {
  try {
    return { ok: true, value: copy(value) };
  } catch (err) {
    if (!(err instanceof wire.NotWireDataError)) throw err;
    return { ok: false, message: err.message };
  }
}

// ---- Comparing copies exactly ------------------------------------------------------------------

/**
 * Everything observable about a copy, as plain JSON-like data: kinds, prototypes, own keys in
 * order with their attributes (so a key holding undefined differs from a missing one), numbers
 * with their sign of zero, and bytes.
 */
function describeValue(value: unknown, seen = new Set<object>()): unknown {
  if (typeof value === 'number') return ['number', Object.is(value, -0) ? '-0' : String(value)];
  if (typeof value !== 'object' || value === null) return [value === null ? 'null' : typeof value, value === null ? null : String(value)];
  if (seen.has(value)) return ['seen'];
  seen.add(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (ArrayBuffer.isView(value)) return ['bytes', proto === Uint8Array.prototype, value.byteLength, Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))];
  const protoName = proto === Object.prototype ? 'Object' : proto === Array.prototype ? 'Array' : proto === null ? 'null' : describeValue(proto, seen);
  const keys = Reflect.ownKeys(value).map((key) => {
    const d = Object.getOwnPropertyDescriptor(value, key);
    return [String(key), d?.enumerable, d?.writable, d?.configurable, 'get' in (d ?? {}), describeValue(d?.value, seen)];
  });
  return [Array.isArray(value) ? 'array' : 'object', protoName, keys];
}

/** Every object reachable from `value`, prototypes other than the two plain ones included (byte arrays by the internal slot: a copied `__proto__` key can make a plain object inherit from one). */
function objectsIn(value: unknown, into = new Set<object>()): Set<object> {
  if (typeof value !== 'object' || value === null || into.has(value)) return into;
  into.add(value);
  if (ArrayBuffer.isView(value)) return into;
  for (const key of Reflect.ownKeys(value)) objectsIn(Object.getOwnPropertyDescriptor(value, key)?.value, into);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype) objectsIn(proto, into);
  return into;
}

/** Checks that copying `value` gives the reference's result, shares nothing, and its bytes are its own. */
function expectSameAsReference(value: unknown): void {
  const before = describeValue(value);
  const expected = referenceOutcome(value);
  const actual = outcome(copyWireData, value);
  expect(actual.ok).toBe(expected.ok);
  if (!actual.ok || !expected.ok) {
    expect(actual).toEqual(expected);
    return;
  }
  expect(describeValue(actual.value)).toEqual(describeValue(expected.value));
  const inputObjects = objectsIn(value);
  for (const object of objectsIn(actual.value)) {
    if (inputObjects.has(object)) throw new Error('the copy shares an object with the input');
    if (ArrayBuffer.isView(object)) new Uint8Array(object.buffer, object.byteOffset, object.byteLength).fill(0xa5).fill(0x5a, 1);
  }
  expect(describeValue(value)).toEqual(before);
}

// ---- Arbitrary wire data -----------------------------------------------------------------------

/**
 * Few keys, so shapes repeat and the copier caches are used (and mispredicted) a lot, and so the
 * key sequences of up to four of them (516) stay within the module's bound on shapes (1024 nodes).
 */
const keyArb = fc.constantFrom('key', 'hintFor', '0', '"quoted" key\n', 'constructor', '__proto__');

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ minLength: 4, maxLength: 40 }).map((bytes) => bytes.subarray(1, bytes.length - 1)),
);

const primitiveArb = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

/** Builds an object from entries in order, as own enumerable data properties (`__proto__` too). */
function objectFrom(entries: readonly (readonly [string, unknown])[], nullProto: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = nullProto ? (Object.create(null) as Record<string, unknown>) : {};
  for (const [key, value] of entries) Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

const { data: dataArb } = fc.letrec<{ data: unknown; object: Record<string, unknown> }>((tie) => ({
  data: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitiveArb, bytesArb, tie('object'), fc.array(tie('data'), { maxLength: 6 })),
  object: fc.tuple(fc.uniqueArray(fc.tuple(keyArb, tie('data')), { selector: ([key]) => key, maxLength: 4 }), fc.boolean(), fc.nat(9))
    .map(([entries, nullProto, n]) => objectFrom(entries, nullProto && n === 0)),
}));

/** An optional field: present, present and undefined, or absent. */
const ABSENT = Symbol('absent');
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined | typeof ABSENT> => fc.oneof(arb, fc.constant(undefined), fc.constant(ABSENT));
/** A body built like a sender builds it: fields in this order, an optional one absent or undefined. */
function body(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== ABSENT) out[key] = value;
  return out;
}

const memberArb = fc.record({
  id: fc.constantFrom('n1', 'n2', 'n3'),
  address: fc.constantFrom('10.0.0.1:7000', 'n2:1'),
  generation: fc.nat(),
  heartbeat: fc.nat(),
  state: fc.constantFrom('alive', 'suspect', 'left'),
});
const keyStringArb = fc.string({ maxLength: 6 });
const bodies: readonly (readonly [number, fc.Arbitrary<unknown>])[] = [
  [10, fc.array(memberArb, { maxLength: 6 }).map((members) => ({ members }))],
  [11, fc.array(memberArb, { maxLength: 3 }).map((members) => ({ members }))],
  [12, memberArb.map((member) => ({ member }))],
  [20, fc.tuple(keyStringArb, optional(fc.constant('n4'))).map(([key, hintFor]) => body({ key, hintFor }))],
  [21, fc.tuple(optional(bytesArb), optional(fc.record({ code: fc.string(), message: fc.string() }))).map(([obj, error]) => body({ obj, error }))],
  [22, fc.tuple(keyStringArb, bytesArb, optional(fc.constant('n4')), fc.constantFrom('write', 'repair', 'handoff'))
    .map(([key, obj, hintFor, reason]) => body({ key, obj, hintFor, reason }))],
  [23, fc.boolean().map((ok) => ({ ok }))],
  [24, fc.tuple(keyStringArb, optional(bytesArb), optional(fc.string()), fc.nat(), optional(fc.nat()))
    .map(([key, value, context, w, ttlMs]) => body({ op: 'put', key, value, context, contextMode: 'given', w, timeoutMs: 1000, ttlMs }))],
  [25, fc.tuple(fc.boolean(), optional(fc.string())).map(([ok, context]) => body({ ok, context }))],
];
/** A message as the nodes send it; sometimes with another type's body, or any data, to upset the per-type guess. */
const envelopeArb = fc.tuple(fc.constantFrom(...bodies.map(([t]) => t)), fc.nat(5), fc.oneof(...bodies.map(([, b]) => b), dataArb), fc.nat(), fc.constantFrom('n1', 'n2'))
  .chain(([t, pick, other, rid, from]) => (pick === 0 ? fc.constant(other) : bodies.find(([type]) => type === t)![1])
    .map((b) => ({ v: 1, t, rid, from, body: b })));

/** Values the peer wire does not carry, with the name the error gives them. */
class Clock {
  readonly at = 1;
}
const badArb = fc.constantFrom<() => unknown>(
  () => new Map(),
  () => new Set([1]),
  () => new Date(0),
  () => new Clock(),
  () => () => 1,
  () => 10n,
  () => Symbol('s'),
  () => new Int8Array(2),
  () => new Uint8ClampedArray(2),
  () => new ArrayBuffer(2),
  () => Object.create({ inherited: 1 }) as unknown,
  () => {
    let deep: unknown = { end: 1 };
    for (let i = 0; i < 70; i++) deep = { deep };
    return deep;
  },
).map((make) => make());

/** `value` with `bad` put somewhere inside it (or instead of it), found by walking with `steps`. */
function plant(value: unknown, bad: unknown, steps: readonly number[]): unknown {
  if (steps.length === 0 || typeof value !== 'object' || value === null || value instanceof Uint8Array) return bad;
  const [step, ...rest] = steps as [number, ...number[]];
  if (Array.isArray(value)) {
    if (value.length === 0) return [bad];
    const out = [...value as unknown[]];
    out[step % out.length] = plant(out[step % out.length], bad, rest);
    return out;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return { planted: bad };
  const i = step % entries.length;
  entries[i] = [entries[i]![0], plant(entries[i]![1], bad, rest)];
  return objectFrom(entries, Object.getPrototypeOf(value) === null);
}

// ---- Properties --------------------------------------------------------------------------------

describe('the wire copy', () => {
  test('any wire data: the same copy as the generic deep copy, sharing nothing', () => {
    // Shows that the shape cache and its guesses never change a copy: order, presence, values, bytes.
    fc.assert(fc.property(fc.array(dataArb, { minLength: 1, maxLength: 8 }), (values) => {
      for (const value of values) expectSameAsReference(value);
    }), { numRuns: 400 });
  });

  test('messages as the nodes send them, mixed: the same copy as the generic deep copy', () => {
    // Shows the path every simulated message takes (the envelope's copier, the per-type body guess) in a long mixed run.
    fc.assert(fc.property(fc.array(envelopeArb, { minLength: 1, maxLength: 30 }), (messages) => {
      for (const message of messages) expectSameAsReference(message);
    }), { numRuns: 300 });
  });

  test('what the wire does not carry: refused at the same path, with the same message', () => {
    // Shows that a wrong guess never accepts a Map, class instance, function, bigint, symbol or over-deep nesting.
    fc.assert(fc.property(fc.oneof(dataArb, envelopeArb), badArb, fc.array(fc.nat(), { maxLength: 5 }), (value, bad, steps) => {
      copyWireData(value); // teach the caches this value's shapes first, so the planted value meets warm guesses
      const planted = plant(value, bad, steps);
      expectSameAsReference(planted);
    }), { numRuns: 400 });
    expect(() => copyWireData({ v: 1, t: 22, rid: 7, from: 'n1', body: { key: 'k', obj: new Map(), hintFor: undefined, reason: 'write' } }))
      .toThrow(wire.NotWireDataError);
  });

  test('the edge cases of the generic copy are kept, whatever the caches guess', () => {
    // Shows the cases a literal per shape or a wrong guess could get wrong: key order, presence, __proto__ keys,
    // exotic prototypes, arrays with a cached shape's keys, and the depth limit reached through cached copiers.
    const envelope = (t: number, body: unknown): unknown => ({ v: 1, t, rid: 1, from: 'n1', body });
    const cases: unknown[] = [
      { b: 1, a: undefined, 1: 'one', 0: 'zero' },
      JSON.parse('{"__proto__": {"x": 1}, "y": 2}'),
      JSON.parse('{"__proto__": 5}'),
      JSON.parse('{"__proto__": null}'),
      Object.assign(Object.create(null) as object, { key: 'k', hintFor: undefined }),
      // A shape's keys first, then an array (or a byte array) with the same enumerable keys where that shape is guessed.
      envelope(20, { key: 'k', hintFor: undefined }),
      envelope(20, Object.assign([], { key: 'k', hintFor: undefined })),
      envelope(20, Object.assign(new Uint8Array(0), { key: 'k', hintFor: undefined })),
      envelope(20, Object.assign(Object.create(null) as object, { key: 'k', hintFor: undefined })),
      envelope(20, Object.setPrototypeOf({ key: 'k', hintFor: undefined }, Array.prototype)),
      [{ key: 1 }, Object.assign([], { key: 1 }), Object.setPrototypeOf([], Object.prototype), { key: 2 }],
      Object.setPrototypeOf([1, 2], Object.prototype),
      Object.setPrototypeOf(new Uint8Array([1, 2]), Object.prototype),
      [, 1, , 2], // eslint-disable-line no-sparse-arrays -- holes become undefined
      [Buffer.from([1, 2, 3]), new Uint8Array([4]), new Uint8Array(new ArrayBuffer(8), 2, 3), { bytes: new Uint8Array([5]) }],
      envelope(20, []),
      envelope(21, { obj: new Uint8Array([1]) }),
      envelope(21, { obj: Object.setPrototypeOf([1], Uint8Array.prototype) }),
      envelope(21, { obj: [1] }),
      envelope(21, { obj: { 0: 1 } }),
      { v: 1, t: { nested: 1 }, rid: 1, from: 'n1', body: {} },
      { v: 1, t: -0, rid: NaN, from: 'n1', body: { key: 'k', hintFor: undefined } },
      { v: 1, t: 1e300, rid: 1, from: 'n1', body: { key: 'k' } },
      { v: 1, t: 'x', rid: 1, from: 'n1', body: { obj: undefined } },
      { t: 22, v: 1, rid: 7, from: 'n1', body: {} },
      { v: 1, t: 22, rid: 7, from: 'n1', body: {}, more: [1] },
    ];
    // The depth limit, reached through each kind of copier: every chain first shallow (teaching the
    // caches), then around the limit, where the copiers guessed for the last levels must refuse.
    const chains: ((inner: unknown) => unknown)[] = [(inner) => ({ deep: inner }), (inner) => [inner], (inner) => ({ deep: [inner] })];
    const leaves: (() => unknown)[] = [() => 1, () => new Uint8Array([7]), () => ({ leaf: new Uint8Array([7]) }), () => [new Uint8Array([7])], () => ({ deep: 1 }), () => [1]];
    for (const wrap of chains) {
      for (const leaf of leaves) {
        for (const depth of [1, 2, 60, 61, 62, 63, 64, 65, 66]) {
          let value = leaf();
          for (let i = 0; i < depth; i++) value = wrap(value);
          cases.push(value);
        }
      }
    }
    // In order, reversed and in order again: each case once after cold guesses, then after another case's guesses.
    for (const value of [...cases, ...[...cases].reverse(), ...cases]) expectSameAsReference(value);
  });

  test('past the bound on shapes, new shapes still copy exactly (the generic way)', () => {
    // Shows the cache's bound: ever-new key sets cost bounded memory and never a wrong copy.
    const fresh = wire;
    const envelope = { v: 1, t: 22, rid: 7, from: 'n1', body: { key: 'k', obj: new Uint8Array([1]), hintFor: undefined, reason: 'write' } };
    expect(describeValue(fresh.copyWireData(envelope))).toEqual(describeValue(referenceCopy(envelope, 0)));
    for (let i = 0; i < 3000; i++) {
      const value = { [`k${i}`]: i, shared: { [`m${i % 7}`]: [i] }, v: 1 };
      expect(describeValue(fresh.copyWireData(value))).toEqual(describeValue(referenceCopy(value, 0)));
    }
    // A shape cached before the bound was reached keeps its copier; one first seen after it takes the generic path.
    expect(describeValue(fresh.copyWireData(envelope))).toEqual(describeValue(referenceCopy(envelope, 0)));
    const late = { v: 1, t: 22, rid: 7, from: 'n1', body: { late: 1, key: 'k' } };
    expect(describeValue(fresh.copyWireData(late))).toEqual(describeValue(referenceCopy(late, 0)));
    expect(() => fresh.copyWireData({ members: new Map() })).toThrow(/body\.members is a Map/);
  });
});
