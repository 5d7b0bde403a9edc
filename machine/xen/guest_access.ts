/**
 * Xen's `copy_from_guest` / `copy_to_guest` for the emulated hypervisor: hypercall arguments that are
 * structures live at guest addresses, and an address with no guest memory behind it (or beyond the JS
 * number range) raises {@linkcode GuestFault}, which the hypercall entry turns into `-EFAULT`. With the
 * guest's MMU off (U-Boot on this board) a virtual address is the guest-physical address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { GuestMemory } from "../guest_memory.ts";
 * import { GuestAccess, GuestFault } from "./guest_access.ts";
 *
 * const memory = new GuestMemory();
 * memory.addRegion({ base: 0x4000_0000, size: 0x1000 });
 * const access = new GuestAccess(memory);
 * access.writeBytes(0x4000_0000, new Uint8Array([1, 2]));
 * assert.deepEqual([...access.readBytes(0x4000_0000, 2)], [1, 2]);
 * assert.throws(() => access.readBytes(0x5000_0000, 2), GuestFault);
 * ```
 *
 * @module
 */

import type { PhysicalMemory } from "../platform.ts";
import { type Layout, StructBuffer } from "./layout.ts";

/** Addresses are JS numbers: a pointer register at or above 2^53 cannot name guest memory. */
const ADDRESS_LIMIT = 2 ** 53;

/** A hypercall argument points at memory the guest does not have (becomes `-EFAULT`). */
export class GuestFault extends Error {
  /** The first address of the failed access. */
  readonly address: number;
  /** Creates the fault for `length` bytes at `address`. */
  constructor(address: number, length: number, write: boolean) {
    super(
      `Cannot ${write ? "write" : "read"} ${length} bytes of guest memory at 0x${
        address.toString(16)
      }: not mapped`,
    );
    this.name = "GuestFault";
    this.address = address;
  }
}

/** Guest memory as a hypercall sees it: checked copies in and out. */
export class GuestAccess {
  /** The guest's memory. */
  readonly memory: PhysicalMemory;

  /** Wraps `memory`. */
  constructor(memory: PhysicalMemory) {
    this.memory = memory;
  }

  /** A pointer register as an address; throws {@linkcode GuestFault} when it cannot name guest memory. */
  pointer(register: bigint): number {
    const value = BigInt.asUintN(64, register);
    if (value >= BigInt(ADDRESS_LIMIT)) throw new GuestFault(Number(value), 0, false);
    return Number(value);
  }

  /** Throws {@linkcode GuestFault} unless all of `[address, address + length)` is guest memory. */
  check(address: number, length: number, write: boolean): void {
    if (
      !Number.isSafeInteger(address) || address < 0 || address + length > ADDRESS_LIMIT ||
      !this.memory.isMapped(address, length)
    ) {
      throw new GuestFault(address, length, write);
    }
  }

  /** `length` bytes at `address` (a copy). */
  readBytes(address: number, length: number): Uint8Array {
    this.check(address, length, false);
    return this.memory.read(address, length);
  }

  /** Writes `bytes` at `address`. */
  writeBytes(address: number, bytes: Uint8Array): void {
    this.check(address, bytes.length, true);
    this.memory.write(address, bytes);
  }

  /** A copy of the structure at `address`. */
  readStruct<F extends string>(layout: Layout<F>, address: number): StructBuffer<F> {
    return new StructBuffer(layout, this.readBytes(address, layout.bytes));
  }

  /** Writes the whole structure back (Xen's `copy_to_guest(arg, &op, 1)`). */
  writeStruct<F extends string>(address: number, struct: StructBuffer<F>): void {
    this.writeBytes(address, struct.bytes);
  }

  /** Little-endian u32 at `address`. */
  readU32(address: number): number {
    this.check(address, 4, false);
    return this.memory.readU32(address);
  }

  /** Little-endian u64 at `address`. */
  readU64(address: number): bigint {
    this.check(address, 8, false);
    return this.memory.readU64(address);
  }

  /** Stores a little-endian u64 at `address`. */
  writeU64(address: number, value: bigint): void {
    this.check(address, 8, true);
    this.memory.writeU64(address, value);
  }
}
