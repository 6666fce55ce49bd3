/**
 * The peer frame codec: one Envelope (src/core/wire.ts) is one binary WebSocket frame, encoded
 * with cbor-x. Decoding validates everything a peer controls: the size, the CBOR itself and the
 * envelope's shape. Sans-IO: the transport hands frames in and out.
 *
 * Choices, measured on a 340-byte ReplicaPut with a 200-byte value (Node 20, the shared 2-core dev
 * machine while lightly loaded; test/transport/bench.ts repeats the measurement):
 * - `useRecords: false`: plain CBOR maps any decoder reads; here also faster than cbor-x records
 *   (~2.0 µs vs ~3-4 µs to encode, ~2.2 µs vs ~3 µs to decode), because a record definition would
 *   be repeated in every frame anyway (frames are decoded independently).
 * - `tagUint8Array: false`: a Uint8Array is a plain CBOR byte string (major type 2), the form every
 *   decoder understands, one byte shorter than tag 64.
 * - Decoding from a plain Uint8Array view (never a Buffer) makes byte strings come back as plain
 *   Uint8Array views into the frame: no copy per value.
 */
import { Decoder, Encoder } from 'cbor-x';
import { assert } from '../core/assert.js';
import { envelopeProblem, type Envelope } from '../core/wire.js';
import { FrameTooLargeError, MalformedFrameError } from '../errors.js';

/** Largest frame either side accepts: a 16 MiB value plus its siblings, with room to spare. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export interface FrameCodecOptions {
  /**
   * Largest encoded frame, in bytes, either way. Default 64 MiB: the largest value is 16 MiB and a
   * replica reply can carry several siblings of it; a bound far above that only lets a broken or
   * hostile peer make us buffer more.
   */
  readonly maxFrameBytes?: number | undefined;
  /**
   * Copy a received frame first when it is a view into a larger buffer (ws hands out views into
   * the socket's read chunk, up to 64 KiB, and Buffer.allocUnsafe uses an 8 KiB pool). Decoded
   * Uint8Array values are zero-copy views into the frame, so without the copy a 200-byte value
   * kept by a memory store would pin the whole chunk. Default true: one memcpy of the frame
   * (~0.5 µs for 350 bytes) against up to 300x memory amplification.
   */
  readonly copySharedFrames?: boolean | undefined;
}

const CBOR_OPTIONS = { useRecords: false, tagUint8Array: false, mapsAsObjects: true } as const;

export class FrameCodec {
  readonly maxFrameBytes: number;
  private readonly copySharedFrames: boolean;
  // One encoder reused for every frame: it writes into a growing scratch buffer and returns
  // non-overlapping views of it, so earlier frames stay valid while later ones are encoded.
  private readonly encoder = new Encoder(CBOR_OPTIONS);
  private readonly decoder = new Decoder(CBOR_OPTIONS);

  constructor(options: FrameCodecOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.copySharedFrames = options.copySharedFrames ?? true;
    assert(Number.isSafeInteger(this.maxFrameBytes), 'maxFrameBytes is an integer');
    assert(this.maxFrameBytes > 0, 'maxFrameBytes is positive');
  }

  /**
   * Encodes `envelope` into one frame. The envelope must be well formed (a programmer error
   * otherwise); a frame over `maxFrameBytes` throws FrameTooLargeError, since no peer would accept it.
   */
  encode(envelope: Envelope): Uint8Array {
    assert(envelopeProblem(envelope) === undefined, `encoding a malformed envelope: ${envelopeProblem(envelope)}`);
    const frame: Uint8Array = this.encoder.encode(envelope);
    assert(frame.byteLength > 0, 'an encoded envelope is never empty');
    if (frame.byteLength > this.maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, this.maxFrameBytes);
    return frame;
  }

  /**
   * Decodes one received frame. Throws FrameTooLargeError over `maxFrameBytes`, MalformedFrameError
   * for bytes that are not exactly one CBOR item or not an envelope. Whatever the peer sent, the
   * result passes `envelopeProblem`; its message type may still be unknown (the caller checks).
   */
  decode(frame: Uint8Array): Envelope {
    if (frame.byteLength > this.maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, this.maxFrameBytes);
    if (frame.byteLength === 0) throw new MalformedFrameError('empty frame');
    // A plain Uint8Array (not a Buffer) makes cbor-x return byte strings as plain Uint8Arrays.
    const view = new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
    const shared = frame.buffer.byteLength !== frame.byteLength;
    const source = this.copySharedFrames && shared ? view.slice() : view;
    assert(source.byteLength === frame.byteLength, 'decoding the whole frame');
    let value: unknown;
    try {
      // cbor-x rejects trailing bytes after the first item ("end of buffer not reached").
      value = this.decoder.decode(source);
    } catch (e) {
      throw new MalformedFrameError(`not CBOR (${e instanceof Error ? e.message : String(e)})`, e);
    }
    const problem = envelopeProblem(value);
    if (problem !== undefined) throw new MalformedFrameError(`not an envelope: ${problem}`);
    return value as Envelope;
  }
}
