/**
 * The block-device seam (U-Boot's blk uclass, include/blk.h `struct blk_desc` plus `struct blk_ops`):
 * what a disk is to everything above the drivers — its interface name and number, block size and
 * count, the identity strings `dev_print` shows, and block reads and writes.
 *
 * Reads and writes follow `blk_dread`/`blk_dwrite`: they resolve to the number of blocks done. A
 * result other than `count` is a failure: a driver may report 0 (pvblock refuses a range past the
 * end) or a negative errno (virtio reports `-EIO`). Media errors are results, never exceptions; an
 * exception is a programming error (a buffer too small for `count` blocks).
 *
 * @example
 * ```ts
 * import { MemoryBlockDevice } from "./memory_block_device.ts";
 * import { blockBytes } from "./block_device.ts";
 *
 * const disk = new MemoryBlockDevice({ ifType: "pvblock", devnum: 0, blksz: 512, lba: 8 });
 * const buf = new Uint8Array(blockBytes(disk, 2));
 * console.log(await disk.read(0, 2, buf)); // 2
 * console.log(await disk.read(7, 2, buf)); // -5: past the end
 * ```
 *
 * @module
 */

/** `DEV_TYPE_HARDDISK`: what every pvblock and virtio disk reports. */
export const DEV_TYPE_HARDDISK = 0x00;
/** `DEV_TYPE_TAPE`. */
export const DEV_TYPE_TAPE = 0x01;
/** `DEV_TYPE_CDROM`. */
export const DEV_TYPE_CDROM = 0x05;
/** `DEV_TYPE_OPDISK`: optical disk. */
export const DEV_TYPE_OPDISK = 0x07;
/** `DEV_TYPE_UNKNOWN`: the device is absent or not set up (`dev_print` says "not available"). */
export const DEV_TYPE_UNKNOWN = 0xff;

/** `-EIO`, the result a device gives for a failed transfer (virtio's, and {@link MemoryBlockDevice}'s). */
export const BLK_EIO = -5;

/** The block sizes the partition and filesystem code is written for. */
export const SUPPORTED_BLOCK_SIZES: readonly number[] = [512, 1024, 2048, 4096];

/** One block device: U-Boot's `struct blk_desc` with its read and write operations. */
export interface BlockDevice {
  /** The interface (uclass) name used on the command line: `pvblock`, `virtio`, `mmc`, `host`. */
  readonly ifType: string;
  /** The device number within its interface (`pvblock 0`). */
  readonly devnum: number;
  /** Bytes per block (512 or 4096 on real disks). */
  readonly blksz: number;
  /** Number of blocks. */
  readonly lba: number;
  /** One of the `DEV_TYPE_*` values (hard disk for every PV disk). */
  readonly type: number;
  /** Vendor string (`Xen`). */
  readonly vendor: string;
  /** Product string (`Virtual disk`). */
  readonly product: string;
  /** Revision string (`1`). */
  readonly revision: string;
  /** Removable medium (`dev_print` says "Removable"). */
  readonly removable: boolean;
  /** Writes are refused. */
  readonly readOnly: boolean;
  /**
   * `blk_dread`: reads `count` blocks from block `lba` into the start of `into` (at least
   * `count * blksz` bytes). Resolves to the number of blocks read; anything but `count` is a failure.
   */
  read(lba: number, count: number, into: Uint8Array): Promise<number>;
  /**
   * `blk_dwrite`: writes `count` blocks from the start of `from` at block `lba`. Resolves to the
   * number of blocks written; anything but `count` is a failure.
   */
  write(lba: number, count: number, from: Uint8Array): Promise<number>;
}

/** A buffer was too small for the blocks asked for: a caller's bug. */
export class BlockBufferError extends RangeError {
  /** Creates the error for a transfer of `count` blocks of `blksz` bytes with a `length`-byte buffer. */
  constructor(count: number, blksz: number, length: number) {
    super(`Cannot transfer ${count} blocks of ${blksz} bytes: the buffer holds ${length} bytes`);
    this.name = "BlockBufferError";
  }
}

/** Bytes in `count` blocks of `dev`. */
export function blockBytes(dev: Pick<BlockDevice, "blksz">, count: number): number {
  return count * dev.blksz;
}

/**
 * Throws {@link BlockBufferError} unless `buffer` holds `count` blocks of `blksz` bytes; for drivers
 * checking their callers.
 */
export function checkTransferBuffer(blksz: number, count: number, buffer: Uint8Array): void {
  if (!Number.isSafeInteger(count) || count < 0 || buffer.length < count * blksz) {
    throw new BlockBufferError(count, blksz, buffer.length);
  }
}

/** True when blocks `lba .. lba+count-1` lie on a device of `size` blocks (U-Boot drivers' range check). */
export function blockRangeFits(lba: number, count: number, size: number): boolean {
  return Number.isSafeInteger(lba) && Number.isSafeInteger(count) && lba >= 0 && count >= 0 &&
    lba + count <= size;
}
