/**
 * The guest boundary: everything the guest (U-Boot) may use of the platform.
 *
 * Guest code imports only the types in this file from `machine/`. It reaches the platform through
 * guest-physical memory, the hypercall entry (ARM64 registers in, x0 out) and event channels (bits in
 * shared_info, which live in guest memory). See ../shared/DESIGN.md.
 *
 * @module
 */

/** Guest-physical memory as the guest sees it: RAM banks and the pages Xen maps for it. */
export interface PhysicalMemory {
  /** Reads `length` bytes at `address` into a new array. Throws {@linkcode DataAbort} outside RAM. */
  read(address: number, length: number): Uint8Array;
  /** Reads into `target` the bytes at `address`. Throws {@linkcode DataAbort} outside RAM. */
  readInto(address: number, target: Uint8Array): void;
  /** Writes `data` at `address`. Throws {@linkcode DataAbort} outside RAM. */
  write(address: number, data: Uint8Array): void;
  /** Fills `length` bytes at `address` with `value`. */
  fill(address: number, length: number, value: number): void;
  /** Copies `length` bytes from `source` to `destination`; overlapping ranges are safe (memmove). */
  copy(destination: number, source: number, length: number): void;
  /** Little-endian 8-bit read. */
  readU8(address: number): number;
  /** Little-endian 16-bit read. */
  readU16(address: number): number;
  /** Little-endian 32-bit read. */
  readU32(address: number): number;
  /** Little-endian 64-bit read. */
  readU64(address: number): bigint;
  /** 8-bit write (value truncated). */
  writeU8(address: number, value: number): void;
  /** Little-endian 16-bit write (value truncated). */
  writeU16(address: number, value: number): void;
  /** Little-endian 32-bit write (value truncated). */
  writeU32(address: number, value: number): void;
  /** Little-endian 64-bit write (value truncated). */
  writeU64(address: number, value: bigint): void;
  /** True when every byte of `[address, address + length)` is backed by guest memory. */
  isMapped(address: number, length: number): boolean;
}

/** ARM64 general-purpose registers x0–x4 and x16 as a hypercall uses them. */
export interface HypercallRegisters {
  /** x16: the hypercall number. */
  x16: number;
  /** x0..x4: the arguments (guest addresses for structures). */
  x0: bigint;
  /** Second argument. */
  x1: bigint;
  /** Third argument. */
  x2: bigint;
  /** Fourth argument. */
  x3: bigint;
  /** Fifth argument. */
  x4: bigint;
}

/** What the platform hands the first vCPU at entry, as Xen does for an ARM64 DomU. */
export interface EntryState {
  /** x0: guest-physical address of the device tree blob. */
  x0: number;
  /** Entry point (where U-Boot's text starts). */
  pc: number;
}

/** A data abort: the guest touched an address with nothing behind it. */
export class DataAbort extends Error {
  /** The faulting guest-physical address (FAR_EL1). */
  readonly address: number;
  /** True for a write access. */
  readonly write: boolean;
  /** Creates the abort for `address`. */
  constructor(address: number, write: boolean) {
    super(`Cannot ${write ? "write" : "read"} guest memory: nothing at 0x${address.toString(16)}`);
    this.name = "DataAbort";
    this.address = address;
    this.write = write;
  }
}

/** The platform as the guest sees it. */
export interface Platform {
  /** Guest-physical memory. */
  readonly memory: PhysicalMemory;
  /** Registers at entry. */
  readonly entry: EntryState;
  /**
   * The `hvc #0xEA1` instruction: registers in, x0 out (a negative value is a Xen errno).
   * Backends run inside this call when the guest hands the CPU over (send, poll, yield).
   */
  hypercall(regs: HypercallRegisters): Promise<bigint>;
}
