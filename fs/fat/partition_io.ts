/**
 * Sector I/O inside one partition (fs/fat/fat.c `disk_read`, fat_write.c `disk_write`): sector
 * numbers count from the partition's start, in device blocks (FAT refuses a sector size other than
 * the block size). A transfer that would leave the partition, or that the device does not complete,
 * fails (`undefined` / `false`), as U-Boot's `blk_dread(...) != count` does.
 *
 * @example
 * ```ts
 * import { PartitionIo } from "./partition_io.ts";
 * import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
 * import { wholeDiskInfo } from "../../disk/part.ts";
 *
 * const dev = new MemoryBlockDevice({ lba: 8 });
 * const io = new PartitionIo(dev, wholeDiskInfo(dev));
 * console.log((await io.read(0, 2))?.length, await io.read(7, 2)); // 1024 undefined
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import type { PartitionInfo } from "../../disk/part_driver.ts";

/** Reads and writes sectors of one partition. */
export class PartitionIo {
  /** The device. */
  readonly dev: BlockDevice;
  /** Bytes per sector (the device's block size). */
  readonly sectorSize: number;
  readonly #start: number;
  readonly #size: number;

  /** I/O on partition `info` of `dev`. */
  constructor(dev: BlockDevice, info: PartitionInfo) {
    this.dev = dev;
    this.sectorSize = dev.blksz;
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    this.#start = info.start > max ? Number.MAX_SAFE_INTEGER : Number(info.start);
    const devLeft = BigInt(Math.max(0, dev.lba - Math.min(this.#start, dev.lba)));
    const size = info.size < devLeft ? info.size : devLeft;
    this.#size = Number(size);
  }

  /** Sectors in the partition (as far as the device reaches). */
  get size(): number {
    return this.#size;
  }

  /** True when sectors `sector .. sector+count-1` lie in the partition. */
  fits(sector: number, count: number): boolean {
    return Number.isSafeInteger(sector) && Number.isSafeInteger(count) && sector >= 0 && count >= 0 &&
      sector + count <= this.#size;
  }

  /** Reads `count` sectors from `sector` into a new buffer; `undefined` on failure. */
  async read(sector: number, count: number): Promise<Uint8Array | undefined> {
    if (!this.fits(sector, count)) return undefined;
    const buffer = new Uint8Array(count * this.sectorSize);
    return await this.readInto(sector, count, buffer) ? buffer : undefined;
  }

  /** Reads `count` sectors from `sector` into the start of `into`; false on failure. */
  async readInto(sector: number, count: number, into: Uint8Array): Promise<boolean> {
    if (!this.fits(sector, count)) return false;
    if (count === 0) return true;
    return await this.dev.read(this.#start + sector, count, into) === count;
  }

  /** Writes `count` sectors from the start of `from` at `sector`; false on failure. */
  async write(sector: number, count: number, from: Uint8Array): Promise<boolean> {
    if (!this.fits(sector, count)) return false;
    if (count === 0) return true;
    return await this.dev.write(this.#start + sector, count, from) === count;
  }
}
