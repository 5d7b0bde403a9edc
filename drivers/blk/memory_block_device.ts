/**
 * A block device over a byte array, for tests and for images built in memory. Transfers past the end
 * fail with `-EIO` (the result a virtio disk gives), as do writes to a read-only device.
 *
 * @example
 * ```ts
 * import { MemoryBlockDevice } from "./memory_block_device.ts";
 *
 * const disk = MemoryBlockDevice.fromBytes(new Uint8Array(4096), { ifType: "pvblock", devnum: 1 });
 * console.log(disk.lba, disk.blksz); // 8 512
 * ```
 *
 * @module
 */

import {
  BLK_EIO,
  type BlockDevice,
  blockRangeFits,
  checkTransferBuffer,
  DEV_TYPE_HARDDISK,
  SUPPORTED_BLOCK_SIZES,
} from "./block_device.ts";

/** How a {@link MemoryBlockDevice} presents itself. */
export interface MemoryBlockDeviceOptions {
  /** Interface name (default `pvblock`). */
  readonly ifType?: string;
  /** Device number (default 0). */
  readonly devnum?: number;
  /** Block size (default 512). */
  readonly blksz?: number;
  /** Number of blocks (default: the data's length over the block size). */
  readonly lba?: number;
  /** Vendor (default `Xen`). */
  readonly vendor?: string;
  /** Product (default `Virtual disk`). */
  readonly product?: string;
  /** Revision (default `1`). */
  readonly revision?: string;
  /** `DEV_TYPE_*` (default hard disk). */
  readonly type?: number;
  /** Removable (default false). */
  readonly removable?: boolean;
  /** Read-only (default false). */
  readonly readOnly?: boolean;
}

/** The options were inconsistent (size not a whole number of blocks, odd block size). */
export class MemoryBlockDeviceError extends RangeError {
  /** Creates the error with what was wrong. */
  constructor(state: string) {
    super(`Cannot create memory block device: ${state}`);
    this.name = "MemoryBlockDeviceError";
  }
}

/** A disk held in a `Uint8Array`. */
export class MemoryBlockDevice implements BlockDevice {
  readonly ifType: string;
  readonly devnum: number;
  readonly blksz: number;
  readonly lba: number;
  readonly type: number;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  readonly removable: boolean;
  readonly readOnly: boolean;
  /** The disk's bytes (`lba * blksz` of them). */
  readonly bytes: Uint8Array;

  /** A zero-filled disk of `options.lba` blocks. */
  constructor(options: MemoryBlockDeviceOptions & { readonly lba: number }, bytes?: Uint8Array) {
    this.ifType = options.ifType ?? "pvblock";
    this.devnum = options.devnum ?? 0;
    this.blksz = options.blksz ?? SUPPORTED_BLOCK_SIZES[0]!;
    this.lba = options.lba;
    this.type = options.type ?? DEV_TYPE_HARDDISK;
    this.vendor = options.vendor ?? "Xen";
    this.product = options.product ?? "Virtual disk";
    this.revision = options.revision ?? "1";
    this.removable = options.removable ?? false;
    this.readOnly = options.readOnly ?? false;
    if (!SUPPORTED_BLOCK_SIZES.includes(this.blksz)) {
      throw new MemoryBlockDeviceError(`block size ${this.blksz} is not one of ${SUPPORTED_BLOCK_SIZES}`);
    }
    if (!Number.isSafeInteger(this.lba) || this.lba < 0) {
      throw new MemoryBlockDeviceError(`block count ${this.lba} is not a count`);
    }
    const size = this.lba * this.blksz;
    if (bytes !== undefined && bytes.length !== size) {
      throw new MemoryBlockDeviceError(`${bytes.length} bytes is not ${this.lba} blocks of ${this.blksz}`);
    }
    this.bytes = bytes ?? new Uint8Array(size);
  }

  /** A disk over `bytes` (not copied), whose length must be a whole number of blocks. */
  static fromBytes(bytes: Uint8Array, options: MemoryBlockDeviceOptions = {}): MemoryBlockDevice {
    const blksz = options.blksz ?? SUPPORTED_BLOCK_SIZES[0]!;
    if (bytes.length % blksz !== 0) {
      throw new MemoryBlockDeviceError(`${bytes.length} bytes is not a whole number of ${blksz}-byte blocks`);
    }
    return new MemoryBlockDevice({ ...options, blksz, lba: options.lba ?? bytes.length / blksz }, bytes);
  }

  /** Reads whole blocks; `-EIO` past the end. */
  // deno-lint-ignore require-await -- async so that a bad buffer rejects like a real driver's I/O
  async read(lba: number, count: number, into: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, into);
    if (!blockRangeFits(lba, count, this.lba)) return BLK_EIO;
    const start = lba * this.blksz;
    into.set(this.bytes.subarray(start, start + count * this.blksz));
    return count;
  }

  /** Writes whole blocks; `-EIO` past the end or when read-only. */
  // deno-lint-ignore require-await -- as read
  async write(lba: number, count: number, from: Uint8Array): Promise<number> {
    checkTransferBuffer(this.blksz, count, from);
    if (this.readOnly || !blockRangeFits(lba, count, this.lba)) return BLK_EIO;
    this.bytes.set(from.subarray(0, count * this.blksz), lba * this.blksz);
    return count;
  }
}
