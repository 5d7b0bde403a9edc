/**
 * A mounted ext2/ext4 filesystem (U-Boot's `ext4fs_root` with `get_fs()`): the superblock, block
 * reads bounded by the partition, a small cache of metadata blocks, and inode reads through the
 * group descriptors (`ext4fs_read_inode`). Inode numbers outside 1..`s_inodes_count` and blocks
 * outside the partition are corrupt data.
 *
 * @example
 * ```ts ignore
 * const fs = await Ext4Fs.mount(partition); // undefined: not ext2/3/4
 * const root = await fs?.readInode(2);
 * ```
 *
 * @module
 */

import { FsCorruptError, type FsPartition } from "../fs_driver.ts";
import { descriptorLocation, inodeTableBlock } from "./group_descriptor.ts";
import { type Ext4Inode, INODE_CORE_BYTES, parseInode } from "./inode.ts";
import { METADATA_CACHE_BLOCKS } from "./limits.ts";
import { PartitionReader, type ReaderPartition } from "./partition_reader.ts";
import { type Ext4Superblock, parseSuperblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from "./superblock.ts";

/** `EXT2_ROOT_INO`. */
export const EXT2_ROOT_INO = 2;

/** A mounted filesystem. */
export class Ext4Fs {
  /** The superblock. */
  readonly sb: Ext4Superblock;
  /** Filesystem blocks that lie in the partition. */
  readonly partitionBlocks: number;
  readonly #reader: PartitionReader;
  readonly #cache = new Map<number, Uint8Array>();

  private constructor(reader: PartitionReader, sb: Ext4Superblock) {
    this.#reader = reader;
    this.sb = sb;
    this.partitionBlocks = Math.floor(reader.size / sb.blockSize);
  }

  /**
   * Reads the superblock of `partition`: `undefined` when it is not ext2/3/4. Corrupt geometry
   * throws {@linkcode FsCorruptError}, a failing device {@linkcode FsError}.
   */
  static async mount(partition: FsPartition | ReaderPartition): Promise<Ext4Fs | undefined> {
    const reader = PartitionReader.of(partition);
    const sb = parseSuperblock(await reader.read(SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
    return sb === undefined ? undefined : new Ext4Fs(reader, sb);
  }

  /** Bytes per block. */
  get blockSize(): number {
    return this.sb.blockSize;
  }

  /** Throws unless blocks `block .. block+count-1` lie in the partition. */
  checkBlocks(block: number, count: number): void {
    if (
      !Number.isSafeInteger(block) || !Number.isSafeInteger(count) || block < 0 || count < 0 ||
      block > this.partitionBlocks - count
    ) {
      throw new FsCorruptError(
        `Cannot read ${count} blocks at block ${block}: the partition has ${this.partitionBlocks}`,
        Number.isSafeInteger(block) ? BigInt(block) : undefined,
      );
    }
  }

  /** `count` filesystem blocks from `block` (one device call). */
  readBlocks(block: number, count: number): Promise<Uint8Array> {
    this.checkBlocks(block, count);
    return this.#reader.read(block * this.blockSize, count * this.blockSize);
  }

  /** One metadata block, from the cache when it was read lately. The caller must not modify it. */
  async metadataBlock(block: number): Promise<Uint8Array> {
    const hit = this.#cache.get(block);
    if (hit !== undefined) {
      this.#cache.delete(block);
      this.#cache.set(block, hit);
      return hit;
    }
    const data = await this.readBlocks(block, 1);
    if (this.#cache.size >= METADATA_CACHE_BLOCKS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(block, data);
    return data;
  }

  /** Inode `ino` (`ext4fs_read_inode`). */
  async readInode(ino: number): Promise<Ext4Inode> {
    const { sb } = this;
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > sb.inodesCount) {
      throw new FsCorruptError(`Cannot read inode ${ino}: the filesystem has ${sb.inodesCount}`);
    }
    const index = ino - 1;
    const group = Math.floor(index / sb.inodesPerGroup);
    const where = descriptorLocation(sb.firstDataBlock, sb.blockSize, sb.descSize, group);
    const descBlock = await this.metadataBlock(where.block);
    const table = inodeTableBlock(descBlock.subarray(where.offset, where.offset + sb.descSize), sb.descSize);
    const perBlock = sb.blockSize / sb.inodeSize;
    const inGroup = index % sb.inodesPerGroup;
    const block = table + Math.floor(inGroup / perBlock);
    const offset = (inGroup % perBlock) * sb.inodeSize;
    const data = await this.metadataBlock(block);
    return parseInode(ino, data.subarray(offset, offset + INODE_CORE_BYTES));
  }
}
