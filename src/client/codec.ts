/**
 * Value codecs: how the SDK turns a caller's values into the bytes ringkv stores and back. The
 * store only ever sees bytes; the codec is a client-side choice, so every client that reads a key
 * must use the codec it was written with.
 */
import { ErrorCode } from '../errors.js';
import { makeError } from './error-mapping.js';

/** Turns values of type `T` into stored bytes and back. `decode(encode(v))` must equal `v`. */
export interface ValueCodec<T> {
  /** Short name, used in error messages ("json", "string", "bytes"). */
  readonly name: string;
  /** Encodes a value for a put. Throws when the value cannot be encoded. */
  encode(value: T): Uint8Array;
  /** Decodes stored bytes read by a get. Throws when the bytes are not in this codec's format. */
  decode(bytes: Uint8Array): T;
}

/** Stores `Uint8Array` values unchanged: the default codec, and the one with no surprises. */
export const bytesCodec: ValueCodec<Uint8Array> = {
  name: 'bytes',
  encode: (value) => value,
  decode: (bytes) => bytes,
};

const utf8Encoder = new TextEncoder();
// fatal: bytes that are not UTF-8 are an error the caller should see, not U+FFFD in their data.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Stores strings as UTF-8. Reading bytes that are not valid UTF-8 fails instead of guessing. */
export const stringCodec: ValueCodec<string> = {
  name: 'string',
  encode: (value) => utf8Encoder.encode(value),
  decode: (bytes) => utf8Decoder.decode(bytes),
};

/**
 * Stores values as JSON text in UTF-8. Anything `JSON.stringify` cannot represent (undefined,
 * functions, BigInt, cycles) fails to encode; `T` is trusted on decode, not checked.
 */
export function jsonCodec<T = unknown>(): ValueCodec<T> {
  return {
    name: 'json',
    encode: (value) => {
      const text: string | undefined = JSON.stringify(value);
      if (text === undefined) {
        throw makeError(ErrorCode.INVALID_ARGUMENT, `the json codec cannot encode a value of type ${typeof value}`);
      }
      return utf8Encoder.encode(text);
    },
    decode: (bytes) => JSON.parse(utf8Decoder.decode(bytes)) as T,
  };
}
