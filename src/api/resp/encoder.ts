/**
 * RESP2 reply encoding into a growable per-connection reply buffer, so that the replies to a batch
 * of pipelined commands leave in one socket write. Small replies are copied into fixed-size
 * segments (never re-copied when the buffer grows: a full segment is sealed and a new one started);
 * large bulk strings are passed through by reference (zero copy).
 */
import { assert } from '../../core/assert.js';

/** A reply value. `bulk` strings are UTF-8 encoded; `array` with `items: null` is the null array. */
export type RespValue =
  | { readonly kind: 'simple'; readonly value: string }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'integer'; readonly value: number }
  | { readonly kind: 'bulk'; readonly value: Uint8Array | string | null }
  | { readonly kind: 'array'; readonly items: readonly RespValue[] | null };

export const Resp = {
  simple: (value: string): RespValue => ({ kind: 'simple', value }),
  error: (message: string): RespValue => ({ kind: 'error', message }),
  integer: (value: number): RespValue => ({ kind: 'integer', value }),
  bulk: (value: Uint8Array | string | null): RespValue => ({ kind: 'bulk', value }),
  array: (items: readonly RespValue[] | null): RespValue => ({ kind: 'array', items }),
  OK: Object.freeze({ kind: 'simple', value: 'OK' }) as RespValue,
  NULL_BULK: Object.freeze({ kind: 'bulk', value: null }) as RespValue,
  NULL_ARRAY: Object.freeze({ kind: 'array', items: null }) as RespValue,
  EMPTY_ARRAY: Object.freeze({ kind: 'array', items: Object.freeze([]) }) as RespValue,
} as const;

export interface RespReplyBufferOptions {
  /** Size of each copy segment in bytes. Default 16 KiB: a pipeline of 16 small replies fits in one, and it is small enough to keep per idle connection. */
  readonly segmentBytes?: number | undefined;
  /** Bulk strings at least this long are referenced, not copied. Default 16 KiB: below it a copy costs less than an extra write chunk. */
  readonly zeroCopyMinBytes?: number | undefined;
}

const DEFAULT_SEGMENT_BYTES = 16 * 1024;
const DEFAULT_ZERO_COPY_MIN_BYTES = 16 * 1024;
/** Below this, take() copies out (into Node's shared pool) and keeps the segment for reuse. */
const COPY_OUT_MAX_BYTES = 4 * 1024;
/** Longest decimal integer header: '-' + 16 digits + CRLF + type byte, with room to spare. */
const MAX_NUMBER_LINE_BYTES = 24;

const CRLF = Buffer.from('\r\n', 'latin1');
const OK_BYTES = Buffer.from('+OK\r\n', 'latin1');
const NULL_BULK_BYTES = Buffer.from('$-1\r\n', 'latin1');

export class RespReplyBuffer {
  private readonly segmentBytes: number;
  private readonly zeroCopyMinBytes: number;
  private segment: Buffer;
  private position = 0;
  /** Sealed output waiting for take(), in order, before `segment[0..position)`. */
  private sealed: Buffer[] = [];
  private sealedBytes = 0;

  constructor(options: RespReplyBufferOptions = {}) {
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.zeroCopyMinBytes = options.zeroCopyMinBytes ?? DEFAULT_ZERO_COPY_MIN_BYTES;
    assert(Number.isSafeInteger(this.segmentBytes) && this.segmentBytes >= 64, 'segmentBytes is at least 64');
    assert(Number.isSafeInteger(this.zeroCopyMinBytes) && this.zeroCopyMinBytes >= 1, 'zeroCopyMinBytes is positive');
    this.segment = Buffer.allocUnsafe(this.segmentBytes);
  }

  /** Bytes written and not yet taken. */
  get lengthBytes(): number {
    return this.sealedBytes + this.position;
  }

  /** `+value\r\n`. The value must not contain CR or LF (our own status words never do). */
  simpleString(value: string): void {
    assert(!value.includes('\r') && !value.includes('\n'), 'a simple string has no CR or LF');
    this.line(0x2b, value);
  }

  /** `-message\r\n`; CR and LF in the message become spaces, as Redis does, so the reply stays one line. */
  error(message: string): void {
    this.line(0x2d, message.includes('\r') || message.includes('\n') ? message.replace(/[\r\n]/g, ' ') : message);
  }

  /** `:value\r\n`. */
  integer(value: number): void {
    this.numberLine(0x3a, value);
  }

  /** `$len\r\n<bytes>\r\n`, or `$-1\r\n` for null. */
  bulk(value: Uint8Array | string | null): void {
    if (value === null) {
      this.numberLine(0x24, -1);
      return;
    }
    if (typeof value === 'string') {
      const length = Buffer.byteLength(value, 'utf8');
      this.numberLine(0x24, length);
      this.reserve(length + 2);
      this.position += this.segment.write(value, this.position, 'utf8');
      this.segment[this.position++] = 0x0d;
      this.segment[this.position++] = 0x0a;
      return;
    }
    this.numberLine(0x24, value.length);
    if (value.length >= this.zeroCopyMinBytes) {
      this.seal();
      const view = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
      this.sealed.push(view, CRLF);
      this.sealedBytes += value.length + 2;
      return;
    }
    this.reserve(value.length + 2);
    this.segment.set(value, this.position);
    this.position += value.length;
    this.segment[this.position++] = 0x0d;
    this.segment[this.position++] = 0x0a;
  }

  /** `*count\r\n`; the caller then writes `count` values. -1 is the null array. */
  arrayHeader(count: number): void {
    assert(count >= -1, 'an array has -1 (null) or more items');
    this.numberLine(0x2a, count);
  }

  nullArray(): void {
    this.numberLine(0x2a, -1);
  }

  /** Encodes any reply value, arrays recursively. */
  value(reply: RespValue): void {
    // The commonest replies are constants: copy their bytes.
    if (reply === Resp.OK) {
      this.constant(OK_BYTES);
      return;
    }
    if (reply === Resp.NULL_BULK) {
      this.constant(NULL_BULK_BYTES);
      return;
    }
    switch (reply.kind) {
      case 'simple':
        this.simpleString(reply.value);
        return;
      case 'error':
        this.error(reply.message);
        return;
      case 'integer':
        this.integer(reply.value);
        return;
      case 'bulk':
        this.bulk(reply.value);
        return;
      case 'array':
        if (reply.items === null) {
          this.nullArray();
          return;
        }
        this.arrayHeader(reply.items.length);
        for (const item of reply.items) this.value(item);
        return;
    }
  }

  /**
   * Everything written since the last take(), as buffers to write in order; empty when nothing was
   * written. The returned buffers are owned by the caller (the buffer never writes into them again).
   */
  take(): Buffer[] {
    if (this.sealed.length === 0) {
      if (this.position === 0) return [];
      if (this.position <= COPY_OUT_MAX_BYTES) {
        // Small: copy out (allocUnsafe serves this from Node's pool) and keep the segment.
        const out = Buffer.allocUnsafe(this.position);
        this.segment.copy(out, 0, 0, this.position);
        this.position = 0;
        return [out];
      }
    }
    this.seal();
    const out = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
    return out;
  }

  /** Moves the written part of the current segment to `sealed` and starts a fresh segment. */
  private seal(): void {
    if (this.position === 0) return;
    this.sealed.push(this.segment.subarray(0, this.position));
    this.sealedBytes += this.position;
    this.segment = Buffer.allocUnsafe(this.segmentBytes);
    this.position = 0;
  }

  private constant(bytes: Buffer): void {
    this.reserve(bytes.length);
    // A few bytes: a loop beats a native copy call.
    for (let i = 0; i < bytes.length; i += 1) this.segment[this.position++] = bytes[i] as number;
  }

  /** Makes room for `bytes` contiguous bytes in the current segment. */
  private reserve(bytes: number): void {
    if (this.segment.length - this.position >= bytes) return;
    this.seal();
    if (bytes > this.segment.length) this.segment = Buffer.allocUnsafe(bytes);
  }

  private line(type: number, text: string): void {
    const length = Buffer.byteLength(text, 'utf8');
    this.reserve(length + 3);
    this.segment[this.position++] = type;
    this.position += this.segment.write(text, this.position, 'utf8');
    this.segment[this.position++] = 0x0d;
    this.segment[this.position++] = 0x0a;
  }

  /** Writes `<type><decimal>\r\n` without building a string. */
  private numberLine(type: number, value: number): void {
    assert(Number.isSafeInteger(value), 'RESP integers are safe integers');
    this.reserve(MAX_NUMBER_LINE_BYTES);
    const segment = this.segment;
    let position = this.position;
    segment[position++] = type;
    let magnitude = value;
    if (value < 0) {
      segment[position++] = 0x2d;
      magnitude = -value;
    }
    if (magnitude < 10) {
      segment[position++] = 0x30 + magnitude;
    } else {
      let digits = 0;
      for (let rest = magnitude; rest > 0; rest = Math.floor(rest / 10)) digits += 1;
      let at = position + digits - 1;
      for (let rest = magnitude; rest > 0; rest = Math.floor(rest / 10)) segment[at--] = 0x30 + (rest % 10);
      position += digits;
    }
    segment[position++] = 0x0d;
    segment[position++] = 0x0a;
    this.position = position;
  }
}

/** Encodes one reply into a single Buffer (tests, and replies built outside a connection). */
export function encodeReply(reply: RespValue): Buffer {
  const buffer = new RespReplyBuffer();
  buffer.value(reply);
  const parts = buffer.take();
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** Encodes a command as a multibulk request (what clients send); used by tests and tools. */
export function encodeCommand(argv: readonly (Uint8Array | string)[]): Buffer {
  const buffer = new RespReplyBuffer();
  buffer.arrayHeader(argv.length);
  for (const argument of argv) buffer.bulk(argument);
  const parts = buffer.take();
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}
