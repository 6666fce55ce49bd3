/**
 * The few CBOR items stored objects and contexts are made of (codec.ts): definite-length arrays,
 * integers, float64, text and byte strings, null. Written and read by hand because the object
 * codec runs several times per request on every node (a replica decodes, merges and re-encodes;
 * the coordinator decodes every answer), and cbor-x's general encoder and decoder spent most of
 * their time on what these shapes never need (maps, tags, records, string caches).
 *
 * The writer produces exactly the bytes cbor-x produces for the same values with the options the
 * codec used (`useRecords: false`, `tagUint8Array: false`): the format on disk and on the wire is
 * unchanged. The reader accepts only the canonical forms the writer makes (plus 64-bit integers,
 * which other encoders use); on anything else it reports `undefined` and the caller decodes with
 * cbor-x, so unusual but valid input decodes exactly as before and errors keep their messages.
 */

/** ASCII texts up to this length are looked up in the table of recent ones. */
const SHORT_TEXT_MAX_CHARS = 32;
/**
 * Slots of that table (a power of two), in pairs: a text may sit in either slot of its pair, the
 * most recent in the first. The texts are actor and node ids, and a node's working set of actors
 * (a few per node that wrote its hot keys) runs to the hundreds: with 256 single slots, 83 ids
 * already missed 12% of lookups on collisions, each miss building a string. 1 024 strings of at
 * most SHORT_TEXT_MAX_CHARS characters hold under 100 KiB.
 */
const SHORT_TEXTS = 1024;
const shortTexts = new Array<string | undefined>(SHORT_TEXTS).fill(undefined);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const float64 = new Float64Array(1);
const float64Bytes = new Uint8Array(float64.buffer);

/** Bytes of the UTF-8 (WTF-8 for lone surrogates, as cbor-x writes them) encoding of `s`. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // four bytes for two code units
      i++;
    } else n += 2;
  }
  return n;
}

/** Bytes of the head of an item whose argument is `n` (a length or an unsigned integer below 2^32). */
export function headLength(n: number): number {
  return n < 0x18 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Bytes cbor-x writes for the number `v`. */
export function numberLength(v: number): number {
  if (v >>> 0 === v) return headLength(v);
  if (v >> 0 === v) return headLength(-1 - v);
  if (v < 0 && v >= -0x100000000 && Math.floor(v) === v) return 5;
  return 9;
}

/** Outputs up to this size share slabs; larger ones get a buffer of their own. */
const SLAB_SHARE_MAX_BYTES = 4096;
const SLAB_BYTES = 64 * 1024;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A plain Uint8Array of `size` bytes for an encoding. Small ones are views into a shared slab, as
 * cbor-x's encoder returned them: allocating an ArrayBuffer per encoding cost more than encoding a
 * small object. Views never overlap, so each stays valid; a slab is freed when no view is left.
 */
export function allocateBytes(size: number): Uint8Array {
  if (size > SLAB_SHARE_MAX_BYTES) return new Uint8Array(size);
  if (slabUsed + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, size);
  slabUsed += size;
  return out;
}

/** Whether `text` is the `length` ASCII bytes of `src` from `p`. */
export function sameAscii(text: string, src: Uint8Array, p: number, length: number): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (text.charCodeAt(i) !== src[p + i]) return false;
  return true;
}

/** A writer into a buffer sized in advance (the caller adds up the lengths above). */
export class CborWriter {
  pos = 0;
  constructor(readonly out: Uint8Array) {}

  head(major: number, n: number): void {
    const out = this.out;
    const m = major << 5;
    if (n < 0x18) out[this.pos++] = m | n;
    else if (n < 0x100) {
      out[this.pos++] = m | 0x18;
      out[this.pos++] = n;
    } else if (n < 0x10000) {
      out[this.pos++] = m | 0x19;
      out[this.pos++] = n >> 8;
      out[this.pos++] = n & 0xff;
    } else {
      out[this.pos++] = m | 0x1a;
      out[this.pos++] = n >>> 24;
      out[this.pos++] = (n >> 16) & 0xff;
      out[this.pos++] = (n >> 8) & 0xff;
      out[this.pos++] = n & 0xff;
    }
  }

  arrayHead(length: number): void {
    this.head(4, length);
  }

  /** As cbor-x: unsigned and negative 32-bit integers compactly, everything else as float64. */
  number(v: number): void {
    if (v >>> 0 === v) this.head(0, v);
    else if (v >> 0 === v) this.head(1, -1 - v);
    else if (v < 0 && v >= -0x100000000 && Math.floor(v) === v) this.head(1, -1 - v);
    else this.float64(v);
  }

  float64(v: number): void {
    const out = this.out;
    float64[0] = v;
    out[this.pos++] = 0xfb;
    if (LITTLE_ENDIAN) for (let k = 7; k >= 0; k--) out[this.pos++] = float64Bytes[k]!;
    else for (let k = 0; k < 8; k++) out[this.pos++] = float64Bytes[k]!;
  }

  null(): void {
    this.out[this.pos++] = 0xf6;
  }

  /** A text string whose UTF-8 length the caller computed with utf8Length. */
  text(s: string, byteLength: number): void {
    this.head(3, byteLength);
    const out = this.out;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) out[p++] = c;
      else if (c < 0x800) {
        out[p++] = (c >> 6) | 0xc0;
        out[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(i + 1) & 0x03ff);
        i++;
        out[p++] = (c >> 18) | 0xf0;
        out[p++] = ((c >> 12) & 0x3f) | 0x80;
        out[p++] = ((c >> 6) & 0x3f) | 0x80;
        out[p++] = (c & 0x3f) | 0x80;
      } else {
        out[p++] = (c >> 12) | 0xe0;
        out[p++] = ((c >> 6) & 0x3f) | 0x80;
        out[p++] = (c & 0x3f) | 0x80;
      }
    }
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    this.head(2, b.byteLength);
    this.out.set(b, this.pos);
    this.pos += b.byteLength;
  }
}

/**
 * A reader of the same subset. Every method returns `undefined` (or -1 for heads) when the next
 * item is not of the expected canonical kind; the caller then gives up on the fast path.
 */
export class CborReader {
  pos = 0;
  constructor(readonly src: Uint8Array) {}

  get atEnd(): boolean {
    return this.pos === this.src.length;
  }

  /** The argument of a head of major type `major` (below 2^32), or -1. */
  head(major: number): number {
    const src = this.src;
    if (this.pos >= src.length) return -1;
    const b = src[this.pos]!;
    if (b >> 5 !== major) return -1;
    const info = b & 0x1f;
    if (info < 0x18) {
      this.pos++;
      return info;
    }
    const p = this.pos + 1;
    if (info === 0x18 && p < src.length) {
      this.pos = p + 1;
      return src[p]!;
    }
    if (info === 0x19 && p + 1 < src.length) {
      this.pos = p + 2;
      return (src[p]! << 8) | src[p + 1]!;
    }
    if (info === 0x1a && p + 3 < src.length) {
      this.pos = p + 4;
      return ((src[p]! << 24) >>> 0) + ((src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!);
    }
    return -1;
  }

  arrayHead(): number {
    return this.head(4);
  }

  isNull(): boolean {
    if (this.src[this.pos] !== 0xf6) return false;
    this.pos++;
    return true;
  }

  /** An integer (32-bit either sign, or unsigned 64-bit as cbor-x's int64AsNumber reads it) or a float64. */
  number(): number | undefined {
    const src = this.src;
    if (this.pos >= src.length) return undefined;
    const b = src[this.pos]!;
    if (b === 0xfb) {
      const p = this.pos + 1;
      if (p + 8 > src.length) return undefined;
      if (LITTLE_ENDIAN) for (let k = 0; k < 8; k++) float64Bytes[7 - k] = src[p + k]!;
      else for (let k = 0; k < 8; k++) float64Bytes[k] = src[p + k]!;
      this.pos = p + 8;
      return float64[0];
    }
    if (b === 0x1b) {
      const p = this.pos + 1;
      if (p + 8 > src.length) return undefined;
      const hi = ((src[p]! << 24) >>> 0) + ((src[p + 1]! << 16) | (src[p + 2]! << 8) | src[p + 3]!);
      const lo = ((src[p + 4]! << 24) >>> 0) + ((src[p + 5]! << 16) | (src[p + 6]! << 8) | src[p + 7]!);
      this.pos = p + 8;
      return hi * 0x100000000 + lo;
    }
    const major = b >> 5;
    if (major === 0) {
      const n = this.head(0);
      return n < 0 ? undefined : n;
    }
    if (major === 1) {
      const n = this.head(1);
      return n < 0 ? undefined : -1 - n;
    }
    return undefined;
  }

  /** A text string of ASCII characters only (node ids); anything else is left to cbor-x. */
  asciiText(): string | undefined {
    const start = this.pos;
    const length = this.head(3);
    if (length < 0) return undefined;
    const src = this.src;
    const p = this.pos;
    if (p + length > src.length) {
      this.pos = start;
      return undefined;
    }
    let hash = length;
    for (let i = p; i < p + length; i++) {
      const c = src[i]!;
      if (c >= 0x80) {
        this.pos = start;
        return undefined;
      }
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    this.pos = p + length;
    if (length > SHORT_TEXT_MAX_CHARS) return String.fromCharCode.apply(null, src.subarray(p, p + length) as unknown as number[]);
    // Short ids repeat in every clock and sibling: a direct-mapped table of recent ones saves
    // building the same string again (and the garbage).
    const slot = (hash ^ (hash >>> 16)) & (SHORT_TEXTS - 2);
    const first = shortTexts[slot];
    if (first !== undefined && sameAscii(first, src, p, length)) return first;
    const second = shortTexts[slot + 1];
    if (second !== undefined && sameAscii(second, src, p, length)) {
      shortTexts[slot + 1] = first;
      shortTexts[slot] = second;
      return second;
    }
    const text = String.fromCharCode.apply(null, src.subarray(p, p + length) as unknown as number[]);
    shortTexts[slot + 1] = first;
    shortTexts[slot] = text;
    return text;
  }

  /** A byte string, as a view into the source. */
  bytes(): Uint8Array | undefined {
    const length = this.head(2);
    if (length < 0) return undefined;
    const p = this.pos;
    if (p + length > this.src.length) return undefined;
    this.pos = p + length;
    // The constructor rather than subarray(): subarray looks up the species constructor and cost
    // about twice as much per value.
    return new Uint8Array(this.src.buffer, this.src.byteOffset + p, length);
  }
}
