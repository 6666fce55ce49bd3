/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial). Node's zlib.crc32 (native, since 20.15) when it
 * exists; otherwise a table-driven fallback with the same results.
 */
import * as zlib from 'node:zlib';

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Table-driven CRC-32 over `data`, continuing from `previous` (0 to start). */
export function crc32Table(data: Uint8Array, previous = 0): number {
  let c = (previous ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return (c ^ 0xffffffff) >>> 0;
}

const nativeCrc32: ((data: Uint8Array, value?: number) => number) | undefined =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC-32 of `data`, as an unsigned 32-bit integer. */
export function crc32(data: Uint8Array, previous = 0): number {
  return nativeCrc32 === undefined ? crc32Table(data, previous) : nativeCrc32(data, previous) >>> 0;
}
