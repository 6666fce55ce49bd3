// The merge decided on encoded objects (encoded.ts) must never answer differently from decoding
// both objects and merging them: a scan accepts exactly the canonical encodings of valid objects,
// and decideEncodedMerge says "keeps local" or "takes incoming" exactly when mergeObjects' result
// equals that side (and is silent only when it differs from both, or a dot was reused).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeContext, decodeObject, encodeContext, encodeObject } from '../../../src/core/version/codec.js';
import { contextOfScan, decideEncodedMerge, EncodedMerge, encodeContextFromObjectBytes, ObjectScan } from '../../../src/core/version/encoded.js';
import { applyWrite, compareDots, equalObjects, equalSiblings, mergeObjects, type KvObject } from '../../../src/core/version/object.js';
import { clockFromEntries } from '../../../src/core/version/vclock.js';
import { bytes, replicaPairArb as pairArb, wideObjectArb as objectArb } from './arbitraries.js';

/** replica-store.ts storageExpiry, by its definition. */
function storageExpiry(obj: KvObject): number | undefined {
  if (obj.siblings.length === 0 || obj.siblings.some((s) => s.expiresAtMs === undefined)) return undefined;
  return Math.max(0, ...obj.siblings.map((s) => s.expiresAtMs!));
}

function scanned(bytesOf: Uint8Array): ObjectScan {
  const scan = new ObjectScan();
  expect(scan.scan(bytesOf)).toBe(true);
  return scan;
}

function decodes(encoded: Uint8Array): boolean {
  try {
    decodeObject(encoded);
    return true;
  } catch {
    return false;
  }
}

/** What the slow path decides: mergeObjects, equalObjects against each side, and reused dots. */
function slowDecision(local: KvObject, incoming: KvObject): EncodedMerge {
  for (const x of local.siblings) {
    const y = incoming.siblings.find((s) => compareDots(s.dot, x.dot) === 0);
    if (y !== undefined && !equalSiblings(x, y)) return EncodedMerge.Undecided;
  }
  const merged = mergeObjects(local, incoming);
  if (equalObjects(local, merged)) return EncodedMerge.KeepsLocal;
  if (equalObjects(incoming, merged)) return EncodedMerge.TakesIncoming;
  return EncodedMerge.Undecided;
}

describe('ObjectScan', () => {
  it('reads every valid object with ASCII ids: its clock, dots, sibling byte ranges and storage expiry', () => {
    // Shows the scan describes exactly the object decodeObject builds from the same bytes.
    fc.assert(fc.property(objectArb, (obj) => {
      const encoded = encodeObject(obj);
      const scan = scanned(encoded);
      expect(scan.source).toBe(encoded);
      expect(scan.clockEntries).toBe(obj.clock.length);
      obj.clock.forEach(([id, counter, time], i) => {
        expect([scan.clockId(i), scan.clockCounters[i], scan.clockTimes[i]]).toEqual([id, counter, time]);
      });
      expect(scan.siblings).toBe(obj.siblings.length);
      obj.siblings.forEach((s, i) => {
        expect([scan.clockId(scan.dotEntries[i]!), scan.dotCounters[i]]).toEqual([s.dot[0], s.dot[1]]);
        // The range is the sibling's own encoding: alone under the same clock it encodes the same.
        const alone = encodeObject({ clock: obj.clock, siblings: [s] });
        expect(encoded.subarray(scan.siblingStarts[i], scan.siblingEnds[i])).toEqual(alone.subarray(alone.length - (scan.siblingEnds[i]! - scan.siblingStarts[i]!)));
      });
      if (obj.siblings.length > 0) expect(scan.siblingEnds[obj.siblings.length - 1]).toBe(encoded.length);
      expect(scan.storageExpiryMs).toBe(storageExpiry(obj));
      expect(decodeContext(contextOfScan(scan))).toEqual(obj.clock);
      expect(contextOfScan(scan)).toBe(encodeContext(obj.clock));
    }), { numRuns: 2000 });
  });

  it('accepts exactly the canonical encodings: other forms of the same object decode but do not scan', () => {
    // Shows a successful scan implies the bytes are encodeObject's own, so byte equality is object equality.
    fc.assert(fc.property(objectArb, fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 64 }), (obj, styles) => {
      const variant = encodeWithStyles(obj, styles);
      const decoded = decodeObject(variant);
      expect(equalObjects(decoded, obj)).toBe(true);
      const canonical = encodeObject(obj);
      const same = variant.length === canonical.length && variant.every((b, i) => b === canonical[i]);
      expect(new ObjectScan().scan(variant)).toBe(same);
    }), { numRuns: 3000 });
  });

  it('refuses what decodeObject refuses, and accepts only bytes that re-encode to themselves', () => {
    // Shows corrupt input (flipped, cut or inserted bytes) never scans as something decode would not build.
    fc.assert(fc.property(objectArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'insert')), { minLength: 1, maxLength: 3 }), (obj, edits) => {
      let b = Array.from(encodeObject(obj));
      for (const [at, byte, kind] of edits) {
        const p = at % (b.length + 1);
        if (kind === 'set' && p < b.length) b[p] = byte;
        else if (kind === 'cut') b = b.slice(0, p);
        else b.splice(p, 0, byte);
      }
      const mutated = new Uint8Array(b);
      if (!new ObjectScan().scan(mutated)) return;
      expect(encodeObject(decodeObject(mutated))).toEqual(mutated);
    }), { numRuns: 5000 });
  });

  it('accepts an encoding exactly when decodeObject does, for objects breaking any invariant', () => {
    // Shows uncovered dots, unsorted or repeated dots and bad counters are refused, as decode refuses them.
    const looseSiblingArb = fc.tuple(fc.constantFrom('a', 'b', 'c', 'n1.0.1', 'zz'), fc.constantFrom(0, 1, 2, 3, 5, 2 ** 48 + 1))
      .chain(([id, counter]) => fc.record({
        value: fc.constantFrom<Uint8Array | null>(null, bytes('x')),
        dot: fc.constant([id, counter] as const),
        writtenAtMs: fc.constantFrom(0, 1, Infinity, NaN),
        node: fc.constantFrom(id, 'a', 'b'),
        expiresAtMs: fc.constantFrom(undefined, 1),
      }));
    let valid = 0;
    fc.assert(fc.property(objectArb, fc.array(looseSiblingArb, { maxLength: 4 }), fc.boolean(), (obj, loose, sorted) => {
      const siblings = sorted ? [...loose].sort((x, y) => compareDots(x.dot, y.dot)) : loose;
      const encoded = encodeObject({ clock: obj.clock, siblings });
      const accepted = new ObjectScan().scan(encoded);
      expect(accepted).toBe(decodes(encoded));
      if (accepted) valid++;
    }), { numRuns: 3000 });
    expect(valid).toBeGreaterThan(100);
  });

  it('refuses non-ASCII node ids, which decode through cbor-x', () => {
    // Shows the scan leaves ids it cannot intern to the decoding path.
    const obj = applyWrite(undefined, undefined, 'nœud', bytes('v'), 1);
    const encoded = encodeObject(obj);
    expect(decodeObject(encoded)).toEqual(obj);
    expect(new ObjectScan().scan(encoded)).toBe(false);
  });
});

describe('encodeContextFromObjectBytes', () => {
  it('is encodeContext of the decoded clock, or undefined when the clock is not in canonical form', () => {
    // Shows the context made from an object's bytes is the very string encodeContext makes.
    fc.assert(fc.property(objectArb, fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 64 }), (obj, styles) => {
      expect(encodeContextFromObjectBytes(encodeObject(obj))).toBe(encodeContext(obj.clock));
      const variant = encodeWithStyles(obj, styles);
      const context = encodeContextFromObjectBytes(variant);
      if (context !== undefined) expect(context).toBe(encodeContext(decodeObject(variant).clock));
    }), { numRuns: 2000 });
    const foreign = applyWrite(undefined, undefined, 'nœud', bytes('v'), 1);
    expect(encodeContextFromObjectBytes(encodeObject(foreign))).toBeUndefined();
    expect(encodeContextFromObjectBytes(new Uint8Array([0x83, 0x02, 0x80, 0x80]))).toBeUndefined();
  });
});

describe('decideEncodedMerge', () => {
  it('agrees with mergeObjects, equalObjects and encodeObject on every pair', () => {
    // Shows "keeps local" means the merge equals local, "takes incoming" means its encoding is the
    // incoming bytes, and Undecided happens only when the merge differs from both or a dot was reused.
    let decided = 0;
    fc.assert(fc.property(pairArb, ([local, incoming]) => {
      const localBytes = encodeObject(local);
      const incomingBytes = encodeObject(incoming);
      // A write past the counter limit makes an object decode refuses: the scan refuses it too.
      if (!decodes(localBytes) || !decodes(incomingBytes)) {
        expect(new ObjectScan().scan(localBytes) && new ObjectScan().scan(incomingBytes)).toBe(false);
        return;
      }
      const decision = decideEncodedMerge(scanned(localBytes), scanned(incomingBytes));
      expect(decision).toBe(slowDecision(local, incoming));
      const merged = mergeObjects(local, incoming);
      if (decision === EncodedMerge.KeepsLocal) expect(equalObjects(merged, local)).toBe(true);
      if (decision === EncodedMerge.TakesIncoming) {
        expect(equalObjects(merged, local)).toBe(false);
        expect(encodeObject(merged)).toEqual(incomingBytes);
        expect(storageExpiry(merged)).toBe(scanned(incomingBytes).storageExpiryMs);
      }
      if (decision !== EncodedMerge.Undecided) decided++;
    }), { numRuns: 5000 });
    // The generator reaches the decided cases often, not just the fallback.
    expect(decided).toBeGreaterThan(1000);
  });

  it('is Undecided when two siblings share a dot but differ, whatever the tie rule would pick', () => {
    // Shows reused dots always go to the decoding path.
    const clock = clockFromEntries([['a', 1, 0]]);
    const older: KvObject = { clock, siblings: [{ value: bytes('x'), dot: ['a', 1], writtenAtMs: 1, node: 'a' }] };
    const newer: KvObject = { clock, siblings: [{ value: bytes('y'), dot: ['a', 1], writtenAtMs: 2, node: 'a' }] };
    expect(decideEncodedMerge(scanned(encodeObject(older)), scanned(encodeObject(newer)))).toBe(EncodedMerge.Undecided);
    expect(decideEncodedMerge(scanned(encodeObject(newer)), scanned(encodeObject(older)))).toBe(EncodedMerge.Undecided);
  });
});

/**
 * Encodes `obj` as encodeObject does, except that each head and number takes the form the next
 * style picks (cycling): 5 a one-byte argument in a two-byte head, 6 a head one size wider, 7 a float64 for an integer, 8 a 64-bit integer
 * head, anything else the canonical form. cbor-x and the codec's reader decode them all alike.
 */
function encodeWithStyles(obj: KvObject, styles: readonly number[]): Uint8Array {
  const out: number[] = [];
  let k = 0;
  const style = (): number => styles[k++ % styles.length]!;
  const be = (n: number, size: number): number[] => Array.from({ length: size }, (_, i) => Math.floor(n / 2 ** (8 * (size - 1 - i))) % 256);
  const canonicalHead = (m: number, n: number): void => {
    if (n < 0x18) out.push(m | n);
    else if (n < 0x100) out.push(m | 0x18, n);
    else if (n < 0x10000) out.push(m | 0x19, ...be(n, 2));
    else out.push(m | 0x1a, ...be(n, 4));
  };
  const head = (major: number, n: number, s = style()): void => {
    const m = major << 5;
    if (s === 5 && n < 0x18) out.push(m | 0x18, n);
    else if (s === 6 && n < 0x100) out.push(m | 0x19, ...be(n, 2));
    else if (s === 6 && n < 0x10000) out.push(m | 0x1a, ...be(n, 4));
    else if (s === 8 && major === 0) out.push(m | 0x1b, ...be(n, 8));
    else canonicalHead(m, n);
  };
  const float = (v: number): void => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, v);
    out.push(0xfb, ...new Uint8Array(view.buffer));
  };
  const number = (v: number): void => {
    const s = style();
    const integer = Number.isSafeInteger(v);
    if (integer && v >= 0 && v < 2 ** 32) {
      if (s === 7) float(v);
      else head(0, v, s);
    } else if (integer && v < 0 && v >= -(2 ** 32)) {
      if (s === 7) float(v);
      else head(1, -1 - v, s === 8 ? 0 : s);
    } else if (integer && v >= 0 && s === 8) head(0, v, 8);
    else float(v);
  };
  const text = (t: string): void => {
    const b = new TextEncoder().encode(t);
    head(3, b.length);
    out.push(...b);
  };
  out.push(0x83, 0x01);
  head(4, obj.clock.length);
  for (const [id, counter, time] of obj.clock) {
    out.push(0x83);
    text(id);
    number(counter);
    number(time);
  }
  head(4, obj.siblings.length);
  for (const s of obj.siblings) {
    const arity = s.node !== s.dot[0] ? 6 : s.expiresAtMs !== undefined ? 5 : 4;
    out.push(0x80 | arity);
    if (s.value === null) out.push(0xf6);
    else {
      head(2, s.value.length);
      out.push(...s.value);
    }
    text(s.dot[0]);
    number(s.dot[1]);
    number(s.writtenAtMs);
    if (arity >= 5) {
      if (s.expiresAtMs === undefined) out.push(0xf6);
      else number(s.expiresAtMs);
    }
    if (arity === 6) text(s.node);
  }
  return new Uint8Array(out);
}
