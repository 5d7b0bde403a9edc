/**
 * The CRC-32 of zlib (and of U-Boot's lib/crc32.c): reflected polynomial 0xEDB88320, initial value
 * and final XOR 0xFFFFFFFF, computed table-driven with the "slicing-by-8" method so that `crc32` on
 * tens of MiB of guest memory takes milliseconds, not seconds (see crc32_bench.ts).
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * const text = new TextEncoder().encode("123456789");
 * console.log(crc32(text).toString(16)); // "cbf43926"
 * ```
 *
 * @module
 */

/** The reflected CRC-32 polynomial (IEEE 802.3, zlib). */
export const CRC32_POLYNOMIAL = 0xedb88320;

/** Bytes consumed per step of the inner loop: the number of lookup tables (slicing-by-8). */
const SLICE_BYTES = 8;
const TABLE_ENTRIES = 256;

/** `SLICE_BYTES` tables of 256 entries: table k gives the CRC of a byte followed by k zero bytes. */
const TABLES: Uint32Array = _makeTables();

function _makeTables(): Uint32Array {
  const tables = new Uint32Array(SLICE_BYTES * TABLE_ENTRIES);
  for (let n = 0; n < TABLE_ENTRIES; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ CRC32_POLYNOMIAL : c >>> 1;
    tables[n] = c;
  }
  for (let k = 1; k < SLICE_BYTES; k++) {
    for (let n = 0; n < TABLE_ENTRIES; n++) {
      const previous = tables[(k - 1) * TABLE_ENTRIES + n]!;
      tables[k * TABLE_ENTRIES + n] = (previous >>> 8) ^ tables[previous & 0xff]!;
    }
  }
  return tables;
}

/**
 * zlib's `crc32(crc, data, len)`: continues the CRC-32 `crc` (0 to start) over `data` and returns the
 * new value as an unsigned 32-bit number. Feeding a buffer in pieces gives the same result as whole.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * const data = new Uint8Array([1, 2, 3, 4]);
 * const whole = crc32(data);
 * const pieces = crc32(data.subarray(2), crc32(data.subarray(0, 2)));
 * console.log(whole === pieces); // true
 * ```
 */
export function crc32(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const length = data.length;
  const bulkEnd = length - (length % SLICE_BYTES);
  for (; i < bulkEnd; i += SLICE_BYTES) {
    const lo = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = t[7 * TABLE_ENTRIES + (lo & 0xff)]! ^
      t[6 * TABLE_ENTRIES + ((lo >>> 8) & 0xff)]! ^
      t[5 * TABLE_ENTRIES + ((lo >>> 16) & 0xff)]! ^
      t[4 * TABLE_ENTRIES + (lo >>> 24)]! ^
      t[3 * TABLE_ENTRIES + data[i + 4]!]! ^
      t[2 * TABLE_ENTRIES + data[i + 5]!]! ^
      t[TABLE_ENTRIES + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < length; i++) c = (c >>> 8) ^ t[(c ^ data[i]!) & 0xff]!;
  return ~c >>> 0;
}
