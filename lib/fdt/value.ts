/**
 * Encoding and decoding of property values: NUL-terminated strings and string lists, big-endian 32-bit
 * cells, 64-bit numbers and `reg`-style (address, size) lists.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes in one cell. */
const CELL = 4;
/** Largest cell count one number of a `reg` entry may span (64 bits). */
const MAX_NUMBER_CELLS = 2;

/**
 * A string value: UTF-8 and a terminating NUL.
 *
 * @example
 * ```ts
 * import { fdtString } from "./value.ts";
 * console.log(fdtString("hvc").length); // 4
 * ```
 */
export function fdtString(text: string): Uint8Array {
  return fdtStringList([text]);
}

/**
 * A string list value: each string NUL-terminated, one after the other (`compatible = "a", "b"`).
 *
 * @example
 * ```ts
 * import { fdtStringList } from "./value.ts";
 * console.log(fdtStringList(["xen,xen", "x"]).length); // 10
 * ```
 */
export function fdtStringList(list: readonly string[]): Uint8Array {
  const parts = list.map((text) => encoder.encode(text));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length + 1, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length + 1;
  }
  return out;
}

/**
 * Big-endian 32-bit cells (`<1 2 3>`); each number is taken modulo 2^32.
 *
 * @example
 * ```ts
 * import { fdtU32 } from "./value.ts";
 * console.log(fdtU32(0xfde8)); // Uint8Array [0, 0, 253, 232]
 * ```
 */
export function fdtU32(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * CELL);
  const view = new DataView(out.buffer);
  cells.forEach((cell, i) => view.setUint32(i * CELL, cell >>> 0, false));
  return out;
}

/**
 * Big-endian 64-bit numbers (two cells each).
 *
 * @example
 * ```ts
 * import { fdtU64 } from "./value.ts";
 * console.log(fdtU64(0x200000000n).length); // 8
 * ```
 */
export function fdtU64(...values: Array<bigint | number>): Uint8Array {
  const out = new Uint8Array(values.length * 2 * CELL);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setBigUint64(i * 2 * CELL, BigInt.asUintN(64, BigInt(value)), false));
  return out;
}

/**
 * The value as big-endian 32-bit cells, or undefined when its length is not a multiple of 4.
 *
 * @example
 * ```ts
 * import { fdtU32, readFdtU32Cells } from "./value.ts";
 * console.log(readFdtU32Cells(fdtU32(1, 2))); // [1, 2]
 * ```
 */
export function readFdtU32Cells(value: Uint8Array): number[] | undefined {
  if (value.length % CELL !== 0) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const cells: number[] = [];
  for (let at = 0; at < value.length; at += CELL) cells.push(view.getUint32(at, false));
  return cells;
}

/**
 * The value as a string list, or undefined when it is empty or its last string is not NUL-terminated.
 *
 * @example
 * ```ts
 * import { fdtStringList, readFdtStringList } from "./value.ts";
 * console.log(readFdtStringList(fdtStringList(["a", "b"]))); // ["a", "b"]
 * ```
 */
export function readFdtStringList(value: Uint8Array): string[] | undefined {
  if (value.length === 0 || value[value.length - 1] !== 0) return undefined;
  return decoder.decode(value.subarray(0, value.length - 1)).split("\0");
}

/** One (address, size) pair of a `reg` property. */
export interface FdtRegion {
  /** Start address. */
  readonly address: bigint;
  /** Size in bytes. */
  readonly size: bigint;
}

function checkCells(addressCells: number, sizeCells: number): void {
  const ok = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_NUMBER_CELLS;
  if (!ok(addressCells) || !ok(sizeCells) || addressCells + sizeCells === 0) {
    throw new RangeError(`Cannot encode reg: ${addressCells} address and ${sizeCells} size cells`);
  }
}

function putNumber(view: DataView, at: number, cells: number, value: bigint): void {
  for (let i = cells - 1; i >= 0; i--) {
    view.setUint32(at + i * CELL, Number(value & 0xffffffffn), false);
    value >>= 32n;
  }
}

function getNumber(view: DataView, at: number, cells: number): bigint {
  let value = 0n;
  for (let i = 0; i < cells; i++) value = (value << 32n) | BigInt(view.getUint32(at + i * CELL, false));
  return value;
}

/**
 * A `reg` value for `#address-cells` / `#size-cells` of 1 or 2 (numbers are truncated to the cells).
 *
 * @example
 * ```ts
 * import { fdtRegs } from "./value.ts";
 * console.log(fdtRegs(2, 2, [{ address: 0x40000000n, size: 0x60000000n }]).length); // 16
 * ```
 */
export function fdtRegs(addressCells: number, sizeCells: number, regions: readonly FdtRegion[]): Uint8Array {
  checkCells(addressCells, sizeCells);
  const entry = (addressCells + sizeCells) * CELL;
  const out = new Uint8Array(regions.length * entry);
  const view = new DataView(out.buffer);
  regions.forEach((region, i) => {
    putNumber(view, i * entry, addressCells, region.address);
    putNumber(view, i * entry + addressCells * CELL, sizeCells, region.size);
  });
  return out;
}

/**
 * Decodes a `reg` value; undefined when its length is not a whole number of entries. Cell counts must be
 * 0 to 2 each (as `#address-cells` / `#size-cells` of memory nodes are).
 *
 * @example
 * ```ts
 * import { fdtRegs, readFdtRegs } from "./value.ts";
 * const reg = fdtRegs(2, 2, [{ address: 0x40000000n, size: 0x1000n }]);
 * console.log(readFdtRegs(reg, 2, 2)?.[0]?.size); // 4096n
 * ```
 */
export function readFdtRegs(
  value: Uint8Array,
  addressCells: number,
  sizeCells: number,
): FdtRegion[] | undefined {
  checkCells(addressCells, sizeCells);
  const entry = (addressCells + sizeCells) * CELL;
  if (value.length % entry !== 0) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const regions: FdtRegion[] = [];
  for (let at = 0; at < value.length; at += entry) {
    regions.push({
      address: getNumber(view, at, addressCells),
      size: getNumber(view, at + addressCells * CELL, sizeCells),
    });
  }
  return regions;
}
