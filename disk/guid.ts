/**
 * GUIDs as GPT stores them and U-Boot prints them (`uuid_bin_to_str(..., UUID_STR_FORMAT_GUID)`,
 * `%pUl`): the first three fields little-endian, the last two as stored, lower-case hex.
 *
 * @example
 * ```ts
 * import { formatGuid } from "./guid.ts";
 * const esp = Uint8Array.from([0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b]);
 * console.log(formatGuid(esp)); // "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
 * ```
 *
 * @module
 */

/** Bytes in a GUID. */
export const GUID_BYTES = 16;

/** Byte order of the printed GUID: indexes into the stored bytes, `-` between the groups. */
const _GUID_ORDER: readonly (readonly number[])[] = [
  [3, 2, 1, 0],
  [5, 4],
  [7, 6],
  [8, 9],
  [10, 11, 12, 13, 14, 15],
];

/** The GUID stored at `bytes[offset .. offset+16)` in U-Boot's textual form. */
export function formatGuid(bytes: Uint8Array, offset = 0): string {
  return _GUID_ORDER.map((group) =>
    group.map((i) => (bytes[offset + i] ?? 0).toString(16).padStart(2, "0")).join("")
  ).join("-");
}

/** True when the 16 bytes at `offset` are all zero (an unused GPT entry's type). */
export function isZeroGuid(bytes: Uint8Array, offset = 0): boolean {
  for (let i = 0; i < GUID_BYTES; i++) if ((bytes[offset + i] ?? 0) !== 0) return false;
  return true;
}

/** True when the GUIDs at `a[offsetA..]` and `b[offsetB..]` are the same bytes. */
export function sameGuid(a: Uint8Array, offsetA: number, b: Uint8Array, offsetB = 0): boolean {
  for (let i = 0; i < GUID_BYTES; i++) if (a[offsetA + i] !== b[offsetB + i]) return false;
  return true;
}
