/**
 * A sequential flattened-device-tree writer for the platform side, producing the bytes libfdt's
 * sequential-write functions (`fdt_create`, `fdt_add_reservemap_entry`, `fdt_finish_reservemap`,
 * `fdt_begin_node`, `fdt_property`, `fdt_end_node`, `fdt_finish`) produce, as the toolstack (libxl) uses
 * them. `machine/` does not import guest code, so this is its own small writer.
 *
 * What the bytes look like (libfdt 1.6.1, the version Debian's Xen 4.17 toolstack links):
 * - the memory reservation map starts at 0x30 (the 40-byte header rounded up to a 16-byte entry);
 * - the structure block follows the map's terminating entry, the strings block follows the structure;
 * - property names are stored once: a name that is the tail of a stored name reuses it, and each new
 *   name is put *before* the earlier ones (the strings grow downwards while writing), so the strings
 *   block lists names in reverse order of first use;
 * - `totalsize` is the end of the strings block; `version` 17, `last_comp_version` 16.
 *
 * The functions after the class edit a finished blob in place the way the toolstack finalises its
 * placeholders (`fdt_setprop_inplace`, `fdt_setprop` with a shorter value, `fdt_nop_node`).
 *
 * @module
 */

/** `fdt_header.magic` of a finished blob. */
export const FDT_MAGIC = 0xd00dfeed;
/** Structure token: start of a node. */
export const FDT_BEGIN_NODE = 0x1;
/** Structure token: end of a node. */
export const FDT_END_NODE = 0x2;
/** Structure token: a property. */
export const FDT_PROP = 0x3;
/** Structure token: nothing. */
export const FDT_NOP = 0x4;
/** Structure token: end of the structure block. */
export const FDT_END = 0x9;

/** Byte offsets of the header fields (big-endian u32 each). */
export const FDT_HEADER = {
  magic: 0,
  totalsize: 4,
  off_dt_struct: 8,
  off_dt_strings: 12,
  off_mem_rsvmap: 16,
  version: 20,
  last_comp_version: 24,
  boot_cpuid_phys: 28,
  size_dt_strings: 32,
  size_dt_struct: 36,
} as const;
/** Size of a version 17 header. */
const HEADER_SIZE = 40;
/** Size of a memory reservation entry (address u64, size u64). */
const RESERVE_ENTRY_SIZE = 16;
/** Where `fdt_create` puts the reservation map: the header rounded up to a reservation entry. */
const MEM_RSVMAP_OFFSET = Math.ceil(HEADER_SIZE / RESERVE_ENTRY_SIZE) * RESERVE_ENTRY_SIZE;
/** Structure token size and alignment. */
const TAG_SIZE = 4;
/** A property record before its value: tag, len, nameoff. */
const PROP_HEADER_SIZE = 12;
/** Offset of `len` in a property record. */
const PROP_LEN = 4;
/** Offset of `nameoff` in a property record. */
const PROP_NAMEOFF = 8;
/** Offset of `size` in a reservation entry. */
const RESERVE_ENTRY_SIZE_FIELD = 8;
/** Blob version written. */
const VERSION = 17;
/** `last_comp_version` written by `fdt_finish` (libfdt 1.6.1). */
const LAST_COMP_VERSION = 16;

const encoder = new TextEncoder();

function tagAlign(n: number): number {
  return Math.ceil(n / TAG_SIZE) * TAG_SIZE;
}

/** Offset of `s` + NUL at any position of `table` (a tail of a longer name matches), or -1. */
function findString(table: Uint8Array, s: Uint8Array): number {
  const last = table.length - s.length - 1;
  for (let p = 0; p <= last; p++) {
    let i = 0;
    while (i < s.length && table[p + i] === s[i]) i++;
    if (i === s.length && table[p + i] === 0) return p;
  }
  return -1;
}

/** A byte buffer that grows. */
class ByteSink {
  #bytes = new Uint8Array(1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  get bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /** Appends `n` zero bytes and returns where they start. */
  grab(n: number): number {
    const at = this.#length;
    if (at + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, at + n));
      grown.set(this.bytes);
      this.#bytes = grown;
    }
    this.#length += n;
    return at;
  }

  u32(value: number): void {
    const at = this.grab(4);
    new DataView(this.#bytes.buffer).setUint32(at, value >>> 0, false);
  }

  data(data: Uint8Array, padTo: number): void {
    const at = this.grab(padTo);
    this.#bytes.set(data, at);
  }
}

type WriterState = "memrsv" | "struct" | "complete";

/**
 * Writes a device tree in order, like libfdt's sequential-write functions.
 *
 * @example
 * ```ts
 * import { FdtSequentialWriter, fdtCells } from "./fdt_sw.ts";
 *
 * const w = new FdtSequentialWriter();
 * w.finishReservemap();
 * w.beginNode("");
 * w.propertyString("model", "XENVM-4.17");
 * w.property("#address-cells", fdtCells(2));
 * w.endNode();
 * const blob = w.finish();
 * console.log(blob.length); // 141
 * ```
 */
export class FdtSequentialWriter {
  #state: WriterState = "memrsv";
  #reservations: Array<{ address: bigint; size: bigint }> = [];
  #struct = new ByteSink();
  /** Names in memory order: the newest first. */
  #strings: Uint8Array = new Uint8Array(0);
  /** Properties whose `nameoff` is still relative to the end of the strings block. */
  #pending: Array<{ at: number; fromEnd: number }> = [];
  #depth = 0;

  /** `fdt_add_reservemap_entry`: only before {@linkcode FdtSequentialWriter.finishReservemap}. */
  addReservation(address: bigint, size: bigint): void {
    this.#expect("memrsv", "add reservation");
    this.#reservations.push({ address: BigInt.asUintN(64, address), size: BigInt.asUintN(64, size) });
  }

  /** `fdt_finish_reservemap`: ends the reservation map; nodes may follow. */
  finishReservemap(): void {
    this.#expect("memrsv", "finish reservation map");
    this.#state = "struct";
  }

  /** `fdt_begin_node`; returns the structure offset of the node. */
  beginNode(name: string): number {
    this.#expect("struct", "begin node");
    const encoded = encoder.encode(name);
    if (encoded.includes(0)) throw new TypeError(`Cannot begin node "${name}": the name contains NUL`);
    const at = this.#struct.length;
    this.#struct.u32(FDT_BEGIN_NODE);
    this.#struct.data(encoded, tagAlign(encoded.length + 1));
    this.#depth++;
    return at;
  }

  /** `fdt_end_node`; returns the structure offset just after the END_NODE tag. */
  endNode(): number {
    this.#expect("struct", "end node");
    if (this.#depth === 0) throw new RangeError("Cannot end node: no node is open");
    this.#struct.u32(FDT_END_NODE);
    this.#depth--;
    return this.#struct.length;
  }

  /** `fdt_property`; returns the structure offset of the property record. */
  property(name: string, value: Uint8Array): number {
    this.#expect("struct", "add property");
    if (this.#depth === 0) throw new RangeError(`Cannot add property "${name}": no node is open`);
    const fromEnd = this.#nameOffsetFromEnd(name);
    const at = this.#struct.length;
    this.#struct.u32(FDT_PROP);
    this.#struct.u32(value.length);
    this.#struct.u32(0);
    this.#struct.data(value, tagAlign(value.length));
    this.#pending.push({ at, fromEnd });
    return at;
  }

  /** `fdt_property_string`: the string and its NUL. */
  propertyString(name: string, text: string): number {
    return this.property(name, fdtStrings(text));
  }

  /** `fdt_finish`: the finished blob. Every node must be closed. */
  finish(): Uint8Array {
    this.#expect("struct", "finish");
    if (this.#depth !== 0) throw new RangeError(`Cannot finish: ${this.#depth} node(s) still open`);
    this.#struct.u32(FDT_END);
    this.#state = "complete";
    const structOff = MEM_RSVMAP_OFFSET + (this.#reservations.length + 1) * RESERVE_ENTRY_SIZE;
    const struct = this.#struct.bytes;
    const stringsOff = structOff + struct.length;
    const strings = this.#strings;
    const totalsize = stringsOff + strings.length;
    const blob = new Uint8Array(totalsize);
    const view = new DataView(blob.buffer);
    const set = (field: keyof typeof FDT_HEADER, value: number) =>
      view.setUint32(FDT_HEADER[field], value, false);
    set("magic", FDT_MAGIC);
    set("totalsize", totalsize);
    set("off_dt_struct", structOff);
    set("off_dt_strings", stringsOff);
    set("off_mem_rsvmap", MEM_RSVMAP_OFFSET);
    set("version", VERSION);
    set("last_comp_version", LAST_COMP_VERSION);
    set("size_dt_strings", strings.length);
    set("size_dt_struct", struct.length);
    this.#reservations.forEach((entry, i) => {
      const at = MEM_RSVMAP_OFFSET + i * RESERVE_ENTRY_SIZE;
      view.setBigUint64(at, entry.address, false);
      view.setBigUint64(at + RESERVE_ENTRY_SIZE_FIELD, entry.size, false);
    });
    blob.set(struct, structOff);
    blob.set(strings, stringsOff);
    for (const { at, fromEnd } of this.#pending) {
      view.setUint32(structOff + at + PROP_NAMEOFF, strings.length - fromEnd, false);
    }
    return blob;
  }

  /** Finds the name in the strings written so far or puts it in front of them; returns its distance from the end. */
  #nameOffsetFromEnd(name: string): number {
    const encoded = encoder.encode(name);
    if (encoded.includes(0)) throw new TypeError(`Cannot add property "${name}": the name contains NUL`);
    const found = findString(this.#strings, encoded);
    if (found >= 0) return this.#strings.length - found;
    const grown = new Uint8Array(encoded.length + 1 + this.#strings.length);
    grown.set(encoded);
    grown.set(this.#strings, encoded.length + 1);
    this.#strings = grown;
    return grown.length;
  }

  #expect(state: WriterState, action: string): void {
    if (this.#state !== state) {
      throw new RangeError(`Cannot ${action}: the writer is in the ${this.#state} state`);
    }
  }
}

/**
 * Big-endian 32-bit cells (`fdt_property_cell` for one).
 *
 * @example
 * ```ts
 * import { fdtCells } from "./fdt_sw.ts";
 * console.log(fdtCells(65000)); // Uint8Array [0, 0, 253, 232]
 * ```
 */
export function fdtCells(...cells: number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const view = new DataView(out.buffer);
  cells.forEach((cell, i) => view.setUint32(i * 4, cell >>> 0, false));
  return out;
}

/**
 * NUL-terminated strings one after the other (a string list; one string for `fdt_property_string`).
 *
 * @example
 * ```ts
 * import { fdtStrings } from "./fdt_sw.ts";
 * console.log(fdtStrings("xen,xen-4.17", "xen,xen").length); // 21
 * ```
 */
export function fdtStrings(...list: string[]): Uint8Array {
  const parts = list.map((text) => encoder.encode(text));
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length + 1, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length + 1;
  }
  return out;
}

function structStart(blob: Uint8Array): number {
  return new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(
    FDT_HEADER.off_dt_struct,
    false,
  );
}

function propertyLength(blob: Uint8Array, propertyOffset: number): number {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const at = structStart(blob) + propertyOffset;
  if (view.getUint32(at, false) !== FDT_PROP) {
    throw new RangeError(`Cannot edit property: no property at structure offset ${propertyOffset}`);
  }
  return view.getUint32(at + PROP_LEN, false);
}

/**
 * `fdt_setprop_inplace` on a finished blob: overwrites the value of the property at `propertyOffset` (as
 * {@linkcode FdtSequentialWriter.property} returned it) with a value of the same length.
 */
export function fdtSetPropertyInplace(blob: Uint8Array, propertyOffset: number, value: Uint8Array): void {
  const length = propertyLength(blob, propertyOffset);
  if (length !== value.length) {
    throw new RangeError(`Cannot set property in place: ${value.length} bytes for a ${length}-byte value`);
  }
  blob.set(value, structStart(blob) + propertyOffset + PROP_HEADER_SIZE);
}

/**
 * `fdt_setprop` of an existing property on a finished blob, with a value no longer than the old one: the
 * rest of the blob moves down and `totalsize` stays, so the freed bytes are left at the end holding what
 * was there (libfdt's memmove leaves them as they were).
 */
export function fdtShrinkProperty(blob: Uint8Array, propertyOffset: number, value: Uint8Array): void {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const length = propertyLength(blob, propertyOffset);
  const oldSpace = tagAlign(length);
  const newSpace = tagAlign(value.length);
  if (newSpace > oldSpace) {
    throw new RangeError(`Cannot grow property in place: ${value.length} bytes for a ${length}-byte value`);
  }
  const valueAt = structStart(blob) + propertyOffset + PROP_HEADER_SIZE;
  const dataEnd = view.getUint32(FDT_HEADER.off_dt_strings, false) +
    view.getUint32(FDT_HEADER.size_dt_strings, false);
  blob.copyWithin(valueAt + newSpace, valueAt + oldSpace, dataEnd);
  const delta = oldSpace - newSpace;
  view.setUint32(FDT_HEADER.size_dt_struct, view.getUint32(FDT_HEADER.size_dt_struct, false) - delta, false);
  view.setUint32(FDT_HEADER.off_dt_strings, view.getUint32(FDT_HEADER.off_dt_strings, false) - delta, false);
  view.setUint32(valueAt - PROP_HEADER_SIZE + PROP_LEN, value.length, false);
  blob.set(value, valueAt);
}

/**
 * `fdt_nop_node` on a finished blob: replaces the structure from `start` to `end` (the offsets
 * {@linkcode FdtSequentialWriter.beginNode} and {@linkcode FdtSequentialWriter.endNode} returned) by NOP
 * tags.
 */
export function fdtNopRegion(blob: Uint8Array, start: number, end: number): void {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const base = structStart(blob);
  for (let at = start; at < end; at += TAG_SIZE) view.setUint32(base + at, FDT_NOP, false);
}
