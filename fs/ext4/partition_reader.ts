/**
 * Byte ranges of one partition, read through the block layer (U-Boot's `ext4fs_devread` over
 * `fs_devread`): a range must lie inside the partition (and the device), else it is corrupt data;
 * a device that reports a failure gives an {@linkcode FsError} of kind `io`. Whole device blocks are
 * read and the range is cut out of them, so filesystem blocks smaller than the device's work too.
 *
 * @example
 * ```ts
 * import { PartitionReader } from "./partition_reader.ts";
 * import { MemoryBlockDevice } from "../../drivers/blk/memory_block_device.ts";
 *
 * const disk = new MemoryBlockDevice({ lba: 16 });
 * disk.bytes.set([1, 2, 3], 4 * 512 + 1024);
 * const reader = PartitionReader.of({ dev: disk, part: 1, info: { start: 4n, size: 8n, blksz: 512 } });
 * console.log(await reader.read(1024, 3)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 *
 * @module
 */

import type { BlockDevice } from "../../drivers/blk/block_device.ts";
import { FsCorruptError, FsError, type FsPartition } from "../fs_driver.ts";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The part of a partition the reader needs. */
export interface ReaderPartition {
  /** The device. */
  readonly dev: BlockDevice;
  /** Partition number (0: whole disk). */
  readonly part: number;
  /** Start and size in units of `blksz`. */
  readonly info: { readonly start: bigint; readonly size: bigint; readonly blksz: number };
}

/** Reads byte ranges of one partition. */
export class PartitionReader {
  readonly #dev: BlockDevice;
  /** First device block of the partition. */
  readonly #firstLba: number;
  /** Bytes of the partition that can be read (the partition, cut at the end of the device). */
  readonly size: number;

  private constructor(dev: BlockDevice, firstLba: number, size: number) {
    this.#dev = dev;
    this.#firstLba = firstLba;
    this.size = size;
  }

  /**
   * The reader of `partition`; a partition that does not start on a device block, or starts past
   * the end of the device, reads as empty.
   */
  static of(partition: FsPartition | ReaderPartition): PartitionReader {
    const { dev, info } = partition;
    const blksz = BigInt(dev.blksz);
    const startByte = info.start * BigInt(info.blksz);
    const deviceBytes = BigInt(dev.lba) * blksz;
    if (info.start < 0n || startByte % blksz !== 0n || startByte >= deviceBytes) {
      return new PartitionReader(dev, 0, 0);
    }
    let size = info.size * BigInt(info.blksz);
    if (size < 0n) size = 0n;
    if (size > deviceBytes - startByte) size = deviceBytes - startByte;
    if (size > MAX_SAFE) size = MAX_SAFE;
    return new PartitionReader(dev, Number(startByte / blksz), Number(size));
  }

  /**
   * `length` bytes from byte `offset` of the partition. Throws {@linkcode FsCorruptError} when the
   * range leaves the partition, {@linkcode FsError} (`io`) when the device fails.
   */
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (
      !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
      offset > this.size - length
    ) {
      throw new FsCorruptError(`Cannot read ${length} bytes at byte ${offset}: outside the partition`);
    }
    if (length === 0) return new Uint8Array(0);
    const blksz = this.#dev.blksz;
    const first = Math.floor(offset / blksz);
    const end = Math.ceil((offset + length) / blksz);
    const count = end - first;
    const buffer = new Uint8Array(count * blksz);
    const done = await this.#dev.read(this.#firstLba + first, count, buffer);
    if (done !== count) {
      throw new FsError(
        "io",
        `Cannot read ${count} blocks at block ${this.#firstLba + first}: status ${done}`,
      );
    }
    const skip = offset - first * blksz;
    return skip === 0 && buffer.length === length ? buffer : buffer.subarray(skip, skip + length);
  }
}
