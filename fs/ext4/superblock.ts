/**
 * The ext2/ext3/ext4 superblock (1024 bytes at byte 1024 of the partition), as U-Boot 2023.01's
 * `ext4fs_mount` uses it: the magic 0xEF53 says "ext", revision 0 means 128-byte inodes and 32-byte
 * group descriptors, else `s_inode_size` and (with `64bit`) `s_desc_size`. The feature flags are not
 * checked: the real U-Boot mounts a filesystem with every incompatible-feature bit set, silently (the
 * `fs uses incompatible features` message of later versions is not in 2023.01). pvboot refuses a
 * superblock whose geometry cannot be used (block size above 64 KiB, no inodes or blocks per group,
 * an inode or descriptor size that is not a power of two within a block).
 *
 * @example
 * ```ts
 * import { parseSuperblock, SUPERBLOCK_SIZE } from "./superblock.ts";
 *
 * const raw = new Uint8Array(SUPERBLOCK_SIZE);
 * const view = new DataView(raw.buffer);
 * view.setUint16(0x38, 0xef53, true); // s_magic
 * view.setUint32(0x20, 8192, true); // s_blocks_per_group
 * view.setUint32(0x28, 128, true); // s_inodes_per_group
 * view.setUint32(0x00, 128, true); // s_inodes_count
 * console.log(parseSuperblock(raw)?.blockSize); // 1024
 * ```
 *
 * @module
 */

import { FsCorruptError } from "../fs_driver.ts";

/** Byte offset of the superblock in the partition (`SUPERBLOCK_START`). */
export const SUPERBLOCK_OFFSET = 1024;
/** Bytes of the superblock (`SUPERBLOCK_SIZE`). */
export const SUPERBLOCK_SIZE = 1024;
/** `EXT2_MAGIC`. */
export const EXT2_MAGIC = 0xef53;

/** `s_inodes_count`. */
export const S_INODES_COUNT = 0x00;
/** `s_blocks_count_lo`. */
export const S_BLOCKS_COUNT_LO = 0x04;
/** `s_first_data_block`: 1 for 1 KiB blocks, else 0. */
export const S_FIRST_DATA_BLOCK = 0x14;
/** `s_log_block_size`: block size is 1024 << this. */
export const S_LOG_BLOCK_SIZE = 0x18;
/** `s_blocks_per_group`. */
export const S_BLOCKS_PER_GROUP = 0x20;
/** `s_inodes_per_group`. */
export const S_INODES_PER_GROUP = 0x28;
/** `s_magic`. */
export const S_MAGIC = 0x38;
/** `s_rev_level`. */
export const S_REV_LEVEL = 0x4c;
/** `s_inode_size`. */
export const S_INODE_SIZE = 0x58;
/** `s_feature_compat`. */
export const S_FEATURE_COMPAT = 0x5c;
/** `s_feature_incompat`. */
export const S_FEATURE_INCOMPAT = 0x60;
/** `s_feature_ro_compat`. */
export const S_FEATURE_RO_COMPAT = 0x64;
/** `s_uuid` (16 bytes). */
export const S_UUID = 0x68;
/** Bytes of `s_uuid`. */
export const UUID_BYTES = 16;
/** `s_volume_name` (16 bytes). */
export const S_VOLUME_NAME = 0x78;
/** `s_desc_size`. */
export const S_DESC_SIZE = 0xfe;
/** `s_blocks_count_hi`. */
export const S_BLOCKS_COUNT_HI = 0x150;

/** `EXT2_GOOD_OLD_REV`: revision 0, fixed inode and descriptor sizes. */
export const EXT2_GOOD_OLD_REV = 0;
/** Inode size of revision 0 (`EXT2_GOOD_OLD_INODE_SIZE`). */
export const EXT2_GOOD_OLD_INODE_SIZE = 128;
/** Group descriptor size without `64bit` (`EXT2_MIN_DESC_SIZE`). */
export const EXT2_MIN_DESC_SIZE = 32;
/** `EXT2_MIN_BLOCK_LOG_SIZE`: 1 KiB. */
export const EXT2_MIN_BLOCK_LOG_SIZE = 10;
/** `EXT2_MAX_BLOCK_LOG_SIZE`: 64 KiB. */
export const EXT2_MAX_BLOCK_LOG_SIZE = 16;

/** `EXT4_FEATURE_INCOMPAT_64BIT`: block numbers above 32 bits, `s_desc_size` descriptors. */
export const INCOMPAT_64BIT = 0x0080;

/** The superblock fields the reader uses. */
export interface Ext4Superblock {
  /** `s_inodes_count`. */
  readonly inodesCount: number;
  /** Blocks of the filesystem (`s_blocks_count`, with the high half under `64bit`). */
  readonly blocksCount: bigint;
  /** `s_first_data_block`. */
  readonly firstDataBlock: number;
  /** Bytes per block (1024 << `s_log_block_size`). */
  readonly blockSize: number;
  /** `s_blocks_per_group`. */
  readonly blocksPerGroup: number;
  /** `s_inodes_per_group`. */
  readonly inodesPerGroup: number;
  /** `s_rev_level`. */
  readonly revision: number;
  /** Bytes per inode record. */
  readonly inodeSize: number;
  /** Bytes per group descriptor. */
  readonly descSize: number;
  /** `s_feature_compat`. */
  readonly featureCompat: number;
  /** `s_feature_incompat`. */
  readonly featureIncompat: number;
  /** `s_feature_ro_compat`. */
  readonly featureRoCompat: number;
  /** `s_uuid`. */
  readonly uuid: Uint8Array;
  /** `s_volume_name`, up to its first NUL. */
  readonly volumeName: string;
}

function _isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/**
 * Decodes the superblock's `SUPERBLOCK_SIZE` bytes: `undefined` when the magic is not 0xEF53 (not an
 * ext filesystem); an {@linkcode FsCorruptError} when the geometry cannot be used.
 */
export function parseSuperblock(raw: Uint8Array): Ext4Superblock | undefined {
  if (raw.length < SUPERBLOCK_SIZE) throw new FsCorruptError("Cannot read superblock: short read");
  const view = new DataView(raw.buffer, raw.byteOffset, SUPERBLOCK_SIZE);
  const u32 = (at: number) => view.getUint32(at, true);
  const u16 = (at: number) => view.getUint16(at, true);
  if (u16(S_MAGIC) !== EXT2_MAGIC) return undefined;

  const logBlockSize = u32(S_LOG_BLOCK_SIZE);
  if (logBlockSize > EXT2_MAX_BLOCK_LOG_SIZE - EXT2_MIN_BLOCK_LOG_SIZE) {
    throw new FsCorruptError(`Cannot mount ext filesystem: s_log_block_size ${logBlockSize}`);
  }
  const blockSize = 1 << (EXT2_MIN_BLOCK_LOG_SIZE + logBlockSize);
  const revision = u32(S_REV_LEVEL);
  const featureIncompat = u32(S_FEATURE_INCOMPAT);
  let inodeSize = EXT2_GOOD_OLD_INODE_SIZE;
  let descSize = EXT2_MIN_DESC_SIZE;
  if (revision !== EXT2_GOOD_OLD_REV) {
    inodeSize = u16(S_INODE_SIZE);
    if ((featureIncompat & INCOMPAT_64BIT) !== 0) descSize = u16(S_DESC_SIZE);
  }
  if (!_isPowerOfTwo(inodeSize) || inodeSize < EXT2_GOOD_OLD_INODE_SIZE || inodeSize > blockSize) {
    throw new FsCorruptError(`Cannot mount ext filesystem: inode size ${inodeSize}`);
  }
  if (!_isPowerOfTwo(descSize) || descSize < EXT2_MIN_DESC_SIZE || descSize > blockSize) {
    throw new FsCorruptError(`Cannot mount ext filesystem: group descriptor size ${descSize}`);
  }
  const inodesPerGroup = u32(S_INODES_PER_GROUP);
  if (inodesPerGroup === 0) throw new FsCorruptError("Cannot mount ext filesystem: no inodes per group");
  const blocksPerGroup = u32(S_BLOCKS_PER_GROUP);
  if (blocksPerGroup === 0) throw new FsCorruptError("Cannot mount ext filesystem: no blocks per group");

  let blocksCount = BigInt(u32(S_BLOCKS_COUNT_LO));
  if ((featureIncompat & INCOMPAT_64BIT) !== 0) blocksCount |= BigInt(u32(S_BLOCKS_COUNT_HI)) << 32n;
  const name = raw.subarray(S_VOLUME_NAME, S_VOLUME_NAME + UUID_BYTES);
  const nul = name.indexOf(0);
  return {
    inodesCount: u32(S_INODES_COUNT),
    blocksCount,
    firstDataBlock: u32(S_FIRST_DATA_BLOCK),
    blockSize,
    blocksPerGroup,
    inodesPerGroup,
    revision,
    inodeSize,
    descSize,
    featureCompat: u32(S_FEATURE_COMPAT),
    featureIncompat,
    featureRoCompat: u32(S_FEATURE_RO_COMPAT),
    uuid: raw.slice(S_UUID, S_UUID + UUID_BYTES),
    volumeName: String.fromCharCode(...(nul >= 0 ? name.subarray(0, nul) : name)),
  };
}

/** `uuid_bin_to_str(..., UUID_STR_FORMAT_STD)` of `s_uuid`: lower-case 8-4-4-4-12 in byte order. */
export function formatUuid(uuid: Uint8Array): string {
  const hex = [...uuid].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20, 32)
  }`;
}
