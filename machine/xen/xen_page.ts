/**
 * A Xen-heap page: shared_info or a grant-table frame. Xen owns it; the guest sees it only while it is
 * mapped into its physmap with `XENMEM_add_to_physmap`. While mapped, the page's bytes live in guest
 * memory at its GFN (so the guest's plain loads and stores see Xen's writes and the other way round);
 * while unmapped they live here. Xen's own accesses go through this class either way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { XenPage } from "./xen_page.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x10_0000 });
 * const page = new XenPage(memory, "shared_info");
 * page.writeU8(48, 0x80);
 * page.attach(0x40001);
 * assert.equal(memory.readU8(0x4000_1000 + 48), 0x80);
 * memory.writeU8(0x4000_1000 + 49, 1); // the guest writes the mapped page
 * page.detach();
 * assert.equal(page.readU8(49), 1);
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../platform.ts";
import { XEN_PAGE_SIZE } from "./xen_abi.ts";

/** A page access outside the page, or a mapping misuse (programming errors). */
export class XenPageError extends RangeError {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "XenPageError";
  }
}

/** One 4 KiB Xen-heap page that may be mapped into the guest's physmap. */
export class XenPage {
  /** What the page is (`shared_info`, `grant frame 0`), for reports. */
  readonly label: string;
  readonly #memory: PhysicalMemory;
  readonly #bytes = new Uint8Array(XEN_PAGE_SIZE);
  readonly #view = new DataView(this.#bytes.buffer);
  #gfn: number | undefined;

  /** A zeroed, unmapped page. */
  constructor(memory: PhysicalMemory, label: string) {
    this.#memory = memory;
    this.label = label;
  }

  /** The GFN the page is mapped at, or undefined. */
  get gfn(): number | undefined {
    return this.#gfn;
  }

  /** Makes the guest see the page at `gfn` (its memory there must exist); the old contents are replaced. */
  attach(gfn: number): void {
    if (this.#gfn !== undefined) {
      throw new XenPageError(`Cannot map ${this.label} at 0x${gfn.toString(16)}: already mapped`);
    }
    this.#memory.write(gfn * XEN_PAGE_SIZE, this.#bytes);
    this.#gfn = gfn;
  }

  /** Takes the page back from the guest (before its GFN leaves the physmap). */
  detach(): void {
    const gfn = this.#gfn;
    if (gfn === undefined) throw new XenPageError(`Cannot unmap ${this.label}: not mapped`);
    this.#memory.readInto(gfn * XEN_PAGE_SIZE, this.#bytes);
    this.#gfn = undefined;
  }

  #address(offset: number, width: number): number | undefined {
    if (!Number.isInteger(offset) || offset < 0 || offset + width > XEN_PAGE_SIZE) {
      throw new XenPageError(`Cannot access ${this.label} at ${offset}+${width}: outside the page`);
    }
    return this.#gfn === undefined ? undefined : this.#gfn * XEN_PAGE_SIZE + offset;
  }

  /** Byte at `offset`. */
  readU8(offset: number): number {
    const at = this.#address(offset, 1);
    return at === undefined ? this.#view.getUint8(offset) : this.#memory.readU8(at);
  }

  /** Little-endian u16 at `offset`. */
  readU16(offset: number): number {
    const at = this.#address(offset, 2);
    return at === undefined ? this.#view.getUint16(offset, true) : this.#memory.readU16(at);
  }

  /** Little-endian u32 at `offset`. */
  readU32(offset: number): number {
    const at = this.#address(offset, 4);
    return at === undefined ? this.#view.getUint32(offset, true) : this.#memory.readU32(at);
  }

  /** Little-endian u64 at `offset`. */
  readU64(offset: number): bigint {
    const at = this.#address(offset, 8);
    return at === undefined ? this.#view.getBigUint64(offset, true) : this.#memory.readU64(at);
  }

  /** Stores a byte. */
  writeU8(offset: number, value: number): void {
    const at = this.#address(offset, 1);
    if (at === undefined) this.#view.setUint8(offset, value);
    else this.#memory.writeU8(at, value);
  }

  /** Stores a little-endian u16. */
  writeU16(offset: number, value: number): void {
    const at = this.#address(offset, 2);
    if (at === undefined) this.#view.setUint16(offset, value, true);
    else this.#memory.writeU16(at, value);
  }

  /** Stores a little-endian u32. */
  writeU32(offset: number, value: number): void {
    const at = this.#address(offset, 4);
    if (at === undefined) this.#view.setUint32(offset, value >>> 0, true);
    else this.#memory.writeU32(at, value);
  }

  /** Stores a little-endian u64. */
  writeU64(offset: number, value: bigint): void {
    const at = this.#address(offset, 8);
    if (at === undefined) this.#view.setBigUint64(offset, BigInt.asUintN(64, value), true);
    else this.#memory.writeU64(at, value);
  }

  /** A copy of `length` bytes at `offset`. */
  read(offset: number, length: number): Uint8Array {
    const at = this.#address(offset, length);
    return at === undefined ? this.#bytes.slice(offset, offset + length) : this.#memory.read(at, length);
  }

  /** Stores `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    const at = this.#address(offset, data.length);
    if (at === undefined) this.#bytes.set(data, offset);
    else this.#memory.write(at, data);
  }
}
